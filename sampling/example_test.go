package sampling_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/ytdnn/ytdnn/sampling"
)

func ExampleCandidates() {
	s, err := sampling.NewUnigram([]float64{100, 10, 1, 1}, 1)
	if err != nil {
		fmt.Println(err)
		return
	}
	c := &sampling.Candidates{Sampler: s}
	if err := c.Draw(8, rand.New(rand.NewPCG(1, 2))); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("drew %d; expected count of class 0: %.2f\n", len(c.IDs), c.ExpectedCount(0))
	// Output: drew 8; expected count of class 0: 7.14
}
