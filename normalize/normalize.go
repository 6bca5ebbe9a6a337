package normalize

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"sort"

	"github.com/ytdnn/ytdnn/internal/binfmt"
)

// ErrFormat is wrapped by every error of a part read from a malformed,
// truncated or corrupted model file (errors.Is), as opposed to an I/O
// error.
var ErrFormat = binfmt.ErrFormat

// DefaultQuantiles is the number of quantile intervals Fit and Sketch.CDF
// keep when asked for <= 0.
const DefaultQuantiles = 1000

// below1 is the largest float64 below 1: outputs are in [0, 1).
var below1 = math.Nextafter(1, 0)

// ErrNonFinite is wrapped by errors about NaN or ±Inf values.
var ErrNonFinite = errors.New("non-finite value")

// CDF maps a continuous feature x to x̃ = F(x) ∈ [0, 1), F being the
// empirical cumulative distribution seen at fit time, by linear
// interpolation between Q+1 quantiles (at probabilities 0, 1/Q, ..., 1).
// Values below the fitted minimum map to 0 and above the maximum to just
// below 1. Runs of equal quantiles (ties, constant features) map to the
// middle of their probability range. A CDF is immutable and safe for
// concurrent use.
type CDF struct {
	// Name names the feature in error messages.
	Name string
	// Q holds the quantiles, ascending; Q[i] is at probability i/(len(Q)-1).
	// A CDF made by this package (Fit, a Sketch, ReadCDF, Mix) keeps an
	// index of Q for its searches: its Q must not change afterwards.
	Q []float64
	// guide[b] is the first index of Q in bucket b or later (see bucket):
	// a search for x starts in x's bucket. nil: plain bisection.
	guide []int32
	gs    float64 // bucket(x) = (x - Q[0])·gs, truncated
}

// guideBuckets is the number of equal-width buckets of a CDF's index.
const guideBuckets = 1024

// indexed builds c's search index and returns c.
func indexed(c *CDF) *CDF {
	if len(c.Q) < 17 {
		return c // bisection alone (an empty Q too: Mix of a hand-built CDF)
	}
	k := len(c.Q) - 1
	span := c.Q[k] - c.Q[0]
	if !(span > 0) || math.IsInf(span, 0) || math.IsInf(guideBuckets/span, 0) {
		return c // bisection alone: short, constant, or too wide to bucket
	}
	c.gs = guideBuckets / span
	c.guide = make([]int32, guideBuckets+2)
	i := 0
	for b := range c.guide {
		for i <= k && c.bucket(c.Q[i]) < b {
			i++
		}
		c.guide[b] = int32(i)
	}
	return c
}

// bucket is x's bucket, 0..guideBuckets, for Q[0] <= x <= Q[k]: monotone
// in x (a rounded subtraction and product by a positive constant,
// truncated), so every quantile of an earlier bucket is below x and every
// one of a later bucket above it.
func (c *CDF) bucket(x float64) int {
	return min(max(int((x-c.Q[0])*c.gs), 0), guideBuckets)
}

// checkFinite reports a NaN or ±Inf x of the named feature.
func checkFinite(name string, x float64) error {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return fmt.Errorf("%w %v in feature %q", ErrNonFinite, x, name)
	}
	return nil
}

// Fit computes exact quantiles of values (copied, not modified) in one pass
// plus a sort: O(n log n) time, O(n) memory. Use a Sketch for streams too
// large to hold. quantiles <= 0 means DefaultQuantiles.
func Fit(name string, values []float64, quantiles int) (*CDF, error) {
	if len(values) == 0 {
		return nil, fmt.Errorf("normalize: feature %q: no values to fit", name)
	}
	for _, x := range values {
		if err := checkFinite(name, x); err != nil {
			return nil, fmt.Errorf("normalize: %w", err)
		}
	}
	s := slices.Clone(values)
	slices.Sort(s)
	return fromSorted(name, s, quantiles), nil
}

// intervals is the number of quantile intervals a CDF fitted on n values
// gets when asked for quantiles (<= 0 means DefaultQuantiles): at most
// n-1, at least 1.
func intervals(quantiles, n int) int {
	if quantiles <= 0 {
		quantiles = DefaultQuantiles
	}
	return min(quantiles, max(1, n-1))
}

