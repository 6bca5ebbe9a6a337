package retrieval

import (
	"fmt"
	"io"

	"github.com/ytdnn/ytdnn/internal/binfmt"
)

// Version 2 stores the layer-0 neighbour counts as uint16 (version 1's
// uint8 wrapped at M = 128); both are read.
const hnswMagic, hnswVersion = "YTHN", 2

// WriteTo writes the index (binfmt container "YTHN": parameters, scale,
// augmented vectors, ids, levels, neighbour lists, CRC-32C).
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
	})
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
// is an error, never a panic.
func ReadHNSW(r io.Reader) (*HNSW, error) {
	h, err := binfmt.ReadContainer(r, hnswMagic, hnswVersion, "HNSW index", decodeHNSW)
	if err != nil {
		return nil, fmt.Errorf("retrieval: %w", err)
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
