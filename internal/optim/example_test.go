package optim_test

import (
	"fmt"

	"github.com/ytdnn/ytdnn/internal/optim"
)

// Ten steps of Adam on f(p) = p², gradient 2p, from p = 1: each step moves
// p by at most about LR while the gradient keeps its sign.
func ExampleDenseAdam() {
	p := []float32{1}
	opt := &optim.DenseAdam{LR: 0.05}
	for range 10 {
		g := []float32{2 * p[0]}
		if err := opt.Apply(optim.Params{P: [][]float32{p}, G: [][]float32{g}, Decay: []bool{false}}); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Printf("%.2f\n", p[0])
	// Output: 0.51
}
