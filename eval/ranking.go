package eval

import (
	"cmp"
	"math"
	"slices"
)

// Scored is an impression with a model score, for the ranking metrics.
type Scored struct {
	Score     float64
	Clicked   bool
	WatchTime float64
}

// WeightedPerUserLoss is the paper's ranking metric (Covington et al. 2016,
// §4). Each group holds the impressions shown to one user on one page. Over
// every pair of a clicked and an unclicked impression in a group, the
// clicked one's watch time counts as mispredicted when the unclicked one
// scores higher (half on a tie). The result is mispredicted watch time over
// the total watch time of all pairs; 0 when there are no pairs. NaN when any
// score or watch time is NaN or ±Inf (a model that produced such a score has
// no meaningful loss). Cost: O(Σ clicked·unclicked) over the groups.
func WeightedPerUserLoss(groups [][]Scored) float64 {
	var mis, total float64
	for _, g := range groups {
		if !finite(g) {
			return math.NaN()
		}
		for _, p := range g {
			if !p.Clicked {
				continue
			}
			for _, n := range g {
				if n.Clicked {
					continue
				}
				total += p.WatchTime
				switch {
				case n.Score > p.Score:
					mis += p.WatchTime
				case n.Score == p.Score:
					mis += p.WatchTime / 2
				}
			}
		}
	}
	if total == 0 {
		return 0
	}
	return mis / total
}

// AUC is the area under the ROC curve of scores for the clicked labels:
// the probability that a clicked impression outscores an unclicked one,
// ties counting half. NaN when all labels are equal (or items is empty) or
// any score or watch time is NaN or ±Inf. Cost: O(n log n).
func AUC(items []Scored) float64 {
	if !finite(items) {
		return math.NaN()
	}
	s := byScore(items)
	var pos, neg, rankSum float64
	for i := 0; i < len(s); {
		j := i
		for j < len(s) && s[j].Score == s[i].Score {
			j++
		}
		mid := float64(i+j+1) / 2 // average 1-based rank of the tie group
		for k := i; k < j; k++ {
			if s[k].Clicked {
				pos++
				rankSum += mid
			} else {
				neg++
			}
		}
		i = j
	}
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}

// Bin is one calibration bin.
type Bin struct {
	N         int
	Predicted float64 // mean predicted expected watch time (Score)
	Observed  float64 // mean observed watch time per impression (0 if not clicked)
}

// Calibration groups impressions into bins equal in count by predicted
// score (Score is the predicted expected watch time, exp(logit)) and
// compares the mean prediction with the mean observed watch time per
// impression. Bins are in ascending order of score; with fewer items than
// bins the empty bins are left out. It returns nil when bins < 1, items is
// empty, or any score or watch time is NaN or ±Inf. Cost: O(n log n).
func Calibration(items []Scored, bins int) []Bin {
	if bins < 1 || len(items) == 0 || !finite(items) {
		return nil
	}
	s := byScore(items)
	out := make([]Bin, 0, bins)
	for b := 0; b < bins; b++ {
		lo, hi := b*len(s)/bins, (b+1)*len(s)/bins
		if lo == hi {
			continue
		}
		var bin Bin
		for _, it := range s[lo:hi] {
			bin.Predicted += it.Score
			if it.Clicked {
				bin.Observed += it.WatchTime
			}
		}
		bin.N = hi - lo
		bin.Predicted /= float64(bin.N)
		bin.Observed /= float64(bin.N)
		out = append(out, bin)
	}
	return out
}

// finite reports whether every score and watch time is finite: the metrics
// sort and group by score, and NaN compares unequal to itself.
func finite(items []Scored) bool {
	for _, it := range items {
		if math.IsNaN(it.Score) || math.IsInf(it.Score, 0) || math.IsNaN(it.WatchTime) || math.IsInf(it.WatchTime, 0) {
			return false
		}
	}
	return true
}

// byScore returns a copy of items sorted by ascending score.
func byScore(items []Scored) []Scored {
	s := slices.Clone(items)
	slices.SortFunc(s, func(a, b Scored) int { return cmp.Compare(a.Score, b.Score) })
	return s
}

// WatchNDCG is the NDCG at k of watch time within groups (a user's
// impressions of one day, or of one page): each group is ordered by Score,
// highest first (ties in input order), and its DCG = Σ_{r<k} WatchTime of
// the impression at rank r / log2(r+2) is divided by the DCG of the order
// by watch time. Groups with no watch time are left out; the result is the
// mean over the others, NaN when there are none or any score or watch time
// is NaN or ±Inf.
func WatchNDCG(groups [][]Scored, k int) float64 {
	var sum float64
	n := 0
	for _, g := range groups {
		if !finite(g) {
			return math.NaN()
		}
		byScore := slices.Clone(g)
		slices.SortStableFunc(byScore, func(a, b Scored) int { return cmp.Compare(b.Score, a.Score) })
		ideal := slices.Clone(g)
		slices.SortStableFunc(ideal, func(a, b Scored) int { return cmp.Compare(b.WatchTime, a.WatchTime) })
		idcg := dcg(ideal, k)
		if idcg == 0 {
			continue
		}
		sum += dcg(byScore, k) / idcg
		n++
	}
	if n == 0 {
		return math.NaN()
	}
	return sum / float64(n)
}

func dcg(g []Scored, k int) float64 {
	var d float64
	for r, s := range g[:min(k, len(g))] {
		d += s.WatchTime / math.Log2(float64(r)+2)
	}
	return d
}
