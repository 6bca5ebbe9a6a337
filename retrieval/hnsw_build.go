package retrieval

import (
	"cmp"
	"context"
	"math"
	"slices"
	"sync"

	"github.com/ytdnn/ytdnn/internal/par"
	"github.com/ytdnn/ytdnn/internal/vec"
)

// The build inserts the nodes (the items but copies) in item order, in
// batches. Every node of a batch searches the graph as it stood before the
// batch (read-only, so the searches run in parallel) and also scores the
// batch's earlier nodes directly, so it may link to them as a one-by-one
// insert would. The batch's links are then written: its own lists first,
// then the links back to it, grouped by the list they change (one goroutine
// per list), each group in item order. Then repair links in what the
// batches left unreachable. No step depends on which goroutine ran what:
// the graph is a function of the items, M, EfConstruction and Seed,
// whatever Workers is.
//
// A batch is an eighth of the graph built so far, at most maxBatch nodes:
// a node sees its batch's earlier nodes only by brute force (maxBatch/2
// extra inner products on average), not through their links.
const (
	maxBatch   = 256
	batchShare = 8
)

// progressEvery is how many items go by between two Progress calls.
const progressEvery = 4096

// build links the nodes (ascending item indices, the first being item 0)
// into the graph: h.level drawn, lists empty.
func (h *HNSW) build(ctx context.Context, nodes []int32) error {
	n := len(h.ids)
	workers := h.cfg.Workers
	scr := make([]*scratch, workers)
	for w := range scr {
		scr[w] = h.newScratch()
	}
	plans := make([][][]cand, maxBatch) // per batch item, per level: its neighbours
	var links []backlink
	h.entry, h.maxLevel = 0, int(h.level[0])
	reported := 0
	for lo := 1; lo < len(nodes); {
		if err := ctx.Err(); err != nil {
			return err
		}
		hi := lo + min(maxBatch, max(1, lo/batchShare), len(nodes)-lo)
		par.ForN(workers, hi-lo, 2, func(w, a, z int) {
			for k := a; k < z; k++ {
				plans[k] = h.plan(nodes[lo+k], nodes[lo:lo+k], scr[w], plans[k])
			}
		})
		links = links[:0]
		for k := range hi - lo {
			i := nodes[lo+k]
			for l, sel := range plans[k] {
				nb := make([]int32, len(sel))
				for x, c := range sel {
					nb[x] = c.id
					links = append(links, backlink{to: c.id, from: i, sim: c.sim, level: uint8(l)})
				}
				h.setNeighbors(i, l, nb)
			}
		}
		h.linkBack(links, workers)
		for _, i := range nodes[lo:hi] {
			if int(h.level[i]) > h.maxLevel {
				h.entry, h.maxLevel = i, int(h.level[i])
			}
		}
		lo = hi
		// Every item before the next node is in the graph or a copy of a
		// node that is.
		done := n
		if lo < len(nodes) {
			done = int(nodes[lo])
		}
		if h.cfg.Progress != nil && done/progressEvery > reported/progressEvery {
			h.cfg.Progress(done, n)
			reported = done
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	h.repair(workers)
	if h.cfg.Progress != nil {
		h.cfg.Progress(n, n)
	}
	return nil
}

// plan chooses node i's neighbours on each of its levels (into out, reused):
// the heuristic's pick among the nodes a search of the graph finds and the
// batch's nodes before i (before). It only reads the graph.
func (h *HNSW) plan(i int32, before []int32, s *scratch, out [][]cand) [][]cand {
	q := h.vec(i)
	li := int(h.level[i])
	top := h.maxLevel
	out = slices.Grow(out[:0], li+1)[:li+1]
	// The batch's earlier items, scored once for every level.
	peers := s.peers[:0]
	for _, j := range before {
		peers = append(peers, cand{j, vec.Dot(q, h.vec(j))})
	}
	s.peers = peers
	cur := cand{h.entry, vec.Dot(q, h.vec(h.entry))}
	for l := top; l > li; l-- {
		cur = h.greedy(q, cur, l)
	}
	eps := []cand{cur}
	for l := li; l >= 0; l-- {
		var cs []cand
		if l <= top { // above the graph's top level only the batch has nodes
			res := h.searchLayer(q, eps, h.cfg.EfConstruction, l, s)
			eps = append([]cand(nil), res...)
			cs = append(cs, eps...)
		}
		// All of them, even those a search would rank below its ef best:
		// the heuristic may keep a short vector as a diverse neighbour,
		// which links it both ways (on trained vectors this leaves a third
		// as many nodes for repair to link in).
		for _, p := range peers {
			if int(h.level[p.id]) >= l {
				cs = append(cs, p)
			}
		}
		sortDesc(cs)
		out[l] = h.selectHeuristic(cs, h.cfg.M, out[l])
	}
	return out
}

// groupCopies finds the items whose vectors are identical to an earlier
// item's (compared as values: -0 equals 0), chains each group in h.next
// (nil when there are none), takes the copies' levels away and returns the
// graph's nodes: the other items, ascending. Items are sorted by a hash of
// their vectors and compared only within a run of equal hashes.
func (h *HNSW) groupCopies() []int32 {
	n := len(h.ids)
	type keyed struct {
		hash uint64
		i    int32
	}
	keys := make([]keyed, n)
	for i := range keys {
		x := uint64(14695981039346656037) // FNV-1a over the components' bits
		for _, v := range h.vec(int32(i)) {
			if v == 0 {
				v = 0 // -0 hashes as 0
			}
			x = (x ^ uint64(math.Float32bits(v))) * 1099511628211
		}
		keys[i] = keyed{x, int32(i)}
	}
	slices.SortFunc(keys, func(a, b keyed) int { return cmp.Or(cmp.Compare(a.hash, b.hash), cmp.Compare(a.i, b.i)) })
	var tail []int32 // tail[i]: the last item chained so far behind node i
	var copies []bool
	for a := 0; a < n; {
		z := a + 1
		for z < n && keys[z].hash == keys[a].hash {
			z++
		}
		var heads []int32
	run:
		for _, k := range keys[a:z] {
			for _, r := range heads {
				if slices.Equal(h.vec(r), h.vec(k.i)) {
					if h.next == nil {
						h.next, tail, copies = make([]int32, n), make([]int32, n), make([]bool, n)
						for j := range h.next {
							h.next[j], tail[j] = -1, int32(j)
						}
					}
					h.next[tail[r]], tail[r] = k.i, k.i
					h.level[k.i], copies[k.i] = 0, true
					continue run
				}
			}
			heads = append(heads, k.i)
		}
		a = z
	}
	nodes := make([]int32, 0, n)
	for i := range n {
		if copies == nil || !copies[i] {
			nodes = append(nodes, int32(i))
		}
	}
	h.nodes = len(nodes)
	return nodes
}

// backlink is a link to add from node to back to a new node from, whose
// similarity is sim, on a level.
type backlink struct {
	to, from int32
	sim      float32
	level    uint8
}

// linkBack adds the links in their order (that of the new nodes) over
// workers goroutines, each changing the lists of the nodes it owns (node
// number modulo workers): every list is changed by one goroutine, in the
// order a one-by-one insert would.
func (h *HNSW) linkBack(links []backlink, workers int) {
	if len(links) < 64 {
		workers = 1
	}
	add := func(w int) {
		for _, b := range links {
			if int(b.to)%workers != w {
				continue
			}
			mMax := h.cfg.M
			if b.level == 0 {
				mMax = 2 * h.cfg.M
			}
			h.link(b.to, b.from, b.sim, int(b.level), mMax)
		}
	}
	var wg sync.WaitGroup
	for w := 1; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			add(w)
		}()
	}
	add(0)
	wg.Wait()
}

