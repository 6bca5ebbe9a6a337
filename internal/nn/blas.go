package nn

import (
	"gonum.org/v1/gonum/blas/gonum"
	G "gorgonia.org/gorgonia"

	"github.com/ytdnn/ytdnn/internal/fastblas"
	"github.com/ytdnn/ytdnn/internal/linalg"
)

// The training graph multiplies through gorgonia's global BLAS; only this
// package builds graphs, so only it installs fastblas there.
func init() { UseFast() }

// UseFast makes the graph's products and linalg.Gemm use fastblas (the
// default).
func UseFast() {
	G.Use(fastblas.Implementation{})
	linalg.UseFast()
}

// UseGonum makes both use gonum's pure-Go BLAS (for comparisons in
// benchmarks; not safe while another goroutine trains).
func UseGonum() {
	G.Use(gonum.Implementation{})
	linalg.UseGonum()
}
