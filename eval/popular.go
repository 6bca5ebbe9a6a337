package eval

import (
	"cmp"
	"slices"
)

// MostPopular is the most-popular baseline: the IDs of counts ordered by
// count, most frequent first, ties by ascending ID (so the order does not
// depend on map iteration). Cost: O(n log n) for n IDs.
func MostPopular(counts map[int64]int) []int64 {
	ids := make([]int64, 0, len(counts))
	for id := range counts {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b int64) int {
		if c := cmp.Compare(counts[b], counts[a]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return ids
}

// CountLabels counts the label of each example (label extracts it), for
// MostPopular over training examples of any type.
func CountLabels[E any](examples []E, label func(E) int64) map[int64]int {
	counts := map[int64]int{}
	for _, e := range examples {
		counts[label(e)]++
	}
	return counts
}

// TopExcluding returns the first k IDs of ranked that are not in exclude:
// a ranking with the user's history filtered out. Fewer than k when ranked
// runs out; none when k < 1. Cost: O(len(exclude) + len(ranked)).
func TopExcluding(ranked, exclude []int64, k int) []int64 {
	ex := set(exclude)
	out := make([]int64, 0, max(0, min(k, len(ranked))))
	for _, id := range ranked {
		if len(out) >= k {
			break
		}
		if !ex[id] {
			out = append(out, id)
		}
	}
	return out
}
