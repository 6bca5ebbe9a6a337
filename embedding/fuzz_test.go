package embedding

import (
	"math/rand/v2"
	"testing"

	"github.com/ytdnn/ytdnn/internal/binfmt"
)

// FuzzReadTable: any table body with a correct checksum decodes or fails
// with an error; a table that decodes has the shape it claims and serves
// lookups.
func FuzzReadTable(f *testing.F) {
	tab, err := NewTable(9, 4, 0.3, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		f.Fatal(err)
	}
	body := binfmt.Body(seal(f, part(tab)))
	f.Add(body)
	f.Add(body[:len(body)/2])
	f.Fuzz(func(t *testing.T, body []byte) {
		tab, err := open(binfmt.Seal(testMagic, testVersion, body), ReadTable)
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

// FuzzReadVocab: any vocabulary body with a correct checksum decodes or
// fails with an error; one that decodes maps its keys back to their indices.
func FuzzReadVocab(f *testing.F) {
	c := NewCounter()
	for i, n := range []int64{5, 3, 9, 1} {
		c.Add(int64(i*7), n)
	}
	body := binfmt.Body(seal(f, part(c.Vocab(0))))
	f.Add(body)
	f.Add(body[:len(body)/2])
	f.Fuzz(func(t *testing.T, body []byte) {
		v, err := open(binfmt.Seal(testMagic, testVersion, body), ReadVocab)
		if err != nil {
			return
		}
		for i := int32(1); i < int32(v.Size()); i++ {
			id, ok := v.ID(i)
			if !ok {
				t.Fatalf("index %d has no ID", i)
			}
			if got := v.Index(id); got != i {
				t.Fatalf("ID %d maps to %d, not its index %d", id, got, i)
			}
		}
	})
}
