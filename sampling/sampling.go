package sampling

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Sampler draws classes in [0, N()) from a fixed background distribution.
// Samplers are immutable after construction and safe for concurrent use;
// the *rand.Rand passed to Sample is not, so give each goroutine its own.
type Sampler interface {
	// N is the number of classes.
	N() int
	// Prob is the probability of one draw returning class.
	Prob(class int32) float64
	// Sample returns one draw.
	Sample(rng *rand.Rand) int32
}

var (
	_ Sampler = Uniform{}
	_ Sampler = LogUniform{}
	_ Sampler = (*Unigram)(nil)
)

// Uniform draws every class with probability 1/N.
type Uniform struct{ Classes int }

// N implements Sampler.
func (u Uniform) N() int { return u.Classes }

// Prob implements Sampler.
func (u Uniform) Prob(class int32) float64 {
	if class < 0 || int(class) >= u.Classes {
		return 0
	}
	return 1 / float64(u.Classes)
}

// Sample implements Sampler. With no classes it returns -1, which is no
// class (Candidates.Draw refuses such a sampler).
func (u Uniform) Sample(rng *rand.Rand) int32 {
	if u.Classes <= 0 {
		return -1
	}
	return int32(rng.IntN(u.Classes))
}

// LogUniform is the Zipfian sampler over frequency rank used by TensorFlow's
// log_uniform_candidate_sampler: P(k) = log((k+2)/(k+1)) / log(N+1). Classes
// must be numbered by decreasing frequency (as embedding.Vocab does).
type LogUniform struct{ Classes int }

// N implements Sampler.
func (l LogUniform) N() int { return l.Classes }

// Prob implements Sampler.
func (l LogUniform) Prob(class int32) float64 {
	if class < 0 || int(class) >= l.Classes {
		return 0
	}
	k := float64(class)
	return (math.Log(k+2) - math.Log(k+1)) / math.Log(float64(l.Classes)+1)
}

// Sample implements Sampler. With no classes it returns -1, which is no
// class (Candidates.Draw refuses such a sampler).
func (l LogUniform) Sample(rng *rand.Rand) int32 {
	if l.Classes <= 0 {
		return -1
	}
	// Inverse CDF: F(k) = log(k+2)/log(N+1), so k = floor((N+1)^u) - 1.
	k := int(math.Exp(rng.Float64()*math.Log(float64(l.Classes)+1))) - 1
	return int32(max(0, min(k, l.Classes-1)))
}

// Unigram draws class i with probability proportional to counts[i]^Power,
// in O(1) per draw with Walker's alias method. Build it with NewUnigram.
type Unigram struct {
	prob  []float64 // exact per-class probability
	cut   []float32 // alias-table acceptance threshold
	alias []int32
}

// DefaultPower is the unigram distortion used when NewUnigram gets power 0,
// as in word2vec.
const DefaultPower = 0.75

// NewUnigram builds a unigram sampler from per-class counts raised to power
// (0 means DefaultPower). Counts must be finite and non-negative with a
// positive sum; zero-count classes are never drawn.
func NewUnigram(counts []float64, power float64) (*Unigram, error) {
	if len(counts) == 0 {
		return nil, errors.New("sampling: NewUnigram: no classes")
	}
	if len(counts) > math.MaxInt32 {
		return nil, errors.New("sampling: NewUnigram: too many classes")
	}
	if power == 0 {
		power = DefaultPower
	}
	n := len(counts)
	w := make([]float64, n)
	var sum float64
	for i, c := range counts {
		if c < 0 || math.IsNaN(c) || math.IsInf(c, 0) {
			return nil, fmt.Errorf("sampling: NewUnigram: count %d is %v", i, c)
		}
		if c > 0 {
			w[i] = math.Pow(c, power)
		}
		sum += w[i]
	}
	if sum <= 0 || math.IsInf(sum, 0) {
		return nil, errors.New("sampling: NewUnigram: counts must have a positive finite sum")
	}
	u := &Unigram{prob: make([]float64, n), cut: make([]float32, n), alias: make([]int32, n)}
	scaled := make([]float64, n)
	small := make([]int32, 0, n)
	large := make([]int32, 0, n)
	for i := range w {
		u.prob[i] = w[i] / sum
		scaled[i] = u.prob[i] * float64(n)
		if scaled[i] < 1 {
			small = append(small, int32(i))
		} else {
			large = append(large, int32(i))
		}
	}
	for len(small) > 0 && len(large) > 0 {
		s := small[len(small)-1]
		small = small[:len(small)-1]
		l := large[len(large)-1]
		u.cut[s] = float32(scaled[s])
		u.alias[s] = l
		scaled[l] -= 1 - scaled[s]
		if scaled[l] < 1 {
			large = large[:len(large)-1]
			small = append(small, l)
		}
	}
	for _, i := range large {
		u.cut[i], u.alias[i] = 1, i
	}
	for _, i := range small { // rounding leftovers
		u.cut[i], u.alias[i] = 1, i
	}
	return u, nil
}

// N implements Sampler.
func (u *Unigram) N() int { return len(u.prob) }

