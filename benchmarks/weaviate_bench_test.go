package benchmarks

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ytdnn/ytdnn/retrieval"
	"github.com/ytdnn/ytdnn/retrieval/weaviate"
)

// BenchmarkWeaviate measures retrieval from Weaviate (one node on loopback,
// its HNSW at default settings, dot distance) on the retrieval benchmark's
// sets: the items are exported into a collection of their own, then each
// of the 1,000 queries asks for its top 100. It reports recall@100 against
// exact search (the same truth as BenchmarkRetrieve), queries/s one at a
// time and with 8 in flight, and the import's items/s. It needs a running
// Weaviate: YTDNN_WEAVIATE_ADDR=HOST:PORT (see .ci/run).
//
//	YTDNN_WEAVIATE_ADDR=127.0.0.1:18080 go test -run '^$' -bench Weaviate -benchtime 1x ./benchmarks
func BenchmarkWeaviate(b *testing.B) {
	addr := os.Getenv("YTDNN_WEAVIATE_ADDR")
	if addr == "" {
		b.Skip("set YTDNN_WEAVIATE_ADDR=HOST:PORT of a running weaviate-server")
	}
	for _, kind := range []string{"gaussian", "trained"} {
		b.Run(kind+"/100k", func(b *testing.B) {
			d := getData(b, kind, 100_000)
			n := len(d.items) / d.dim
			items := make([]weaviate.Item, n)
			for i := range items {
				// Rows are 1..n, as a model's index rows are (the index
				// refuses row 0); hits are shifted back to item numbers.
				items[i] = weaviate.Item{Row: int32(i + 1), VideoID: strconv.Itoa(i), Vector: d.items[i*d.dim : (i+1)*d.dim]}
			}
			ctx := context.Background()
			tg := weaviate.Target{Host: addr, Collection: fmt.Sprintf("Ytdnnbench_%d_{model}", rand.Uint32())}
			defer weaviate.Delete(ctx, tg, kind)
			t0 := time.Now()
			if _, err := weaviate.Export(ctx, tg, kind, items, nil); err != nil {
				b.Fatal(err)
			}
			importSec := time.Since(t0).Seconds()
			ix, err := weaviate.Open(ctx, tg, kind, d.dim, n, 30*time.Second)
			if err != nil {
				b.Fatal(err)
			}
			nq := len(d.queries) / d.dim
			hits := make([][]retrieval.Hit, nq)
			search := func(q int) {
				h, err := ix.Search(ctx, d.queries[q*d.dim:(q+1)*d.dim], retrieveTop, nil)
				if err != nil {
					b.Error(err)
					return
				}
				for k := range h[0] {
					h[0][k].ID--
				}
				hits[q] = h[0]
			}
			b.ResetTimer()
			var seq, par float64
			for range b.N {
				t1 := time.Now()
				for q := range nq {
					search(q)
				}
				seq = float64(nq) / time.Since(t1).Seconds()
				t2 := time.Now()
				var next atomic.Int64
				var wg sync.WaitGroup
				for range 8 {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for q := int(next.Add(1)) - 1; q < nq; q = int(next.Add(1)) - 1 {
							search(q)
						}
					}()
				}
				wg.Wait()
				par = float64(nq) / time.Since(t2).Seconds()
			}
			b.StopTimer()
			b.ReportMetric(retrieval.Recall(d.truth, hits), "recall@100")
			b.ReportMetric(seq, "queries/s")
			b.ReportMetric(par, "queries/s_8_in_flight")
			b.ReportMetric(float64(n)/importSec, "import_items/s")
		})
	}
}
