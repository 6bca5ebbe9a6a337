package retrieval

import (
	"fmt"
	"io"
	"slices"

	"github.com/ytdnn/ytdnn/internal/binfmt"
	"github.com/ytdnn/ytdnn/internal/par"
)

// Version 3 adds the copies (identical items sharing a node). Version 2
// stores the layer-0 neighbour counts as uint16 (version 1's uint8 wrapped
// at M = 128). All three are read.
const hnswMagic, hnswVersion = "YTHN", 3

// WriteTo writes the index as a binfmt container: "YTHN", version 3, then,
// little-endian,
//
//	M, efConstruction, efSearch, dim, entry, maxLevel  int64 each
//	vectors      uint64 N·dim, then N·dim float32
//	ids          uint64 N, then N int64
//	levels       N bytes
//	list counts  N uint16: the layer-0 list lengths
//	lists        per item: its layer-0 list (int32 each), then per level
//	             1..level a length byte and the list (int32 each)
//	copies       uint64 k, then k pairs of int32 (copy, node), ascending
//	             by copy: items identical to an earlier one, outside the
//	             graph (level 0, no links, linked by none)
//	CRC-32C
func (h *HNSW) WriteTo(w io.Writer) (int64, error) {
	return binfmt.WriteContainer(w, hnswMagic, hnswVersion, func(bw *binfmt.Writer) {
		bw.I64(int64(h.cfg.M))
		bw.I64(int64(h.cfg.EfConstruction))
		bw.I64(h.efSearch.Load())
		bw.I64(int64(h.dim))
		bw.I64(int64(h.entry))
		bw.I64(int64(h.maxLevel))
		bw.F32s(h.vecs)
		ids := make([]int64, len(h.ids))
		for i, x := range h.ids {
			ids[i] = int64(x)
		}
		bw.I64s(ids)
		bw.Bytes(h.level)
		cnt := make([]byte, 2*len(h.l0n))
		for i, c := range h.l0n {
			cnt[2*i], cnt[2*i+1] = byte(c), byte(c>>8)
		}
		bw.Bytes(cnt)
		for i := range h.ids {
			bw.Bytes(int32Bytes(h.list(int32(i), 0)))
			for l := 1; l <= int(h.level[i]); l++ {
				nb := h.list(int32(i), l)
				bw.Bytes([]byte{byte(len(nb))})
				bw.Bytes(int32Bytes(nb))
			}
		}
		pairs := h.copyPairs()
		bw.U64(uint64(len(pairs) / 2))
		bw.Bytes(int32Bytes(pairs))
	})
}

// copyPairs lists the copies as (copy, node) pairs, ascending by copy.
func (h *HNSW) copyPairs() []int32 {
	if h.next == nil {
		return nil
	}
	node := make([]int32, len(h.ids))
	for i := range node {
		node[i] = -1
	}
	for i := range h.ids {
		if node[i] >= 0 {
			continue // a copy: its node, earlier, has chained it
		}
		for c := h.next[i]; c >= 0; c = h.next[c] {
			node[c] = int32(i)
		}
	}
	var pairs []int32
	for c, r := range node {
		if r >= 0 {
			pairs = append(pairs, int32(c), r)
		}
	}
	return pairs
}

func int32Bytes(v []int32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		u := uint32(x)
		b[4*i], b[4*i+1], b[4*i+2], b[4*i+3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
	}
	return b
}

// ReadHNSW reads an index written by WriteTo; corrupted or truncated input
// is an error, never a panic. An index from before version 3 gets what the
// build now does after the batches (see HNSW): the nodes its build left
// unreachable are linked in once the file has checked out, a walk over the
// graph and a search per such node.
func ReadHNSW(r io.Reader) (*HNSW, error) {
	var old bool
	h, err := binfmt.ReadContainer(r, hnswMagic, hnswVersion, "HNSW index", func(br *binfmt.Reader) (*HNSW, error) {
		old = br.Version < 3
		return decodeHNSW(br)
	})
	if err != nil {
		return nil, fmt.Errorf("retrieval: %w", err)
	}
	if old {
		h.repair(par.Workers())
	}
	return h, nil
}

