package eval

import "math"

// DefaultNDCGK is the cut-off Tally.Metrics reports NDCG at when
// Tally.NDCGK is 0.
const DefaultNDCGK = 10

// DefaultKs returns the cut-offs Tally.Metrics reports hit rate (and
// recall) at when Tally.Ks is nil: 10, 50 and 100. Each call returns a new
// slice.
func DefaultKs() []int { return []int{10, 50, 100} }

// Tally accumulates retrieval metrics over requests, each a ranked list of
// IDs (best first) scored against its relevant items: one held-out label
// (Add) or several (AddRelevant). It keeps the positions at which each
// request found its relevant items, so HR, NDCG and Recall answer at any
// cut-off; Ks and NDCGK only choose what Metrics reports. Tallies over
// several runs or shards merge into one (Merge), whose metrics are means
// over all their requests.
//
// The zero value is an empty Tally reporting DefaultKs and NDCG at
// DefaultNDCGK. Its memory is two ints per request and one per relevant
// item found. A copy of a Tally shares storage with the original: to copy,
// Merge into a zero Tally. A Tally is not safe for concurrent use.
type Tally struct {
	// Ks are the cut-offs Metrics reports hit rate and recall at; nil means
	// DefaultKs().
	Ks []int
	// NDCGK is the cut-off Metrics reports NDCG at; 0 means DefaultNDCGK.
	NDCGK int

	pos   []int // positions (0-based, ascending) of the relevant items found, request after request
	end   []int // per request: the end of its positions in pos
	rel   []int // per request: its number of distinct relevant items
	multi bool  // some request had more than one relevant item
}

// Add scores one ranked list against its single held-out label. A label
// absent from ranked is a miss at every cut-off. Cost: O(len(ranked)).
func (t *Tally) Add(ranked []int64, label int64) {
	if r := position(ranked, label); r >= 0 {
		t.pos = append(t.pos, r)
	}
	t.end = append(t.end, len(t.pos))
	t.rel = append(t.rel, 1)
}

// AddRelevant scores one ranked list against several relevant items (an
// ID listed twice in relevant or ranked counts once). A request with no
// relevant item has no recall and is not counted. Cost: O(len(ranked) +
// len(relevant)).
func (t *Tally) AddRelevant(ranked, relevant []int64) {
	rel := set(relevant)
	n := len(rel)
	if n == 0 {
		return
	}
	for r, id := range ranked {
		if rel[id] {
			t.pos = append(t.pos, r)
			delete(rel, id)
		}
	}
	t.end = append(t.end, len(t.pos))
	t.rel = append(t.rel, n)
	t.multi = t.multi || n > 1
}

// Merge adds u's requests to t; t keeps its Ks and NDCGK. u is unchanged.
func (t *Tally) Merge(u *Tally) {
	off := len(t.pos)
	t.pos = append(t.pos, u.pos...)
	for _, e := range u.end {
		t.end = append(t.end, off+e)
	}
	t.rel = append(t.rel, u.rel...)
	t.multi = t.multi || u.multi
}

// N is the number of requests counted.
func (t *Tally) N() int { return len(t.rel) }

// HR is the hit rate at k: the share of requests with at least one
// relevant item among their first k IDs. NaN when the Tally is empty.
func (t *Tally) HR(k int) float64 {
	return t.mean(func(pos []int, _ int) float64 {
		if len(pos) > 0 && pos[0] < k {
			return 1
		}
		return 0
	})
}

// NDCG is the mean normalized discounted cumulative gain at k, with binary
// relevance: a request's DCG Σ 1/log2(r+2) over the positions r < k of its
// relevant items, over the ideal DCG of min(|relevant|, k) items at the top.
// With one label that is 1/log2(r+2). 0 for k < 1; NaN when the Tally is
// empty.
func (t *Tally) NDCG(k int) float64 {
	return t.mean(func(pos []int, rel int) float64 {
		var dcg, ideal float64
		for _, r := range pos {
			if r >= k {
				break
			}
			dcg += discount(r)
		}
		for r := 0; r < min(rel, k); r++ {
			ideal += discount(r)
		}
		if ideal == 0 {
			return 0
		}
		return dcg / ideal
	})
}

// Recall is the mean recall at k: per request, the share of its relevant
// items among its first k IDs. With one label per request it equals HR.
// NaN when the Tally is empty.
func (t *Tally) Recall(k int) float64 {
	return t.mean(func(pos []int, rel int) float64 {
		found := 0
		for _, r := range pos {
			if r >= k {
				break
			}
			found++
		}
		return float64(found) / float64(rel)
	})
}

// Metrics returns the Tally's metrics under the vocabulary's names with the
// suffix of h: hr@K for each of Ks, ndcg@NDCGK and, when some request had
// more than one relevant item, recall@K for each of Ks (with one label per
// request recall@K is hr@K, so it is left out). An empty Tally returns an
// empty map.
func (t *Tally) Metrics(h History) map[string]float64 {
	out := map[string]float64{}
	if t.N() == 0 {
		return out
	}
	ks := t.Ks
	if ks == nil {
		ks = DefaultKs()
	}
	nk := t.NDCGK
	if nk == 0 {
		nk = DefaultNDCGK
	}
	for _, k := range ks {
		out[MetricHR.At(k, h)] = t.HR(k)
		if t.multi {
			out[MetricRecall.At(k, h)] = t.Recall(k)
		}
	}
	out[MetricNDCG.At(nk, h)] = t.NDCG(nk)
	return out
}

// mean is the mean of f over the requests, given each request's found
// positions and number of relevant items; NaN when there are none.
func (t *Tally) mean(f func(pos []int, rel int) float64) float64 {
	if t.N() == 0 {
		return math.NaN()
	}
	var sum float64
	lo := 0
	for i, hi := range t.end {
		sum += f(t.pos[lo:hi], t.rel[i])
		lo = hi
	}
	return sum / float64(t.N())
}
