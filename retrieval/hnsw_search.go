package retrieval

import (
	"context"

	"github.com/ytdnn/ytdnn/internal/vec"
)

type cand struct {
	id  int32
	sim float32
}

// scratch is one goroutine's search state.
type scratch struct {
	visited []uint32
	epoch   uint32
	cands   []cand  // to expand: min-heap by -sim (so best first)
	res     []cand  // min-heap by sim (best ef)
	peers   []cand  // a batch's earlier items, scored (build only)
	sink    float32 // keeps touch's loads from being optimized away
}

func (h *HNSW) newScratch() *scratch {
	return &scratch{visited: make([]uint32, len(h.ids))}
}

func (s *scratch) next() {
	s.epoch++
	if s.epoch == 0 {
		clear(s.visited)
		s.epoch = 1
	}
}

// push and pop keep a min-heap by sim. The search's max-heap of candidates
// to expand is the same heap over negated similarities (negation is exact).
func push(h []cand, c cand) []cand {
	h = append(h, c)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if h[p].sim <= h[i].sim {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
	return h
}

func pop(h []cand) (cand, []cand) {
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h[l].sim < h[m].sim {
			m = l
		}
		if r < n && h[r].sim < h[m].sim {
			m = r
		}
		if m == i {
			break
		}
		h[m], h[i] = h[i], h[m]
		i = m
	}
	return top, h
}

// searchLayer returns the ef best nodes at level l reachable from eps, as a
// min-heap in s.res.
func (h *HNSW) searchLayer(q []float32, eps []cand, ef, l int, s *scratch) []cand {
	s.next()
	s.cands, s.res = s.cands[:0], s.res[:0]
	for _, e := range eps {
		if s.visited[e.id] == s.epoch {
			continue
		}
		s.visited[e.id] = s.epoch
		s.cands = push(s.cands, cand{e.id, -e.sim})
		s.res = push(s.res, e)
		if len(s.res) > ef {
			_, s.res = pop(s.res)
		}
	}
	for len(s.cands) > 0 {
		var c cand
		c, s.cands = pop(s.cands)
		c.sim = -c.sim
		if len(s.res) >= ef && c.sim < s.res[0].sim {
			break
		}
		nbs := h.list(c.id, l)
		h.touch(nbs, s)
		// The next candidate's list, while these are scored.
		if l == 0 && len(s.cands) > 0 {
			nx := int(s.cands[0].id)
			M0 := 2 * h.cfg.M
			s.sink += float32(h.l0[nx*M0]) + float32(h.l0n[nx])
		}
		for _, nb := range nbs {
			if s.visited[nb] == s.epoch {
				continue
			}
			s.visited[nb] = s.epoch
			sim := vec.Dot(q, h.vec(nb))
			if len(s.res) < ef || sim > s.res[0].sim {
				s.cands = push(s.cands, cand{nb, -sim})
				s.res = push(s.res, cand{nb, sim})
				if len(s.res) > ef {
					_, s.res = pop(s.res)
				}
			}
		}
	}
	return s.res
}

// touch reads one float of every 64-byte line of the unvisited neighbours'
// vectors before any is scored: the loads are independent, so the
// processor has them all in flight at once instead of waiting for each
// vector's misses in turn inside the dot products (Go has no prefetch
// instruction; this is its stand-in).
func (h *HNSW) touch(nbs []int32, s *scratch) {
	var sink float32
	for _, nb := range nbs {
		if s.visited[nb] == s.epoch {
			continue
		}
		v := h.vec(nb)
		for j := 0; j < len(v); j += 16 {
			sink += v[j]
		}
	}
	s.sink = sink
}

// greedy walks level l towards q from ep (ef = 1).
func (h *HNSW) greedy(q []float32, ep cand, l int) cand {
	for changed := true; changed; {
		changed = false
		for _, nb := range h.list(ep.id, l) {
			if sim := vec.Dot(q, h.vec(nb)); sim > ep.sim {
				ep, changed = cand{nb, sim}, true
			}
		}
	}
	return ep
}

// Search implements Index. It searches with ef = max(EfSearch, n) nodes
// and, when the filter leaves fewer than n hits, again with a doubled ef,
// until n hits pass. A node found stands for all its items (identical
// vectors). Once ef reaches the number of nodes, or, in an index of at
// most 65,536 items, ef·2M reaches the number of items (a graph search
// then scores about as many vectors as there are, in random order, with
// heap work on each: 300 candidates of 9,565 items), the search is a scan
// that scores every item (exact) eight at a time: a search for n ≥ Len
// items returns them all, or all the filter lets through. ctx is checked
// before each query.
func (h *HNSW) Search(ctx context.Context, queries []float32, n int, filter Filter) ([][]Hit, error) {
	if err := checkQueries(queries, h.dim, n); err != nil {
		return nil, err
	}
	m := len(queries) / h.dim
	out := make([][]Hit, m)
	s, _ := h.visited.Get().(*scratch)
	if s == nil {
		s = h.newScratch()
	}
	defer h.visited.Put(s)
	for qi := 0; qi < m; qi++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		out[qi] = h.searchOne(queries[qi*h.dim:(qi+1)*h.dim], qi, n, filter, s)
	}
	return out, nil
}

func (h *HNSW) searchOne(q []float32, qi, n int, filter Filter, s *scratch) []Hit {
	ef := int(h.efSearch.Load())
	if ef == 0 {
		ef = DefaultEf
	}
	ef = max(ef, n)
	for {
		if ef >= h.nodes || h.scanCheaper(ef) {
			return h.scan(q, qi, n, filter)
		}
		if hits := h.graphSearch(q, qi, n, ef, filter, s); len(hits) >= n {
			return SortHits(hits, n)
		}
		ef = min(2*ef, h.nodes)
	}
}