// selectHeuristic keeps up to m of cs (sorted best first): a candidate is
// kept if it is closer to the base than to every kept one; the rest fill
// the remaining places.
func (h *HNSW) selectHeuristic(cs []cand, m int, out []cand) []cand {
	out = out[:0]
	var skipped []cand
	for _, c := range cs {
		if len(out) >= m {
			break
		}
		good := true
		cv := h.vec(c.id)
		for _, r := range out {
			if vec.Dot(cv, h.vec(r.id)) > c.sim {
				good = false
				break
			}
		}
		if good {
			out = append(out, c)
		} else {
			skipped = append(skipped, c)
		}
	}
	for _, c := range skipped {
		if len(out) >= m {
			break
		}
		out = append(out, c)
	}
	return out
}

// sortDesc sorts candidates best first, ties by id: a total order, so the
// result does not depend on the input's order.
func sortDesc(cs []cand) {
	slices.SortFunc(cs, func(a, b cand) int {
		switch {
		case a.sim > b.sim:
			return -1
		case a.sim < b.sim:
			return 1
		}
		return int(a.id) - int(b.id)
	})
}

// link adds node i to the neighbour list of node n at level l, shrinking it
// with the heuristic when full.
func (h *HNSW) link(n, i int32, sim float32, l, mMax int) {
	cur := h.list(n, l)
	for _, x := range cur {
		if x == i {
			return
		}
	}
	if len(cur) < mMax {
		nb := append(cur[:len(cur):len(cur)], i)
		h.setNeighbors(n, l, nb)
		return
	}
	nv := h.vec(n)
	cs := make([]cand, 0, len(cur)+1)
	for _, x := range cur {
		cs = append(cs, cand{x, vec.Dot(nv, h.vec(x))})
	}
	cs = append(cs, cand{i, sim})
	sortDesc(cs)
	sel := h.selectHeuristic(cs, mMax, nil)
	nb := make([]int32, len(sel))
	for k, c := range sel {
		nb[k] = c.id
	}
	h.setNeighbors(n, l, nb)
}
