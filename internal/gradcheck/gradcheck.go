package gradcheck

import (
	"fmt"
	"math"
	"testing"
)

// Step is the finite-difference step h.
const Step = 1e-2

// Rel is the relative tolerance: a gradient may differ from the central
// difference by Rel·max(|fd|, |g|) plus the caller's floor (which absorbs
// float32 rounding of the loss, about 1e-7/Step).
const Rel = 0.03

// Compare perturbs every element of param by ±Step, evaluates loss at both
// points and returns a message for each element where the central
// difference fd and grad differ by more than floor + Rel·max(|fd|, |g|).
// param is restored afterwards; grad must be a copy taken before the
// perturbations (loss may overwrite the gradient buffers). Choose floor well
// below the gradients' sizes, or a zero gradient passes.
func Compare(param, grad []float32, loss func() float32, floor float64) []string {
	if len(param) != len(grad) {
		return []string{fmt.Sprintf("%d parameters, %d gradients", len(param), len(grad))}
	}
	var bad []string
	for j := range param {
		orig := param[j]
		param[j] = orig + Step
		lp := loss()
		param[j] = orig - Step
		lm := loss()
		param[j] = orig
		fd := float64(lp-lm) / (2 * Step)
		g := float64(grad[j])
		tol := floor + Rel*max(math.Abs(fd), math.Abs(g))
		if d := math.Abs(fd - g); !(d <= tol) {
			bad = append(bad, fmt.Sprintf("[%d]: finite difference %g, gradient %g (|Δ| %g > %g)", j, fd, g, d, tol))
		}
	}
	return bad
}

// Slice is Compare reporting each mismatch as a test error.
func Slice(t testing.TB, name string, param, grad []float32, loss func() float32, floor float64) {
	t.Helper()
	for _, m := range Compare(param, grad, loss, floor) {
		t.Errorf("%s%s", name, m)
	}
}

// MaxAbs is the largest |g| of a gradient (to check that probed gradients
// are large against the floor).
func MaxAbs(g []float32) float64 {
	var m float64
	for _, v := range g {
		m = max(m, math.Abs(float64(v)))
	}
	return m
}
