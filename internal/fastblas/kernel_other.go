//go:build !amd64 || purego

package fastblas

func useKernel(name string) bool {
	if name != "purego" {
		return false
	}
	mr, nr, kernel, kernelName = 6, 16, kernelGo, "purego"
	return true
}
