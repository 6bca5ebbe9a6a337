package layout

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSlateDropsTheLargerSlate: a Slate that builds a smaller slate after
// a larger one keeps no reference to the larger one's slices (an earlier
// user's history would stay reachable from a pooled Slate).
func TestSlateDropsTheLargerSlate(t *testing.T) {
	l, err := New(Config{}, 0, nil)
	require.NoError(t, err)
	var s Slate
	u := &User{History: []int64{1, 2, 3}}
	l.RankExamples(&s, u, []int64{4, 5, 6, 7, 8}, 0, nil)
	F := len(l.RankingSpec().Features)
	l.RankExamples(&s, &User{}, []int64{4}, 0, nil)
	for i, ids := range s.ids[F:] {
		require.Nil(t, ids, "slot %d past the slate", F+i)
	}
}
