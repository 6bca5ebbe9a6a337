// Package linalg routes ytdnn's own float32 matrix products through the BLAS
// gorgonia is using (gorgonia.WhichBLAS), so one kernel serves the graph and
// the hand-written paths alike. Importing it installs fastblas (packed,
// multi-core, SIMD Sgemm) with gorgonia.Use; UseGonum switches back to
// gonum's pure-Go BLAS.
package linalg
