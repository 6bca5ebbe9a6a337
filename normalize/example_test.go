package normalize_test

import (
	"fmt"

	"github.com/ytdnn/ytdnn/normalize"
)

func ExampleCDF_Powers() {
	cdf, err := normalize.Fit("age", []float64{10, 20, 30, 40, 50}, 0)
	if err != nil {
		fmt.Println(err)
		return
	}
	dst := make([]float32, 3)
	if err := cdf.Powers(dst, 30); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.2f %.2f %.2f\n", dst[0], dst[1], dst[2])
	// Output: 0.50 0.25 0.71
}
