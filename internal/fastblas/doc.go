// Package fastblas is a float32 BLAS for gorgonia: it embeds gonum's pure-Go
// implementation and overrides Sgemm with a packed, register-blocked,
// multi-core kernel. The micro-kernel is Go assembly (AVX2+FMA, and AVX-512
// where the CPU has it), chosen at run time by CPU feature detection; other
// CPUs, and builds with the `purego` tag, use a pure-Go micro-kernel.
//
// # Algorithm
//
// C = alpha·op(A)·op(B) + beta·C is computed in blocks (Goto's scheme): C is
// scaled by beta once; for each KC-deep slice of the k dimension, a panel of
// op(B) is packed into NR-wide column strips, MC-row blocks of op(A) are
// packed into MR-tall row strips (transposes are resolved while packing),
// and the MR×NR micro-kernel accumulates each tile in registers and adds
// alpha times it to C. Row blocks are shared among GOMAXPROCS goroutines.
//
// # Concurrency
//
// Sgemm is safe for concurrent use; each call uses its own packing buffers
// (pooled).
package fastblas