func fromSorted(name string, s []float64, quantiles int) *CDF {
	quantiles = intervals(quantiles, len(s))
	q := make([]float64, quantiles+1)
	n := len(s)
	for i := range q {
		// Type-7 quantile (linear interpolation between order statistics).
		h := float64(n-1) * float64(i) / float64(quantiles)
		lo := int(math.Floor(h))
		hi := min(lo+1, n-1)
		q[i] = lerp(s[lo], s[hi], h-float64(lo))
	}
	return indexed(&CDF{Name: name, Q: q})
}

// lerp is a + f·(b-a) for a ≤ b and f ∈ [0, 1], kept in [a, b] even when
// b-a overflows float64 (values spanning more than ±MaxFloat64/2).
func lerp(a, b, f float64) float64 {
	d := b - a
	if math.IsInf(d, 0) {
		return min(max(a*(1-f)+b*f, a), b)
	}
	return min(a+f*d, b)
}

// frac is (x-a)/(b-a) for a < x < b, computed on halves when b-a overflows.
func frac(x, a, b float64) float64 {
	if math.IsInf(b-a, 0) {
		return (x/2 - a/2) / (b/2 - a/2)
	}
	return (x - a) / (b - a)
}

// Transform returns x̃ = F(x) in [0, 1). NaN or ±Inf is an error naming the
// feature.
//
// # Accuracy
//
// Let F̂(x) be the fraction of the n fitted values ≤ x and F̂(x⁻) the fraction
// < x, and Q = len(c.Q)-1 the number of quantile intervals. Then for every x
//
//	F̂(x⁻) − 1/Q − 1/n  ≤  Transform(x)  ≤  F̂(x) + 1/Q + 1/n.
//
// Where F̂ is continuous this is |Transform(x) − F̂(x)| ≤ 1/Q + 1/n; at a value
// held by many samples (a tie, e.g. 50% zeros) Transform returns about the
// middle of the jump, F̂(x⁻)/2 + F̂(x)/2, not F̂(x). A Sketch adds its sampling
// error (see Sketch.Bound).
func (c *CDF) Transform(x float64) (float64, error) {
	if err := checkFinite(c.Name, x); err != nil {
		return 0, fmt.Errorf("normalize: %w", err)
	}
	return c.transform(x), nil
}

// transform is Transform of a finite x.
func (c *CDF) transform(x float64) float64 {
	q := c.Q
	k := len(q) - 1
	if x < q[0] {
		return 0
	}
	if x > q[k] {
		return below1
	}
	// lo = first index with q >= x, hi = last index with q <= x.
	var lo int
	if c.guide != nil {
		// Within x's bucket: below it every quantile is < x, past it > x.
		b := c.bucket(x)
		g0, g1 := int(c.guide[b]), int(c.guide[b+1])
		lo = g0 + sort.SearchFloat64s(q[g0:g1], x)
	} else {
		lo = sort.SearchFloat64s(q, x)
	}
	if q[lo] == x {
		// A run of equal quantiles (a value held by many samples, such as
		// 0) is found by bisection too: Transform stays O(log Q).
		hi := lo + sort.Search(k+1-lo, func(i int) bool { return q[lo+i] > x }) - 1
		p := (float64(lo) + float64(hi)) / 2 / float64(k)
		if k == 0 {
			p = 0.5
		}
		return min(p, below1)
	}
	// q[lo-1] < x < q[lo]
	p := (float64(lo-1) + frac(x, q[lo-1], q[lo])) / float64(k)
	return min(p, below1)
}

// Powers writes (x̃, x̃², √x̃) into dst, which must have length 3 (else an
// error).
func (c *CDF) Powers(dst []float32, x float64) error {
	if len(dst) != 3 {
		return fmt.Errorf("normalize: Powers: dst holds %d floats, want 3", len(dst))
	}
	if err := checkFinite(c.Name, x); err != nil {
		return fmt.Errorf("normalize: %w", err)
	}
	t := c.transform(x)
	dst[0], dst[1], dst[2] = float32(t), float32(t*t), float32(math.Sqrt(t))
	return nil
}

