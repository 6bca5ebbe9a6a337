package train

import (
	"bytes"
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/embedding"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/ranking"
)

// dayExamples draws next-watch examples whose histories and labels are
// videos lo..hi-1 (a day's catalogue), ages in [0, 1).
func dayExamples(n int, lo, hi int64, seed uint64) []candgen.Example {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]candgen.Example, n)
	for i := range out {
		h := make([]int64, 1+rng.IntN(5))
		for j := range h {
			h[j] = lo + rng.Int64N(hi-lo)
		}
		out[i] = candgen.Example{
			Features: feature.Example{IDs: [][]int64{h, {h[len(h)-1]}}, Nums: []float64{0, 0}},
			Label:    lo + rng.Int64N(hi-lo),
			Age:      rng.Float64(),
		}
	}
	return out
}

func warmSpec() feature.Spec {
	return feature.Spec{
		// Dim 0: grows with the vocabulary, unless warm started.
		Spaces: []feature.Space{{Name: "video", MaxVocab: 80}},
		Features: []feature.Feature{
			{Name: "watches", Kind: feature.Bag, Space: "video", MaxLen: 20},
			{Name: "last", Kind: feature.ID, Space: "video"},
		},
	}
}

func warmConfig() CandgenConfig {
	return CandgenConfig{Spec: warmSpec(), ExampleAge: true, Tower: []int{16}, Negatives: 10, Options: Options{Batch: 32, Epochs: 2, LR: 0.01, Seed: 3}}
}

// trainZeroLR trains cfg with both learning rates 0 (which the config's
// defaults cannot express: 0 means the default there).
func trainZeroLR(t *testing.T, cfg CandgenConfig, exs []candgen.Example) (*candgen.Model, Stats) {
	t.Helper()
	cfg = cfg.withDefaults()
	cfg.LR, cfg.EmbeddingLR = 0, 0
	s := &candgenStage{cfg: &cfg, full: candgen.FullSpec(cfg.Spec, cfg.ExampleAge)}
	m, st, err := runStage(context.Background(), cfg.validate(), cfg.Options, stage[candgen.Example, int32, *candgen.Model](s), feature.SliceSource(exs), nil)
	require.NoError(t, err)
	return m, st
}

func TestWarmStartCarriesRowsBitForBit(t *testing.T) {
	ctx := context.Background()
	// Day 1: videos 100..129 (30: dimension 20), about 17 counts each; day
	// 2: videos 110..189 (a vocabulary of 80 would get dimension 28), about
	// 37 each: the top 80 keep 110..129, take in 130..189 and drop 100..109.
	m1, st1, err := Candgen(ctx, warmConfig(), dayExamples(100, 100, 130, 1))
	require.NoError(t, err)
	require.NotNil(t, st1.State)
	day2 := dayExamples(600, 110, 190, 2)
	cfg := warmConfig()
	cfg.WarmStart = &Warm[*candgen.Model]{Model: m1, State: st1.State}
	m2, st2 := trainZeroLR(t, cfg, day2)

	v1, v2 := m1.VideoVocab(), m2.VideoVocab()
	assert.Equal(t, m1.Encoder().Dim(0), m2.Encoder().Dim(0), "the space keeps its dimension")
	assert.Equal(t, m1.Encoder().Width(), m2.Encoder().Width())
	kept, entered := 0, 0
	for i := int32(1); i < int32(v2.Size()); i++ {
		id, _ := v2.ID(i)
		old := v1.Index(id)
		if old == embedding.OOV {
			entered++
			assert.GreaterOrEqual(t, id, int64(130), "video %d", id)
			continue
		}
		kept++
		assert.Equal(t, m1.Tables()[0].Row(old), m2.Tables()[0].Row(i), "embedding of video %d", id)
		assert.Equal(t, m1.Softmax().Row(old), m2.Softmax().Row(i), "softmax row of video %d", id)
	}
	assert.Equal(t, 20, kept, "videos 110..129 are kept")
	assert.Equal(t, 60, entered, "videos 130..189 enter")
	for id := int64(100); id < 110; id++ {
		assert.Equal(t, embedding.OOV, v2.Index(id), "video %d (day 1 only) left", id)
	}
	day2Count := map[int64]int64{}
	for _, e := range day2 {
		for _, id := range e.Features.IDs[0] {
			day2Count[id]++
		}
		day2Count[e.Features.IDs[1][0]]++
		day2Count[e.Label]++
	}
	for _, id := range []int64{110, 120, 129} {
		assert.Equal(t, v1.Counts()[v1.Index(id)-1]/2+day2Count[id], v2.Counts()[v2.Index(id)-1], "video %d: day 1's count halved, rounded down, plus day 2's", id)
	}
	assert.Equal(t, m1.Tower().W, m2.Tower().W)
	assert.Equal(t, m1.Tower().B, m2.Tower().B)
	// The optimizers continued: lazy Adam's step counts both runs.
	require.NotNil(t, st2.State)
	assert.Equal(t, st1.State.head.Step+int64(st2.Steps), st2.State.head.Step)
	assert.Equal(t, st1.State.tables[0].Step+int64(st2.Steps), st2.State.tables[0].Step)
	assert.Equal(t, st1.State.dense.Step+int64(st2.Steps), st2.State.dense.Step)
	assert.InDelta(t, DefaultDecay*100+600, st2.State.Examples(), 1e-9)
}

