// Package linalg is ytdnn's one entry to float32 matrix products outside the
// training graph: Gemm runs fastblas (packed, multi-core, SIMD Sgemm) unless
// a benchmark switched to gonum's pure-Go BLAS with UseGonum. It installs
// nothing anywhere: the training graph (internal/nn) installs fastblas into
// gorgonia itself, so serving and retrieval link no training framework.
package linalg
