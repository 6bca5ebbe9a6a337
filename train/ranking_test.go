package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/embedding"
	"github.com/ytdnn/ytdnn/eval"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/internal/gradcheck"
	"github.com/ytdnn/ytdnn/ranking"
)

func rankSpec() feature.Spec {
	return feature.Spec{
		Spaces: []feature.Space{{Name: "video", Dim: 8}},
		Features: []feature.Feature{
			{Name: "video", Kind: feature.ID, Space: "video"},
			{Name: "last_watched", Kind: feature.Bag, Space: "video", MaxLen: 5},
			{Name: "appeal", Kind: feature.Continuous},
			{Name: "quality", Kind: feature.Continuous},
		},
	}
}

// gen draws impressions from a known process: click probability
// p = 0.01 + 0.08·appeal (small CTR), watch time given a click
// ~ Exponential(mean 5 + 95·quality). The expected watch time of an
// impression is p·mean. Pages hold 10 impressions.
type gen struct{ rng *rand.Rand }

func (g gen) impression() (ranking.Impression, float64) {
	a, q := g.rng.Float64(), g.rng.Float64()
	p := 0.01 + 0.08*a
	mean := 5 + 95*q
	ex := feature.Example{IDs: make([][]int64, 4), Nums: make([]float64, 4)}
	ex.IDs[0] = []int64{int64(g.rng.IntN(50))}
	ex.IDs[1] = []int64{int64(g.rng.IntN(50)), int64(g.rng.IntN(50))}
	ex.Nums[2], ex.Nums[3] = a, q
	imp := ranking.Impression{Features: ex}
	if g.rng.Float64() < p {
		imp.Clicked = true
		imp.WatchTime = g.rng.ExpFloat64() * mean
	}
	return imp, p * mean
}

func (g gen) many(n int) ([]ranking.Impression, []float64) {
	imps := make([]ranking.Impression, n)
	truth := make([]float64, n)
	for i := range imps {
		imps[i], truth[i] = g.impression()
	}
	return imps, truth
}

func rankCfg(unweighted bool) RankingConfig {
	return RankingConfig{Spec: rankSpec(), Tower: []int{16}, Unweighted: unweighted, Options: Options{Batch: 256, Epochs: 4, LR: 0.01, Seed: 1}}
}

// TestOddsLearnExpectedWatchTime: exp(logit) per decile of prediction is
// within 25% of the true expected watch time (the odds are E[T]·(1+P)-ish,
// P ≤ 0.09, plus sampling noise), and unweighted LR has a worse weighted
// per-user loss.
func TestOddsLearnExpectedWatchTime(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(1, 2))}
	trainSet, _ := g.many(80000)
	w, _, err := Ranking(context.Background(), rankCfg(false), trainSet)
	require.NoError(t, err)
	u, _, err := Ranking(context.Background(), rankCfg(true), trainSet)
	require.NoError(t, err)

	test, truth := g.many(30000)
	exs := make([]feature.Example, len(test))
	for i := range test {
		exs[i] = test[i].Features
	}
	pw, err := w.ExpectedWatchTime(exs)
	require.NoError(t, err)
	pu, err := u.ExpectedWatchTime(exs)
	require.NoError(t, err)

	// Calibration against the truth, by decile of prediction.
	items := make([]eval.Scored, len(test))
	for i := range test {
		items[i] = eval.Scored{Score: pw[i], Clicked: true, WatchTime: truth[i]}
	}
	for _, b := range eval.Calibration(items, 10) {
		assert.InEpsilon(t, b.Observed, b.Predicted, 0.25, "decile: predicted %.2f vs true %.2f", b.Predicted, b.Observed)
	}
	// Weighted per-user loss on pages of 10.
	loss := func(p []float64) float64 {
		var groups [][]eval.Scored
		for lo := 0; lo+10 <= len(test); lo += 10 {
			var grp []eval.Scored
			for i := lo; i < lo+10; i++ {
				grp = append(grp, eval.Scored{Score: p[i], Clicked: test[i].Clicked, WatchTime: test[i].WatchTime})
			}
			groups = append(groups, grp)
		}
		return eval.WeightedPerUserLoss(groups)
	}
	lw, lu := loss(pw), loss(pu)
	t.Logf("weighted per-user loss: weighted LR %.3f, unweighted LR %.3f", lw, lu)
	assert.Less(t, lw, lu-0.02)
}

