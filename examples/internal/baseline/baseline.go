package baseline

import (
	"cmp"
	"slices"

	"github.com/ytdnn/ytdnn/candgen"
)

// MostPopular returns the labels of the training examples ordered by count,
// most frequent first (ties by ascending ID).
func MostPopular(train []candgen.Example) []int64 {
	counts := map[int64]int{}
	for _, e := range train {
		counts[e.Label]++
	}
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

// TopExcluding returns the first k IDs of ranked that are not in exclude.
func TopExcluding(ranked, exclude []int64, k int) []int64 {
	ex := make(map[int64]bool, len(exclude))
	for _, id := range exclude {
		ex[id] = true
	}
	out := make([]int64, 0, k)
	for _, id := range ranked {
		if len(out) == k {
			break
		}
		if !ex[id] {
			out = append(out, id)
		}
	}
	return out
}
