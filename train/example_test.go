package train_test

import (
	"context"
	"fmt"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/train"
)

// Early stopping: score a copy of the model on held-out users after every
// epoch and keep the best epoch's model.
func ExampleCandgenConfig_validation() {
	spec := feature.Spec{
		Spaces:   []feature.Space{{Name: "video"}},
		Features: []feature.Feature{{Name: "watches", Kind: feature.Bag, Space: "video", MaxLen: 50}},
	}
	watched := func(ids ...int64) feature.Example { return feature.Example{IDs: [][]int64{ids}, Nums: []float64{0}} }
	var examples []candgen.Example
	for i := 0; i < 200; i++ {
		examples = append(examples,
			candgen.Example{Features: watched(1, 2), Label: 3},
			candgen.Example{Features: watched(4), Label: 5},
		)
	}
	// Held-out requests and the video each user watched next.
	held, next := []feature.Example{watched(1, 2), watched(4)}, []int64{3, 5}
	m, st, err := train.Candgen(context.Background(), train.CandgenConfig{
		Spec: spec, Tower: []int{16, 8}, Negatives: 3,
		Options: train.Options{Batch: 64, Epochs: 30, LR: 0.01, Seed: 1, Dropout: 0.1, Patience: 3},
		Validation: func(ctx context.Context, epoch int, m *candgen.Model) (float64, error) {
			recs, err := m.RecommendBatch(ctx, held, 1, nil)
			if err != nil {
				return 0, err
			}
			hits := 0.0
			for i, r := range recs {
				if r[0].ID == next[i] {
					hits++
				}
			}
			return hits / float64(len(held)), nil // hit rate at 1
		},
	}, examples)
	if err != nil {
		fmt.Println(err)
		return
	}
	recs, _ := m.Recommend(context.Background(), watched(4), 1, nil)
	fmt.Println("best validation hit rate:", st.BestScore, "stopped early:", st.Epochs < 30, "next for a 4 watcher:", recs[0].ID)
	// Output: best validation hit rate: 1 stopped early: true next for a 4 watcher: 5
}
