package normalize

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGuideIsBisection: a fitted CDF's bucket index gives Transform the
// same value as plain bisection, bit for bit, on smooth, skewed, tied
// (half zeros, small counts), narrow and wide distributions, at every
// quantile, between them, and past both ends.
func TestGuideIsBisection(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	draws := map[string]func() float64{
		"normal":      rng.NormFloat64,
		"exponential": rng.ExpFloat64,
		"half zeros": func() float64 {
			if rng.IntN(2) == 0 {
				return 0
			}
			return rng.ExpFloat64()
		},
		"counts": func() float64 { return float64(rng.IntN(7)) },
		"narrow": func() float64 { return 1 + rng.Float64()*1e-12 },
		"wide":   func() float64 { return rng.NormFloat64() * 1e300 },
	}
	indexedOnes := 0
	for name, draw := range draws {
		vals := make([]float64, 5000)
		for i := range vals {
			vals[i] = draw()
		}
		c, err := Fit(name, vals, 0)
		require.NoError(t, err)
		if c.guide != nil {
			indexedOnes++
		}
		plain := &CDF{Name: c.Name, Q: c.Q}
		var xs []float64
		for i, q := range c.Q {
			xs = append(xs, q, math.Nextafter(q, math.Inf(-1)), math.Nextafter(q, math.Inf(1)))
			if i > 0 {
				xs = append(xs, c.Q[i-1]/2+q/2)
			}
		}
		for range 2000 {
			xs = append(xs, draw())
		}
		xs = append(xs, c.Q[0]-1, c.Q[len(c.Q)-1]+1, -math.MaxFloat64, math.MaxFloat64)
		for _, x := range xs {
			got, want := c.transform(x), plain.transform(x)
			require.Equal(t, math.Float64bits(want), math.Float64bits(got), "%s: x=%v", name, x)
		}
	}
	require.GreaterOrEqual(t, indexedOnes, 4, "most of these CDFs get an index")
}

// TestIndexedShortOrEmpty: a CDF too short for an index (a hand-built one
// with no quantiles included, through Mix's weight-0 shortcut) keeps plain
// bisection and does not panic.
func TestIndexedShortOrEmpty(t *testing.T) {
	m, err := Mix(&CDF{Name: "a"}, 1, &CDF{Q: []float64{1, 2}}, 0)
	require.NoError(t, err)
	require.Empty(t, m.Q)
	require.Nil(t, m.guide)
	short := indexed(&CDF{Q: []float64{0, 1, 2}})
	require.Nil(t, short.guide)
	require.Equal(t, 0.5, short.transform(1))
}