// Prob implements Sampler.
func (u *Unigram) Prob(class int32) float64 {
	if class < 0 || int(class) >= len(u.prob) {
		return 0
	}
	return u.prob[class]
}

// Sample implements Sampler.
func (u *Unigram) Sample(rng *rand.Rand) int32 {
	i := int32(rng.IntN(len(u.prob)))
	if rng.Float32() < u.cut[i] {
		return i
	}
	return u.alias[i]
}

// Candidates draws a set of negative candidates from a Sampler and knows each
// class's expected count in the draw, which the logQ correction subtracts.
//
// With Unique false it makes k independent draws (duplicates possible) and
// the expected count of class c is k·P(c). With Unique true it draws with
// replacement until k distinct classes are seen (Tries draws in all) and the
// expected count is the inclusion probability 1-(1-P(c))^Tries, the same
// approximation TensorFlow uses. A Candidates reuses its buffers and is not
// safe for concurrent use; use one per goroutine.
type Candidates struct {
	Sampler Sampler
	Unique  bool
	// IDs are the classes drawn by the last Draw.
	IDs []int32
	// Tries is the number of raw draws the last Draw made.
	Tries int
	seen  map[int32]struct{}
}

// Draw draws k candidates into c.IDs. It is an error to draw a negative k,
// from a sampler without classes, or, with Unique, more candidates than the
// sampler has classes or than it finds within 1000·k + 10⁶ raw draws (too
// few classes with mass).
func (c *Candidates) Draw(k int, rng *rand.Rand) error {
	if k < 0 {
		return fmt.Errorf("sampling: Draw: negative k %d", k)
	}
	if c.Sampler == nil || c.Sampler.N() < 1 {
		return errors.New("sampling: Draw: the sampler has no classes")
	}
	if cap(c.IDs) < k {
		c.IDs = make([]int32, k)
	}
	c.IDs = c.IDs[:k]
	if !c.Unique {
		for i := range c.IDs {
			c.IDs[i] = c.Sampler.Sample(rng)
		}
		c.Tries = k
		return nil
	}
	if k > c.Sampler.N() {
		return fmt.Errorf("sampling: Draw: %d unique candidates from %d classes", k, c.Sampler.N())
	}
	if c.seen == nil {
		c.seen = make(map[int32]struct{}, k)
	}
	clear(c.seen)
	limit := 1000*k + 1_000_000
	c.Tries = 0
	for n := 0; n < k; {
		if c.Tries >= limit {
			return fmt.Errorf("sampling: Draw: %d unique candidates not found in %d draws (too few classes with mass)", k, limit)
		}
		x := c.Sampler.Sample(rng)
		c.Tries++
		if _, ok := c.seen[x]; ok {
			continue
		}
		c.seen[x] = struct{}{}
		c.IDs[n] = x
		n++
	}
	return nil
}

// ExpectedCount returns class's expected count under the last Draw.
func (c *Candidates) ExpectedCount(class int32) float64 {
	return ExpectedCount(c.Sampler.Prob(class), c.Tries, c.Unique)
}

// LogExpectedCount writes log(expected count) of each class into dst (the
// logQ term subtracted from each candidate's logit). A class the sampler
// never draws gets log of the smallest positive float64, so the correction
// stays finite. dst and classes must have the same length.
func (c *Candidates) LogExpectedCount(dst []float32, classes []int32) error {
	if len(dst) != len(classes) {
		return fmt.Errorf("sampling: LogExpectedCount: %d destinations for %d classes", len(dst), len(classes))
	}
	for i, cl := range classes {
		dst[i] = c.LogQ(cl)
	}
	return nil
}

// LogQ is log(ExpectedCount(class)), finite even for a class the sampler
// never draws (see LogExpectedCount).
func (c *Candidates) LogQ(class int32) float32 {
	return float32(math.Log(max(c.ExpectedCount(class), math.SmallestNonzeroFloat64)))
}

// ExpectedCount is the expected number of times (with replacement) or the
// probability of appearing at least once (unique) of a class with per-draw
// probability p in a draw of tries samples.
func ExpectedCount(p float64, tries int, unique bool) float64 {
	if !unique {
		return float64(tries) * p
	}
	if p >= 1 {
		return 1
	}
	return -math.Expm1(float64(tries) * math.Log1p(-p))
}

// AccidentalHits sets hit[j] for every candidate equal to label (a sampled
// negative that is the row's true class) and returns how many it found.
// The loss then drops those candidates. hit and candidates must have the
// same length. This is the definition, a scan of all candidates per row;
// candgen finds the same hits for a whole batch from an index of the
// negatives (its tests check it against this).
func AccidentalHits(hit []bool, label int32, candidates []int32) (int, error) {
	if len(hit) != len(candidates) {
		return 0, fmt.Errorf("sampling: AccidentalHits: %d flags for %d candidates", len(hit), len(candidates))
	}
	n := 0
	for j, c := range candidates {
		hit[j] = c == label
		if hit[j] {
			n++
		}
	}
	return n, nil
}
