// Package gradcheck compares analytic gradients with central finite
// differences; the candgen and ranking tests use it on embedding and softmax
// rows.
package gradcheck

import (
	"math"
	"testing"
)

// Step is the finite-difference step h.
const Step = 1e-2

// Slice perturbs every element of param by ±Step, evaluates loss at both
// points and reports an error where the central difference fd and grad
// differ by more than abs + 0.03·|fd|. param is restored afterwards; grad
// must be a copy taken before the perturbations (loss may overwrite the
// gradient buffers).
func Slice(t testing.TB, name string, param, grad []float32, loss func() float32, abs float64) {
	t.Helper()
	if len(param) != len(grad) {
		t.Fatalf("%s: %d parameters, %d gradients", name, len(param), len(grad))
	}
	for j := range param {
		orig := param[j]
		param[j] = orig + Step
		lp := loss()
		param[j] = orig - Step
		lm := loss()
		param[j] = orig
		fd := float64(lp-lm) / (2 * Step)
		tol := abs + 0.03*math.Abs(fd)
		if d := math.Abs(fd - float64(grad[j])); !(d <= tol) {
			t.Errorf("%s[%d]: finite difference %g, gradient %g (|Δ| %g > %g)", name, j, fd, grad[j], d, tol)
		}
	}
}
