package eval

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hundred is the ranked list 0, 1, …, 99.
func hundred() []int64 {
	ids := make([]int64, 100)
	for i := range ids {
		ids[i] = int64(i)
	}
	return ids
}

// TestTallyLabels: four requests over 0..99 with labels at positions 3,
// 30, absent and 0. HR@10 2/4, HR@50 = HR@100 = 3/4; NDCG@10
// (1/log2(5) + 1)/4 = (0.430677 + 1)/4 = 0.357669.
func TestTallyLabels(t *testing.T) {
	ids := hundred()
	var tl Tally
	tl.Add(ids, 3)
	tl.Add(ids, 30)
	tl.Add(ids, 999)
	tl.Add(ids, 0)
	require.Equal(t, 4, tl.N())
	for _, c := range []struct {
		name string
		got  float64
		want float64
	}{
		{"HR@10", tl.HR(10), 0.5},
		{"HR@50", tl.HR(50), 0.75},
		{"HR@100", tl.HR(100), 0.75},
		{"HR@1000 past the list", tl.HR(1000), 0.75},
		{"HR@1", tl.HR(1), 0.25},
		{"NDCG@10", tl.NDCG(10), 0.357669},
		{"NDCG@1", tl.NDCG(1), 0.25},
		{"recall@50 is HR@50", tl.Recall(50), 0.75},
	} {
		t.Run(c.name, func(t *testing.T) { assert.InDelta(t, c.want, c.got, 1e-6) })
	}
	t.Run("Metrics", func(t *testing.T) {
		m := tl.Metrics(HistoryAll)
		assert.Len(t, m, 4, "no recall with one label per request: %v", m)
		assert.Equal(t, 0.5, m["hr@10_all"])
		assert.Equal(t, 0.75, m["hr@50_all"])
		assert.Equal(t, 0.75, m["hr@100_all"])
		assert.InDelta(t, 0.357669, m["ndcg@10_all"], 1e-6)
	})
}

// TestTallyRelevant: ranked 1, 2, 3, 4 against {2, 4, 9}: found at
// positions 1 and 3. HR@1 0, HR@2 1; recall@2 1/3, recall@4 2/3; NDCG@4 =
// (1/log2(3) + 1/log2(5)) / (1 + 1/log2(3) + 1/log2(4)) = 1.061606/2.130930
// = 0.498189; NDCG@2 = 0.630930/1.630930 = 0.386853.
func TestTallyRelevant(t *testing.T) {
	tl := Tally{Ks: []int{2}, NDCGK: 4}
	tl.AddRelevant([]int64{1, 2, 3, 4}, []int64{2, 4, 9})
	tl.AddRelevant([]int64{1, 2}, nil) // no relevant item: not counted
	require.Equal(t, 1, tl.N())
	for _, c := range []struct {
		name string
		got  float64
		want float64
	}{
		{"HR@1", tl.HR(1), 0},
		{"HR@2", tl.HR(2), 1},
		{"recall@2", tl.Recall(2), 1.0 / 3},
		{"recall@4", tl.Recall(4), 2.0 / 3},
		{"recall@0", tl.Recall(0), 0},
		{"NDCG@4", tl.NDCG(4), 0.498189},
		{"NDCG@2", tl.NDCG(2), 0.386853},
		{"NDCG@0", tl.NDCG(0), 0},
	} {
		t.Run(c.name, func(t *testing.T) { assert.InDelta(t, c.want, c.got, 1e-6) })
	}
	t.Run("Metrics", func(t *testing.T) {
		m := tl.Metrics(HistoryFiltered)
		assert.Len(t, m, 3)
		assert.Equal(t, 1.0, m["hr@2_filtered"])
		assert.InDelta(t, 1.0/3, m["recall@2_filtered"], 1e-12)
		assert.InDelta(t, 0.498189, m["ndcg@4_filtered"], 1e-6)
	})
}

// TestTallyMerge: one hit at position 0 in a, a miss and a hit at 0 in b:
// merged HR@10 = NDCG@10 = 2/3, equal to one tally of all three, and b is
// unchanged.
func TestTallyMerge(t *testing.T) {
	var a, b, all Tally
	a.Add([]int64{1, 2}, 1)
	b.Add([]int64{1, 2}, 3)
	b.Add([]int64{3}, 3)
	for _, r := range []struct {
		ids   []int64
		label int64
	}{{[]int64{1, 2}, 1}, {[]int64{1, 2}, 3}, {[]int64{3}, 3}} {
		all.Add(r.ids, r.label)
	}
	a.Merge(&b)
	assert.Equal(t, 3, a.N())
	assert.InDelta(t, 2.0/3, a.HR(10), 1e-12)
	assert.InDelta(t, 2.0/3, a.NDCG(10), 1e-12)
	assert.Equal(t, all.Metrics(HistoryAll), a.Metrics(HistoryAll))
	assert.Equal(t, 2, b.N(), "b changed")
	assert.Equal(t, 0.5, b.HR(10))

	t.Run("into a zero tally copies", func(t *testing.T) {
		var c Tally
		c.Merge(&a)
		c.Add([]int64{1}, 9) // a miss in the copy only
		assert.Equal(t, 3, a.N())
		assert.InDelta(t, 2.0/4, c.HR(10), 1e-12)
	})
	t.Run("a relevant set keeps recall", func(t *testing.T) {
		var s, c Tally
		s.AddRelevant([]int64{1, 2}, []int64{2, 5})
		c.Merge(&s)
		assert.Contains(t, c.Metrics(HistoryAll), "recall@10_all")
	})
}

func TestTallyEmpty(t *testing.T) {
	var tl Tally
	for name, v := range map[string]float64{"HR": tl.HR(10), "NDCG": tl.NDCG(10), "Recall": tl.Recall(10)} {
		assert.True(t, math.IsNaN(v), "%s = %v, want NaN", name, v)
	}
	assert.Empty(t, tl.Metrics(HistoryAll))
}
