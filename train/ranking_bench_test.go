package train

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/ytdnn/ytdnn/feature"
)

// BenchmarkTrain: weighted-LR training throughput, tower 256→128, batch 512.
func BenchmarkTrain(b *testing.B) {
	g := gen{rand.New(rand.NewPCG(1, 2))}
	imps, _ := g.many(512 * 20)
	c := RankingConfig{Spec: rankSpec(), Tower: []int{256, 128}, Options: Options{Batch: 512, Epochs: 1, Seed: 1}}
	b.ReportAllocs()
	var ex, secs float64
	for i := 0; i < b.N; i++ {
		_, st, err := Ranking(context.Background(), c, imps)
		if err != nil {
			b.Fatal(err)
		}
		ex += float64(st.Examples)
		secs += st.Seconds
	}
	b.ReportMetric(ex/secs, "examples/s")
}

// BenchmarkRank500: the serving path, scoring and sorting 500 candidates for
// one user with the paper's 1024→512→256 tower.
func BenchmarkRank500(b *testing.B) {
	g := gen{rand.New(rand.NewPCG(3, 4))}
	imps, _ := g.many(4000)
	m, _, err := Ranking(context.Background(), RankingConfig{Spec: rankSpec(), Options: Options{Batch: 512, Epochs: 1, Seed: 1}}, imps)
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]int64, 500)
	cands := make([]feature.Example, 500)
	for i := range cands {
		ids[i], cands[i] = int64(i), imps[i].Features
	}
	if _, err := m.Rank(ids, cands); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Rank(ids, cands); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "slates/s")
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/slate")
}
