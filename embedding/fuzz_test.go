package embedding

import (
	"math/rand/v2"
	"testing"

	"github.com/ytdnn/ytdnn/internal/binfmt"
)

// FuzzDecodeTable: any table body with a correct checksum decodes or fails
// with an error; a table that decodes has the shape it claims and serves
// lookups.
func FuzzDecodeTable(f *testing.F) {
	tab, err := NewTable(9, 4, 0.3, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		f.Fatal(err)
	}
	body := binfmt.Body(seal(f, tab.Encode))
	f.Add(body)
	f.Add(body[:len(body)/2])
	f.Fuzz(func(t *testing.T, body []byte) {
		tab, err := open(binfmt.Seal(testMagic, testVersion, body), DecodeTable)
		if err != nil {
			return
		}
		if len(tab.Data) != tab.Rows*tab.Dim {
			t.Fatalf("table %d×%d holds %d values", tab.Rows, tab.Dim, len(tab.Data))
		}
		if err := tab.Lookup(make([]float32, 2*tab.Dim), []int32{int32(tab.Rows - 1), 1}); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzDecodeVocab: any vocabulary body with a correct checksum decodes or
// fails with an error; one that decodes maps its keys back to their indices.
func FuzzDecodeVocab(f *testing.F) {
	c := NewCounter()
	for i, n := range []int64{5, 3, 9, 1} {
		c.Add(int64(i*7), n)
		c.AddString(string(rune('a'+i)), n)
	}
	c.AddString("", 4)
	body := binfmt.Body(seal(f, c.Vocab(0).Encode))
	f.Add(body)
	f.Add(body[:len(body)/2])
	f.Fuzz(func(t *testing.T, body []byte) {
		v, err := open(binfmt.Seal(testMagic, testVersion, body), DecodeVocab)
		if err != nil {
			return
		}
		for i := int32(1); i < int32(v.Size()); i++ {
			k, ok := v.Key(i)
			if !ok {
				t.Fatalf("index %d has no key", i)
			}
			got := v.Index(k.Int)
			if k.IsStr { // the empty string is a string key too
				got = v.IndexString(k.Str)
			}
			if got != i {
				t.Fatalf("key %v maps to %d, not its index %d", k, got, i)
			}
		}
	})
}
