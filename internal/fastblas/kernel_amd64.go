//go:build amd64 && !purego

package fastblas

import "golang.org/x/sys/cpu"

//go:noescape
func kernelAVX2(k int, a, b, c *float32, ldc int, alpha float32)

//go:noescape
func kernelAVX512(k int, a, b, c *float32, ldc int, alpha float32)

//go:noescape
func kernelAVX512S(k int, a *float32, rs, cs int, b, c *float32, ldc int, alpha float32)

func init() {
	switch {
	case cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL:
		mr, nr, kernel, kernelName = 6, 32, kernelAVX512, "avx512"
		kernelS = kernelAVX512S
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		mr, nr, kernel, kernelName = 6, 16, kernelAVX2, "avx2"
	}
}

// useKernel selects a kernel by name (for tests); it reports whether the CPU
// supports it.
func useKernel(name string) bool {
	switch name {
	case "avx512":
		if !(cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL) {
			return false
		}
		mr, nr, kernel, kernelName = 6, 32, kernelAVX512, "avx512"
		kernelS = kernelAVX512S
	case "avx2":
		if !(cpu.X86.HasAVX2 && cpu.X86.HasFMA) {
			return false
		}
		mr, nr, kernel, kernelName = 6, 16, kernelAVX2, "avx2"
		kernelS = nil
	case "purego":
		mr, nr, kernel, kernelName = 6, 16, kernelGo, "purego"
		kernelS = nil
	default:
		return false
	}
	return true
}
