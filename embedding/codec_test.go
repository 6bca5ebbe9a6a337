package embedding

import (
	"bytes"
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

// open reads a test container with decode.
func open[T any](raw []byte, decode func(*binfmt.Reader) (T, error)) (T, error) {
	return binfmt.ReadContainer(bytes.NewReader(raw), testMagic, testVersion, "test body", decode)
}

func TestTableEncodeDecode(t *testing.T) {
	tab, err := NewTable(7, 5, 0.3, nil)
	require.NoError(t, err)
	got, err := open(seal(t, tab.Encode), DecodeTable)
	require.NoError(t, err)
	assert.Equal(t, tab, got)
}

// TestDecodeTableRejects: every malformed table body is an error wrapping
// binfmt.ErrFormat that says what is wrong.
func TestDecodeTableRejects(t *testing.T) {
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
			tab, err := open(tc.raw, DecodeTable)
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
	c.AddString("x y", 9)
	c.AddString("", 2) // the empty string is a key like any other
	v := c.Vocab(0)
	got, err := open(seal(t, v.Encode), DecodeVocab)
	require.NoError(t, err)
	assert.Equal(t, v, got)
	assert.Equal(t, v.IndexString("x y"), got.IndexString("x y"))
	assert.Equal(t, v.Index(-7), got.Index(-7))
	assert.NotZero(t, got.IndexString(""))
	assert.Equal(t, []int64{9, 3, 3, 2}, got.Counts())
}

// TestDecodeVocabRejects: every malformed vocabulary body is an error
// wrapping binfmt.ErrFormat that says what is wrong.
func TestDecodeVocabRejects(t *testing.T) {
	c := NewCounter()
	c.Add(4, 2)
	c.AddString("a", 1)
	good := seal(t, c.Vocab(0).Encode)
	badBool := bytes.Clone(binfmt.Body(good))
	badBool[8] = 2 // the first key's string flag
	for _, tc := range []struct {
		name, want string
		raw        []byte
	}{
		{"duplicate integer keys", "duplicate keys", seal(t, func(w *binfmt.Writer) {
			w.U64(2)
			for range 2 {
				w.Bool(false)
				w.I64(5)
				w.I64(1)
			}
		})},
		{"duplicate string keys", "duplicate keys", seal(t, func(w *binfmt.Writer) {
			w.U64(2)
			for range 2 {
				w.Bool(true)
				w.String("k")
				w.I64(1)
			}
		})},
		{"key flag neither 0 nor 1", "boolean byte 2", binfmt.Seal(testMagic, testVersion, badBool)},
		{"count over the limit", "vocabulary: length", seal(t, func(w *binfmt.Writer) { w.U64(1 << 40) })},
		{"string key over its limit", "string: length", seal(t, func(w *binfmt.Writer) {
			w.U64(1)
			w.Bool(true)
			w.U64(1<<20 + 1)
		})},
		{"truncated", "unexpected end", good[:len(good)-7]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, err := open(tc.raw, DecodeVocab)
			assert.Nil(t, v)
			assert.ErrorIs(t, err, binfmt.ErrFormat)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}