// A fresh start on day 2 gives the kept videos new rows: the test above
// sees the carry-over, not the seed.
func TestWarmStartFreshStartDiffers(t *testing.T) {
	m1, _, err := Candgen(context.Background(), warmConfig(), dayExamples(600, 100, 130, 1))
	require.NoError(t, err)
	m2, _ := trainZeroLR(t, warmConfig(), dayExamples(600, 110, 190, 2))
	id := int64(115)
	assert.NotEqual(t, m1.Softmax().Row(m1.VideoVocab().Index(id)), m2.Softmax().Row(m2.VideoVocab().Index(id)))
	assert.NotEqual(t, m1.Encoder().Dim(0), m2.Encoder().Dim(0), "a fresh start sizes the space by its vocabulary")
}

// Training on after a warm start moves the model from where it was, and
// the result serves.
func TestWarmStartTrains(t *testing.T) {
	ctx := context.Background()
	m1, st1, err := Candgen(ctx, warmConfig(), dayExamples(600, 100, 130, 1))
	require.NoError(t, err)
	cfg := warmConfig()
	cfg.WarmStart = &Warm[*candgen.Model]{Model: m1, State: st1.State, Decay: 0.25}
	m2, st2, err := Candgen(ctx, cfg, dayExamples(600, 110, 190, 2))
	require.NoError(t, err)
	assert.InDelta(t, 0.25*600+600, st2.State.Examples(), 1e-9)
	assert.NotEqual(t, m1.Tower().W, m2.Tower().W)
	recs, err := m2.Recommend(ctx, feature.Example{IDs: [][]int64{{150}, {150}}, Nums: []float64{0, 0}}, 5, nil)
	require.NoError(t, err)
	assert.Len(t, recs, 5)
	// A third day continues from the warm-started model, whose stored
	// spec records the dimension it kept.
	cfg.WarmStart = &Warm[*candgen.Model]{Model: m2, State: st2.State}
	m3, _, err := Candgen(ctx, cfg, dayExamples(600, 150, 230, 3))
	require.NoError(t, err)
	assert.Equal(t, m1.Encoder().Dim(0), m3.Encoder().Dim(0))
}

