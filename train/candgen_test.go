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

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/embedding"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/internal/gradcheck"
)

func constSpec() feature.Spec {
	return feature.Spec{
		Spaces:   []feature.Space{{Name: "video"}},
		Features: []feature.Feature{{Name: "one", Kind: feature.Value}},
	}
}

func histSpec() feature.Spec {
	return feature.Spec{
		Spaces: []feature.Space{{Name: "video", Dim: 16}},
		Features: []feature.Feature{
			{Name: "watches", Kind: feature.Bag, Space: "video", MaxLen: 20},
			{Name: "last", Kind: feature.ID, Space: "video"},
		},
	}
}

// zipfExamples draws labels from a Zipf(1) distribution over classes with a
// constant feature, so the model can only learn the marginal distribution.
func zipfExamples(n, classes int, rng *rand.Rand) []candgen.Example {
	w := make([]float64, classes)
	sum := 0.0
	for i := range w {
		w[i] = 1 / float64(i+1)
		sum += w[i]
	}
	out := make([]candgen.Example, n)
	for i := range out {
		u := rng.Float64() * sum
		c := 0
		for ; c < classes-1 && u > w[c]; c++ {
			u -= w[c]
		}
		out[i] = candgen.Example{Features: feature.Example{IDs: make([][]int64, 1), Nums: []float64{1}}, Label: int64(1000 + c)}
	}
	return out
}

// classDist returns the model's softmax over all classes for the constant user.
func classDist(t *testing.T, m *candgen.Model) map[int64]float64 {
	t.Helper()
	u, err := m.UserVector(feature.Example{IDs: make([][]int64, 1), Nums: []float64{1}})
	require.NoError(t, err)
	D := m.D()
	logits := map[int64]float64{}
	mx := math.Inf(-1)
	vecs, ids := m.Items()
	for i, id := range ids {
		row := vecs[i*(D+1) : (i+1)*(D+1)]
		s := float64(row[D])
		for j := 0; j < D; j++ {
			s += float64(row[j] * u[j])
		}
		logits[id] = s
		mx = max(mx, s)
	}
	z := 0.0
	for _, l := range logits {
		z += math.Exp(l - mx)
	}
	for k, l := range logits {
		logits[k] = math.Exp(l-mx) / z
	}
	return logits
}

func kl(p, q map[int64]float64) float64 {
	s := 0.0
	for k, pk := range p {
		if pk > 0 {
			s += pk * math.Log(pk/q[k])
		}
	}
	return s
}

// TestImportanceWeighting: sampled softmax with the logQ correction learns
// nearly the full-softmax class distribution; without it, it is biased.
// Metric: KL(full-softmax distribution ‖ model distribution).
func TestImportanceWeighting(t *testing.T) {
	const classes = 200
	data := zipfExamples(20000, classes, rand.New(rand.NewPCG(1, 2)))
	base := CandgenConfig{Spec: constSpec(), Tower: []int{8}, Negatives: 20, Options: Options{Batch: 256, Epochs: 10, LR: 0.01, Seed: 3}}
	train := func(mod func(*CandgenConfig)) map[int64]float64 {
		cfg := base
		mod(&cfg)
		m, _, err := Candgen(context.Background(), cfg, data)
		require.NoError(t, err)
		return classDist(t, m)
	}
	full := train(func(c *CandgenConfig) { c.FullSoftmax = true })
	corrected := train(func(c *CandgenConfig) {})
	uncorrected := train(func(c *CandgenConfig) { c.NoLogQ = true })
	klC, klU := kl(full, corrected), kl(full, uncorrected)
	t.Logf("KL(full‖sampled+logQ)=%.4f KL(full‖sampled, no correction)=%.4f", klC, klU)
	assert.Less(t, klC, 0.05)
	assert.Greater(t, klU, 4*klC)
	// The uncorrected model underrates the head: popular negatives are sampled
	// often and pushed down.
	assert.Less(t, uncorrected[1000], 0.7*full[1000])
}

// world is a tiny planted-signal world: each user likes one of C clusters of
// items; histories and the next watch come from that cluster, with a power
// law popularity inside it.
type world struct {
	clusters, perCluster int
}

func (w world) item(rng *rand.Rand, c int) int64 {
	// Zipf-ish rank inside the cluster.
	r := int(math.Floor(math.Pow(float64(w.perCluster+1), rng.Float64()))) - 1
	return int64(c*w.perCluster + min(r, w.perCluster-1))
}

