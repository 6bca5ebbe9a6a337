package normalize

import (
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// transformNoErr is c.Transform(x), which must not fail.
func transformNoErr(t *testing.T, c *CDF, x float64) float64 {
	t.Helper()
	y, err := c.Transform(x)
	require.NoError(t, err)
	return y
}

// ks returns the Kolmogorov–Smirnov distance of xs from Uniform(0,1).
func ks(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := float64(len(s))
	d := 0.0
	for i, x := range s {
		d = max(d, math.Abs(float64(i+1)/n-x), math.Abs(x-float64(i)/n))
	}
	return d
}

func TestHeldOutIsUniform(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	draw := func() float64 { return math.Exp(rng.NormFloat64()) } // log-normal: very skewed
	fit := make([]float64, 50_000)
	for i := range fit {
		fit[i] = draw()
	}
	in := slices.Clone(fit)
	cdf, err := Fit("watch_time", fit, 0)
	require.NoError(t, err)
	assert.Equal(t, in, fit, "Fit must not modify its input")
	out := make([]float64, 20_000)
	for i := range out {
		out[i], err = cdf.Transform(draw())
		require.NoError(t, err)
		require.GreaterOrEqual(t, out[i], 0.0)
		require.Less(t, out[i], 1.0)
	}
	// Critical KS value at α=0.001 for n=20,000 is 1.95/√n ≈ 0.0138.
	assert.Less(t, ks(out), 0.0138)
	// Raw values are far from uniform: the test could fail.
	raw := make([]float64, 2000)
	for i := range raw {
		raw[i] = math.Min(draw()/10, 1)
	}
	assert.Greater(t, ks(raw), 0.1)
}

func TestMonotoneAndClamped(t *testing.T) {
	cdf, err := Fit("x", []float64{1, 2, 2, 2, 3, 10}, 5)
	require.NoError(t, err)
	prev := -1.0
	for x := -5.0; x < 15; x += 0.01 {
		y, err := cdf.Transform(x)
		require.NoError(t, err)
		require.GreaterOrEqual(t, y, prev)
		require.Less(t, y, 1.0)
		prev = y
	}
	assert.Equal(t, 0.0, transformNoErr(t, cdf, -100))
	y := transformNoErr(t, cdf, 100)
	assert.Less(t, y, 1.0)
	assert.Greater(t, y, 0.999)
}

func TestTiesAndConstant(t *testing.T) {
	c, err := Fit("const", []float64{4, 4, 4, 4}, 10)
	require.NoError(t, err)
	y, err := c.Transform(4)
	require.NoError(t, err)
	assert.Equal(t, 0.5, y)
	assert.Equal(t, 0.0, transformNoErr(t, c, 3))

	// 80% zeros: zero maps to the middle of its mass, 0.4.
	v := append(make([]float64, 800), make([]float64, 200)...)
	for i := 800; i < 1000; i++ {
		v[i] = float64(i)
	}
	c, err = Fit("impressions", v, 100)
	require.NoError(t, err)
	assert.InDelta(t, 0.4, transformNoErr(t, c, 0), 0.01)
}

func TestPowers(t *testing.T) {
	c, err := Fit("x", []float64{0, 1, 2, 3, 4}, 4)
	require.NoError(t, err)
	dst := make([]float32, 3)
	require.NoError(t, c.Powers(dst, 1))
	assert.InDelta(t, 0.25, dst[0], 1e-7)
	assert.InDelta(t, 0.0625, dst[1], 1e-7)
	assert.InDelta(t, 0.5, dst[2], 1e-7)
}

// TestBadInputIsError: NaN and ±Inf (wrapping ErrNonFinite), empty fits and
// buffers of the wrong length are errors naming the feature, each with the
// package prefix once.
func TestBadInputIsError(t *testing.T) {
	c, err := Fit("age", []float64{1, 2}, 0)
	require.NoError(t, err)
	s := NewSketch("dwell", 10, nil)
	for _, tc := range []struct {
		name, want string
		nonFinite  bool
		err        func() error
	}{
		{"Fit of a NaN", `normalize: non-finite value NaN in feature "age"`, true, func() error { _, err := Fit("age", []float64{1, math.NaN()}, 0); return err }},
		{"Transform of +Inf", `normalize: non-finite value +Inf in feature "age"`, true, func() error { _, err := c.Transform(math.Inf(1)); return err }},
		{"Powers of -Inf", `normalize: non-finite value -Inf in feature "age"`, true, func() error { return c.Powers(make([]float32, 3), math.Inf(-1)) }},
		{"Sketch.Add of a NaN", `normalize: non-finite value NaN in feature "dwell"`, true, func() error { return s.Add(math.NaN()) }},
		{"Fit of no values", `normalize: feature "empty": no values to fit`, false, func() error { _, err := Fit("empty", nil, 0); return err }},
		{"Sketch.CDF of no values", `normalize: feature "dwell": no values to fit`, false, func() error { _, err := s.CDF(0); return err }},
		{"Powers dst too short", "normalize: Powers: dst holds 2 floats, want 3", false, func() error { return c.Powers(make([]float32, 2), 1) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			assert.EqualError(t, err, tc.want)
			assert.Equal(t, tc.nonFinite, errors.Is(err, ErrNonFinite), "wraps ErrNonFinite")
		})
	}
	assert.Zero(t, s.Count(), "a rejected value is not counted")
}

func TestSketchWithinBound(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	s := NewSketch("x", 0, rand.New(rand.NewPCG(3, 3)))
	const n = 1_000_000
	for i := 0; i < n; i++ {
		require.NoError(t, s.Add(rng.ExpFloat64()))
	}
	cdf, err := s.CDF(0)
	require.NoError(t, err)
	eps := s.ErrorBound(0.999)
	assert.Greater(t, eps, 0.0)
	assert.Less(t, eps, 0.01)
	// The stream is Exp(1): the true CDF is 1-exp(-x).
	worst := 0.0
	for x := 0.0; x < 8; x += 0.01 {
		worst = max(worst, math.Abs(transformNoErr(t, cdf, x)-(1-math.Exp(-x))))
	}
	// The bound covers sampling error; the quantile grid adds at most 1/1000.
	assert.Less(t, worst, eps+1.0/DefaultQuantiles, "worst=%g eps=%g", worst, eps)
}

func TestSketchExactForSmallStreams(t *testing.T) {
	s := NewSketch("x", 100, nil)
	vals := []float64{5, 1, 3}
	for _, v := range vals {
		require.NoError(t, s.Add(v))
	}
	a, err := s.CDF(0)
	require.NoError(t, err)
	b, err := Fit("x", vals, 0)
	require.NoError(t, err)
	assert.Equal(t, b.Q, a.Q)
	assert.Equal(t, 0.0, s.ErrorBound(0.99))
}

// TestHugeRange: values spanning more than float64's range (b-a overflows)
// give finite, ascending quantiles, a file that reads back, and a monotone
// Transform. Before, the interpolation computed NaN quantiles.
func TestHugeRange(t *testing.T) {
	vals := []float64{-1.5e308, 1.5e308, 1.7e308}
	c, err := Fit("big", vals, 0)
	require.NoError(t, err)
	for i, q := range c.Q {
		require.False(t, math.IsNaN(q) || math.IsInf(q, 0), "quantile %d = %v", i, q)
		if i > 0 {
			require.LessOrEqual(t, c.Q[i-1], q)
		}
	}
	got, err := open(seal(t, part(c)))
	require.NoError(t, err)
	assert.Equal(t, c, got)
	prev := -1.0
	for _, x := range []float64{-1.6e308, -1.5e308, -1.2e308, -5e307, 0, 5e307, 1.2e308, 1.6e308, 1.7e308, math.MaxFloat64} {
		y, err := c.Transform(x)
		require.NoError(t, err)
		require.False(t, math.IsNaN(y), "Transform(%g)", x)
		assert.GreaterOrEqual(t, y, prev, "monotone at %g", x)
		assert.True(t, y >= 0 && y < 1)
		prev = y
	}
}

// TestSketchBoundWithTies checks the bound Sketch.Bound states, on a stream
// where half the values are one number: Transform(0) sits inside the jump of
// the CDF at 0, far from F(0) = 0.5, and the stated two-sided bound holds at
// every point while the sampling-only bound (ErrorBound + 1/Q) does not.
func TestSketchBoundWithTies(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	s := NewSketch("x", 0, rand.New(rand.NewPCG(4, 4)))
	const n = 400_000
	for i := 0; i < n; i++ {
		v := 0.0
		if rng.IntN(2) == 0 {
			v = rng.ExpFloat64()
		}
		require.NoError(t, s.Add(v))
	}
	cdf, err := s.CDF(0)
	require.NoError(t, err)
	b := s.Bound(0.999, 0)
	require.Less(t, b, 0.02, "the bound is useful")
	// The stream's CDF: F(x⁻) and F(x) for 0.5·δ₀ + 0.5·Exp(1).
	F := func(x float64) (lo, hi float64) {
		if x < 0 {
			return 0, 0
		}
		e := 0.5 * (1 - math.Exp(-x))
		if x == 0 {
			return 0, 0.5
		}
		return 0.5 + e, 0.5 + e
	}
	sampling := s.ErrorBound(0.999) + 1.0/DefaultQuantiles
	naive := 0.0
	for x := -1.0; x < 8; x += 0.005 {
		if math.Abs(x) < 1e-9 {
			x = 0
		}
		y, err := cdf.Transform(x)
		require.NoError(t, err)
		lo, hi := F(x)
		assert.GreaterOrEqual(t, y, lo-b, "x=%g", x)
		assert.LessOrEqual(t, y, hi+b, "x=%g", x)
		naive = max(naive, math.Abs(y-hi))
	}
	assert.InDelta(t, 0.25, transformNoErr(t, cdf, 0), 0.02, "ties map to the middle of the jump")
	assert.Greater(t, naive, sampling, "the sampling-only bound does not hold with ties")
}

// TestTransformInterpolates checks exact values between distinct quantiles
// of CDFs with few intervals, worked out by hand, so a step function (no
// interpolation inside an interval) or a wrong interval fails. The probes
// at fitted quantiles and the 1,000-interval tests cannot tell.
func TestTransformInterpolates(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []float64
		q      int
		wantQ  []float64
		x      []float64
		want   []float64
	}{
		{
			// One value per quantile: Q = [0, 1, 3, 6, 10], 4 intervals of 1/4.
			name: "quantiles_are_values", values: []float64{6, 0, 10, 3, 1}, q: 4,
			wantQ: []float64{0, 1, 3, 6, 10},
			// 0.5 is half of [0,1]: (0+0.5)/4; 2 half of [1,3]: (1+0.5)/4;
			// 4.5 half of [3,6]: (2+0.5)/4; 7 a quarter of [6,10]: (3+0.25)/4.
			x: []float64{0.5, 2, 4.5, 7, 9.9}, want: []float64{0.125, 0.375, 0.625, 0.8125, (3 + 3.9/4) / 4},
		},
		{
			// 7 values, 3 intervals: order statistics 0, 2, 4, 6 = Q [0, 2, 8, 32].
			name: "fewer_quantiles_than_values", values: []float64{32, 0, 1, 2, 4, 8, 16}, q: 3,
			wantQ: []float64{0, 2, 8, 32},
			// 1 is half of [0,2]: 0.5/3; 5 half of [2,8]: 1.5/3; 20 half of
			// [8,32]: 2.5/3; 3.5 a quarter of [2,8]: 1.25/3.
			x: []float64{1, 5, 20, 3.5}, want: []float64{0.5 / 3, 1.5 / 3, 2.5 / 3, 1.25 / 3},
		},
		{
			// 4 values, 2 intervals: the middle quantile is interpolated,
			// h = 1.5 between 10 and 20: Q = [0, 15, 40].
			name: "interpolated_quantile", values: []float64{0, 10, 20, 40}, q: 2,
			wantQ: []float64{0, 15, 40},
			// 5 is a third of [0,15]: (1/3)/2; 30 is 15/25 of [15,40]: (1+0.6)/2.
			x: []float64{5, 30}, want: []float64{1.0 / 6, 0.8},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Fit("x", tc.values, tc.q)
			require.NoError(t, err)
			require.InDeltaSlice(t, tc.wantQ, c.Q, 1e-12)
			for i, x := range tc.x {
				y, err := c.Transform(x)
				require.NoError(t, err)
				assert.InDelta(t, tc.want[i], y, 1e-12, "Transform(%g)", x)
			}
		})
	}
}
