package retrieval

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sync"

	"github.com/ytdnn/ytdnn/internal/linalg"
)

// Hit is one retrieved item and its inner-product score.
type Hit struct {
	ID    int32
	Score float32
}

// Filter reports whether item id must be left out of the results of query q
// (q is the query's position in a batch; 0 for single searches). nil keeps
// everything.
type Filter func(q int, id int32) bool

// Index answers top-n maximum-inner-product queries. Implementations are
// safe for concurrent searches.
type Index interface {
	// Dim is the vector dimension.
	Dim() int
	// Len is the number of items.
	Len() int
	// Search returns the n items with the largest inner product with each of
	// the m = len(queries)/Dim() queries (row-major), best first, skipping
	// filtered items. A query gets fewer than n hits only when fewer than n
	// items pass the filter. The search stops with ctx's error once ctx is
	// done (checked between blocks of work, not only at the start).
	Search(ctx context.Context, queries []float32, n int, filter Filter) ([][]Hit, error)
	// Items returns the indexed vectors (row-major, Len·Dim floats) and
	// their ids, aliasing the index: a loaded index can be exported or
	// rebuilt from them. Do not modify them.
	Items() (vectors []float32, ids []int32)
}

var _ Index = (*Exact)(nil)

// Exact is brute-force search: queries are processed in blocks as a matrix
// product against blocks of items, each query keeping a bounded min-heap of
// its n best. Work is split over goroutines by item range (see Workers).
// Cost: O(m·N·Dim) multiply-adds and O(m·N·log n) heap work for m queries
// over N items; memory O(m·n) for the results plus 2 MiB of scratch per
// worker, whatever m.
type Exact struct {
	// Workers is the number of goroutines a search splits the items over,
	// capped at one per item. 0 means the default: GOMAXPROCS, but no more
	// than one per 2,048 items (and at least one). Set it before the index
	// is shared: it is read, not synchronized, by every search.
	Workers int

	dim  int
	ids  []int32
	data []float32
}

// NewExact indexes len(ids) vectors of dimension dim stored row-major in
// vectors (not copied: do not modify them while the index is in use). ids nil
// numbers the items 0..N-1.
func NewExact(vectors []float32, dim int, ids []int32) (*Exact, error) {
	ids, err := checkItems(vectors, dim, ids)
	if err != nil {
		return nil, err
	}
	return &Exact{dim: dim, ids: ids, data: vectors}, nil
}

// Dim implements Index.
func (e *Exact) Dim() int { return e.dim }

// Len implements Index.
func (e *Exact) Len() int { return len(e.ids) }

const itemBlock = 2048

// queryBlock is how many queries an exact search scores at once: each
// worker's scratch is queryBlock·itemBlock floats (2 MiB), whatever the
// number of queries.
const queryBlock = 256

// Search implements Index. Queries go in blocks of 256; each block's items
// are split over the workers (see Workers) by range, and each worker checks
// ctx between item blocks. With one worker (by default: one core, or fewer
// than 4,096 items) it all runs on the calling goroutine.
func (e *Exact) Search(ctx context.Context, queries []float32, n int, filter Filter) ([][]Hit, error) {
	if err := checkQueries(queries, e.dim, n); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m := len(queries) / e.dim
	workers := e.workers()
	qb := min(queryBlock, m)
	heaps := make([][]topN, workers)
	blocks := make([][]float32, workers)
	for w := range heaps {
		heaps[w] = make([]topN, qb)
		blocks[w] = make([]float32, qb*itemBlock)
	}
	per := (len(e.ids) + workers - 1) / workers
	out := make([][]Hit, m)
	for q0 := 0; q0 < m; q0 += queryBlock {
		qm := min(queryBlock, m-q0)
		qs := queries[q0*e.dim : (q0+qm)*e.dim]
		scan := func(w int) {
			hs := heaps[w][:qm]
			for q := range hs {
				if hs[q].h == nil {
					hs[q].h = make([]Hit, 0, min(n, per)) // grown once, not by appends
				}
				hs[q] = topN{n: n, h: hs[q].h[:0]}
			}
			e.scan(ctx, qs, q0, qm, w*per, min((w+1)*per, len(e.ids)), hs, filter, blocks[w])
		}
		if workers == 1 {
			scan(0)
		} else {
			var wg sync.WaitGroup
			for w := 0; w < workers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					scan(w)
				}()
			}
			wg.Wait()
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for q := 0; q < qm; q++ {
			all := slices.Clone(heaps[0][q].h)
			for w := 1; w < workers; w++ {
				all = append(all, heaps[w][q].h...)
			}
			out[q0+q] = SortHits(all, n)
		}
	}
	return out, nil
}