func smallModel(t testing.TB) (*ranking.Model, []ranking.Impression) {
	t.Helper()
	g := gen{rand.New(rand.NewPCG(7, 7))}
	imps, _ := g.many(3000)
	for i := range imps { // make sure video 7 is clicked somewhere, so it is in vocabulary
		if i%50 == 0 {
			imps[i].Features.IDs[0] = []int64{7}
			imps[i].Clicked, imps[i].WatchTime = true, 3
		}
	}
	c := rankCfg(false)
	c.Epochs = 1
	m, _, err := Ranking(context.Background(), c, imps)
	require.NoError(t, err)
	return m, imps
}

func TestVocabularyCountsClickedOnly(t *testing.T) {
	imps := []ranking.Impression{
		{Features: feature.Example{IDs: [][]int64{{1}, nil, nil, nil}, Nums: []float64{0, 0, 1, 1}}, Clicked: true, WatchTime: 5},
		{Features: feature.Example{IDs: [][]int64{{2}, nil, nil, nil}, Nums: []float64{0, 0, 2, 2}}},
	}
	m, _, err := Ranking(context.Background(), RankingConfig{Spec: rankSpec(), Tower: []int{}, Options: Options{Batch: 2}}, imps)
	require.NoError(t, err)
	v := m.Encoder().Vocabs[0]
	assert.NotEqual(t, embedding.OOV, v.Index(1))
	assert.Equal(t, embedding.OOV, v.Index(2), "an ID seen only in unclicked impressions is out of vocabulary")
}

// TestSharedEmbeddings: a gradient that reaches row 7 only through the
// "last_watched" feature moves the row the "video" feature reads.
func TestSharedEmbeddings(t *testing.T) {
	_, imps := smallModel(t)
	imp := ranking.Impression{Features: feature.Example{IDs: [][]int64{{8}, {7}, nil, nil}, Nums: []float64{0, 0, 0.5, 0.5}}, Clicked: true, WatchTime: 50}
	c := rankCfg(false)
	c.Batch = 1
	tr := newRankingTrainer(t, c, append(imps, imp))
	m, err := ranking.NewModel(tr.enc, tr.emb.Tables, tr.mlp) // aliases the trainer's tables
	require.NoError(t, err)
	row := m.Encoder().Vocabs[0].Index(7)
	require.NotEqual(t, embedding.OOV, row)
	before := append([]float32(nil), tr.emb.Tables[0].Row(row)...)
	probe := feature.Example{IDs: [][]int64{{7}, nil, nil, nil}, Nums: []float64{0, 0, 0.5, 0.5}}
	z0 := make([]float32, 1)
	require.NoError(t, m.Logits(z0, []feature.Example{probe}))

	tr.emb.Train(func() embedding.Optimizer { return &embedding.SGD{LR: 1} })
	tr.rows[0] = len(tr.data) - 1 // the impression of video 8 after 7
	_, err = tr.forwardBackward()
	require.NoError(t, err)
	require.NoError(t, tr.emb.Apply())
	assert.NotEqual(t, before, tr.emb.Tables[0].Row(row), "row 7 must move")
	z1 := make([]float32, 1)
	require.NoError(t, m.Logits(z1, []feature.Example{probe}))
	assert.NotEqual(t, z0[0], z1[0], "the impression-video feature reads the moved row")
}

func TestRankingGradientCheckWholeModel(t *testing.T) {
	_, imps := smallModel(t)
	c := rankCfg(false)
	c.Batch = 16
	tr := newRankingTrainer(t, c, imps[:16])
	tr.emb.Train(func() embedding.Optimizer { return &embedding.SGD{} })
	for r := range tr.rows {
		tr.rows[r] = r
	}
	tr.rows[15] = -1
	_, err := tr.forwardBackward()
	require.NoError(t, err)
	g := tr.emb.Grads[0]
	require.NotEmpty(t, g.Rows)
	loss := func() float32 { l, _ := tr.forwardBackward(); return l }
	for _, row := range g.Rows[:min(3, len(g.Rows))] {
		grad := append([]float32(nil), g.Row(row)...)
		gradcheck.Slice(t, fmt.Sprintf("row %d", row), tr.emb.Tables[0].Row(row), grad, loss, 1e-3)
	}
}

