package feature

import (
	"bytes"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/embedding"
)

func testSpec() Spec {
	return Spec{
		Spaces: []Space{{Name: "video", Dim: 4}, {Name: "region", Dim: 2}},
		Features: []Feature{
			{Name: "watches", Kind: Bag, Space: "video", MaxLen: 2},
			{Name: "seed", Kind: ID, Space: "video"},
			{Name: "region", Kind: ID, Space: "region"},
			{Name: "age", Kind: Continuous},
			{Name: "gender", Kind: Value},
		},
	}
}

func fitted(t *testing.T) *Encoder {
	t.Helper()
	f, err := NewFitter(testSpec())
	require.NoError(t, err)
	for i := 0; i < 10; i++ {
		ex := Example{IDs: [][]int64{{1, 2, 3}, {4}, {int64(i % 2)}, nil, nil}, Nums: []float64{0, 0, 0, float64(20 + i), 1}}
		require.NoError(t, f.Observe(&ex, true))
	}
	e, err := f.Encoder()
	require.NoError(t, err)
	return e
}

func TestLayoutAndAssemble(t *testing.T) {
	e := fitted(t)
	assert.Equal(t, 4+4+2+3+1, e.Width())
	v := e.Vocabs[0]
	assert.Equal(t, embedding.OOV, v.Index(1), "MaxLen 2 keeps the last two watches only")
	p, err := e.NewParams(0.5, nil, func() embedding.Optimizer { return &embedding.SGD{LR: 1} })
	require.NoError(t, err)
	assert.Len(t, p.Tables, 2, "features of one space share one table")
	enc, err := e.Encode(&Example{IDs: [][]int64{{2, 3}, {4}, {77}, nil, nil}, Nums: []float64{0, 0, 0, 24.5, 1}})
	require.NoError(t, err)
	row := make([]float32, e.Width())
	require.NoError(t, e.Assemble(row, &enc, p))
	tab := p.Tables[0]
	for j := 0; j < 4; j++ {
		assert.InDelta(t, (tab.Row(v.Index(2))[j]+tab.Row(v.Index(3))[j])/2, row[j], 1e-6)
		assert.Equal(t, tab.Row(v.Index(4))[j], row[4+j])
	}
	assert.Equal(t, []float32{0, 0}, row[8:10], "unknown region is OOV zeros")
	assert.InDelta(t, 0.5, row[10], 0.06)
	assert.InDelta(t, row[10]*row[10], row[11], 1e-6)
	assert.Equal(t, float32(1), row[13])

	// Backprop reaches the shared table from both video features.
	dx := make([]float32, e.Width())
	for i := range dx {
		dx[i] = 1
	}
	p.ResetGrads()
	require.NoError(t, e.Backprop(dx, &enc, p))
	assert.Equal(t, []float32{1, 1, 1, 1}, p.Grads[0].Row(v.Index(4)))
	assert.Equal(t, []float32{0.5, 0.5, 0.5, 0.5}, p.Grads[0].Row(v.Index(2)))

	// Buffers and encodings that do not fit are errors, not panics.
	assert.Error(t, e.Assemble(row[:3], &enc, p), "short row")
	assert.Error(t, e.Assemble(row, &Encoded{}, p), "empty encoding")
	assert.Error(t, e.Assemble(row, &enc, nil), "no parameters")
	assert.Error(t, e.Backprop(dx[:3], &enc, p), "short gradient")
	assert.Error(t, e.Backprop(dx, &Encoded{}, p), "empty encoding")
}

func TestBadExamples(t *testing.T) {
	e := fitted(t)
	bad := []Example{
		{IDs: make([][]int64, 4), Nums: make([]float64, 5)},
		{IDs: [][]int64{nil, {1, 2}, nil, nil, nil}, Nums: make([]float64, 5)},
		{IDs: make([][]int64, 5), Nums: []float64{0, 0, 0, math.NaN(), 0}},
		{IDs: make([][]int64, 5), Nums: []float64{0, 0, 0, 1, 2}},
	}
	for i, ex := range bad {
		_, err := e.Encode(&ex)
		assert.Error(t, err, "case %d", i)
	}
	_, err := e.Encode(&Example{IDs: make([][]int64, 5), Nums: []float64{0, 0, 0, math.Inf(1), 0}})
	assert.ErrorContains(t, err, "age")
	for _, s := range []Spec{
		{},
		{Features: []Feature{{Name: "a", Kind: ID, Space: "nope"}}},
		{Features: []Feature{{Name: "a", Kind: Value}, {Name: "a", Kind: Value}}},
		{Features: []Feature{{Name: "a", Kind: 9}}},
	} {
		assert.Error(t, s.Validate())
	}
}

func TestEncoderRoundTrip(t *testing.T) {
	e := fitted(t)
	var buf bytes.Buffer
	n, err := e.WriteTo(&buf) // a part on its own: no header, no checksum
	require.NoError(t, err)
	assert.Equal(t, int64(buf.Len()), n)
	e2, err := ReadEncoder(&buf)
	require.NoError(t, err)
	assert.Zero(t, buf.Len(), "the whole part is read")
	assert.Equal(t, e.Width(), e2.Width())
	assert.Equal(t, e.CDFs[3].Q, e2.CDFs[3].Q)
	assert.Equal(t, e.Vocabs[0].Index(4), e2.Vocabs[0].Index(4))
}

func TestEncodeToReusesBuffers(t *testing.T) {
	e := fitted(t)
	ex := Example{IDs: [][]int64{{2, 3}, {4}, {1}, nil, nil}, Nums: []float64{0, 0, 0, 24.5, 1}}
	want, err := e.Encode(&ex)
	require.NoError(t, err)
	var dst Encoded
	require.NoError(t, e.EncodeTo(&dst, &ex))
	assert.Equal(t, want, dst)
	allocs := testing.AllocsPerRun(50, func() {
		if err := e.EncodeTo(&dst, &ex); err != nil {
			t.Fatal(err)
		}
	})
	assert.Equal(t, 0.0, allocs)
}
