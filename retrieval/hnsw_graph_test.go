package retrieval

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHNSWWorkersReproducible: the graph depends on the seed, not on the
// number of build workers: the saved bytes are the same for 1 to 8. The
// concurrent inserts used to interleave differently on every run.
func TestHNSWWorkersReproducible(t *testing.T) {
	items := clustered(3000, 50, 16, 3)
	build := func(workers int) []byte {
		t.Helper()
		h, err := NewHNSW(context.Background(), items, 16, nil, HNSWConfig{M: 8, EfConstruction: 64, Seed: 7, Workers: workers})
		require.NoError(t, err)
		var buf bytes.Buffer
		_, err = h.WriteTo(&buf)
		require.NoError(t, err)
		return buf.Bytes()
	}
	want := build(1)
	for _, w := range []int{1, 2, 3, 8} {
		t.Run(fmt.Sprintf("workers_%d", w), func(t *testing.T) {
			for run := 0; run < 2; run++ {
				assert.True(t, bytes.Equal(want, build(w)), "run %d differs from the one-worker build", run)
			}
		})
	}
}