func TestRankAndBadInput(t *testing.T) {
	m, _ := smallModel(t)
	mk := func(video int64, q float64) feature.Example {
		return feature.Example{IDs: [][]int64{{video}, {1, 2}, nil, nil}, Nums: []float64{0, 0, 0.9, q}}
	}
	ranked, err := m.Rank([]int64{10, 11, 12}, []feature.Example{mk(1, 0.1), mk(99999, 0.9), mk(2, 0.5)})
	require.NoError(t, err)
	require.Len(t, ranked, 3)
	for i := 1; i < 3; i++ {
		assert.GreaterOrEqual(t, ranked[i-1].ExpectedWatchTime, ranked[i].ExpectedWatchTime)
	}
	assert.Equal(t, int64(11), ranked[0].ID, "high quality wins, and an unknown video ID is fine")
	for _, c := range []struct {
		name string
		err  func() error
		want string
	}{
		{"NaN feature", func() error {
			_, err := m.Rank([]int64{1}, []feature.Example{{IDs: [][]int64{{1}, nil, nil, nil}, Nums: []float64{0, 0, math.NaN(), 0}}})
			return err
		}, `ranking: candidate 0: feature "appeal": non-finite value NaN`},
		{"ids and candidates differ", func() error { _, err := m.Rank([]int64{1, 2}, []feature.Example{mk(1, 1)}); return err }, "ranking: 2 ids for 1 candidates"},
		{"wrong slot count", func() error {
			_, err := m.Rank([]int64{1}, []feature.Example{{IDs: make([][]int64, 2), Nums: make([]float64, 2)}})
			return err
		}, "ranking: candidate 0: feature: example has 2 ID and 2 numeric slots, spec has 4 features"},
		{"negative watch time", func() error {
			_, _, err := Ranking(context.Background(), rankCfg(false), []ranking.Impression{{Features: mk(1, 0.5), Clicked: true, WatchTime: -1}})
			return err
		}, "train: ranking: example 0: watch time -1 is not finite and non-negative"},
		{"no impressions", func() error { _, _, err := Ranking(context.Background(), rankCfg(false), nil); return err }, "train: ranking: no training examples"},
	} {
		t.Run(c.name, func(t *testing.T) { assert.EqualError(t, c.err(), c.want) })
	}
}

// TestTrainSourceStreams: a stream longer than the shuffle buffer trains a
// ranker that orders held-out impressions by true expected watch time about
// as well as the one trained on the same impressions in memory.
func TestRankingSourceStreams(t *testing.T) {
	g := gen{rand.New(rand.NewPCG(3, 3))}
	imps, _ := g.many(30000)
	test, truth := g.many(5000)
	median := slices.Clone(truth)
	slices.Sort(median)
	// AUC of the prediction for "true expected watch time above the median".
	auc := func(m *ranking.Model) float64 {
		exs := make([]feature.Example, len(test))
		for i := range test {
			exs[i] = test[i].Features
		}
		ew, err := m.ExpectedWatchTime(exs)
		require.NoError(t, err)
		items := make([]eval.Scored, len(test))
		for i := range test {
			items[i] = eval.Scored{Score: ew[i], Clicked: truth[i] > median[len(median)/2]}
		}
		return eval.AUC(items)
	}
	c := rankCfg(false)
	mem, _, err := Ranking(context.Background(), c, imps)
	require.NoError(t, err)
	c.ShuffleBuffer = 2000
	str, st, err := RankingSource(context.Background(), c, feature.SliceSource(imps))
	require.NoError(t, err)
	assert.Equal(t, 30000, st.Examples)
	a, b := auc(mem), auc(str)
	t.Logf("held-out AUC of E[T] above its median: in memory %.3f, streamed %.3f", a, b)
	assert.Greater(t, b, a-0.03)
	assert.Greater(t, b, 0.75)
}
