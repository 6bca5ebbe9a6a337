package eval_test

import (
	"fmt"
	"maps"
	"slices"

	"github.com/ytdnn/ytdnn/eval"
)

// A model and the most-popular baseline scored on three held-out next
// watches, with each user's history filtered out.
func ExampleTally() {
	train := []int64{1, 1, 1, 2, 2, 3, 4} // training labels
	pop := eval.MostPopular(eval.CountLabels(train, func(l int64) int64 { return l }))
	requests := []struct {
		history []int64
		model   []int64 // the model's ranked list, history already excluded
		label   int64
	}{
		{[]int64{1}, []int64{3, 2, 4}, 3},
		{[]int64{2}, []int64{4, 1, 3}, 3},
		{[]int64{3}, []int64{2, 1, 4}, 5},
	}
	model := eval.Tally{Ks: []int{1, 3}, NDCGK: 3}
	mostPop := eval.Tally{Ks: []int{1, 3}, NDCGK: 3}
	for _, r := range requests {
		model.Add(r.model, r.label)
		mostPop.Add(eval.TopExcluding(pop, r.history, 3), r.label)
	}
	out := map[string]any{}
	eval.Put(out, "", model.Metrics(eval.HistoryFiltered))
	eval.Put(out, "mostpop_", mostPop.Metrics(eval.HistoryFiltered))
	for _, name := range slices.Sorted(maps.Keys(out)) {
		fmt.Println(name, out[name])
	}
	// The model finds its labels at positions 0, 2 and not at all: NDCG@3
	// (1 + 1/log2(4) + 0)/3 = 0.5. Most popular (1, 2, 3, 4 less the
	// history) finds them at 1, 1 and not at all: (2/log2(3))/3 = 0.4206.

	// Output:
	// hr@1_filtered 0.3333
	// hr@3_filtered 0.6667
	// mostpop_hr@1_filtered 0
	// mostpop_hr@3_filtered 0.6667
	// mostpop_ndcg@3_filtered 0.4206
	// ndcg@3_filtered 0.5
}

// One page of four impressions: the 10-minute watch is outscored by an
// unclicked impression, the 2-minute one by none.
func ExampleWeightedPerUserLoss() {
	page := []eval.Scored{
		{Score: 0.5, Clicked: true, WatchTime: 10},
		{Score: 0.9, Clicked: true, WatchTime: 2},
		{Score: 0.7},
		{Score: 0.1},
	}
	fmt.Printf("%s %.3f\n", eval.MetricWeightedPerUserLoss, eval.WeightedPerUserLoss([][]eval.Scored{page}))
	fmt.Printf("%s %.3f\n", eval.MetricAUC, eval.AUC(page))
	// Output:
	// weighted_per_user_loss 0.417
	// auc 0.750
}
