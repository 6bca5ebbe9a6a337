package ranking_test

import (
	"context"
	"fmt"

	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/ranking"
	"github.com/ytdnn/ytdnn/train"
)

func ExampleModel_Rank() {
	imp := func(video int64, clicked bool, watch float64) ranking.Impression {
		return ranking.Impression{Features: feature.Example{IDs: [][]int64{{video}}, Nums: []float64{0}}, Clicked: clicked, WatchTime: watch}
	}
	// Video 1 is clicked often but watched briefly (click-bait); video 2 is
	// clicked less but watched long.
	var imps []ranking.Impression
	for i := 0; i < 100; i++ {
		imps = append(imps, imp(1, i%2 == 0, 1), imp(2, i%10 == 0, 30))
	}
	// One feature: the impressed video.
	spec := feature.Spec{
		Spaces:   []feature.Space{{Name: "video"}},
		Features: []feature.Feature{{Name: "video", Kind: feature.ID, Space: "video"}},
	}
	m, _, err := train.Ranking(context.Background(), train.RankingConfig{
		Spec: spec, Tower: []int{8}, Options: train.Options{Batch: 50, Epochs: 60, LR: 0.02, Seed: 1},
	}, imps)
	if err != nil {
		fmt.Println(err)
		return
	}
	ranked, _ := m.Rank([]int64{1, 2}, []feature.Example{imps[0].Features, imps[1].Features})
	fmt.Println("first:", ranked[0].ID)
	// Output: first: 2
}
