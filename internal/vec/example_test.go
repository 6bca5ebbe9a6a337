package vec_test

import (
	"fmt"

	"github.com/ytdnn/ytdnn/internal/vec"
)

func ExampleAxpy() {
	x := []float32{1, 2, 3}
	y := []float32{10, 20, 30}
	vec.Axpy(0.5, x, y) // y += 0.5·x
	fmt.Println(y, vec.Dot(x, y))
	// Output: [10.5 21 31.5] 147
}