func TestWarmStartRanking(t *testing.T) {
	ctx := context.Background()
	spec := feature.Spec{
		Spaces:   []feature.Space{{Name: "video"}},
		Features: []feature.Feature{{Name: "video", Kind: feature.ID, Space: "video"}, {Name: "age", Kind: feature.Continuous}},
	}
	imps := func(lo, hi int64, seed uint64) []ranking.Impression {
		rng := rand.New(rand.NewPCG(seed, 9))
		out := make([]ranking.Impression, 400)
		for i := range out {
			v := lo + rng.Int64N(hi-lo)
			out[i] = ranking.Impression{Features: feature.Example{IDs: [][]int64{{v}, nil}, Nums: []float64{0, rng.Float64() * float64(seed)}}, Clicked: v%2 == 0, WatchTime: 10}
		}
		return out
	}
	cfg := RankingConfig{Spec: spec, Tower: []int{8}, Options: Options{Batch: 32, Epochs: 2, Seed: 1}}
	r1, st1, err := Ranking(ctx, cfg, imps(1, 40, 1))
	require.NoError(t, err)
	cfg.WarmStart = &Warm[*ranking.Model]{Model: r1, State: st1.State}
	r2, st2, err := Ranking(ctx, cfg, imps(20, 60, 2))
	require.NoError(t, err)
	assert.Equal(t, r1.Encoder().Dim(0), r2.Encoder().Dim(0))
	assert.Nil(t, st2.State.head)
	// The age normalizer mixes day 1's (ages uniform on [0, 1)) and day
	// 2's ([0, 2)) 1:2 (decay 0.5 of 400 against 400): F(x) = x/3 + x/3
	// below 1, a median of 0.75 (day 2's alone: 1; day 1's: 0.5).
	q2 := r2.Encoder().CDFs[1].Q
	assert.Greater(t, q2[len(q2)-1], 1.9, "day 2's largest age is in")
	assert.InDelta(t, 0.75, q2[len(q2)/2], 0.05, "the mixture's median")
}

func TestWarmStartRefused(t *testing.T) {
	ctx := context.Background()
	m1, st1, err := Candgen(ctx, warmConfig(), dayExamples(300, 100, 130, 1))
	require.NoError(t, err)
	_, big, err := Candgen(ctx, warmConfig(), dayExamples(300, 100, 170, 2))
	require.NoError(t, err)
	cases := []struct {
		name string
		edit func(c *CandgenConfig)
		want string
	}{
		{"renamed_feature", func(c *CandgenConfig) { c.Spec.Features[1].Name = "latest" }, `feature 1 is "last", expected "latest"`},
		{"longer_history", func(c *CandgenConfig) { c.Spec.Features[0].MaxLen = 30 }, `"watches" keeps 20 IDs, expected 30`},
		{"no_example_age", func(c *CandgenConfig) { c.ExampleAge = false }, `"example_age" (position 2) is not expected`},
		{"other_tower", func(c *CandgenConfig) { c.Tower = []int{32} }, "tower has layers [16]"},
		{"no_state", func(c *CandgenConfig) { c.WarmStart.State = nil }, "no training state"},
		{"no_model", func(c *CandgenConfig) { c.WarmStart.Model = nil }, "no previous model"},
		{"decay_above_1", func(c *CandgenConfig) { c.WarmStart.Decay = 1.5 }, "Decay 1.5 outside [0, 1]"},
		{"state_of_another_model", func(c *CandgenConfig) { c.WarmStart.State = &State{} }, "0 tables' optimizers"},
		{"state_of_a_bigger_model", func(c *CandgenConfig) { c.WarmStart.State = big.State }, "a state of another model"},
		{"other_table_optimizer", func(c *CandgenConfig) { c.TableOptimizer = TableRowAdagrad }, `space "video"'s table was trained with lazy-adam, the config says rowwise-adagrad`},
		{"other_tower_optimizer", func(c *CandgenConfig) { c.Optimizer = OptimizerAdagrad }, "the previous tower was trained with adam, the config says adagrad"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := warmConfig()
			cfg.WarmStart = &Warm[*candgen.Model]{Model: m1, State: st1.State}
			tc.edit(&cfg)
			_, _, err := CandgenSource(ctx, cfg, refusingSource[candgen.Example]{t})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

func TestStateRoundTrip(t *testing.T) {
	_, st, err := Candgen(context.Background(), warmConfig(), dayExamples(300, 100, 130, 1))
	require.NoError(t, err)
	var buf bytes.Buffer
	_, err = st.State.WriteTo(&buf)
	require.NoError(t, err)
	raw := slices.Clone(buf.Bytes())
	got, err := ReadState(&buf)
	require.NoError(t, err)
	assert.Equal(t, st.State, got)
	for _, at := range []int{10, len(raw) / 2, len(raw) - 5} {
		bad := slices.Clone(raw)
		bad[at] ^= 0x40
		_, err := ReadState(bytes.NewReader(bad))
		assert.True(t, errors.Is(err, ErrFormat), "byte %d flipped: %v", at, err)
	}
	_, err = ReadState(bytes.NewReader(raw[:len(raw)/3]))
	assert.Error(t, err, "truncated")
	assert.False(t, math.IsNaN(got.Examples()))
}
