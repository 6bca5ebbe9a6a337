package retrieval

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ytdnn/ytdnn/internal/binfmt"
)

// variedNorms draws n vectors N(0, I)·s with s ~ Exp(1) for each: norms
// that vary as a trained softmax table's do. Under the inner product the
// short vectors are nobody's best neighbour, so the build prunes every link
// to them.
func variedNorms(n, dim int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 11))
	v := make([]float32, n*dim)
	for i := 0; i < n; i++ {
		s := float32(rng.ExpFloat64())
		for j := 0; j < dim; j++ {
			v[i*dim+j] = s * float32(rng.NormFloat64())
		}
	}
	return v
}

// withCopies draws n vectors of which every 20th (items 19, 39, ...) is
// drawn from N(0, I) and all the others are one and the same vector.
func withCopies(n, dim int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 13))
	d := make([]float32, dim)
	for j := range d {
		d[j] = float32(rng.NormFloat64())
	}
	v := make([]float32, n*dim)
	for i := 0; i < n; i++ {
		for j := 0; j < dim; j++ {
			if i%20 == 19 {
				v[i*dim+j] = float32(rng.NormFloat64())
			} else {
				v[i*dim+j] = d[j]
			}
		}
	}
	return v
}

// reachedItems counts the items a walk over layer 0 from the entry point
// can return: the nodes it reaches and every item whose vector is
// identical to a reached node's (an index may keep copies behind one node).
func reachedItems(h *HNSW) int {
	seen := reachedNodes(h)
	vecs := map[string]bool{}
	for i, ok := range seen {
		if ok {
			vecs[fmt.Sprint(h.vec(int32(i)))] = true
		}
	}
	n := 0
	for i := range h.ids {
		if seen[i] || vecs[fmt.Sprint(h.vec(int32(i)))] {
			n++
		}
	}
	return n
}

// reachedNodes marks the nodes a walk over layer 0 from the entry point
// reaches.
func reachedNodes(h *HNSW) []bool {
	seen := make([]bool, len(h.ids))
	seen[h.entry] = true
	stack := []int32{h.entry}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, y := range h.list(x, 0) {
			if !seen[y] {
				seen[y] = true
				stack = append(stack, y)
			}
		}
	}
	return seen
}

// TestHNSWReachesEveryItem: on data that strands items (short vectors
// under the inner product; 95% copies of one vector), every item is
// reachable on layer 0 from the entry point, a search for n ≥ N returns all
// N items, and one with a filter all the items it lets through. Before, the
// varied-norms set left 99 of 2,000 items unreachable (Search for 2,000
// returned 1,901) and the copies set 1,282.
func TestHNSWReachesEveryItem(t *testing.T) {
	for _, tc := range []struct {
		name  string
		items []float32
		dim   int
		cfg   HNSWConfig
	}{
		{"varied_norms", variedNorms(2000, 16, 1), 16, HNSWConfig{Seed: 1, Workers: 1}},
		{"varied_norms_4_workers", variedNorms(2000, 16, 1), 16, HNSWConfig{Seed: 1, Workers: 4}},
		{"varied_norms_small_M", variedNorms(500, 4, 5), 4, HNSWConfig{M: 4, EfConstruction: 32, Seed: 1, Workers: 1}},
		{"copies", withCopies(2000, 8, 1), 8, HNSWConfig{Seed: 1, Workers: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := len(tc.items) / tc.dim
			h, err := NewHNSW(context.Background(), tc.items, tc.dim, nil, tc.cfg)
			require.NoError(t, err)
			assert.Equal(t, n, reachedItems(h), "items reachable on layer 0 from the entry point")
			qs := variedNorms(3, tc.dim, 99)
			for _, k := range []int{n, n + 10} {
				got, err := h.Search(context.Background(), qs, k, nil)
				require.NoError(t, err)
				for q := range got {
					ids := make([]int32, 0, len(got[q]))
					for _, hit := range got[q] {
						ids = append(ids, hit.ID)
					}
					slices.Sort(ids)
					assert.Equal(t, n, len(slices.Compact(ids)), "query %d, n = %d: every item, once", q, k)
				}
			}
			odd := func(_ int, id int32) bool { return id%2 == 1 }
			got, err := h.Search(context.Background(), qs, n, odd)
			require.NoError(t, err)
			for q := range got {
				assert.Equal(t, n/2, len(got[q]), "query %d: every item the filter lets through", q)
			}
		})
	}
}

