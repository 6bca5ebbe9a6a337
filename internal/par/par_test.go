package par

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestForNCoversEachIndexOnce: the chunks are disjoint, cover [0, n), have
// distinct indices below workers, and the work under minWork runs as one
// chunk.
func TestForNCoversEachIndexOnce(t *testing.T) {
	for _, tc := range []struct {
		name                    string
		workers, n, minWork     int
		wantChunks, wantMaxWork int
	}{
		{"split over 4", 4, 1000, 1, 4, 3},
		{"more workers than work", 8, 3, 1, 3, 2},
		{"under minWork", 4, 99, 100, 1, 0},
		{"one worker", 1, 1000, 1, 1, 0},
		{"no work", 4, 0, 1, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			seen := make([]int, tc.n)
			chunks := map[int]bool{}
			ForN(tc.workers, tc.n, tc.minWork, func(w, lo, hi int) {
				mu.Lock()
				defer mu.Unlock()
				assert.False(t, chunks[w], "chunk index %d used twice", w)
				chunks[w] = true
				for i := lo; i < hi; i++ {
					seen[i]++
				}
			})
			for i, c := range seen {
				assert.Equal(t, 1, c, "index %d", i)
			}
			assert.Len(t, chunks, tc.wantChunks)
			for w := range chunks {
				assert.LessOrEqual(t, w, tc.wantMaxWork)
			}
		})
	}
}

// TestWorkersReadsProcs: Workers reads the GOMAXPROCS reader anew on every
// call.
func TestWorkersReadsProcs(t *testing.T) {
	reads := 0
	defer SetProcs(func(int) int { reads++; return reads })()
	assert.Equal(t, 1, Workers())
	assert.Equal(t, 2, Workers())
}
