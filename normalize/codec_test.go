package normalize

import (
	"bytes"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/internal/binfmt"
)

// A CDF is written only inside a model file's container; the tests hold it
// in a container of their own.
const testMagic, testVersion = "TEST", 1

// seal writes what encode writes into a test container.
func seal(tb testing.TB, encode func(*binfmt.Writer)) []byte {
	tb.Helper()
	var buf bytes.Buffer
	_, err := binfmt.WriteContainer(&buf, testMagic, testVersion, encode)
	require.NoError(tb, err)
	return buf.Bytes()
}

// open reads a CDF from a test container.
func open(raw []byte) (*CDF, error) {
	return binfmt.ReadContainer(bytes.NewReader(raw), testMagic, testVersion, "test body", func(br *binfmt.Reader) (*CDF, error) { return ReadCDF(br) })
}

// part is what a CDF's WriteTo writes, for seal.
func part(c *CDF) func(*binfmt.Writer) {
	return func(w *binfmt.Writer) { c.WriteTo(w) } // errors are sticky in w
}

func TestEncodeDecode(t *testing.T) {
	c, err := Fit("age", []float64{3, 1, 4, 1, 5, 9, 2, 6}, 0)
	require.NoError(t, err)
	got, err := open(seal(t, part(c)))
	require.NoError(t, err)
	assert.Equal(t, c, got)
}

// TestDecodeCDFRejects: every malformed normalizer body is an error wrapping
// binfmt.ErrFormat that says what is wrong.
func TestDecodeCDFRejects(t *testing.T) {
	cdf := func(name string, q ...float64) func(*binfmt.Writer) {
		return func(w *binfmt.Writer) {
			w.String(name)
			w.F64s(q)
		}
	}
	good := seal(t, cdf("age", 1, 2, 3))
	for _, tc := range []struct {
		name, want string
		raw        []byte
	}{
		{"no quantiles", `normalizer "age" has no quantiles`, seal(t, cdf("age"))},
		{"descending quantiles", `normalizer "age" quantiles not finite and ascending`, seal(t, cdf("age", 1, 3, 2))},
		{"NaN quantile", "not finite and ascending", seal(t, cdf("age", 1, math.NaN()))},
		{"infinite quantile", "not finite and ascending", seal(t, cdf("age", 1, math.Inf(1)))},
		{"name over its limit", "string: length 65537 exceeds limit 65536", seal(t, func(w *binfmt.Writer) { w.U64(1<<16 + 1) })},
		{"quantiles over their limit", "length 16777217 exceeds limit 16777216", seal(t, func(w *binfmt.Writer) {
			w.String("age")
			w.U64(1<<24 + 1)
		})},
		{"truncated", "unexpected end", good[:len(good)-7]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := open(tc.raw)
			assert.Nil(t, c)
			assert.ErrorIs(t, err, binfmt.ErrFormat)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}
