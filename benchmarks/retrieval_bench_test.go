package benchmarks

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/ytdnn/ytdnn/retrieval"
)

func randVecs(n, dim int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 3))
	v := make([]float32, n*dim)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// BenchmarkRetrieve measures top-100 maximum-inner-product search over
// 64-dim items, one query per Search call (the serving path).
func BenchmarkRetrieve(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		name := fmt.Sprintf("%dk", n/1000)
		if n >= 1_000_000 {
			name = fmt.Sprintf("%dM", n/1_000_000)
		}
		items := randVecs(n, 64, 1)
		queries := randVecs(256, 64, 2)
		idx, err := retrieval.NewExact(items, 64, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("exact/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				q := queries[(i%256)*64 : (i%256+1)*64]
				if _, err := idx.Search(q, 100, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
		})
		b.Run("exact-batch64/"+name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := idx.Search(queries[:64*64], 100, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*64)/b.Elapsed().Seconds(), "queries/s")
		})
	}
}
