package benchmarks

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/ytdnn/ytdnn/examples/world"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/train"
)

// BenchmarkCandgenTrain trains candidate generation through the public API
// on a generated world (batch 512, 1000 negatives, tower 256→128→64) and
// reports the training loop's examples/s (Stats excludes fitting).
// candgen's own BenchmarkTrainStep times single steps at 1.7k/100k/1M
// videos with fastblas and gonum side by side.
func BenchmarkCandgenTrain(b *testing.B) {
	w, err := world.New(world.Config{Users: 2000, Videos: 5000, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	data := w.CandgenData(0, rand.New(rand.NewPCG(1, 1)))
	cfg := train.CandgenConfig{Spec: world.CandgenSpec(), ExampleAge: true, Tower: []int{256, 128, 64}, Negatives: 1000, Options: train.Options{Batch: 512, Epochs: 1, Seed: 1}}
	b.ReportAllocs()
	var ex, secs float64
	for i := 0; i < b.N; i++ {
		_, st, err := train.Candgen(context.Background(), cfg, data)
		if err != nil {
			b.Fatal(err)
		}
		ex += float64(st.Examples)
		secs += st.Seconds
	}
	b.ReportMetric(ex/secs, "examples/s")
}

// BenchmarkRankSlate ranks a 500-candidate slate for one user through the
// public API (ranker tower 1024→512→256), the serving path.
func BenchmarkRankSlate(b *testing.B) {
	w, err := world.New(world.Config{Users: 1000, Videos: 2000, Seed: 2})
	if err != nil {
		b.Fatal(err)
	}
	users := make([]int, len(w.Users))
	for i := range users {
		users[i] = i
	}
	imps, _ := w.RankingData(users)
	m, _, err := train.Ranking(context.Background(), train.RankingConfig{Spec: world.RankingSpec(), Options: train.Options{Batch: 512, Epochs: 1, Seed: 1}}, imps)
	if err != nil {
		b.Fatal(err)
	}
	rc := w.NewRankContext(&w.Users[0])
	ids := make([]int64, 500)
	cands := make([]feature.Example, 500)
	for i := range ids {
		ids[i] = int64(i + 1)
		cands[i] = w.Features(rc, ids[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := m.Rank(ids, cands); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "slates/s")
}