// graphSearch is one search of the graph at ef: the hits the filter lets
// through among the ef nodes found (all of them when filtered, else the n
// best), unsorted.
func (h *HNSW) graphSearch(q []float32, qi, n, ef int, filter Filter, s *scratch) []Hit {
	cur := cand{h.entry, vec.Dot(q, h.vec(h.entry))}
	for l := h.maxLevel; l > 0; l-- {
		cur = h.greedy(q, cur, l)
	}
	res := h.searchLayer(q, []cand{cur}, ef, 0, s)
	if filter == nil {
		// Only the n best are wanted: drop the rest off the min-heap
		// instead of sorting all ef.
		for len(res) > n {
			_, res = pop(res)
		}
	}
	hits := make([]Hit, 0, len(res))
	for _, c := range res {
		for i := c.id; i >= 0; i = h.nextCopy(i) {
			id := h.ids[i]
			if filter != nil && filter(qi, id) {
				continue
			}
			hits = append(hits, Hit{ID: id, Score: c.sim})
		}
	}
	return hits
}

// scanMaxItems bounds the indexes whose searches may scan before ef
// reaches the node count: their lane-by-lane copy of the vectors (17 MB
// at 65 dimensions) is made once; a larger index scans so rarely that
// the copy would only double its memory.
const scanMaxItems = 1 << 16

// scanCheaper reports whether a search at ef scores about as many vectors
// as a scan (ef·2M, the neighbours of ef expanded nodes, reaching the item
// count) in an index small enough to keep its vectors for scans.
func (h *HNSW) scanCheaper(ef int) bool {
	return len(h.ids) <= scanMaxItems && ef*2*h.cfg.M >= len(h.ids)
}

// scanBlocks returns the items' vectors in blocks of 8, lane by lane (zero
// padded), made on first use; nil for an index of more than scanMaxItems.
func (h *HNSW) scanBlocks() []float32 {
	if len(h.ids) > scanMaxItems {
		return nil
	}
	h.blocksOnce.Do(func() {
		n, d := len(h.ids), h.dim
		b := make([]float32, (n+7)/8*8*d)
		for i := range n {
			blk, lane := i/8, i%8
			for j, v := range h.vec(int32(i)) {
				b[blk*8*d+j*8+lane] = v
			}
		}
		h.blocks = b
	})
	return h.blocks
}

// scan is a search that considers every node: it scores every item
// directly, without the graph, so nothing the graph cannot reach is missed.
// The best n are kept in a buffer of 2n: when it fills, a selection keeps
// the n best and their lowest score becomes the bar (a heap would sift on
// every hit above the bar).
func (h *HNSW) scan(q []float32, qi, n int, filter Filter) []Hit {
	n = min(n, len(h.ids))
	buf := make([]Hit, 0, 2*n)
	bar, full := float32(0), false
	blocks, d := h.scanBlocks(), h.dim
	var s [8]float32
	for b := 0; b < len(h.ids); b += 8 {
		m := min(8, len(h.ids)-b)
		if blocks != nil {
			vec.DotBlock8(&s, q, blocks[b*d:(b+8)*d])
		} else {
			for l := range m {
				s[l] = vec.Dot(q, h.vec(int32(b+l)))
			}
		}
		for l := range m {
			if full && s[l] <= bar {
				continue
			}
			id := h.ids[b+l]
			if filter != nil && filter(qi, id) {
				continue
			}
			buf = append(buf, Hit{ID: id, Score: s[l]})
			if len(buf) == cap(buf) {
				selectBest(buf, n)
				buf = buf[:n]
				bar, full = buf[0].Score, true
				for _, x := range buf[1:] {
					bar = min(bar, x.Score)
				}
			}
		}
	}
	if len(buf) > n {
		selectBest(buf, n)
		buf = buf[:n]
	}
	return SortHits(buf, n)
}

// compareHits is SortHits' order: higher score first, then lower ID.
func compareHits(a, b Hit) int {
	if a.Score != b.Score {
		if a.Score > b.Score {
			return -1
		}
		return 1
	}
	return int(a.ID) - int(b.ID)
}

// hitBefore reports whether a comes before b in SortHits' order.
func hitBefore(a, b Hit) bool { return compareHits(a, b) < 0 }

// selectBest reorders h so that h[:n] holds its n first hits in
// hitBefore's order (in no particular order among themselves): a
// quickselect, linear on average.
func selectBest(h []Hit, n int) {
	lo, hi := 0, len(h)-1
	for lo < hi {
		// Median of three as the pivot, moved to hi.
		mid := lo + (hi-lo)/2
		if hitBefore(h[mid], h[lo]) {
			h[mid], h[lo] = h[lo], h[mid]
		}
		if hitBefore(h[hi], h[lo]) {
			h[hi], h[lo] = h[lo], h[hi]
		}
		if hitBefore(h[mid], h[hi]) {
			h[mid], h[hi] = h[hi], h[mid]
		}
		p := h[hi]
		i := lo
		for j := lo; j < hi; j++ {
			if hitBefore(h[j], p) {
				h[i], h[j] = h[j], h[i]
				i++
			}
		}
		h[i], h[hi] = h[hi], h[i]
		switch {
		case i == n || i == n-1:
			return
		case i < n:
			lo = i + 1
		default:
			hi = i - 1
		}
	}
}

// nextCopy is the item after i in its node's chain of identical items, -1
// after the last.
func (h *HNSW) nextCopy(i int32) int32 {
	if h.next == nil {
		return -1
	}
	return h.next[i]
}
