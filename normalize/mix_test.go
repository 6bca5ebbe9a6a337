package normalize

import (
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMix(t *testing.T) {
	a := &CDF{Name: "x", Q: []float64{0, 0.25, 0.5, 0.75, 1}} // uniform on [0, 1]
	b := &CDF{Name: "x", Q: []float64{1, 1.25, 1.5, 1.75, 2}} // uniform on [1, 2]
	m, err := Mix(a, 1, b, 1)
	require.NoError(t, err)
	assert.InDeltaSlice(t, []float64{0, 0.5, 1, 1.5, 2}, m.Q, 1e-12, "equal weights: uniform on [0, 2]")
	m, err = Mix(a, 3, b, 1)
	require.NoError(t, err)
	// F(x) = 0.75x on [0, 1], then 0.75 + 0.25(x-1): quantiles at 0.25,
	// 0.5, 0.75 are 1/3, 2/3, 1.
	assert.InDeltaSlice(t, []float64{0, 1.0 / 3, 2.0 / 3, 1, 2}, m.Q, 1e-12)
	m, err = Mix(a, 0, b, 1)
	require.NoError(t, err)
	assert.InDeltaSlice(t, b.Q, m.Q, 1e-12, "weight 0: b alone")
	// A point mass (every value 5) mixed 1:1 with uniform [0, 10]: half
	// the mass sits at 5.
	c := &CDF{Name: "x", Q: []float64{5, 5}}
	u := &CDF{Name: "x", Q: []float64{0, 2.5, 5, 7.5, 10}}
	m, err = Mix(c, 1, u, 1)
	require.NoError(t, err)
	assert.InDeltaSlice(t, []float64{0, 5, 5, 5, 10}, m.Q, 1e-12)
}

func TestMixRefusesWeights(t *testing.T) {
	a := &CDF{Name: "x", Q: []float64{0, 1}}
	for _, w := range [][2]float64{{-1, 1}, {0, 0}, {1, math.NaN()}, {math.Inf(1), 1}} {
		_, err := Mix(a, w[0], a, w[1])
		assert.ErrorContains(t, err, `Mix "x": weights`, "weights %v", w)
	}
}

// TestTransformTiesBisected: the bisection over a run of equal quantiles
// gives the middle of the run, as a linear scan does, on CDFs with long
// runs (most values 0, say).
func TestTransformTiesBisected(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for trial := 0; trial < 200; trial++ {
		q := make([]float64, 2+rng.IntN(300))
		for i := range q {
			q[i] = float64(rng.IntN(6)) // long runs of each value
		}
		slices.Sort(q)
		c := &CDF{Name: "x", Q: q}
		k := len(q) - 1
		for _, x := range []float64{0, 1, 2, 3, 4, 5, 2.5} {
			want := 0.0
			switch lo := sort.SearchFloat64s(q, x); {
			case x < q[0]:
			case x > q[k]:
				want = below1
			case q[lo] == x:
				hi := lo
				for hi < k && q[hi+1] == x {
					hi++
				}
				want = min((float64(lo)+float64(hi))/2/float64(k), below1)
			default:
				want = min((float64(lo-1)+frac(x, q[lo-1], q[lo]))/float64(k), below1)
			}
			got, err := c.Transform(x)
			require.NoError(t, err)
			assert.Equal(t, want, got, "trial %d, x=%v", trial, x)
		}
	}
}
