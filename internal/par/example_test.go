package par_test

import (
	"fmt"

	"github.com/ytdnn/ytdnn/internal/par"
)

// Each chunk sums its range into its own slot; the slots are added at the
// end, so no two goroutines write the same memory.
func ExampleForN() {
	const workers, n = 4, 1000
	partial := make([]int, workers)
	par.ForN(workers, n, 100, func(w, lo, hi int) {
		for i := lo; i < hi; i++ {
			partial[w] += i
		}
	})
	total := 0
	for _, s := range partial {
		total += s
	}
	fmt.Println(total)
	// Output: 499500
}
