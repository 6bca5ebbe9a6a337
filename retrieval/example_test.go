package retrieval_test

import (
	"context"
	"fmt"

	"github.com/ytdnn/ytdnn/retrieval"
)

func ExampleExact() {
	// Three items with their bias folded in as a last dimension.
	items := []float32{
		1, 0, 0.5,
		0, 1, 0,
		1, 1, -3,
	}
	idx, _ := retrieval.NewExact(items, 3, []int32{10, 11, 12})
	hits, _ := idx.Search(context.Background(), []float32{2, 1, 1}, 2, nil) // query [u, 1]
	for _, h := range hits[0] {
		fmt.Println(h.ID, h.Score)
	}
	// Output:
	// 10 2.5
	// 11 1
}
