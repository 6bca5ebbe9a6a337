package retrieval

import (
	"context"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHNSWScansWhenCheaper: once ef·2M reaches the item count, a search
// scores every item (eight at a time, from the lane-by-lane copy) and
// returns exactly what exact search returns, filter applied, on an item
// count that is not a multiple of 8; with ef·2M short of it the graph is
// searched and the copy is never made.
func TestHNSWScansWhenCheaper(t *testing.T) {
	const n, dim = 1003, 13
	rng := rand.New(rand.NewPCG(7, 8))
	items := make([]float32, n*dim)
	for i := range items {
		items[i] = float32(rng.NormFloat64())
	}
	h, err := NewHNSW(context.Background(), items, dim, nil, HNSWConfig{M: 8, EfConstruction: 32, EfSearch: 8, Seed: 1})
	require.NoError(t, err)
	ex, err := NewExact(items, dim, nil)
	require.NoError(t, err)
	q := make([]float32, 4*dim)
	for i := range q {
		q[i] = float32(rng.NormFloat64())
	}
	_, err = h.Search(context.Background(), q, 40, nil) // ef 40: 640 < 1003, the graph
	require.NoError(t, err)
	assert.Nil(t, h.blocks, "a graph search makes no copy")
	filter := func(qi int, id int32) bool { return int(id%5) == qi }
	for _, f := range []Filter{nil, filter} {
		got, err := h.Search(context.Background(), q, 63, f) // ef 63: 1008 ≥ 1003, a scan
		require.NoError(t, err)
		want, err := ex.Search(context.Background(), q, 63, f)
		require.NoError(t, err)
		for qi := range want {
			require.Len(t, got[qi], len(want[qi]))
			for k := range want[qi] {
				assert.Equal(t, want[qi][k].ID, got[qi][k].ID, "query %d, rank %d", qi, k)
				assert.InDelta(t, want[qi][k].Score, got[qi][k].Score, 1e-5, "query %d, rank %d", qi, k)
			}
		}
	}
	assert.Len(t, h.blocks, (n+7)/8*8*dim, "the copy, padded to whole blocks")
}

// TestSelectBest: the selection keeps exactly the n first hits of
// SortHits' order (score, then ID), ties in score included, for every n.
func TestSelectBest(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, size := range []int{1, 2, 3, 10, 97, 600} {
		for _, distinct := range []int{1, 3, 1000} {
			hits := make([]Hit, size)
			for i := range hits {
				hits[i] = Hit{ID: int32(rng.IntN(1 << 20)), Score: float32(rng.IntN(distinct))}
			}
			want := SortHits(slices.Clone(hits), size)
			for n := 1; n <= size; n++ {
				h := slices.Clone(hits)
				selectBest(h, n)
				assert.Equal(t, want[:n], SortHits(h[:n], n), "size %d, %d scores, n=%d", size, distinct, n)
			}
		}
	}
}

// BenchmarkScanVsGraph: one query for 300 of 9,565 items of 65 dimensions
// (the demo catalogue's size; ef·2M = 9,600 ≥ 9,565, so Search scans),
// scored by the scan Search takes and by the graph search at ef = 300 it
// replaced. YTDNN_BENCH_INDEX=FILE uses a saved index instead (a model
// directory's index.hnsw: the demo models' trained vectors); without it,
// Gaussian items and queries (no structure for the graph to exploit):
//
//	YTDNN_BENCH_INDEX=/tmp/demo-m/index.hnsw go test -run '^$' -bench ScanVsGraph ./retrieval
func BenchmarkScanVsGraph(b *testing.B) {
	var h *HNSW
	if path := os.Getenv("YTDNN_BENCH_INDEX"); path != "" {
		var err error
		if h, err = LoadHNSW(path); err != nil {
			b.Fatal(err)
		}
	} else {
		const n, dim = 9565, 65
		rng := rand.New(rand.NewPCG(1, 2))
		items := make([]float32, n*dim)
		for i := range items {
			items[i] = float32(rng.NormFloat64())
		}
		var err error
		if h, err = NewHNSW(context.Background(), items, dim, nil, HNSWConfig{Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
	vecs, _ := h.Items()
	rng := rand.New(rand.NewPCG(3, 4))
	qs := make([][]float32, 64)
	for i := range qs { // near an item: a user's vector near what they watch
		j := rng.IntN(len(vecs) / h.dim)
		q := slices.Clone(vecs[j*h.dim : (j+1)*h.dim])
		for d := range q {
			q[d] += float32(rng.NormFloat64()) * 0.3
		}
		if os.Getenv("YTDNN_BENCH_INDEX") != "" {
			q[h.dim-1] = 1 // a model's query is [u, 1]
		}
		qs[i] = q
	}
	b.Run("scan", func(b *testing.B) {
		for i := range b.N {
			h.scan(qs[i%len(qs)], 0, 300, nil)
		}
	})
	b.Run("graph-ef300", func(b *testing.B) {
		s := h.newScratch()
		for i := range b.N {
			h.graphSearch(qs[i%len(qs)], 0, 300, 300, nil, s)
		}
	})
}
