package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/feature"
)

var errStop = errors.New("stop")

// BenchmarkCandgenTrain measures sampled-softmax training throughput at the
// issue's configuration: batch 512, 1000 shared negatives, tower 256→128→64
// (D=64), history bags of 50 over a vocabulary of 100k or 1M videos. Each
// iteration is one epoch of b.N·512 examples... measured as examples/s over
// a fixed number of steps, with the heap growth per step reported.
func BenchmarkCandgenTrain(b *testing.B) {
	for _, vocab := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("vocab=%dk", vocab/1000), func(b *testing.B) {
			const batch, steps = 512, 8
			rng := rand.New(rand.NewPCG(1, 2))
			spec := feature.Spec{
				Spaces:   []feature.Space{{Name: "video", Dim: 64}},
				Features: []feature.Feature{{Name: "watches", Kind: feature.Bag, Space: "video", MaxLen: 50}},
			}
			// Every video appears at least once as a label so the vocabulary is full size.
			n := max(vocab, batch*steps)
			exs := make([]candgen.Example, n)
			for i := range exs {
				h := make([]int64, 50)
				for j := range h {
					h[j] = int64(rng.IntN(vocab))
				}
				exs[i] = candgen.Example{Features: feature.Example{IDs: [][]int64{h}, Nums: []float64{0}}, Label: int64(i % vocab)}
			}
			cfg := candgen.Config{Spec: spec, Tower: []int{256, 128, 64}, Batch: batch, Negatives: 1000, Epochs: 1, Seed: 1}
			b.ReportAllocs()
			b.ResetTimer()
			var total, secs float64
			for i := 0; i < b.N; i++ {
				sub := exs[(i*batch*steps)%(n-batch*steps+1):][:batch*steps]
				_, st, err := candgen.Train(context.Background(), cfg, sub)
				if err != nil {
					b.Fatal(err)
				}
				total += float64(st.Examples)
				secs += st.Seconds
			}
			b.ReportMetric(total/secs, "examples/s")
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heapMiB")
		})
	}
}
