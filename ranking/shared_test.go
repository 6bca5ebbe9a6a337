package ranking

import (
	"math"
	"slices"
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
	require.True(t, m.splitShared(b, slate, nil))
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
	if !raceEnabled {
		assert.Zero(t, allocs)
	}

	// Every candidate alike: nothing is left per candidate, the plain path.
	same := make([]feature.Example, 8)
	for i := range same {
		same[i] = slate[0]
	}
	require.True(t, m.splitShared(b, same, nil))
	assert.Empty(t, b.rows, "nothing left per candidate: the plain path")
	require.NoError(t, m.Logits(got[:8], same))
	alone := make([]float32, 1)
	require.NoError(t, m.Logits(alone, same[:1]))
	for i := range 8 {
		assert.Equal(t, alone[0], got[i], "candidate %d", i)
	}
	assert.ErrorContains(t, m.LogitsWith(got[:8], []int64{1, 2}, same, nil), "2 ids for 8 examples")

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

// TestItemPart: with the items' own features (the video and its
// "quality") precomputed per item, a slate's logits are those of each
// candidate scored alone on its full features (to float rounding), with
// no allocation once warm; an item the part lacks falls back to Logits;
// bad parts are refused, naming the item and the feature.
func TestItemPart(t *testing.T) {
	m, _ := randomModel(t, 4)
	quality := func(v int64) float64 { return float64(v%7) / 7 }
	var ids []int64
	var items []feature.Example
	for v := int64(0); v < 5000; v++ { // two chunks; videos past 19 are OOV
		ids = append(ids, v)
		// The other features' values are never read: NaN shows it.
		items = append(items, feature.Example{IDs: [][]int64{{v}, nil, nil, nil}, Nums: []float64{0, 0, math.NaN(), quality(v)}})
	}
	part, err := m.NewItemPart([]int{0, 3}, ids, chunks(items))
	require.NoError(t, err)
	assert.Equal(t, 5000, part.Len())

	recent := []int64{3, 7, 11}
	cands := make([]int64, 40)
	slate := make([]feature.Example, len(cands))
	for i := range slate {
		v := int64((i * 7) % 20)
		if i%2 == 1 {
			v = int64(4000 + i*23) // OOV videos of the second chunk
		}
		cands[i] = v
		slate[i] = feature.Example{IDs: [][]int64{{v}, recent, nil, nil}, Nums: []float64{0, 0, 0.4 + float64(i%3)/10, quality(v)}}
	}
	got := make([]float32, len(slate))
	// A slate of one video first: its video and quality are shared there,
	// written into the pooled shared row, which the part's slate must not
	// read.
	one := make([]feature.Example, 8)
	for i := range one {
		one[i] = feature.Example{IDs: slate[0].IDs, Nums: []float64{0, 0, float64(i) / 10, slate[0].Nums[3]}}
	}
	require.NoError(t, m.Logits(got[:8], one))
	require.NoError(t, m.LogitsWith(got, cands, slate, part))
	for i := range slate {
		alone := make([]float32, 1)
		require.NoError(t, m.Logits(alone, slate[i:i+1]))
		assert.InDelta(t, alone[0], got[i], 1e-5*(1+math.Abs(float64(alone[0]))), "candidate %d", i)
	}
	ranked, err := m.RankWith(cands, slate, part)
	require.NoError(t, err)
	plain, err := m.Rank(cands, slate)
	require.NoError(t, err)
	require.Len(t, ranked, len(plain))
	for i := range ranked {
		assert.InDelta(t, plain[i].ExpectedWatchTime, ranked[i].ExpectedWatchTime, 1e-5*plain[i].ExpectedWatchTime, "rank %d", i)
	}
	allocs := testing.AllocsPerRun(50, func() {
		if err := m.LogitsWith(got, cands, slate, part); err != nil {
			t.Fatal(err)
		}
	})
	if !raceEnabled {
		assert.Zero(t, allocs)
	}

	assert.True(t, part.Covers(m, cands))
	var none *ItemPart
	assert.False(t, none.Covers(m, cands), "no part")
	// An item outside the part: the whole slate scored as Logits does.
	cands[5] = 99999
	assert.False(t, part.Covers(m, cands), "an item outside the part")
	want := make([]float32, len(slate))
	require.NoError(t, m.Logits(want, slate))
	require.NoError(t, m.LogitsWith(got, cands, slate, part))
	assert.Equal(t, want, got)
	// A part of another model is not used.
	other, _ := randomModel(t, 5)
	otherPart, err := other.NewItemPart([]int{0, 3}, ids, chunks(items))
	require.NoError(t, err)
	cands[5] = 5
	require.NoError(t, m.LogitsWith(got, cands, slate, otherPart))
	assert.Equal(t, want, got)
	assert.False(t, otherPart.Covers(m, cands), "another model's part")

	for name, c := range map[string]struct {
		feats []int
		ids   []int64
		exs   []feature.Example
		want  string
	}{
		"item twice":         {[]int{0, 3}, []int64{1, 1}, items[:2], "item 1 appears twice"},
		"item twice, chunks": {[]int{0, 3}, append(slices.Clone(ids), 7), append(slices.Clone(items), items[7]), "item 7 appears twice"},
		"features unsorted":  {[]int{3, 0}, ids, items, "not ascending"},
		"feature past spec":  {[]int{0, 4}, ids, items, "not ascending"},
		"no features":        {nil, ids, items, "no item features"},
		"short chunk":        {[]int{0}, ids, items[:4100], "4 examples for 904 items"},
		"bad value":          {[]int{0, 2}, ids, items, `item 0: feature "appeal"`},
	} {
		_, err := m.NewItemPart(c.feats, c.ids, chunks(c.exs))
		assert.ErrorContains(t, err, c.want, name)
	}
}

// chunks hands NewItemPart the examples of each chunk of its items in turn.
func chunks(exs []feature.Example) func([]int64) []feature.Example {
	at := 0
	return func(ids []int64) []feature.Example {
		out := exs[min(at, len(exs)):min(at+len(ids), len(exs))]
		at += len(ids)
		return out
	}
}

// TestRankTopWith: keeping the n best gives Rank's first n, in order, for
// every n, ties in expected watch time broken by ID as Rank breaks them;
// n below 1 is refused.
func TestRankTopWith(t *testing.T) {
	m, imps := randomModel(t, 6)
	ids := make([]int64, 30)
	cands := make([]feature.Example, 30)
	for i := range cands {
		ids[i], cands[i] = int64(100-i), imps[i%10].Features // three copies of each: ties
	}
	all, err := m.Rank(ids, cands)
	require.NoError(t, err)
	for n := 1; n <= 31; n++ {
		top, err := m.RankTopWith(n, ids, cands, nil)
		require.NoError(t, err)
		assert.Equal(t, all[:min(n, len(all))], top, "n=%d", n)
	}
	_, err = m.RankTopWith(0, ids, cands, nil)
	assert.ErrorContains(t, err, "at least 1")
}
