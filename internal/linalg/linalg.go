package linalg

import (
	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"

	"github.com/ytdnn/ytdnn/internal/fastblas"
)

// impl is the BLAS behind Gemm: fastblas unless a benchmark switched it.
var impl blas.Float32Level3 = fastblas.Implementation{}

// UseFast makes Gemm use fastblas (the default).
func UseFast() { impl = fastblas.Implementation{} }

// UseGonum makes Gemm use gonum's pure-Go BLAS (for comparisons in
// benchmarks; not safe while another goroutine multiplies).
func UseGonum() { impl = gonum.Implementation{} }

// Gemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices, where
// op(A) is m×k, op(B) is k×n and C is m×n. transA/transB select transposes.
func Gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemm(false, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// GemmSerial is Gemm on the calling goroutine alone (fastblas's
// SgemmSerial), for a server's products: Gemm splits a large product
// across GOMAXPROCS goroutines, which a server, running a request per core
// already, pays for without gaining. With gonum switched in it is Gemm.
func GemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemm(true, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func gemm(serial, transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	ta, tb := blas.NoTrans, blas.NoTrans
	if transA {
		ta = blas.Trans
	}
	if transB {
		tb = blas.Trans
	}
	if k == 0 {
		for i := 0; i < m; i++ {
			row := c[i*ldc : i*ldc+n]
			for j := range row {
				row[j] *= beta
			}
		}
		return
	}
	if f, ok := impl.(fastblas.Implementation); ok && serial {
		f.SgemmSerial(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	impl.Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
