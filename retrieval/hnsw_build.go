package retrieval

import "github.com/ytdnn/ytdnn/internal/vec"

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

func sortDesc(cs []cand) {
	// insertion sort: lists are short (≤ ef)
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && cs[j].sim > cs[j-1].sim; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

func (h *HNSW) insert(i int32, s *scratch) {
	q := h.vec(i)
	li := int(h.level[i])
	h.glock.Lock()
	ep, top := h.entry, h.maxLevel
	if li > top {
		// A node that raises the top level is inserted under the global
		// lock (as hnswlib does): two such inserts at once would otherwise
		// both link against the old top, and the lower one would keep no
		// links on the levels the higher one adds.
		defer h.glock.Unlock()
	} else {
		h.glock.Unlock()
	}
	cur := cand{ep, vec.Dot(q, h.vec(ep))}
	for l := top; l > li; l-- {
		cur = h.greedy(q, cur, l, s)
	}
	eps := []cand{cur}
	M := h.cfg.M
	for l := min(li, top); l >= 0; l-- {
		res := h.searchLayer(q, eps, h.cfg.EfConstruction, l, s)
		w := append([]cand(nil), res...)
		sortDesc(w)
		mMax := M
		if l == 0 {
			mMax = 2 * M
		}
		s.sel = h.selectHeuristic(w, M, s.sel)
		nb := make([]int32, len(s.sel))
		for k, c := range s.sel {
			nb[k] = c.id
		}
		h.locks[i].Lock()
		h.setNeighbors(i, l, nb)
		h.locks[i].Unlock()
		for _, c := range s.sel {
			h.link(c.id, i, c.sim, l, mMax, s)
		}
		eps = w
	}
	if li > top { // still holding the global lock
		h.maxLevel, h.entry = li, i
	}
}

// link adds node i to the neighbour list of node n at level l, shrinking it
// with the heuristic when full.
func (h *HNSW) link(n, i int32, sim float32, l, mMax int, s *scratch) {
	h.locks[n].Lock()
	defer h.locks[n].Unlock()
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
