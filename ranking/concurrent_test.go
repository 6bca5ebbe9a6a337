package ranking

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/feature"
)

func TestConcurrentRank(t *testing.T) {
	m, imps := randomModel(t, 1)
	ids := []int64{1, 2, 3, 4, 5}
	cands := make([]feature.Example, 5)
	for i := range cands {
		cands[i] = imps[i].Features
	}
	want, err := m.Rank(ids, cands)
	require.NoError(t, err)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				got, err := m.Rank(ids, cands)
				assert.NoError(t, err)
				assert.Equal(t, want, got)
			}
		})
	}
	wg.Wait()
}