// TestHNSWCopiesTopN: with 1,900 of 2,000 items one identical vector, the
// top 3 (and 30) of each query is the exact top 3: the exact scores, rank by
// rank, each by a distinct item that has it. The copies never pruned each
// other in the neighbour heuristic, filled every list, and the search
// returned copies where distinct items scored higher.
func TestHNSWCopiesTopN(t *testing.T) {
	const n, dim = 2000, 8
	items := withCopies(n, dim, 1)
	h, err := NewHNSW(context.Background(), items, dim, nil, HNSWConfig{Seed: 1, Workers: 1})
	require.NoError(t, err)
	ex, err := NewExact(items, dim, nil)
	require.NoError(t, err)
	qs := gaussian(50, dim, 7)
	for _, k := range []int{3, 30} {
		want, err := ex.Search(context.Background(), qs, k, nil)
		require.NoError(t, err)
		got, err := h.Search(context.Background(), qs, k, nil)
		require.NoError(t, err)
		wrong, first := 0, ""
		for q := range want {
			require.Len(t, got[q], k)
			seen := map[int32]bool{}
			for j := range want[q] {
				// Rank by rank the exact score, by an item that has it (copies
				// tie: which of them is free, up to rounding).
				w, g := want[q][j], got[q][j]
				var true32 float32
				for d := 0; d < dim; d++ {
					true32 += qs[q*dim+d] * items[int(g.ID)*dim+d]
				}
				if seen[g.ID] || abs(w.Score-g.Score) > 1e-4 || abs(true32-g.Score) > 1e-4 {
					if wrong == 0 {
						first = fmt.Sprintf("query %d rank %d: want %v, got %v", q, j, w, g)
					}
					wrong++
					break
				}
				seen[g.ID] = true
			}
		}
		assert.Zero(t, wrong, "n %d: %d of %d queries differ from the exact top n; first: %s", k, wrong, len(want), first)
	}
}

// TestHNSWWorkersReproducible: the graph depends on the seed, not on the
// number of build workers: the saved bytes are the same for 1 to 8. The
// concurrent inserts used to interleave differently on every run.
func TestHNSWWorkersReproducible(t *testing.T) {
	items := clustered(3000, 50, 16, 3)
	build := func(workers int) []byte {
		t.Helper()
		h, err := NewHNSW(context.Background(), items, 16, nil, HNSWConfig{M: 8, EfConstruction: 64, Seed: 7, Workers: workers})
		require.NoError(t, err)
		var buf bytes.Buffer
		_, err = h.WriteTo(&buf)
		require.NoError(t, err)
		return buf.Bytes()
	}
	want := build(1)
	for _, w := range []int{1, 2, 3, 8} {
		t.Run(fmt.Sprintf("workers_%d", w), func(t *testing.T) {
			for run := 0; run < 2; run++ {
				assert.True(t, bytes.Equal(want, build(w)), "run %d differs from the one-worker build", run)
			}
		})
	}
}

// TestHNSWReadsVersion2: a file written by the version-2 code (500 items of
// varied norms, M 4, 219 of them unreachable) still loads, and the load
// links in the items it had stranded.
func TestHNSWReadsVersion2(t *testing.T) {
	h, err := LoadHNSW("testdata/hnsw-v2-varied-norms.bin")
	require.NoError(t, err)
	require.Equal(t, 500, h.Len())
	items := variedNorms(500, 4, 5)
	v, _ := h.Items()
	require.Equal(t, items, v, "the file holds the test's items")
	assert.Equal(t, 500, reachedItems(h))
	got, err := h.Search(context.Background(), items[:4], 500, nil)
	require.NoError(t, err)
	assert.Len(t, got[0], 500)
}

