package ranking

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/feature"
)

// TestLogitsOfASlate: a slate's candidates share the user's features
// (here the recent videos and "appeal"); Logits encodes those once and
// computes their part of the first layer once, and gives each candidate
// the logit it gets scored alone (to float rounding), allocating nothing
// once warm; a bad value is still an error naming the candidate and the
// feature, shared or not.
func TestLogitsOfASlate(t *testing.T) {
	m, imps := randomModel(t, 3)
	recent := []int64{3, 7, 11}
	slate := make([]feature.Example, 40)
	for i := range slate {
		f := imps[i].Features
		slate[i] = feature.Example{IDs: [][]int64{f.IDs[0], recent, nil, nil}, Nums: []float64{0, 0, 0.4, f.Nums[3]}}
	}
	b := &scoreBuf{}
	require.True(t, m.splitShared(b, slate), "the slate has shared and own features")
	assert.Equal(t, []int{0, 3}, b.rows, "video and quality differ between candidates")
	got := make([]float32, len(slate))
	require.NoError(t, m.Logits(got, slate))
	for i := range slate {
		alone := make([]float32, 1)
		require.NoError(t, m.Logits(alone, slate[i:i+1]))
		assert.InDelta(t, alone[0], got[i], 1e-5*(1+math.Abs(float64(alone[0]))), "candidate %d", i)
	}
	allocs := testing.AllocsPerRun(50, func() {
		if err := m.Logits(got, slate); err != nil {
			t.Fatal(err)
		}
	})
	assert.Zero(t, allocs)

	// Every candidate alike: nothing is left per candidate, the plain path.
	same := make([]feature.Example, 8)
	for i := range same {
		same[i] = slate[0]
	}
	assert.False(t, m.splitShared(b, same))
	require.NoError(t, m.Logits(got[:8], same))
	for i := range 8 {
		assert.Equal(t, got[0], got[i])
	}

	bad := append([]feature.Example(nil), slate...)
	bad[17] = feature.Example{IDs: bad[17].IDs, Nums: []float64{0, 0, 0.4, math.NaN()}}
	err := m.Logits(got, bad)
	assert.ErrorContains(t, err, "candidate 17")
	assert.ErrorContains(t, err, `"quality"`, "a candidate's own feature")
	for i := range bad {
		bad[i] = feature.Example{IDs: bad[i].IDs, Nums: []float64{0, 0, math.Inf(1), slate[i].Nums[3]}}
	}
	err = m.Logits(got, bad)
	assert.ErrorContains(t, err, "candidate 0")
	assert.ErrorContains(t, err, `"appeal"`, "a shared feature")
	short := append([]feature.Example(nil), slate...)
	short[5] = feature.Example{IDs: make([][]int64, 3), Nums: make([]float64, 4)}
	assert.ErrorContains(t, m.Logits(got, short), "candidate 5", "a candidate of another shape")
}
