package embedding

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/ytdnn/ytdnn/internal/binfmt"
)

// OOV is the dense index every out-of-vocabulary key maps to. Its embedding
// row is all zeros and no optimizer ever updates it.
const OOV int32 = 0

// Counter accumulates (key, count) observations for building a Vocab. Keys
// are int64 IDs or strings; the two kinds never collide. The zero value is not
// usable: call NewCounter. A Counter is not safe for concurrent use.
type Counter struct {
	ints map[int64]int64
	strs map[string]int64
}

// NewCounter returns an empty Counter.
func NewCounter() *Counter {
	return &Counter{ints: map[int64]int64{}, strs: map[string]int64{}}
}

// Add counts n observations of the integer key id.
func (c *Counter) Add(id int64, n int64) { c.ints[id] += n }

// AddString counts n observations of the string key s.
func (c *Counter) AddString(s string, n int64) { c.strs[s] += n }

// Len returns the number of distinct keys seen.
func (c *Counter) Len() int { return len(c.ints) + len(c.strs) }

// Key is one vocabulary entry: an integer or a string key.
type Key struct {
	Int   int64
	Str   string
	IsStr bool
}

// String formats the key.
func (k Key) String() string {
	if k.IsStr {
		return k.Str
	}
	return fmt.Sprint(k.Int)
}

// Vocab maps raw keys to dense indices 1..Size()-1, most frequent first;
// index 0 (OOV) stands for every key outside the vocabulary. A Vocab is
// immutable once built and safe for concurrent use.
type Vocab struct {
	keys   []Key   // keys[i] has index i+1
	counts []int64 // counts[i] is the count of keys[i]
	ints   map[int64]int32
	strs   map[string]int32
}

// Vocab keeps the maxSize most frequent keys (maxSize <= 0 keeps all). Ties in
// count are broken deterministically: integer keys before string keys, then
// ascending key.
func (c *Counter) Vocab(maxSize int) *Vocab {
	type kc struct {
		k Key
		n int64
	}
	all := make([]kc, 0, c.Len())
	for k, n := range c.ints {
		all = append(all, kc{Key{Int: k}, n})
	}
	for k, n := range c.strs {
		all = append(all, kc{Key{Str: k, IsStr: true}, n})
	}
	slices.SortFunc(all, func(a, b kc) int {
		if a.n != b.n {
			return cmp.Compare(b.n, a.n)
		}
		if a.k.IsStr != b.k.IsStr {
			if a.k.IsStr {
				return 1
			}
			return -1
		}
		if a.k.IsStr {
			return cmp.Compare(a.k.Str, b.k.Str)
		}
		return cmp.Compare(a.k.Int, b.k.Int)
	})
	if maxSize > 0 && len(all) > maxSize {
		all = all[:maxSize]
	}
	keys := make([]Key, len(all))
	counts := make([]int64, len(all))
	for i, e := range all {
		keys[i], counts[i] = e.k, e.n
	}
	return newVocab(keys, counts)
}

func newVocab(keys []Key, counts []int64) *Vocab {
	v := &Vocab{keys: keys, counts: counts, ints: map[int64]int32{}, strs: map[string]int32{}}
	for i, k := range keys {
		if k.IsStr {
			v.strs[k.Str] = int32(i + 1)
		} else {
			v.ints[k.Int] = int32(i + 1)
		}
	}
	return v
}

// Size is the number of dense indices, the OOV index included.
func (v *Vocab) Size() int { return len(v.keys) + 1 }

// Index returns the dense index of an integer key, or OOV.
func (v *Vocab) Index(id int64) int32 {
	if i, ok := v.ints[id]; ok {
		return i
	}
	return OOV
}

// IndexString returns the dense index of a string key, or OOV.
func (v *Vocab) IndexString(s string) int32 {
	if i, ok := v.strs[s]; ok {
		return i
	}
	return OOV
}

// Key returns the key at dense index i (1 <= i < Size()). ok is false for OOV
// and out-of-range indices.
func (v *Vocab) Key(i int32) (k Key, ok bool) {
	if i <= 0 || int(i) > len(v.keys) {
		return Key{}, false
	}
	return v.keys[i-1], true
}

// Counts returns the counts of indices 1..Size()-1 in index order (a copy).
func (v *Vocab) Counts() []int64 { return slices.Clone(v.counts) }

// Encode writes the vocabulary into an open model-file container (layout in
// the package doc, # Files).
func (v *Vocab) Encode(w *binfmt.Writer) {
	w.U64(uint64(len(v.keys)))
	for i, k := range v.keys {
		w.Bool(k.IsStr)
		if k.IsStr {
			w.String(k.Str)
		} else {
			w.I64(k.Int)
		}
		w.I64(v.counts[i])
	}
}

// DecodeVocab reads a vocabulary written by Encode, checking that no key
// repeats. Its errors wrap binfmt.ErrFormat, unprefixed (see the package
// doc, # Files).
func DecodeVocab(r *binfmt.Reader) (*Vocab, error) {
	n := r.Len(binfmt.MaxElems, "vocabulary")
	keys := make([]Key, 0, min(n, 1<<16))
	counts := make([]int64, 0, min(n, 1<<16))
	for i := 0; i < n && r.Err() == nil; i++ {
		var k Key
		k.IsStr = r.Bool()
		if k.IsStr {
			k.Str = r.String(1 << 20)
		} else {
			k.Int = r.I64()
		}
		keys = append(keys, k)
		counts = append(counts, r.I64())
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	v := newVocab(keys, counts)
	if len(v.ints)+len(v.strs) != len(keys) {
		return nil, fmt.Errorf("%w: vocabulary has duplicate keys", binfmt.ErrFormat)
	}
	return v, nil
}
