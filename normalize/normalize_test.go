package normalize

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
	y, _ := cdf.Transform(-100)
	assert.Equal(t, 0.0, y)
	y, _ = cdf.Transform(100)
	assert.Less(t, y, 1.0)
	assert.Greater(t, y, 0.999)
}

func TestTiesAndConstant(t *testing.T) {
	c, err := Fit("const", []float64{4, 4, 4, 4}, 10)
	require.NoError(t, err)
	y, err := c.Transform(4)
	require.NoError(t, err)
	assert.Equal(t, 0.5, y)
	y, _ = c.Transform(3)
	assert.Equal(t, 0.0, y)

	// 80% zeros: zero maps to the middle of its mass, 0.4.
	v := append(make([]float64, 800), make([]float64, 200)...)
	for i := 800; i < 1000; i++ {
		v[i] = float64(i)
	}
	c, err = Fit("impressions", v, 100)
	require.NoError(t, err)
	y, _ = c.Transform(0)
	assert.InDelta(t, 0.4, y, 0.01)
}

func TestPowers(t *testing.T) {
	c, _ := Fit("x", []float64{0, 1, 2, 3, 4}, 4)
	dst := make([]float32, 3)
	require.NoError(t, c.Powers(dst, 1))
	assert.InDelta(t, 0.25, dst[0], 1e-7)
	assert.InDelta(t, 0.0625, dst[1], 1e-7)
	assert.InDelta(t, 0.5, dst[2], 1e-7)
}

func TestNonFiniteIsError(t *testing.T) {
	_, err := Fit("age", []float64{1, math.NaN()}, 0)
	assert.ErrorIs(t, err, ErrNonFinite)
	assert.ErrorContains(t, err, "age")
	c, _ := Fit("age", []float64{1, 2}, 0)
	_, err = c.Transform(math.Inf(1))
	assert.ErrorIs(t, err, ErrNonFinite)
	s := NewSketch("dwell", 10, nil)
	assert.ErrorContains(t, s.Add(math.NaN()), "dwell")
	_, err = Fit("empty", nil, 0)
	assert.Error(t, err)
	_, err = s.CDF(0)
	assert.Error(t, err)
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
		y, _ := cdf.Transform(x)
		worst = max(worst, math.Abs(y-(1-math.Exp(-x))))
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
	a, _ := s.CDF(0)
	b, _ := Fit("x", vals, 0)
	assert.Equal(t, b.Q, a.Q)
	assert.Equal(t, 0.0, s.ErrorBound(0.99))
}

func TestRoundTrip(t *testing.T) {
	c, _ := Fit("age", []float64{3, 1, 4, 1, 5, 9, 2, 6}, 0)
	var buf bytes.Buffer
	_, err := c.WriteTo(&buf)
	require.NoError(t, err)
	got, err := ReadCDF(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	assert.Equal(t, c, got)
	b := buf.Bytes()
	_, err = ReadCDF(bytes.NewReader(b[:len(b)-2]))
	assert.Error(t, err)
}
