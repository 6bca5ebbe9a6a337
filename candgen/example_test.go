package candgen_test

import (
	"context"
	"fmt"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/train"
)

// Train a model on next-watch examples, then recommend.
func Example() {
	spec := feature.Spec{
		Spaces:   []feature.Space{{Name: "video"}},
		Features: []feature.Feature{{Name: "watches", Kind: feature.Bag, Space: "video", MaxLen: 50}},
	}
	// Users who watched 1 then 2 go on to 3; users who watched 4 go on to 5.
	var examples []candgen.Example
	for i := 0; i < 200; i++ {
		examples = append(examples,
			candgen.Example{Features: feature.Example{IDs: [][]int64{{1, 2}}, Nums: []float64{0}}, Label: 3},
			candgen.Example{Features: feature.Example{IDs: [][]int64{{4}}, Nums: []float64{0}}, Label: 5},
		)
	}
	m, _, err := train.Candgen(context.Background(), train.CandgenConfig{
		Spec: spec, Tower: []int{16, 8}, Negatives: 3,
		Options: train.Options{Batch: 64, Epochs: 20, LR: 0.01, Seed: 1},
	}, examples)
	if err != nil {
		fmt.Println(err)
		return
	}
	recs, _ := m.Recommend(context.Background(), feature.Example{IDs: [][]int64{{1, 2}}, Nums: []float64{0}}, 1, []int64{1, 2})
	fmt.Println("next for a 1,2 watcher:", recs[0].ID)
	// Output: next for a 1,2 watcher: 3
}
