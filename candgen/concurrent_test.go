package candgen

import (
	"context"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConcurrentServing: serving from many goroutines gives the serial
// answers (run under -race in CI).
func TestConcurrentServing(t *testing.T) {
	m := randomModel(t, 8, false)
	hist := [][]int64{{1, 2, 3}, {40, 41}, {300}, nil}
	want := make([][]Scored, len(hist))
	for i, h := range hist {
		r, err := m.Recommend(context.Background(), histExample(h), 10, h)
		require.NoError(t, err)
		want[i] = r
	}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 10; k++ {
				i := (g + k) % len(hist)
				r, err := m.Recommend(context.Background(), histExample(hist[i]), 10, hist[i])
				assert.NoError(t, err)
				assert.Equal(t, want[i], r)
			}
		}()
	}
	wg.Wait()
}
