package server

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRecommendAllocations locks the served request's allocations: a
// handful per request (the request's user, the retrieval's answer, the
// response), none per candidate: ranking 200 candidates allocates what
// ranking 20 does, with exact retrieval and with HNSW.
func TestRecommendAllocations(t *testing.T) {
	a, b := dirs(t)
	for _, dir := range []string{a, b} {
		m, err := Load(dir)
		require.NoError(t, err)
		vocab := m.Candgen.VideoVocab()
		var h []ID
		for j := int32(1); j <= 12; j++ {
			id, _ := vocab.ID(j)
			h = append(h, ID{Int: id})
		}
		req := &Request{History: h, N: 10}
		per := func(candidates int) float64 {
			return testing.AllocsPerRun(30, func() {
				if _, err := m.Recommend(context.Background(), req, candidates); err != nil {
					t.Fatal(err)
				}
			})
		}
		few, many := per(20), per(200)
		t.Logf("%s: %.0f allocations with 20 candidates, %.0f with 200", dir, few, many)
		assert.LessOrEqual(t, many, few+2, "allocations do not grow with the candidates")
		assert.LessOrEqual(t, many, 50.0)
	}
}