func (w world) user(rng *rand.Rand, hist int) (h []int64, next int64) {
	c := rng.IntN(w.clusters)
	for i := 0; i < hist; i++ {
		if rng.Float64() < 0.15 { // noise: a random item
			h = append(h, int64(rng.IntN(w.clusters*w.perCluster)))
			continue
		}
		h = append(h, w.item(rng, c))
	}
	return h, w.item(rng, c)
}

func histExample(h []int64) feature.Example {
	ex := feature.Example{IDs: make([][]int64, 2), Nums: make([]float64, 2)}
	ex.IDs[0] = h
	if len(h) > 0 {
		ex.IDs[1] = h[len(h)-1:]
	}
	return ex
}

func trainWorld(t *testing.T, seed uint64) (*candgen.Model, world, []candgen.Example) {
	t.Helper()
	w := world{clusters: 20, perCluster: 25}
	rng := rand.New(rand.NewPCG(seed, 7))
	var data []candgen.Example
	for u := 0; u < 3000; u++ {
		h, next := w.user(rng, 3+rng.IntN(10))
		data = append(data, candgen.Example{Features: histExample(h), Label: next})
	}
	cfg := CandgenConfig{Spec: histSpec(), Tower: []int{32, 16}, Negatives: 50, Options: Options{Batch: 128, Epochs: 10, LR: 0.005, Seed: seed}}
	m, st, err := Candgen(context.Background(), cfg, data)
	require.NoError(t, err)
	require.Equal(t, 3000, st.Examples)
	return m, w, data
}

func TestLearnsPlantedSignal(t *testing.T) {
	m, w, data := trainWorld(t, 11)
	// Most popular over the training labels.
	counts := map[int64]int{}
	for _, e := range data {
		counts[e.Label]++
	}
	type kv struct {
		k int64
		n int
	}
	var pop []kv
	for k, n := range counts {
		pop = append(pop, kv{k, n})
	}
	for i := range pop { // selection of the top 10
		for j := i + 1; j < len(pop); j++ {
			if pop[j].n > pop[i].n || (pop[j].n == pop[i].n && pop[j].k < pop[i].k) {
				pop[i], pop[j] = pop[j], pop[i]
			}
		}
		if i == 9 {
			break
		}
	}
	top := map[int64]bool{}
	for _, p := range pop[:10] {
		top[p.k] = true
	}
	rng := rand.New(rand.NewPCG(99, 99))
	const users = 500
	var hitModel, hitPop int
	exs := make([]feature.Example, users)
	labels := make([]int64, users)
	for i := range exs {
		h, next := w.user(rng, 8)
		exs[i], labels[i] = histExample(h), next
	}
	recs, err := m.RecommendBatch(context.Background(), exs, 10, nil)
	require.NoError(t, err)
	for i, r := range recs {
		require.Len(t, r, 10)
		for j := 1; j < len(r); j++ {
			require.GreaterOrEqual(t, r[j-1].Score, r[j].Score)
		}
		for _, s := range r {
			if s.ID == labels[i] {
				hitModel++
			}
		}
		if top[labels[i]] {
			hitPop++
		}
	}
	rm, rp := float64(hitModel)/users, float64(hitPop)/users
	t.Logf("recall@10 model=%.3f most-popular=%.3f", rm, rp)
	assert.Greater(t, rm, 2*rp)
	assert.Greater(t, rm, 0.3)
}

// TestExampleAgeZeroAtServing trains on a world where fresh examples (small
// age) watch "fresh" videos 1..20 and older ones watch "old" videos 101..120,
// which are four times as common overall. Served at example age 0, the model
// must recommend fresh videos; at any typical age it would recommend old ones.
func TestExampleAgeZeroAtServing(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	var data []candgen.Example
	for i := 0; i < 8000; i++ {
		age := rng.Float64() * 100
		label := int64(101 + rng.IntN(20))
		if age < 20 {
			label = int64(1 + rng.IntN(20))
		}
		data = append(data, candgen.Example{Features: feature.Example{IDs: make([][]int64, 1), Nums: []float64{1}}, Label: label, Age: age})
	}
	cfg := CandgenConfig{Spec: constSpec(), ExampleAge: true, Tower: []int{16}, Negatives: 20, Options: Options{Batch: 128, Epochs: 5, LR: 0.01, Seed: 1}}
	m, _, err := Candgen(context.Background(), cfg, data)
	require.NoError(t, err)
	recs, err := m.Recommend(context.Background(), feature.Example{IDs: make([][]int64, 1), Nums: []float64{1}}, 10, nil)
	require.NoError(t, err)
	fresh := 0
	for _, r := range recs {
		if r.ID <= 20 {
			fresh++
		}
	}
	assert.GreaterOrEqual(t, fresh, 9, "served at age 0 the model must favour fresh videos: %v", recs)
}