// TestReadHNSWCopies: copies survive a save and load, and a file (with a
// right checksum) whose copies are not identical items outside the graph is
// an error naming the fault, never an index that returns an item twice.
func TestReadHNSWCopies(t *testing.T) {
	const n, dim = 200, 4
	items := withCopies(n, dim, 2)
	h, err := NewHNSW(context.Background(), items, dim, nil, HNSWConfig{M: 4, EfConstruction: 16, Seed: 1})
	require.NoError(t, err)
	pairs := h.copyPairs()
	require.Len(t, pairs, 2*(n-n/20-1), "all but one of the repeated vector's items are copies")
	var buf bytes.Buffer
	_, err = h.WriteTo(&buf)
	require.NoError(t, err)
	h2, err := ReadHNSW(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	assert.Equal(t, h.next, h2.next)
	assert.Equal(t, h.nodes, h2.nodes)
	qs := gaussian(5, dim, 3)
	a, _ := h.Search(context.Background(), qs, n, nil)
	b, _ := h2.Search(context.Background(), qs, n, nil)
	assert.Equal(t, a, b)

	body := binfmt.Body(buf.Bytes())
	m := len(body)
	put := func(b []byte, at int, v int32) { binary.LittleEndian.PutUint32(b[at:], uint32(v)) }
	c0, cLast := pairs[0], pairs[len(pairs)-2]
	for _, tc := range []struct {
		name, want string
		edit       func(b []byte) []byte // the body
		mutate     func(h *HNSW)         // or the index before writing
	}{
		{name: "copy_of_a_copy", want: "not an earlier node", edit: func(b []byte) []byte { put(b, m-4, c0); return b }},
		{name: "copy_of_a_later_item", want: "not an earlier node", edit: func(b []byte) []byte { put(b, m-4, cLast); return b }},
		{name: "not_ascending", want: "not ascending", edit: func(b []byte) []byte {
			put(b, m-8, c0)
			return b
		}},
		{name: "too_many_copies", want: "exceeds limit", edit: func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[m-8*(len(pairs)/2)-8:], uint64(n))
			return b
		}},
		{name: "truncated", want: "truncated", edit: func(b []byte) []byte { return b[:m-8] }},
		{name: "copy_differs", want: "differs from its node", mutate: func(h *HNSW) { h.vecs[int(c0)*dim] += 1 }},
		{name: "copy_has_links", want: "is in the graph", mutate: func(h *HNSW) { h.setNeighbors(c0, 0, []int32{0}) }},
		{name: "copy_is_linked", want: "links to copy", mutate: func(h *HNSW) {
			nb := append([]int32(nil), h.list(0, 0)...)
			nb[0] = c0
			h.setNeighbors(0, 0, nb)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := buf.Bytes()
			if tc.mutate != nil {
				bad, err := ReadHNSW(bytes.NewReader(raw)) // a fresh index to spoil
				require.NoError(t, err)
				tc.mutate(bad)
				var b bytes.Buffer
				_, err = bad.WriteTo(&b)
				require.NoError(t, err)
				raw = b.Bytes()
			} else {
				raw = binfmt.Seal(hnswMagic, hnswVersion, tc.edit(bytes.Clone(body)))
			}
			_, err := ReadHNSW(bytes.NewReader(raw))
			require.ErrorIs(t, err, binfmt.ErrFormat)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

// TestHNSWLinkInFullList: linking a stranded node u in from a node r whose
// list is full takes nothing reachable away: u takes the place of r's
// weakest link x, and u links to x (in place of u's own weakest link when
// u's list is full too). Both cases, on a small graph with lists of 4; then
// repair links in the rest.
func TestHNSWLinkInFullList(t *testing.T) {
	const n, dim = 300, 4
	for _, tc := range []struct {
		name  string
		uFull bool
	}{{"room_in_u", false}, {"u_full", true}} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := NewHNSW(context.Background(), variedNorms(n, dim, 8), dim, nil, HNSWConfig{M: 2, EfConstruction: 16, Seed: 1, Workers: 1})
			require.NoError(t, err)
			require.Equal(t, n, reachedItems(h))
			M0 := 2 * h.cfg.M
			// u: a node of level 0 whose list is full (or not), cut off.
			u := int32(-1)
			for i := range h.ids {
				if i != int(h.entry) && h.level[i] == 0 && (int(h.l0n[i]) == M0) == tc.uFull {
					u = int32(i)
					break
				}
			}
			require.GreaterOrEqual(t, u, int32(0), "no such node")
			for i := range h.ids {
				nb := slices.DeleteFunc(slices.Clone(h.list(int32(i), 0)), func(x int32) bool { return x == u })
				h.setNeighbors(int32(i), 0, nb)
			}
			require.Less(t, reachedItems(h), n)
			// r: a reachable node with a full list.
			reached := reachedNodes(h)
			r := int32(-1)
			for i := range h.ids {
				if reached[i] && int(h.l0n[i]) == M0 {
					r = int32(i)
					break
				}
			}
			require.GreaterOrEqual(t, r, int32(0))
			before := slices.Clone(h.list(r, 0))
			h.linkIn(u, r)
			assert.Contains(t, h.list(r, 0), u)
			assert.Len(t, h.list(r, 0), M0)
			for _, x := range before {
				if !slices.Contains(h.list(r, 0), x) {
					assert.Contains(t, h.list(u, 0), x, "r's dropped link %d is u's", x)
				}
			}
			assert.LessOrEqual(t, len(h.list(u, 0)), M0)
			// Nothing reachable became unreachable, and u is reachable. (A
			// link u dropped led only where u alone led: repair links that
			// in on its own turn.)
			after := reachedNodes(h)
			for i, ok := range reached {
				if ok {
					assert.True(t, after[i], "node %d was reachable", i)
				}
			}
			assert.True(t, after[u], "u is reachable")
			h.repair(1)
			assert.Equal(t, n, reachedItems(h))
		})
	}
}
