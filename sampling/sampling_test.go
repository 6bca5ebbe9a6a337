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
	_, err = NewUnigram([]float64{0, 0}, 1)
	assert.Error(t, err)
	_, err = NewUnigram([]float64{1, math.NaN()}, 1)
	assert.Error(t, err)
	_, err = NewUnigram(nil, 1)
	assert.Error(t, err)
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
	assert.Error(t, a.Draw(1001, rand.New(rand.NewPCG(1, 1))))
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

// TestBadInputIsError: samplers without classes and buffers of the wrong
// length are errors, never panics or a class that does not exist.
func TestBadInputIsError(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for name, s := range map[string]Sampler{"uniform": Uniform{}, "log-uniform": LogUniform{}, "negative": Uniform{Classes: -3}} {
		t.Run(name, func(t *testing.T) {
			for _, unique := range []bool{false, true} {
				c := &Candidates{Sampler: s, Unique: unique}
				assert.ErrorContains(t, c.Draw(3, rng), "no classes")
			}
			assert.Equal(t, int32(-1), s.Sample(rng), "no class to return")
		})
	}
	assert.Error(t, (&Candidates{}).Draw(1, rng), "nil sampler")
	c := &Candidates{Sampler: Uniform{Classes: 4}}
	require.NoError(t, c.Draw(2, rng))
	assert.Error(t, c.LogExpectedCount(make([]float32, 1), []int32{0, 1}))
	_, err := AccidentalHits(make([]bool, 1), 0, []int32{0, 1})
	assert.Error(t, err)
}