// DefaultSketchSize is the reservoir size NewSketch uses when asked for
// size <= 0.
const DefaultSketchSize = 1 << 16

// Sketch fits a CDF over a stream of any length in bounded memory: a uniform
// reservoir sample of size values (NewSketch's size; Vitter's algorithm R).
// By the Dvoretzky–Kiefer–Wolfowitz inequality the sample's CDF is within ε
// of the stream's CDF everywhere with probability at least
// 1-2·exp(-2·size·ε²): with DefaultSketchSize, 65,536, |F̂ - F| ≤ 0.01 with
// probability above 0.99999 (ErrorBound gives ε for any confidence).
// Streams no longer than size are kept whole and fitted exactly. A Sketch is not safe for concurrent
// use.
type Sketch struct {
	Name string
	size int
	n    int64
	res  []float64
	rng  *rand.Rand
}

// NewSketch returns a Sketch keeping size values (size <= 0 means
// DefaultSketchSize); rng nil means a fixed-seed generator.
func NewSketch(name string, size int, rng *rand.Rand) *Sketch {
	if size <= 0 {
		size = DefaultSketchSize
	}
	if rng == nil {
		rng = rand.New(rand.NewPCG(0x5eed, 0xcdf))
	}
	return &Sketch{Name: name, size: size, rng: rng}
}

// ErrorBound returns ε such that the fitted CDF is within ε of the stream's
// with probability at least confidence (e.g. 0.999). It is 0 while the whole
// stream fits in the reservoir.
func (s *Sketch) ErrorBound(confidence float64) float64 {
	if s.n <= int64(s.size) {
		return 0
	}
	return math.Sqrt(math.Log(2/(1-confidence)) / (2 * float64(s.size)))
}

// Bound returns b such that, with probability at least confidence, the CDF
// fitted with the given number of quantile intervals (<= 0 means
// DefaultQuantiles) satisfies, for every x and the stream's CDF F,
//
//	F(x⁻) − b ≤ Transform(x) ≤ F(x) + b,
//
// b being ErrorBound(confidence) + 1/Q + 1/n, Q the intervals the CDF gets and n
// the values it is fitted on (see CDF.Transform). With 50% zeros, Transform(0)
// lies between F(0⁻) = 0 and F(0) = 0.5 (near 0.25), not at 0.5.
func (s *Sketch) Bound(confidence float64, quantiles int) float64 {
	n := len(s.res)
	if n == 0 {
		return 1
	}
	q := intervals(quantiles, n)
	return s.ErrorBound(confidence) + 1/float64(q) + 1/float64(n)
}

// Add feeds one value; NaN or ±Inf is an error naming the feature.
func (s *Sketch) Add(x float64) error {
	if err := checkFinite(s.Name, x); err != nil {
		return fmt.Errorf("normalize: %w", err)
	}
	s.n++
	if len(s.res) < s.size {
		s.res = append(s.res, x)
		return nil
	}
	if j := s.rng.Int64N(s.n); j < int64(s.size) {
		s.res[j] = x
	}
	return nil
}

// Count returns the number of values fed.
func (s *Sketch) Count() int64 { return s.n }

// CDF returns the fitted normalizer with the given number of quantile
// intervals (<= 0 means DefaultQuantiles).
func (s *Sketch) CDF(quantiles int) (*CDF, error) {
	if s.n == 0 {
		return nil, fmt.Errorf("normalize: feature %q: no values to fit", s.Name)
	}
	v := slices.Clone(s.res)
	slices.Sort(v)
	return fromSorted(s.Name, v, quantiles), nil
}

// WriteTo writes the CDF as a part of a model file (layout in the package
// doc, # Files): inside the container when w is the model's binfmt writer.
func (c *CDF) WriteTo(w io.Writer) (int64, error) {
	bw := binfmt.PartWriter(w)
	n0 := bw.N()
	bw.String(c.Name)
	bw.F64s(c.Q)
	return bw.N() - n0, bw.Err()
}

