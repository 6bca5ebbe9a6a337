package sampling

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func zipfCounts(n int) []float64 {
	c := make([]float64, n)
	for i := range c {
		c[i] = 1000 / float64(i+1)
	}
	return c
}

func TestProbabilitiesSumToOne(t *testing.T) {
	u, err := NewUnigram(zipfCounts(500), 0)
	require.NoError(t, err)
	for name, s := range map[string]Sampler{"uniform": Uniform{500}, "loguniform": LogUniform{500}, "unigram": u} {
		sum := 0.0
		for i := 0; i < s.N(); i++ {
			sum += s.Prob(int32(i))
		}
		assert.InDelta(t, 1, sum, 1e-9, name)
		assert.Equal(t, 0.0, s.Prob(-1), name)
		assert.Equal(t, 0.0, s.Prob(int32(s.N())), name)
	}
}

// TestEmpiricalFrequencies checks 1e6 draws against the stated
// probabilities with a chi-square test on classes with enough mass.
func TestEmpiricalFrequencies(t *testing.T) {
	counts := zipfCounts(200)
	counts[7] = 0 // a zero-count class is never drawn
	u, err := NewUnigram(counts, 0.75)
	require.NoError(t, err)
	for name, s := range map[string]Sampler{"uniform": Uniform{200}, "loguniform": LogUniform{200}, "unigram": u} {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, 12))
			const draws = 1_000_000
			hist := make([]float64, s.N())
			for i := 0; i < draws; i++ {
				hist[s.Sample(rng)]++
			}
			chi2, df := 0.0, -1
			for i, h := range hist {
				e := s.Prob(int32(i)) * draws
				if e == 0 {
					assert.Zero(t, h, "class %d has zero probability", i)
					continue
				}
				chi2 += (h - e) * (h - e) / e
				df++
			}
			// chi-square with df≈199: mean 199, sd ≈ 20; 5 sd is a safe bound.
			assert.Less(t, chi2, float64(df)+5*math.Sqrt(2*float64(df)), "chi2=%.1f df=%d", chi2, df)
		})
	}
}

func TestUnigramPower(t *testing.T) {
	u, err := NewUnigram([]float64{16, 1}, 0.5)
	require.NoError(t, err)
	assert.InDelta(t, 4.0/5, u.Prob(0), 1e-12)
	d, err := NewUnigram([]float64{16, 1}, 0)
	require.NoError(t, err)
	assert.InDelta(t, 8.0/9, d.Prob(0), 1e-12, "power 0 means DefaultPower, 3/4")
}

// TestExpectedCounts checks the stated expected counts against the empirical
// mean count over many draws, with and without replacement.
func TestExpectedCounts(t *testing.T) {
	s := LogUniform{50}
	for _, unique := range []bool{false, true} {
		c := &Candidates{Sampler: s, Unique: unique}
		rng := rand.New(rand.NewPCG(1, uint64(map[bool]int{false: 1, true: 2}[unique])))
		const rounds, k = 20000, 10
		hits := make([]float64, s.N())
		predicted := make([]float64, s.N())
		for r := 0; r < rounds; r++ {
			require.NoError(t, c.Draw(k, rng))
			for _, id := range c.IDs {
				hits[id]++
			}
			for i := range predicted {
				predicted[i] += c.ExpectedCount(int32(i))
			}
			if unique {
				seen := map[int32]bool{}
				for _, id := range c.IDs {
					require.False(t, seen[id], "duplicate in unique draw")
					seen[id] = true
				}
			}
		}
		for _, cl := range []int{0, 1, 5, 20, 49} {
			assert.InEpsilon(t, predicted[cl]/rounds, hits[cl]/rounds, 0.08, "unique=%v class %d", unique, cl)
		}
	}
}

func TestDrawDeterministic(t *testing.T) {
	a := &Candidates{Sampler: LogUniform{1000}, Unique: true}
	b := &Candidates{Sampler: LogUniform{1000}, Unique: true}
	require.NoError(t, a.Draw(100, rand.New(rand.NewPCG(9, 9))))
	require.NoError(t, b.Draw(100, rand.New(rand.NewPCG(9, 9))))
	assert.Equal(t, a.IDs, b.IDs)
	assert.Equal(t, a.Tries, b.Tries)
}

func TestAccidentalHits(t *testing.T) {
	hit := make([]bool, 4)
	n, err := AccidentalHits(hit, 3, []int32{1, 3, 2, 3})
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	assert.Equal(t, []bool{false, true, false, true}, hit)
}