// gradCheckTrainer trains a tiny full-softmax model (12 videos, 3-video
// histories, tower 6→5 with a linear top: no ReLU kink at the output for ±h
// to cross; nn.TestGradientReLUOut checks that layer) with input dropout p,
// and returns a trainer over its first batch with SGD tables, for finite
// differences.
func gradCheckTrainer(t *testing.T, p float64) *candgenTrainer {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 1))
	var data []candgen.Example
	for i := 0; i < 40; i++ {
		h := []int64{int64(rng.IntN(12)), int64(rng.IntN(12)), int64(rng.IntN(12))}
		data = append(data, candgen.Example{Features: histExample(h), Label: int64(rng.IntN(12))})
	}
	cfg := CandgenConfig{Spec: histSpec(), Tower: []int{6, 5}, FullSoftmax: true, LinearTop: true, Options: Options{Batch: 8, Epochs: 1, LR: 0.01, EmbeddingStd: 0.5, Seed: 2, Dropout: p}}
	tr := newCandgenTrainer(t, cfg, data)
	tr.emb.Train(func() embedding.Optimizer { return &embedding.SGD{} })
	for r := range tr.rows {
		tr.rows[r] = r
	}
	return tr
}

func TestGradientCheckWholeModel(t *testing.T) {
	tr := gradCheckTrainer(t, 0)
	tr.rows[7] = -1 // one padding row
	_, err := tr.forwardBackward()
	require.NoError(t, err)
	type probe struct {
		name  string
		param []float32
		grad  []float32
	}
	var probes []probe
	g, h := tr.emb.Grads[0], softmaxOf(tr)
	for _, row := range g.Rows[:3] {
		probes = append(probes, probe{"video emb", tr.emb.Tables[0].Row(row), append([]float32(nil), g.Row(row)...)})
	}
	for _, row := range h.softG.Rows[:3] {
		probes = append(probes, probe{"softmax", h.soft.Row(row), append([]float32(nil), h.softG.Row(row)...)})
	}
	loss := func() float32 {
		l, err := tr.forwardBackward()
		require.NoError(t, err)
		return l
	}
	// The floor (1e-4) is 20× below the probed gradients' size, so a zero,
	// halved or permuted gradient cannot pass; the checker is checked on
	// exactly such gradients.
	const floor = 1e-4
	for _, p := range probes {
		require.Greater(t, gradcheck.MaxAbs(p.grad), 10*floor, "%s: gradient large enough to test", p.name)
		gradcheck.Slice(t, p.name, p.param, p.grad, loss, floor)
		for name, wrong := range map[string][]float32{
			"zeroed":   make([]float32, len(p.grad)),
			"halved":   scaled(p.grad, 0.5),
			"reversed": reversed(p.grad),
		} {
			assert.NotEmpty(t, gradcheck.Compare(p.param, wrong, loss, floor), "%s gradient of %s passes the check", name, p.name)
		}
	}
}

func scaled(g []float32, a float32) []float32 {
	out := make([]float32, len(g))
	for i, v := range g {
		out[i] = a * v
	}
	return out
}

func reversed(g []float32) []float32 {
	out := slices.Clone(g)
	slices.Reverse(out)
	return out
}

