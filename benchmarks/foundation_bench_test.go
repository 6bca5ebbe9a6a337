package benchmarks

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ytdnn/ytdnn/embedding"
	"github.com/ytdnn/ytdnn/normalize"
	"github.com/ytdnn/ytdnn/sampling"
)

// BenchmarkEmbeddingStep: gather the bags of a batch (512 × 50 IDs) from a
// 1M×64 table and apply the row-sparse gradient with lazy Adam.
func BenchmarkEmbeddingStep(b *testing.B) {
	const rows, dim, batch, bag = 1_000_000, 64, 512, 50
	t := &embedding.Table{Rows: rows, Dim: dim, Data: make([]float32, rows*dim)}
	g := embedding.NewGrad(rows, dim)
	opt := &embedding.LazyAdam{LR: 1e-3}
	rng := rand.New(rand.NewPCG(1, 2))
	ids := make([][]int32, 64)
	for i := range ids {
		ids[i] = make([]int32, batch*bag)
		for j := range ids[i] {
			ids[i][j] = int32(1 + rng.IntN(rows-1))
		}
	}
	out := make([]float32, dim)
	step := func(k int) {
		g.Reset()
		all := ids[k%len(ids)]
		for r := 0; r < batch; r++ {
			bagIDs := all[r*bag : (r+1)*bag]
			t.LookupBag(out, bagIDs)
			g.AddBag(bagIDs, out)
		}
		if err := opt.Apply(t, g); err != nil {
			b.Fatal(err)
		}
	}
	step(0) // allocate optimizer state outside the timing
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		step(i)
	}
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "examples/s")
	b.ReportMetric(float64(len(g.Rows)), "rows-touched/op")
}

// BenchmarkSampler: draws per second over N = 1M classes.
func BenchmarkSampler(b *testing.B) {
	const n = 1_000_000
	counts := make([]float64, n)
	for i := range counts {
		counts[i] = 1e6 / float64(i+1)
	}
	uni, err := sampling.NewUnigram(counts, 0)
	if err != nil {
		b.Fatal(err)
	}
	for name, s := range map[string]sampling.Sampler{"unigram": uni, "loguniform": sampling.LogUniform{Classes: n}, "uniform": sampling.Uniform{Classes: n}} {
		b.Run(name+"/1M", func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			b.ReportAllocs()
			var sink int32
			for i := 0; i < b.N; i++ {
				sink += s.Sample(rng)
			}
			_ = sink
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "draws/s")
		})
	}
	b.Run("candidates-unique-1000/1M", func(b *testing.B) {
		c := &sampling.Candidates{Sampler: uni, Unique: true}
		rng := rand.New(rand.NewPCG(1, 1))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if err := c.Draw(1000, rng); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "draws/s")
	})
}

// BenchmarkNormalize: CDF transform with powers, 1000 quantiles.
func BenchmarkNormalize(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	v := make([]float64, 100_000)
	for i := range v {
		v[i] = rng.ExpFloat64()
	}
	c, err := normalize.Fit("x", v, 0)
	if err != nil {
		b.Fatal(err)
	}
	dst := make([]float32, 3)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if err := c.Powers(dst, v[i%len(v)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "values/s")
}

var _ = fmt.Sprint
