package baseline

import (
	"cmp"
	"fmt"
	"math"
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

// Ks are the cut-offs a Tally reports: HR@10, HR@50, HR@100.
var Ks = [3]int{10, 50, 100}

// Tally accumulates, over held-out requests with one label each, the hit
// rate at each of Ks and NDCG@10 of ranked lists. The zero value is empty.
type Tally struct {
	N      int
	Hits   [3]float64
	NDCG10 float64
}

// Add scores one ranked list against its label.
func (t *Tally) Add(ids []int64, label int64) {
	t.N++
	for k, K := range Ks {
		if r := slices.Index(ids[:min(K, len(ids))], label); r >= 0 {
			t.Hits[k]++
			if K == 10 {
				t.NDCG10 += 1 / math.Log2(float64(r)+2)
			}
		}
	}
}

// Merge adds u's requests to t (a tally over several runs is their mean).
func (t *Tally) Merge(u Tally) {
	t.N += u.N
	for k := range t.Hits {
		t.Hits[k] += u.Hits[k]
	}
	t.NDCG10 += u.NDCG10
}

// HR is the hit rate at Ks[k].
func (t *Tally) HR(k int) float64 { return t.Hits[k] / float64(max(t.N, 1)) }

// NDCG is the mean NDCG@10.
func (t *Tally) NDCG() float64 { return t.NDCG10 / float64(max(t.N, 1)) }

// Put writes prefix+"hr@K_"+mode for each K and prefix+"ndcg@10_"+mode,
// rounded to 4 decimals, into out.
func (t *Tally) Put(out map[string]any, prefix, mode string) {
	r4 := func(x float64) float64 { return math.Round(x*1e4) / 1e4 }
	for k, K := range Ks {
		out[fmt.Sprintf("%shr@%d_%s", prefix, K, mode)] = r4(t.HR(k))
	}
	out[prefix+"ndcg@10_"+mode] = r4(t.NDCG())
}