func TestBadInputAndOOV(t *testing.T) {
	m, _, _ := trainWorld(t, 3)
	// Unknown IDs map to OOV and still get recommendations; so does an empty history.
	recs, err := m.Recommend(context.Background(), histExample([]int64{99999, -5}), 5, nil)
	require.NoError(t, err)
	assert.Len(t, recs, 5)
	recs, err = m.Recommend(context.Background(), histExample(nil), 5, nil)
	require.NoError(t, err)
	assert.Len(t, recs, 5)
	// Exclusion honoured and still n results.
	var excl []int64
	for _, r := range recs {
		excl = append(excl, r.ID)
	}
	recs2, err := m.Recommend(context.Background(), histExample(nil), 5, excl)
	require.NoError(t, err)
	require.Len(t, recs2, 5)
	for _, r := range recs2 {
		assert.NotContains(t, excl, r.ID)
	}
	spec := feature.Spec{Spaces: []feature.Space{{Name: "video"}}, Features: []feature.Feature{{Name: "w", Kind: feature.Bag, Space: "video"}, {Name: "age", Kind: feature.Continuous}}}
	data := []candgen.Example{
		{Features: feature.Example{IDs: [][]int64{{1}, nil}, Nums: []float64{0, 3}}, Label: 2},
		{Features: feature.Example{IDs: [][]int64{{2}, nil}, Nums: []float64{0, math.NaN()}}, Label: 1},
	}
	for _, c := range []struct {
		name string
		err  func() error
		want string
	}{
		{"serving: wrong slot count", func() error {
			_, err := m.Recommend(context.Background(), feature.Example{IDs: make([][]int64, 1), Nums: []float64{0}}, 5, nil)
			return err
		}, "candgen: example 0: example has 1 ID and 1 numeric slots, the model has 2 user features"},
		{"serving: n = 0", func() error { _, err := m.Recommend(context.Background(), histExample(nil), 0, nil); return err }, "candgen: n must be positive, got 0"},
		{"training: NaN feature", func() error {
			_, _, err := Candgen(context.Background(), CandgenConfig{Spec: spec, Tower: []int{4}}, data)
			return err
		}, `train: candgen: example 1: feature "age": non-finite value NaN`},
		{"training: unknown label space", func() error {
			_, _, err := Candgen(context.Background(), CandgenConfig{Spec: spec, VideoSpace: "nope"}, data)
			return err
		}, `train: candgen: spec has no space "nope" for the labels`},
	} {
		t.Run(c.name, func(t *testing.T) { assert.EqualError(t, c.err(), c.want) })
	}
}

// TestGradientCheckTied: with tied embeddings one table receives both the
// input-side (history bag) and output-side (softmax) gradients.
func TestGradientCheckTied(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	var data []candgen.Example
	for i := 0; i < 40; i++ {
		h := []int64{int64(rng.IntN(12)), int64(rng.IntN(12))}
		data = append(data, candgen.Example{Features: histExample(h), Label: int64(rng.IntN(12))})
	}
	spec := histSpec()
	spec.Spaces[0].Dim = 5
	cfg := CandgenConfig{Spec: spec, Tower: []int{6, 5}, FullSoftmax: true, TieEmbeddings: true, LinearTop: true, Options: Options{Batch: 8, Epochs: 1, LR: 0.01, EmbeddingStd: 0.5, Seed: 2}} // no ReLU kink at the output for ±h to cross
	m, _, err := Candgen(context.Background(), cfg, data)
	require.NoError(t, err)
	// After training the serving table holds the tied weights.
	vecs, _ := m.Items()
	tr := newCandgenTrainer(t, cfg, data)
	tr.data = nil
	_, _, err = tr.inMemory(context.Background(), feature.SliceSource(data), nil) // as Candgen trains
	require.NoError(t, err)
	tr.h.finish()
	assert.Equal(t, tr.emb.Tables[0].Row(3), softmaxOf(tr).soft.Row(3)[:5], "finish copies the tied rows")
	assert.Len(t, vecs, 12*6)
	tr.emb.Train(func() embedding.Optimizer { return &embedding.SGD{} })
	for r := range tr.rows {
		tr.rows[r] = r
	}
	_, err = tr.forwardBackward()
	require.NoError(t, err)
	g := tr.emb.Grads[0]
	loss := func() float32 { l, _ := tr.forwardBackward(); return l }
	for _, row := range g.Rows[:4] {
		grad := append([]float32(nil), g.Row(row)...)
		gradcheck.Slice(t, fmt.Sprintf("row %d", row), tr.emb.Tables[0].Row(row), grad, loss, 1e-4)
	}
	spec.Spaces[0].Dim = 4
	_, _, err = Candgen(context.Background(), CandgenConfig{Spec: spec, Tower: []int{6, 5}, TieEmbeddings: true}, data)
	assert.ErrorContains(t, err, "TieEmbeddings")
}
