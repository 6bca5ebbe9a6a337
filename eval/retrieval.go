package eval

import (
	"math"
	"slices"
)

// HR is the hit rate at k of one request with one held-out label: 1 when
// label is among the first k IDs of ranked, else 0 (also when k < 1). The
// mean over requests is the hit rate. Cost: O(min(k, len(ranked))).
func HR(ranked []int64, label int64, k int) float64 {
	if position(ranked[:clamp(k, len(ranked))], label) >= 0 {
		return 1
	}
	return 0
}

// NDCG is the normalized discounted cumulative gain at k of one request
// with one held-out label at 0-based position r of ranked: 1/log2(r+2) when
// r < k, else 0. With one relevant item the ideal DCG is 1, so this is
// also the DCG. Cost: O(min(k, len(ranked))).
func NDCG(ranked []int64, label int64, k int) float64 {
	if r := position(ranked[:clamp(k, len(ranked))], label); r >= 0 {
		return discount(r)
	}
	return 0
}

// Recall is the recall at k of one request with several relevant items:
// |first k of ranked ∩ relevant| / |relevant|, duplicates counted once. NaN
// when relevant is empty (no item could be found). Cost: O(len(relevant) +
// min(k, len(ranked))).
func Recall(ranked, relevant []int64, k int) float64 {
	rel := set(relevant)
	if len(rel) == 0 {
		return math.NaN()
	}
	found := 0
	for _, id := range ranked[:clamp(k, len(ranked))] {
		if rel[id] {
			found++
			delete(rel, id) // an ID listed twice is found once
		}
	}
	return float64(found) / float64(found+len(rel))
}

// position is the 0-based position of label in ranked, -1 when absent.
func position(ranked []int64, label int64) int { return slices.Index(ranked, label) }

// discount is the DCG weight of 0-based position r: 1/log2(r+2).
func discount(r int) float64 { return 1 / math.Log2(float64(r)+2) }

// clamp is k limited to [0, n].
func clamp(k, n int) int { return max(0, min(k, n)) }

// set is the set of ids.
func set(ids []int64) map[int64]bool {
	s := make(map[int64]bool, len(ids))
	for _, id := range ids {
		s[id] = true
	}
	return s
}