// workers is the number of item ranges a search splits the items into.
func (e *Exact) workers() int {
	if e.Workers > 0 {
		return max(1, min(e.Workers, len(e.ids)))
	}
	return min(runtime.GOMAXPROCS(0), max(1, len(e.ids)/itemBlock))
}

// scan scores queries (qm of them, the first at position q0 of the batch)
// against items [lo, hi) in blocks, pushing into hs.
func (e *Exact) scan(ctx context.Context, queries []float32, q0, qm, lo, hi int, hs []topN, filter Filter, block []float32) {
	for b := lo; b < hi && ctx.Err() == nil; b += itemBlock {
		nb := min(itemBlock, hi-b)
		s := block[:qm*nb]
		linalg.Gemm(false, true, qm, nb, e.dim, 1, queries, e.dim, e.data[b*e.dim:(b+nb)*e.dim], e.dim, 0, s, nb)
		for q := 0; q < qm; q++ {
			row := s[q*nb : (q+1)*nb]
			h := &hs[q]
			for j, sc := range row {
				if len(h.h) == h.n && sc <= h.h[0].Score {
					continue
				}
				id := e.ids[b+j]
				if filter != nil && filter(q0+q, id) {
					continue
				}
				h.push(Hit{id, sc})
			}
		}
	}
}

// Items implements Index: the indexed vectors (row-major) and their ids,
// aliasing the index (do not modify them).
func (e *Exact) Items() (vectors []float32, ids []int32) { return e.data, e.ids }

// checkItems validates item vectors and their ids (nil: 0..N-1, returned).
func checkItems(vectors []float32, dim int, ids []int32) ([]int32, error) {
	if dim < 1 || len(vectors)%dim != 0 {
		return nil, fmt.Errorf("retrieval: %d floats is not a whole number of %d-dim vectors", len(vectors), dim)
	}
	n := len(vectors) / dim
	if ids == nil {
		ids = make([]int32, n)
		for i := range ids {
			ids[i] = int32(i)
		}
	}
	if len(ids) != n {
		return nil, fmt.Errorf("retrieval: %d ids for %d vectors", len(ids), n)
	}
	for _, v := range vectors {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return nil, fmt.Errorf("retrieval: non-finite vector component")
		}
	}
	return ids, nil
}

func checkQueries(queries []float32, dim, n int) error {
	if n < 1 {
		return fmt.Errorf("retrieval: n must be positive, got %d", n)
	}
	if len(queries) == 0 || len(queries)%dim != 0 {
		return fmt.Errorf("retrieval: %d query floats is not a whole number of %d-dim queries", len(queries), dim)
	}
	for _, v := range queries {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("retrieval: non-finite query component")
		}
	}
	return nil
}

// Recall is the share of the true hits (truth[q], per query) that got[q]
// holds: recall@k when both hold k per query. 0 when truth is empty.
func Recall(truth, got [][]Hit) float64 {
	hit, total := 0, 0
	for q := range truth {
		set := make(map[int32]bool, len(truth[q]))
		for _, h := range truth[q] {
			set[h.ID] = true
		}
		if q < len(got) {
			for _, h := range got[q] {
				if set[h.ID] {
					hit++
				}
			}
		}
		total += len(truth[q])
	}
	if total == 0 {
		return 0
	}
	return float64(hit) / float64(total)
}

// SortHits sorts hits best first (ties by ascending ID) and keeps at most n.
func SortHits(h []Hit, n int) []Hit {
	slices.SortFunc(h, compareHits)
	if len(h) > n {
		h = h[:n]
	}
	return h
}

// topN is a bounded min-heap on score keeping the n best hits.
type topN struct {
	n int
	h []Hit
}

func (t *topN) push(x Hit) {
	if len(t.h) < t.n {
		t.h = append(t.h, x)
		i := len(t.h) - 1
		for i > 0 {
			p := (i - 1) / 2
			if t.h[p].Score <= t.h[i].Score {
				break
			}
			t.h[p], t.h[i] = t.h[i], t.h[p]
			i = p
		}
		return
	}
	if x.Score <= t.h[0].Score {
		return
	}
	t.h[0] = x
	i := 0
	for {
		l, r, s := 2*i+1, 2*i+2, i
		if l < len(t.h) && t.h[l].Score < t.h[s].Score {
			s = l
		}
		if r < len(t.h) && t.h[r].Score < t.h[s].Score {
			s = r
		}
		if s == i {
			return
		}
		t.h[s], t.h[i] = t.h[i], t.h[s]
		i = s
	}
}
