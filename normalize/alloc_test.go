package normalize

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestServingAllocatesNothing: Transform and Powers, the serving path,
// allocate nothing (the package doc's # Cost).
func TestServingAllocatesNothing(t *testing.T) {
	c, err := Fit("x", []float64{1, 2, 2, 3, 5, 8, 13}, 0)
	require.NoError(t, err)
	dst := make([]float32, 3)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := c.Transform(4); err != nil {
			t.Fatal(err)
		}
		if err := c.Powers(dst, 2); err != nil {
			t.Fatal(err)
		}
	})
	require.Zero(t, allocs)
}
