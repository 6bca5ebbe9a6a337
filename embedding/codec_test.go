package embedding

import (
	"bytes"
	"io"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/internal/binfmt"
)

// Tables and vocabularies are written only inside a model file's container;
// the tests hold them in a container of their own.
const testMagic, testVersion = "TEST", 1

// seal writes what encode writes into a test container.
func seal(tb testing.TB, encode func(*binfmt.Writer)) []byte {
	tb.Helper()
	var buf bytes.Buffer
	_, err := binfmt.WriteContainer(&buf, testMagic, testVersion, encode)
	require.NoError(tb, err)
	return buf.Bytes()
}

// open reads a test container with read.
func open[T any](raw []byte, read func(io.Reader) (T, error)) (T, error) {
	return binfmt.ReadContainer(bytes.NewReader(raw), testMagic, testVersion, "test body", func(br *binfmt.Reader) (T, error) { return read(br) })
}

// part is what a part's WriteTo writes, for seal.
func part(p io.WriterTo) func(*binfmt.Writer) {
	return func(w *binfmt.Writer) { p.WriteTo(w) } // errors are sticky in w
}

func TestTableEncodeDecode(t *testing.T) {
	tab, err := NewTable(7, 5, 0.3, nil)
	require.NoError(t, err)
	got, err := open(seal(t, part(tab)), ReadTable)
	require.NoError(t, err)
	assert.Equal(t, tab, got)
}

// TestReadTableRejects: every malformed table body is an error wrapping
// binfmt.ErrFormat that says what is wrong.
func TestReadTableRejects(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(-1))
	table := func(rows, dim uint64, data ...float32) func(*binfmt.Writer) {
		return func(w *binfmt.Writer) {
			w.U64(rows)
			w.U64(dim)
			w.F32s(data)
		}
	}
	good := seal(t, table(2, 2, 0, 0, 1, 2))
	for _, tc := range []struct {
		name, want string
		raw        []byte
	}{
		{"zero rows", "table 0×2 holds 0 values", seal(t, table(0, 2))},
		{"zero dim", "table 2×0 holds 0 values", seal(t, table(2, 0))},
		{"fewer values than the shape", "table 2×2 holds 3 values", seal(t, table(2, 2, 0, 0, 1))},
		{"more values than the shape", "table 1×2 holds 3 values", seal(t, table(1, 2, 0, 0, 1))},
		{"dim over its limit", "table dim: length 65537 exceeds limit 65536", seal(t, table(1, 1<<16+1))},
		{"NaN value", "non-finite value", seal(t, table(2, 1, 0, nan))},
		{"infinite value", "non-finite value", seal(t, table(2, 1, 0, inf))},
		{"truncated values", "unexpected end", good[:len(good)-6]},
		{"truncated shape", "unexpected end", good[:8+5]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tab, err := open(tc.raw, ReadTable)
			assert.Nil(t, tab)
			assert.ErrorIs(t, err, binfmt.ErrFormat)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestVocabEncodeDecode(t *testing.T) {
	c := NewCounter()
	c.Add(1, 3)
	c.Add(-7, 3)
	c.Add(0, 9) // 0 is an ID like any other
	v := c.Vocab(0)
	got, err := open(seal(t, part(v)), ReadVocab)
	require.NoError(t, err)
	assert.Equal(t, v, got)
	assert.Equal(t, v.Index(-7), got.Index(-7))
	assert.Equal(t, int32(1), got.Index(0))
	assert.Equal(t, []int64{9, 3, 3}, got.Counts())
}

// TestReadVocabRejects: every malformed vocabulary body is an error
// wrapping binfmt.ErrFormat that says what is wrong.
func TestReadVocabRejects(t *testing.T) {
	c := NewCounter()
	c.Add(4, 2)
	c.Add(5, 1)
	good := seal(t, part(c.Vocab(0)))
	for _, tc := range []struct {
		name, want string
		raw        []byte
	}{
		{"duplicate IDs", "duplicate IDs", seal(t, func(w *binfmt.Writer) {
			w.U64(2)
			for range 2 {
				w.I64(5)
				w.I64(1)
			}
		})},
		{"count over the limit", "vocabulary: length", seal(t, func(w *binfmt.Writer) { w.U64(1 << 40) })},
		{"truncated", "unexpected end", good[:len(good)-7]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := open(tc.raw, ReadVocab)
			assert.Nil(t, v)
			assert.ErrorIs(t, err, binfmt.ErrFormat)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}
