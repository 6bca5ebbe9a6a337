package benchmarks

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/ytdnn/ytdnn/examples/world"
	"github.com/ytdnn/ytdnn/export"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/retrieval"
	"github.com/ytdnn/ytdnn/train"
)

// Retrieval benchmark data. Items are indexed under their row numbers, so
// the truth is row indices.
const (
	retrieveDim     = 64
	retrieveQueries = 1000
	retrieveTop     = 100
)

type dataset struct {
	dim            int
	items, queries []float32
	truth          [][]retrieval.Hit
	hnsw           *retrieval.HNSW
	build          time.Duration
}

var (
	dataMu sync.Mutex
	data   = map[string]*dataset{}
)

// gaussianData: items and queries drawn independently from N(0, I₆₄).
func gaussianData(n int) (items, queries []float32, dim int) {
	draw := func(k int, seed uint64) []float32 {
		rng := rand.New(rand.NewPCG(seed, 17))
		v := make([]float32, k*retrieveDim)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	return draw(n, 1), draw(retrieveQueries, 2), retrieveDim
}

// clusteredData: the easy case. Items around 1,000 centres drawn from
// N(0, I₆₄), spread 0.7, norms scaled by U(0.5, 1.5); queries from the same
// centres. A query's true top-100 lies almost entirely in its own cluster
// (the benchmark logs the share), so the graph only has to find the
// cluster: recall rises with n.
func clusteredData(n int) (items, queries []float32, dim int, itemC, queryC []int) {
	crng := rand.New(rand.NewPCG(42, 42))
	const c = 1000
	centres := make([]float32, c*retrieveDim)
	for i := range centres {
		centres[i] = float32(crng.NormFloat64())
	}
	draw := func(k int, seed uint64) ([]float32, []int) {
		rng := rand.New(rand.NewPCG(seed, 9))
		v, lab := make([]float32, k*retrieveDim), make([]int, k)
		for i := 0; i < k; i++ {
			cl := rng.IntN(c)
			lab[i] = cl
			scale := float32(0.5 + rng.Float64())
			for j := 0; j < retrieveDim; j++ {
				v[i*retrieveDim+j] = scale * (centres[cl*retrieveDim+j] + 0.7*float32(rng.NormFloat64()))
			}
		}
		return v, lab
	}
	items, itemC = draw(n, 1)
	queries, queryC = draw(retrieveQueries, 2)
	return items, queries, retrieveDim, itemC, queryC
}

// trainedData: the softmax table [v_j, b_j] of a candgen model trained (one
// epoch, tower 256→128→64) on a generated world with n videos and n/5 users
// of 20 watches, and as queries [u, 1] the user vectors of 1,000 users the
// model never saw, served at example age 0.
func trainedData(b *testing.B, n int) (items, queries []float32, dim int) {
	b.Helper()
	users := n / 5
	w, err := world.New(world.Config{Users: users + retrieveQueries, Videos: n, Watches: 20, Seed: 7})
	if err != nil {
		b.Fatal(err)
	}
	trainWorld := &world.World{Cfg: w.Cfg, Videos: w.Videos, Users: w.Users[:users]}
	exs := trainWorld.CandgenData(0, rand.New(rand.NewPCG(7, 7)))
	m, _, err := train.Candgen(context.Background(), train.CandgenConfig{Spec: world.CandgenSpec(), ExampleAge: true, Tower: train.SmallTower(), Negatives: 1000, Options: train.Options{Batch: 512, LR: 0.005, Seed: 7}}, exs)
	if err != nil {
		b.Fatal(err)
	}
	vecs, _ := m.Items()
	items = vecs
	dim = m.D() + 1
	held := make([]feature.Example, retrieveQueries)
	for i := range held {
		u := &w.Users[users+i]
		held[i] = w.UserFeatures(u, len(u.Watches))
	}
	uv := make([]float32, retrieveQueries*m.D())
	if err := m.UserVectors(uv, held); err != nil {
		b.Fatal(err)
	}
	queries = make([]float32, retrieveQueries*dim)
	for i := 0; i < retrieveQueries; i++ {
		copy(queries[i*dim:], uv[i*m.D():(i+1)*m.D()])
		queries[i*dim+dim-1] = 1
	}
	return items, queries, dim
}

// getData builds a dataset once per process: items, queries, the exact
// top-100 (batched exact search), and, with YTDNN_BENCH_EXPORT=DIR, its
// .npy files in DIR/<kind>-<size>/ for FAISS or hnswlib.
func getData(b *testing.B, kind string, n int) *dataset {
	b.Helper()
	dataMu.Lock()
	defer dataMu.Unlock()
	key := kind + "/" + sizeName(n)
	if d := data[key]; d != nil {
		return d
	}
	d := &dataset{}
	switch kind {
	case "gaussian":
		d.items, d.queries, d.dim = gaussianData(n)
	case "trained":
		d.items, d.queries, d.dim = trainedData(b, n)
	case "clustered":
		var ic, qc []int
		d.items, d.queries, d.dim, ic, qc = clusteredData(n)
		defer func() { // the share of each query's true top-100 in its own cluster
			own, total := 0, 0
			for q, hits := range d.truth {
				for _, h := range hits {
					if ic[h.ID] == qc[q] {
						own++
					}
					total++
				}
			}
			b.Logf("clustered/%s: %.1f%% of the true top-100 in the query's own cluster (%d items per cluster)", sizeName(n), 100*float64(own)/float64(total), n/1000)
		}()
	default:
		b.Fatalf("unknown dataset %q", kind)
	}
	ex, err := retrieval.NewExact(d.items, d.dim, nil)
	if err != nil {
		b.Fatal(err)
	}
	if d.truth, err = ex.Search(context.Background(), d.queries, retrieveTop, nil); err != nil {
		b.Fatal(err)
	}
	if dir := os.Getenv("YTDNN_BENCH_EXPORT"); dir != "" {
		exportData(b, filepath.Join(dir, kind+"-"+sizeName(n)), d)
	}
	data[key] = d
	return d
}

func exportData(b *testing.B, dir string, d *dataset) {
	b.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	truth := make([]int32, 0, len(d.truth)*retrieveTop)
	for _, hits := range d.truth {
		for _, h := range hits {
			truth = append(truth, h.ID)
		}
	}
	write := func(name string, fn func(f *os.File) error) {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		if err := fn(f); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
	}
	write("items.npy", func(f *os.File) error { return export.WriteNPYFloat32(f, d.items, len(d.items)/d.dim, d.dim) })
	write("queries.npy", func(f *os.File) error { return export.WriteNPYFloat32(f, d.queries, len(d.queries)/d.dim, d.dim) })
	write("truth.npy", func(f *os.File) error { return export.WriteNPYInt32(f, truth, len(d.truth), retrieveTop) })
}

func sizeName(n int) string {
	if n >= 1_000_000 {
		return fmt.Sprintf("%dM", n/1_000_000)
	}
	return fmt.Sprintf("%dk", n/1000)
}

// BenchmarkRetrieve: top-100 maximum-inner-product search on three kinds
// of data (gaussian: isotropic, items and queries independent; trained: a
// candgen softmax table and held-out users' vectors; clustered: the easy
// case), at 100k and 1M items. Searches run on one core (GOMAXPROCS=1):
// exact (one query per call), exact-batched (all 1,000 queries in one call)
// and hnsw/ef=E (M=16, efConstruction=200, built once on both cores),
// each reporting recall@100 and queries/s; hnsw also build-s and
// bytes/item (vectors included).
func BenchmarkRetrieve(b *testing.B) {
	for _, kind := range []string{"gaussian", "trained", "clustered"} {
		for _, n := range []int{100_000, 1_000_000} {
			prefix := kind + "/" + sizeName(n) + "/"
			b.Run(prefix+"exact", func(b *testing.B) {
				d := getData(b, kind, n)
				ex, _ := retrieval.NewExact(d.items, d.dim, nil)
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					q := i % retrieveQueries
					if _, err := ex.Search(context.Background(), d.queries[q*d.dim:(q+1)*d.dim], retrieveTop, nil); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
				b.ReportMetric(1, "recall@100")
			})
			b.Run(prefix+"exact-batched", func(b *testing.B) {
				d := getData(b, kind, n)
				ex, _ := retrieval.NewExact(d.items, d.dim, nil)
				defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if _, err := ex.Search(context.Background(), d.queries, retrieveTop, nil); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*retrieveQueries)/b.Elapsed().Seconds(), "queries/s")
				b.ReportMetric(1, "recall@100")
			})
			for _, ef := range []int{50, 100, 200, 400, 800} {
				b.Run(fmt.Sprintf("%shnsw/ef=%d", prefix, ef), func(b *testing.B) {
					d := getData(b, kind, n)
					if d.hnsw == nil {
						t0 := time.Now()
						var err error
						if d.hnsw, err = retrieval.NewHNSW(context.Background(), d.items, d.dim, nil, retrieval.HNSWConfig{M: 16, EfConstruction: 200, Seed: 1}); err != nil {
							b.Fatal(err)
						}
						d.build = time.Since(t0)
					}
					d.hnsw.SetEfSearch(ef)
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
					got, err := d.hnsw.Search(context.Background(), d.queries, retrieveTop, nil)
					if err != nil {
						b.Fatal(err)
					}
					runtime.GC() // not the build's garbage in the timing
					b.ReportAllocs()
					b.ResetTimer()
					for i := 0; i < b.N; i++ {
						q := i % retrieveQueries
						if _, err := d.hnsw.Search(context.Background(), d.queries[q*d.dim:(q+1)*d.dim], retrieveTop, nil); err != nil {
							b.Fatal(err)
						}
					}
					b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
					b.ReportMetric(retrieval.Recall(d.truth, got), "recall@100")
					b.ReportMetric(d.build.Seconds(), "build-s")
					b.ReportMetric(float64(d.hnsw.Bytes())/float64(d.hnsw.Len()), "bytes/item") // trained holds fewer than n
					b.ReportMetric(float64(d.hnsw.Len()), "items")
				})
			}
		}
	}
}
