package retrieval

import (
	"github.com/ytdnn/ytdnn/internal/par"
	"github.com/ytdnn/ytdnn/internal/vec"
)

// repair makes every node reachable on layer 0 from the entry point, and
// returns how many it had to link in. Under the inner product a short
// vector is rarely anyone's best neighbour, so the heuristic can prune every
// link to it (of 2,000 vectors N(0, I)·s, s ~ Exp(1), in 16 dimensions the
// build stranded 20; the one-by-one build before it 99) and no search
// could ever return it.
//
// A walk from the entry point marks what is reachable. Each stranded node u,
// in item order, is then linked from the best reachable node of a search
// for u's vector (ef 64 at most) that has room in its list. If none has
// room, u takes the place of the best one's weakest link x and links to x
// itself, so x stays reachable through u. What u reaches is marked before
// the next stranded node. The searches run in parallel, 4,096 nodes at a
// time, on the graph as the links before them left it; the links are made
// in order, so the result does not depend on workers either. This is the
// only step that adds links the heuristic did not choose. Upper layers are
// not repaired: a search enters layer 0 wherever they lead, and one that
// is to cover every node scans instead (see Search).
//
// Cost: a walk over the graph, and a search per stranded node.
func (h *HNSW) repair(workers int) int {
	n := len(h.ids)
	copies := make([]bool, n)
	if h.next != nil {
		for _, c := range h.next {
			if c >= 0 {
				copies[c] = true
			}
		}
	}
	reached := make([]bool, n)
	var stack []int32
	mark := func(from int32) {
		reached[from] = true
		stack = append(stack[:0], from)
		for len(stack) > 0 {
			x := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, y := range h.list(x, 0) {
				if !reached[y] {
					reached[y] = true
					stack = append(stack, y)
				}
			}
		}
	}
	mark(h.entry)
	var stranded []int32
	for i := range n {
		if !reached[i] && !copies[i] {
			stranded = append(stranded, int32(i))
		}
	}
	if len(stranded) == 0 {
		return 0
	}
	// In chunks (bounded memory): the candidates of the chunk's nodes that
	// are still stranded, best first, found in parallel on the graph as it
	// is; then the links, in order.
	scr := make([]*scratch, workers)
	cands := make([][]cand, min(len(stranded), repairChunk))
	M0 := 2 * h.cfg.M
	linked := 0
	for c0 := 0; c0 < len(stranded); c0 += repairChunk {
		chunk := stranded[c0:min(c0+repairChunk, len(stranded))]
		par.ForN(workers, len(chunk), 2, func(w, a, z int) {
			if scr[w] == nil {
				scr[w] = h.newScratch()
			}
			for k := a; k < z; k++ {
				cands[k] = nil
				if !reached[chunk[k]] {
					cands[k] = h.nearby(chunk[k], scr[w])
				}
			}
		})
		for k, u := range chunk {
			if reached[u] {
				continue // reachable through an earlier one
			}
			// The best reachable candidate with room, else the best
			// reachable one, else the entry point.
			r, best := int32(-1), int32(-1)
			for _, c := range cands[k] {
				if !reached[c.id] || c.id == u {
					continue
				}
				if int(h.l0n[c.id]) < M0 {
					r = c.id
					break
				}
				if best < 0 {
					best = c.id
				}
			}
			if r < 0 {
				r = best
			}
			if r < 0 {
				r = h.entry
			}
			h.linkIn(u, r)
			mark(u)
			linked++
		}
	}
	return linked
}

// nearby returns the nodes a layer-0 search for node u's vector finds (ef
// nearbyKept, or the build's if smaller), best first, entering layer 0 both
// where the upper layers lead and at the entry point.
func (h *HNSW) nearby(u int32, s *scratch) []cand {
	q := h.vec(u)
	entry := cand{h.entry, vec.Dot(q, h.vec(h.entry))}
	cur := entry
	for l := h.maxLevel; l > 0; l-- {
		cur = h.greedy(q, cur, l)
	}
	ef := min(max(h.cfg.EfConstruction, 1), nearbyKept, h.nodes) // a file's value is unchecked
	res := append([]cand(nil), h.searchLayer(q, []cand{cur, entry}, ef, 0, s)...)
	sortDesc(res)
	return res
}

// repairChunk is how many stranded nodes repair searches for at once.
const repairChunk = 4096

// nearbyKept is how many candidates repair looks for to link a stranded
// node from: a reachable one with room is nearly always among them.
const nearbyKept = 64

// linkIn adds a layer-0 link from node r to node u. When r's list is full,
// u takes the place of r's weakest link x (the lowest inner product with r)
// and u links to x, in place of u's own weakest link if u's list is full:
// what r reached through x it reaches through u. u's dropped link took
// nothing reachable away, since nothing reachable passed through u.
func (h *HNSW) linkIn(u, r int32) {
	M0 := 2 * h.cfg.M
	nb := append([]int32(nil), h.list(r, 0)...)
	if len(nb) < M0 {
		h.setNeighbors(r, 0, append(nb, u))
		return
	}
	w := weakest(h, r, nb)
	x := nb[w]
	nb[w] = u
	h.setNeighbors(r, 0, nb)
	un := append([]int32(nil), h.list(u, 0)...)
	for _, y := range un {
		if y == x {
			return
		}
	}
	if len(un) < M0 {
		un = append(un, x)
	} else {
		un[weakest(h, u, un)] = x
	}
	h.setNeighbors(u, 0, un)
}

// weakest is the position in nb of the node with the lowest inner product
// with node r (the first of equals).
func weakest(h *HNSW, r int32, nb []int32) int {
	rv := h.vec(r)
	w, ws := 0, vec.Dot(rv, h.vec(nb[0]))
	for k := 1; k < len(nb); k++ {
		if s := vec.Dot(rv, h.vec(nb[k])); s < ws {
			w, ws = k, s
		}
	}
	return w
}
