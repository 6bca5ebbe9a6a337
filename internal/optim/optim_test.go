package optim

import (
	"math"
	"testing"
)

// TestFinite: a single NaN or ±Inf anywhere (vector body or tail) is found;
// extreme finite values, -0 and the empty slice are finite.
func TestFinite(t *testing.T) {
	bad := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))}
	for n := 0; n < 13; n++ {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(i) - 5
		}
		if n > 0 {
			v[0] = math.MaxFloat32
			v[n-1] = -math.MaxFloat32
		}
		if n > 1 {
			v[1] = float32(math.Copysign(0, -1))
		}
		if !Finite(v) {
			t.Fatalf("n=%d: %v reported non-finite", n, v)
		}
		for i := 0; i < n; i++ {
			for _, b := range bad {
				w := append([]float32(nil), v...)
				w[i] = b
				if Finite(w) {
					t.Fatalf("n=%d: %v at %d not found", n, b, i)
				}
			}
		}
	}
}