// ReadCDF reads a CDF written by WriteTo, checking that its quantiles are
// finite and ascending. Its errors wrap ErrFormat, unprefixed (see the
// package doc, # Files).
func ReadCDF(r io.Reader) (*CDF, error) {
	br := binfmt.PartReader(r)
	c := &CDF{Name: br.String(1 << 16), Q: br.F64s(1 << 24)}
	if err := br.Err(); err != nil {
		return nil, err
	}
	if len(c.Q) == 0 {
		return nil, fmt.Errorf("%w: normalizer %q has no quantiles", binfmt.ErrFormat, c.Name)
	}
	for i, q := range c.Q {
		if math.IsNaN(q) || math.IsInf(q, 0) || (i > 0 && q < c.Q[i-1]) {
			return nil, fmt.Errorf("%w: normalizer %q quantiles not finite and ascending", binfmt.ErrFormat, c.Name)
		}
	}
	return indexed(c), nil
}

// Mix returns the normalizer of the mixture of a's and b's distributions
// with weights wa and wb: F = (wa·F_a + wb·F_b)/(wa + wb), evaluated at
// every quantile of either and inverted at max(len(a.Q), len(b.Q))-1
// equal probability steps by linear interpolation. A warm-started run
// mixes the previous model's normalizer (weight: the decayed examples it
// stood for) with the new window's (weight: its examples), as it decays
// and adds vocabulary counts. Weights must be finite and non-negative with
// a positive sum; the result takes a's name.
func Mix(a *CDF, wa float64, b *CDF, wb float64) (*CDF, error) {
	if !(wa >= 0) || !(wb >= 0) || !(wa+wb > 0) || math.IsInf(wa+wb, 0) {
		return nil, fmt.Errorf("normalize: Mix %q: weights %v and %v must be non-negative, finite and not both 0", a.Name, wa, wb)
	}
	k := max(len(a.Q), len(b.Q)) - 1
	switch {
	case wa == 0:
		return indexed(&CDF{Name: a.Name, Q: slices.Clone(b.Q)}), nil
	case wb == 0:
		return indexed(&CDF{Name: a.Name, Q: slices.Clone(a.Q)}), nil
	}
	xs := append(slices.Clone(a.Q), b.Q...)
	slices.Sort(xs)
	xs = slices.Compact(xs)
	// M is linear between knots, from m[j-1] at xs[j-1] to left[j] just
	// below xs[j], and jumps to m[j] at xs[j] (a run of equal quantiles).
	fa, fb := wa/(wa+wb), wb/(wa+wb)
	m, left := make([]float64, len(xs)), make([]float64, len(xs))
	for j, x := range xs {
		m[j] = fa*a.cdf(x, false) + fb*b.cdf(x, false)
		left[j] = fa*a.cdf(x, true) + fb*b.cdf(x, true)
	}
	q := make([]float64, k+1)
	q[0], q[k] = xs[0], xs[len(xs)-1]
	j := 0
	for i := 1; i < k; i++ {
		p := float64(i) / float64(k)
		for j < len(xs)-1 && m[j] < p {
			j++
		}
		switch {
		case j == 0 || p >= left[j] || left[j] <= m[j-1]:
			q[i] = xs[j] // in the jump at xs[j]
		default:
			q[i] = lerp(xs[j-1], xs[j], min(1, max(0, (p-m[j-1])/(left[j]-m[j-1]))))
		}
		q[i] = max(q[i], q[i-1])
	}
	return indexed(&CDF{Name: a.Name, Q: q}), nil
}

// cdf is the fitted F(x), the fraction of the distribution at or below x
// (below x when strict): linear between quantiles, jumping over a run of
// equal quantiles (the transform's middle of a jump is for inputs, not
// mixing).
func (c *CDF) cdf(x float64, strict bool) float64 {
	q := c.Q
	k := len(q) - 1
	switch {
	case x < q[0] || (strict && x == q[0]):
		return 0
	case x > q[k] || (!strict && x == q[k]):
		return 1
	}
	lo := sort.SearchFloat64s(q, x) // first q >= x
	if q[lo] == x {
		if strict {
			return float64(lo) / float64(k)
		}
		hi := lo
		for hi < k && q[hi+1] == x {
			hi++
		}
		return float64(hi) / float64(k)
	}
	return (float64(lo-1) + frac(x, q[lo-1], q[lo])) / float64(k)
}
