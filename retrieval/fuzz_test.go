package retrieval

import (
	"bytes"
	"context"
	"math/rand/v2"
	"testing"

	"github.com/ytdnn/ytdnn/internal/binfmt"
)

// FuzzReadHNSW: any index body with a correct checksum loads or fails with
// an error; an index that loads answers searches without panicking, and a
// search for all its items returns each once.
func FuzzReadHNSW(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 1))
	const n, dim = 60, 4
	data := make([]float32, n*dim)
	for i := range data {
		data[i] = float32(rng.NormFloat64())
	}
	h, err := NewHNSW(context.Background(), data, dim, nil, HNSWConfig{M: 4, EfConstruction: 16, Seed: 1})
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := h.WriteTo(&buf); err != nil {
		f.Fatal(err)
	}
	body := binfmt.Body(buf.Bytes())
	f.Add(body)
	f.Add(body[:len(body)/2])
	// An index with copies (identical items behind one node).
	h, err = NewHNSW(context.Background(), withCopies(60, dim, 1), dim, nil, HNSWConfig{M: 4, EfConstruction: 16, Seed: 1})
	if err != nil {
		f.Fatal(err)
	}
	buf.Reset()
	if _, err := h.WriteTo(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(binfmt.Body(buf.Bytes()))
	f.Fuzz(func(t *testing.T, body []byte) {
		h, err := ReadHNSW(bytes.NewReader(binfmt.Seal(hnswMagic, hnswVersion, body)))
		if err != nil {
			return
		}
		q := make([]float32, h.Dim())
		q[0] = 1
		if _, err := h.Search(context.Background(), q, 3, nil); err != nil {
			t.Fatal(err)
		}
		all, err := h.Search(context.Background(), q, h.Len(), nil)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int]bool{}
		for _, hit := range all[0] {
			if seen[int(hit.ID)] {
				t.Fatalf("item %d returned twice", hit.ID)
			}
			seen[int(hit.ID)] = true
		}
	})
}

// TestReadHNSWRejectsNeighbourBelowLevel: a file with a valid checksum whose
// level-l list names a node that does not reach level l is malformed (it
// used to load and then panic in Search).
func TestReadHNSWRejectsNeighbourBelowLevel(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	const n, dim = 400, 4
	data := make([]float32, n*dim)
	for i := range data {
		data[i] = float32(rng.NormFloat64())
	}
	h, err := NewHNSW(context.Background(), data, dim, nil, HNSWConfig{M: 4, EfConstruction: 16, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	var hi, lo int32 = -1, -1
	for i, l := range h.level {
		if l >= 1 && h.upn[i][0] > 0 && hi < 0 {
			hi = int32(i)
		}
		if l == 0 && lo < 0 {
			lo = int32(i)
		}
	}
	if hi < 0 || lo < 0 {
		t.Fatal("no node pair to corrupt")
	}
	h.upper[hi][0] = lo // a level-1 link to a level-0 node
	var buf bytes.Buffer
	if _, err := h.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadHNSW(&buf); err == nil {
		t.Fatal("an index with a link above its target's level loaded")
	}
}
