package benchmarks

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ytdnn/ytdnn/retrieval"
)

const retrieveDim = 64

// clustered draws n 64-dim vectors around 1000 centres with norms varying by
// item, a stand-in for trained softmax weights; queries are fresh draws from
// the same process (user vectors near the videos they like), never indexed
// points.
func clustered(n int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 9))
	crng := rand.New(rand.NewPCG(42, 42))
	const c = 1000
	centres := make([]float32, c*retrieveDim)
	for i := range centres {
		centres[i] = float32(crng.NormFloat64())
	}
	v := make([]float32, n*retrieveDim)
	for i := 0; i < n; i++ {
		k := rng.IntN(c)
		scale := float32(0.5 + rng.Float64())
		for j := 0; j < retrieveDim; j++ {
			v[i*retrieveDim+j] = scale * (centres[k*retrieveDim+j] + 0.7*float32(rng.NormFloat64()))
		}
	}
	return v
}

type retrieveSet struct {
	name    string
	items   []float32
	queries []float32
	exact   *retrieval.Exact
	truth   [][]retrieval.Hit
	hnsw    *retrieval.HNSW
	build   time.Duration
}

var (
	setsMu sync.Mutex
	sets   = map[int]*retrieveSet{}
)

// retrieveData builds (once per process) the items, queries, exact truth and
// the HNSW index for n items.
func retrieveData(b *testing.B, n int, withHNSW bool) *retrieveSet {
	setsMu.Lock()
	defer setsMu.Unlock()
	s := sets[n]
	if s == nil {
		s = &retrieveSet{items: clustered(n, 1), queries: clustered(200, 2)}
		var err error
		if s.exact, err = retrieval.NewExact(s.items, retrieveDim, nil); err != nil {
			b.Fatal(err)
		}
		if s.truth, err = s.exact.Search(context.Background(), s.queries, 100, nil); err != nil {
			b.Fatal(err)
		}
		sets[n] = s
	}
	if withHNSW && s.hnsw == nil {
		t0 := time.Now()
		var err error
		s.hnsw, err = retrieval.NewHNSW(context.Background(), s.items, retrieveDim, nil, retrieval.HNSWConfig{Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		s.build = time.Since(t0)
	}
	return s
}

func sizeName(n int) string {
	if n >= 1_000_000 {
		return fmt.Sprintf("%dM", n/1_000_000)
	}
	return fmt.Sprintf("%dk", n/1000)
}

// BenchmarkRetrieve measures top-100 maximum-inner-product search over
// 64-dim items, one query per call, single-threaded (GOMAXPROCS=1), so the
// exact and approximate numbers compare per core. hnsw reports recall@100
// against exact search, its build time (both cores) and its memory overhead.
func BenchmarkRetrieve(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run("exact/"+sizeName(n), func(b *testing.B) {
			s := retrieveData(b, n, false)
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				q := s.queries[(i%200)*retrieveDim : (i%200+1)*retrieveDim]
				if _, err := s.exact.Search(context.Background(), q, 100, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
		})
		b.Run("hnsw/"+sizeName(n), func(b *testing.B) {
			s := retrieveData(b, n, true)
			got, err := s.hnsw.Search(context.Background(), s.queries, 100, nil)
			if err != nil {
				b.Fatal(err)
			}
			hit, total := 0, 0
			for q := range s.truth {
				set := map[int32]bool{}
				for _, h := range s.truth[q] {
					set[h.ID] = true
				}
				for _, h := range got[q] {
					if set[h.ID] {
						hit++
					}
				}
				total += len(s.truth[q])
			}
			defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				q := s.queries[(i%200)*retrieveDim : (i%200+1)*retrieveDim]
				if _, err := s.hnsw.Search(context.Background(), q, 100, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
			b.ReportMetric(float64(hit)/float64(total), "recall@100")
			b.ReportMetric(s.build.Seconds(), "build-s")
			b.ReportMetric(float64(s.hnsw.Overhead())/float64(n), "overhead-B/item")
		})
	}
}
