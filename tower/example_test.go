package tower_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/ytdnn/ytdnn/tower"
)

// A two-layer tower scoring two input rows.
func ExampleMLP_Forward() {
	m, err := tower.New([]int{3, 4, 1}, false, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		panic(err)
	}
	x := []float32{
		1, 0, 0, // row 0
		0, 0, 0, // row 1: zero input, so the output is the last bias (0)
	}
	out := make([]float32, 2)
	m.Forward(out, x, 2)
	fmt.Printf("in %d, out %d, row 1 %.1f\n", m.In(), m.Out(), out[1])
	// Output: in 3, out 1, row 1 0.0
}
