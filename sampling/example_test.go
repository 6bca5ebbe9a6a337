package sampling_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/ytdnn/ytdnn/sampling"
)

func ExampleCandidates() {
	s, _ := sampling.NewUnigram([]float64{100, 10, 1, 1}, 1)
	c := &sampling.Candidates{Sampler: s}
	_ = c.Draw(8, rand.New(rand.NewPCG(1, 2)))
	fmt.Printf("drew %d; expected count of class 0: %.2f\n", len(c.IDs), c.ExpectedCount(0))
	// Output: drew 8; expected count of class 0: 7.14
}
