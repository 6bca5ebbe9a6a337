package gradcheck

import (
	"fmt"
	"testing"
)

// recorder is a testing.TB that records Errorf calls instead of failing.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestSlice: on loss = Σ x³ the true gradient 3x² passes, a gradient off by
// 10% in one coordinate is reported for that coordinate only, and the
// parameters are restored.
func TestSlice(t *testing.T) {
	x := []float32{0.5, -1, 2, 1.5}
	loss := func() float32 {
		var s float32
		for _, v := range x {
			s += v * v * v
		}
		return s
	}
	grad := make([]float32, len(x))
	for i, v := range x {
		grad[i] = 3 * v * v
	}
	r := &recorder{TB: t}
	Slice(r, "x", x, grad, loss, 1e-3)
	if len(r.errs) != 0 {
		t.Fatalf("true gradient reported: %v", r.errs)
	}
	grad[2] *= 1.1
	Slice(r, "x", x, grad, loss, 1e-3)
	if len(r.errs) != 1 {
		t.Fatalf("want one report for x[2], got %v", r.errs)
	}
	if bad := Compare(x, make([]float32, len(x)), loss, 1e-3); len(bad) != len(x) {
		t.Fatalf("a zero gradient must fail everywhere: %v", bad)
	}
	if x[0] != 0.5 || x[1] != -1 || x[2] != 2 || x[3] != 1.5 {
		t.Fatalf("parameters not restored: %v", x)
	}
}