func decodeHNSW(br *binfmt.Reader) (*HNSW, error) {
	h := &HNSW{}
	h.cfg.M = int(br.I64())
	h.cfg.EfConstruction = int(br.I64())
	h.cfg.EfSearch = int(br.I64())
	h.dim = int(br.I64())
	h.entry = int32(br.I64())
	h.maxLevel = int(br.I64())
	if err := br.Err(); err != nil {
		return nil, err
	}
	if h.cfg.M < 2 || h.cfg.M > 255 || h.cfg.EfSearch < 0 || h.dim < 1 || h.dim > 1<<16 || h.maxLevel < 0 || h.maxLevel > 30 {
		return nil, fmt.Errorf("%w: bad HNSW header", binfmt.ErrFormat)
	}
	h.efSearch.Store(int64(h.cfg.EfSearch))
	h.vecs = br.F32s(binfmt.MaxElems)
	ids := br.I64s(binfmt.MaxElems)
	if err := br.Err(); err != nil {
		return nil, err
	}
	n := len(ids)
	if n == 0 || len(h.vecs) != n*h.dim || int(h.entry) < 0 || int(h.entry) >= n {
		return nil, fmt.Errorf("%w: HNSW sizes do not agree", binfmt.ErrFormat)
	}
	h.ids = make([]int32, n)
	for i, x := range ids {
		h.ids[i] = int32(x)
	}
	M, M0 := h.cfg.M, 2*h.cfg.M
	h.level = readBytes(br, n)
	if br.Version == 1 {
		for _, c := range readBytes(br, n) {
			h.l0n = append(h.l0n, uint16(c))
		}
	} else {
		cnt := readBytes(br, 2*n)
		h.l0n = make([]uint16, 0, n)
		for i := 0; i+1 < len(cnt); i += 2 {
			h.l0n = append(h.l0n, uint16(cnt[i])|uint16(cnt[i+1])<<8)
		}
	}
	if err := br.Err(); err != nil {
		return nil, err
	}
	h.l0 = make([]int32, n*M0)
	h.upper = make([][]int32, n)
	h.upn = make([][]uint8, n)
	for i := 0; i < n && br.Err() == nil; i++ {
		if int(h.l0n[i]) > M0 || int(h.level[i]) > h.maxLevel {
			return nil, fmt.Errorf("%w: HNSW node %d malformed", binfmt.ErrFormat, i)
		}
		if !readInt32s(br, h.l0[i*M0:i*M0+int(h.l0n[i])], n) {
			break
		}
		if h.level[i] > 0 {
			h.upper[i] = make([]int32, int(h.level[i])*M)
			h.upn[i] = make([]uint8, h.level[i])
		}
		for l := 1; l <= int(h.level[i]); l++ {
			c := readBytes(br, 1)
			if br.Err() != nil {
				break
			}
			if int(c[0]) > M {
				return nil, fmt.Errorf("%w: HNSW node %d malformed", binfmt.ErrFormat, i)
			}
			h.upn[i][l-1] = c[0]
			if !readInt32s(br, h.upper[i][(l-1)*M:(l-1)*M+int(c[0])], n) {
				break
			}
		}
	}
	if err := br.Err(); err != nil {
		return nil, err
	}
	if err := h.readCopies(br); err != nil {
		return nil, err
	}
	if int(h.level[h.entry]) != h.maxLevel {
		return nil, fmt.Errorf("%w: HNSW entry point is not on the top level", binfmt.ErrFormat)
	}
	// A link on level l must lead to a node that has level l: searches
	// follow it there and read that node's level-l list.
	for i := range h.upper {
		for l := 1; l <= int(h.level[i]); l++ {
			for _, j := range h.list(int32(i), l) {
				if int(h.level[j]) < l {
					return nil, fmt.Errorf("%w: HNSW node %d links on level %d to node %d of level %d", binfmt.ErrFormat, i, l, j, h.level[j])
				}
			}
		}
	}
	return h, nil
}

// readCopies reads the copies (version 3 on; none before) into h.next and
// h.nodes, after the lists: a copy must be identical to its node, which is
// not a copy, and lie outside the graph (level 0, no links, not the entry,
// linked by no list), or a search would return it twice.
func (h *HNSW) readCopies(br *binfmt.Reader) error {
	n := len(h.ids)
	h.nodes = n
	if br.Version < 3 {
		return nil
	}
	k := br.Len(n-1, "HNSW copies")
	pairs := make([]int32, 2*k)
	if !readInt32s(br, pairs, n) {
		return br.Err()
	}
	if k == 0 {
		return nil
	}
	h.next = make([]int32, n)
	tail := make([]int32, n)
	copies := make([]bool, n)
	for i := range h.next {
		h.next[i], tail[i] = -1, int32(i)
	}
	for p := 0; p < len(pairs); p += 2 {
		c, r := pairs[p], pairs[p+1]
		switch {
		case p > 0 && c <= pairs[p-2]:
			return fmt.Errorf("%w: HNSW copies not ascending at item %d", binfmt.ErrFormat, c)
		case r >= c || copies[r]:
			return fmt.Errorf("%w: HNSW copy %d of item %d, not an earlier node", binfmt.ErrFormat, c, r)
		case !slices.Equal(h.vec(c), h.vec(r)):
			return fmt.Errorf("%w: HNSW copy %d differs from its node %d", binfmt.ErrFormat, c, r)
		case h.level[c] != 0 || h.l0n[c] != 0 || c == h.entry:
			return fmt.Errorf("%w: HNSW copy %d is in the graph", binfmt.ErrFormat, c)
		}
		copies[c] = true
		h.next[tail[r]], tail[r] = c, c
	}
	for i := range h.ids {
		for l := 0; l <= int(h.level[i]); l++ {
			for _, j := range h.list(int32(i), l) {
				if copies[j] {
					return fmt.Errorf("%w: HNSW node %d links to copy %d", binfmt.ErrFormat, i, j)
				}
			}
		}
	}
	h.nodes = n - k
	return nil
}

func readBytes(br *binfmt.Reader, n int) []byte {
	out := make([]byte, 0, min(n, 1<<20))
	var chunk [4096]byte
	for n > 0 && br.Err() == nil {
		k := min(n, len(chunk))
		br.Full(chunk[:k])
		out = append(out, chunk[:k]...)
		n -= k
	}
	return out
}

func readInt32s(br *binfmt.Reader, dst []int32, n int) bool {
	b := readBytes(br, 4*len(dst))
	if br.Err() != nil {
		return false
	}
	for i := range dst {
		v := int32(uint32(b[4*i]) | uint32(b[4*i+1])<<8 | uint32(b[4*i+2])<<16 | uint32(b[4*i+3])<<24)
		if v < 0 || int(v) >= n {
			br.Fail("HNSW neighbour %d out of range", v)
			return false
		}
		dst[i] = v
	}
	return true
}

// Save writes the index to path atomically.
func (h *HNSW) Save(path string) error { return binfmt.Save(path, h) }

// LoadHNSW reads an index saved by Save.
func LoadHNSW(path string) (*HNSW, error) { return binfmt.Load(path, ReadHNSW) }