func TestLogExpectedCountFinite(t *testing.T) {
	u, err := NewUnigram([]float64{1, 0}, 1)
	require.NoError(t, err)
	c := &Candidates{Sampler: u}
	require.NoError(t, c.Draw(5, rand.New(rand.NewPCG(1, 1))))
	dst := make([]float32, 2)
	require.NoError(t, c.LogExpectedCount(dst, []int32{0, 1}))
	assert.InDelta(t, math.Log(5), dst[0], 1e-6)
	assert.False(t, math.IsInf(float64(dst[1]), 0))
}

// TestBadInputIsError: bad counts, samplers without classes, draws that
// cannot be made and buffers of the wrong length are errors that say what
// is wrong, each with the package prefix once; never panics or a class that
// does not exist.
func TestBadInputIsError(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	newUnigram := func(counts ...float64) func() error {
		return func() error { _, err := NewUnigram(counts, 1); return err }
	}
	draw := func(c *Candidates, k int) func() error { return func() error { return c.Draw(k, rng) } }
	massless, err := NewUnigram([]float64{1, 0, 0}, 1) // one class with mass
	require.NoError(t, err)
	drawn := &Candidates{Sampler: Uniform{Classes: 4}}
	require.NoError(t, drawn.Draw(2, rng))
	for _, tc := range []struct {
		name, want string
		err        func() error
	}{
		{"NewUnigram of no classes", "sampling: NewUnigram: no classes", newUnigram()},
		{"NewUnigram of zero counts", "sampling: NewUnigram: counts must have a positive finite sum", newUnigram(0, 0)},
		{"NewUnigram of an infinite sum", "sampling: NewUnigram: counts must have a positive finite sum", newUnigram(math.MaxFloat64, math.MaxFloat64)},
		{"NewUnigram of a NaN count", "sampling: NewUnigram: count 1 is NaN", newUnigram(1, math.NaN())},
		{"NewUnigram of a negative count", "sampling: NewUnigram: count 0 is -1", newUnigram(-1, 2)},
		{"NewUnigram of an infinite count", "sampling: NewUnigram: count 0 is +Inf", newUnigram(math.Inf(1))},
		{"Draw with no sampler", "sampling: Draw: the sampler has no classes", draw(&Candidates{}, 1)},
		{"Draw from Uniform of no classes", "sampling: Draw: the sampler has no classes", draw(&Candidates{Sampler: Uniform{}}, 3)},
		{"Draw unique from Uniform of no classes", "sampling: Draw: the sampler has no classes", draw(&Candidates{Sampler: Uniform{}, Unique: true}, 3)},
		{"Draw from LogUniform of no classes", "sampling: Draw: the sampler has no classes", draw(&Candidates{Sampler: LogUniform{}}, 3)},
		{"Draw from Uniform of negative classes", "sampling: Draw: the sampler has no classes", draw(&Candidates{Sampler: Uniform{Classes: -3}}, 3)},
		{"Draw of negative k", "sampling: Draw: negative k -1", draw(&Candidates{Sampler: Uniform{Classes: 4}}, -1)},
		{"Draw of more unique candidates than classes", "sampling: Draw: 1001 unique candidates from 1000 classes", draw(&Candidates{Sampler: LogUniform{1000}, Unique: true}, 1001)},
		{"Draw of unique candidates without mass", "sampling: Draw: 2 unique candidates not found in 1002000 draws (too few classes with mass)", draw(&Candidates{Sampler: massless, Unique: true}, 2)},
		{"LogExpectedCount of too few destinations", "sampling: LogExpectedCount: 1 destinations for 2 classes", func() error { return drawn.LogExpectedCount(make([]float32, 1), []int32{0, 1}) }},
		{"AccidentalHits of too few flags", "sampling: AccidentalHits: 1 flags for 2 candidates", func() error { _, err := AccidentalHits(make([]bool, 1), 0, []int32{0, 1}); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.err()
			assert.EqualError(t, err, tc.want)
		})
	}
}

// TestNoClassToSample: a sampler without classes returns -1, no class.
func TestNoClassToSample(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for name, s := range map[string]Sampler{"uniform": Uniform{}, "log-uniform": LogUniform{}, "negative": Uniform{Classes: -3}} {
		assert.Equal(t, int32(-1), s.Sample(rng), name)
	}
}
