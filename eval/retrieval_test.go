package eval

import (
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
)

// ranked is one request's list: 7 at position 0, 3 at 1, 9 at 2, 1 at 3.
var ranked = []int64{7, 3, 9, 1}

func TestHRAndNDCG(t *testing.T) {
	for _, c := range []struct {
		name     string
		label    int64
		k        int
		hr, ndcg float64
	}{
		{"top", 7, 10, 1, 1},
		{"second", 3, 10, 1, 1 / math.Log2(3)}, // 0.6309
		{"third", 9, 3, 1, 0.5},                // 1/log2(4)
		{"just past k", 9, 2, 0, 0},
		{"last, k is the length", 1, 4, 1, 1 / math.Log2(5)},
		{"k larger than the list", 1, 100, 1, 1 / math.Log2(5)},
		{"label absent", 5, 100, 0, 0},
		{"k zero", 7, 0, 0, 0},
		{"k negative", 7, -1, 0, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.Equal(t, c.hr, HR(ranked, c.label, c.k), "HR")
			assert.InDelta(t, c.ndcg, NDCG(ranked, c.label, c.k), 1e-12, "NDCG")
		})
	}
	t.Run("empty list", func(t *testing.T) {
		assert.Equal(t, 0.0, HR(nil, 7, 10))
		assert.Equal(t, 0.0, NDCG(nil, 7, 10))
	})
}

func TestRecall(t *testing.T) {
	for _, c := range []struct {
		name             string
		ranked, relevant []int64
		k                int
		want             float64
	}{
		{"one of three in top 2", ranked, []int64{3, 1, 5}, 2, 1.0 / 3},
		{"two of three in top 4", ranked, []int64{3, 1, 5}, 4, 2.0 / 3},
		{"k larger than the list", ranked, []int64{3, 1, 5}, 100, 2.0 / 3},
		{"all found", ranked, []int64{9, 7}, 3, 1},
		{"relevant listed twice", ranked, []int64{3, 3}, 2, 1},
		{"ranked lists an ID twice", []int64{3, 3, 1}, []int64{3, 1}, 2, 0.5},
		{"one relevant is the hit rate", ranked, []int64{9}, 3, 1},
		{"none found", ranked, []int64{5}, 4, 0},
		{"k zero", ranked, []int64{7}, 0, 0},
		{"no relevant", ranked, nil, 4, math.NaN()},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := slices.Clone(c.ranked)
			got := Recall(c.ranked, c.relevant, c.k)
			if math.IsNaN(c.want) {
				assert.True(t, math.IsNaN(got), "got %v, want NaN", got)
			} else {
				assert.InDelta(t, c.want, got, 1e-12)
			}
			assert.Equal(t, in, c.ranked, "input mutated")
		})
	}
}
