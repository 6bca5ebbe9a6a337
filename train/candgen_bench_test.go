package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/embedding"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/internal/nn"
)

// benchTrainer builds a trainer over a vocabulary of `vocab` videos and a
// few thousand examples, without training, so that the benchmark times
// optimizer steps alone.
func benchTrainer(b testing.TB, vocab int) *candgenTrainer {
	b.Helper()
	return benchTrainerOpt(b, vocab, TableAdam)
}

// benchTrainerOpt is benchTrainer with the given table optimizer.
func benchTrainerOpt(b testing.TB, vocab int, opt TableOptimizer) *candgenTrainer {
	b.Helper()
	const batch = 512
	rng := rand.New(rand.NewPCG(1, 2))
	spec := feature.Spec{
		Spaces:   []feature.Space{{Name: "video", Dim: 64}},
		Features: []feature.Feature{{Name: "watches", Kind: feature.Bag, Space: "video", MaxLen: 50}},
	}
	cfg := CandgenConfig{Spec: spec, Tower: []int{256, 128, 64}, LinearTop: true, Negatives: 1000, Options: Options{Batch: batch, Epochs: 1, Seed: 1, TableOptimizer: opt}}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		b.Fatal(err)
	}
	s := &candgenStage{cfg: &cfg, full: candgen.FullSpec(spec, false)}
	tr := &candgenTrainer{s: s, o: &cfg.Options}
	fit, err := feature.NewFitter(s.full)
	if err != nil {
		b.Fatal(err)
	}
	for id := 0; id < vocab; id++ {
		if err := fit.CountID("video", int64(id), int64(1+vocab/(id+1))); err != nil {
			b.Fatal(err)
		}
	}
	if tr.enc, err = fit.Encoder(); err != nil {
		b.Fatal(err)
	}
	if err := tr.setup(); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 8*batch; i++ {
		h := make([]int64, 50)
		for j := range h {
			h[j] = int64(rng.IntN(vocab))
		}
		ex := candgen.Example{Features: feature.Example{IDs: [][]int64{h}, Nums: []float64{0}}, Label: int64(int(math.Pow(float64(vocab), rng.Float64())) - 1)}
		e, ok, err := tr.encode(&ex)
		if err != nil {
			b.Fatal(err)
		}
		if ok {
			tr.data = append(tr.data, e)
		}
	}
	return tr
}

// BenchmarkTrainStep: one sampled-softmax training step, with fastblas and
// with gonum side by side (batch 512, 1000
// shared negatives, tower 256→128→64, D=64, history bags of 50) at
// vocabularies of 1682 (MovieLens-100K's movies), 100k and 1M videos with
// lazy Adam on the tables, and 10M videos with row-wise Adagrad (the
// option that fits 10⁷ videos in memory; it reports the tables' and their
// optimizer state's bytes per video). B/op and allocs/op are per step and
// must not grow with the vocabulary.
func BenchmarkTrainStep(b *testing.B) {
	defer nn.UseFast()
	for _, blasName := range []string{"fastblas", "gonum"} {
		for _, vocab := range []int{1682, 100_000, 1_000_000} {
			benchStep(b, blasName, vocab, TableAdam)
		}
	}
	benchStep(b, "fastblas", 10_000_000, TableRowAdagrad)
}

// BenchmarkTrainStepSpeedup measures the MovieLens-config step with fastblas
// and with gonum interleaved (one step of each per iteration, on two
// identical trainers), so that load on the machine hits both alike, and
// reports both step times and their ratio.
func BenchmarkTrainStepSpeedup(b *testing.B) {
	defer nn.UseFast()
	fast, slow := benchTrainer(b, 1682), benchTrainer(b, 1682)
	step := func(t *candgenTrainer, k int) time.Duration {
		start := time.Now()
		benchBatch(b, t, k)
		return time.Since(start)
	}
	for k := 0; k < 3; k++ {
		nn.UseFast()
		step(fast, k)
		nn.UseGonum()
		step(slow, k)
	}
	var tf, tg time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		nn.UseFast()
		tf += step(fast, i)
		nn.UseGonum()
		tg += step(slow, i)
	}
	b.ReportMetric(float64(tf.Microseconds())/1e3/float64(b.N), "ms/fast-step")
	b.ReportMetric(float64(tg.Microseconds())/1e3/float64(b.N), "ms/gonum-step")
	b.ReportMetric(float64(tg)/float64(tf), "speedup")
}

// benchBatch takes the training step on the k-th batch of 512 examples
// (wrapping around the data).
func benchBatch(tb testing.TB, t *candgenTrainer, k int) {
	tb.Helper()
	for r := range t.rows {
		t.rows[r] = (k*len(t.rows) + r) % len(t.data)
	}
	if _, err := t.step(t.rows); err != nil {
		tb.Fatal(err)
	}
}

func benchStep(b *testing.B, blasName string, vocab int, opt TableOptimizer) {
	b.Helper()
	name := fmt.Sprintf("%s/vocab=%s", blasName, map[int]string{1682: "1682(ml-100k)", 100_000: "100k", 1_000_000: "1M", 10_000_000: "10M"}[vocab])
	if opt != TableAdam {
		name += "/" + string(opt)
	}
	b.Run(name, func(b *testing.B) {
		if blasName == "gonum" {
			nn.UseGonum()
		} else {
			nn.UseFast()
		}
		t := benchTrainerOpt(b, vocab, opt)
		perVideo := 0
		for _, tab := range []*embedding.Table{t.emb.Tables[0], softmaxOf(t).soft} {
			perVideo += 4*tab.Dim + embedding.StateBytesPerRow(t.o.newTableOptimizer(), tab.Dim)
		}
		for k := 0; k < 3; k++ { // warm up: optimizer state, graph buffers
			benchBatch(b, t, k)
		}
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			benchBatch(b, t, i)
		}
		b.ReportMetric(float64(b.N*512)/b.Elapsed().Seconds(), "examples/s")
		b.ReportMetric(float64(perVideo), "table-bytes/video")
	})
}
