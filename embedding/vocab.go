package embedding

import (
	"cmp"
	"fmt"
	"io"
	"slices"

	"github.com/ytdnn/ytdnn/internal/binfmt"
)

// OOV is the dense index every out-of-vocabulary key maps to. Its embedding
// row is all zeros and no optimizer ever updates it.
const OOV int32 = 0

// Counter accumulates (ID, count) observations for building a Vocab. The
// zero value is not usable: call NewCounter. A Counter is not safe for
// concurrent use.
type Counter struct {
	ids map[int64]int64
}

// NewCounter returns an empty Counter.
func NewCounter() *Counter { return &Counter{ids: map[int64]int64{}} }

// Add counts n observations of id.
func (c *Counter) Add(id int64, n int64) { c.ids[id] += n }

// Len returns the number of distinct IDs seen.
func (c *Counter) Len() int { return len(c.ids) }

// Vocab maps raw int64 IDs to dense indices 1..Size()-1, most frequent
// first; index 0 (OOV) stands for every ID outside the vocabulary. A Vocab
// is immutable once built and safe for concurrent use.
type Vocab struct {
	ids    []int64 // ids[i] has index i+1
	counts []int64 // counts[i] is the count of ids[i]
	index  map[int64]int32
}

// Vocab keeps the maxSize most frequent IDs (maxSize <= 0 keeps all). Ties in
// count are broken by ascending ID.
func (c *Counter) Vocab(maxSize int) *Vocab {
	ids := make([]int64, 0, len(c.ids))
	for id := range c.ids {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b int64) int {
		if na, nb := c.ids[a], c.ids[b]; na != nb {
			return cmp.Compare(nb, na)
		}
		return cmp.Compare(a, b)
	})
	if maxSize > 0 && len(ids) > maxSize {
		ids = ids[:maxSize]
	}
	counts := make([]int64, len(ids))
	for i, id := range ids {
		counts[i] = c.ids[id]
	}
	return newVocab(ids, counts)
}

func newVocab(ids, counts []int64) *Vocab {
	v := &Vocab{ids: ids, counts: counts, index: make(map[int64]int32, len(ids))}
	for i, id := range ids {
		v.index[id] = int32(i + 1)
	}
	return v
}

// Size is the number of dense indices, the OOV index included.
func (v *Vocab) Size() int { return len(v.ids) + 1 }

// Index returns the dense index of id, or OOV.
func (v *Vocab) Index(id int64) int32 {
	if i, ok := v.index[id]; ok {
		return i
	}
	return OOV
}

// ID returns the raw ID at dense index i (1 <= i < Size()). ok is false for
// OOV and out-of-range indices.
func (v *Vocab) ID(i int32) (id int64, ok bool) {
	if i <= 0 || int(i) > len(v.ids) {
		return 0, false
	}
	return v.ids[i-1], true
}

// Counts returns the counts of indices 1..Size()-1 in index order (a copy).
func (v *Vocab) Counts() []int64 { return slices.Clone(v.counts) }

// WriteTo writes the vocabulary as a part of a model file (layout in the
// package doc, # Files): inside the container when w is the model's
// binfmt writer.
func (v *Vocab) WriteTo(w io.Writer) (int64, error) {
	bw := binfmt.PartWriter(w)
	n0 := bw.N()
	bw.U64(uint64(len(v.ids)))
	for i, id := range v.ids {
		bw.I64(id)
		bw.I64(v.counts[i])
	}
	return bw.N() - n0, bw.Err()
}

// ReadVocab reads a vocabulary written by WriteTo, checking that no ID
// repeats. Its errors wrap ErrFormat, unprefixed (see the package doc,
// # Files).
func ReadVocab(r io.Reader) (*Vocab, error) {
	br := binfmt.PartReader(r)
	n := br.Len(binfmt.MaxElems, "vocabulary")
	ids := make([]int64, 0, min(n, 1<<16))
	counts := make([]int64, 0, min(n, 1<<16))
	for i := 0; i < n && br.Err() == nil; i++ {
		ids = append(ids, br.I64())
		counts = append(counts, br.I64())
	}
	if err := br.Err(); err != nil {
		return nil, err
	}
	v := newVocab(ids, counts)
	if len(v.index) != len(ids) {
		return nil, fmt.Errorf("%w: vocabulary has duplicate IDs", binfmt.ErrFormat)
	}
	return v, nil
}
