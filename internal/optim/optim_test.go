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

// TestRowAdagrad: one row-wise step against its definition, acc +=
// mean(g²), p -= lr·g/(√acc + eps), and a row of 8 or more (the vector
// path) moved as a shorter one is.
func TestRowAdagrad(t *testing.T) {
	p, acc := []float32{1, -2}, float32(DefaultAdagradInit)
	RowAdagrad(p, []float32{3, 4}, &acc, 0.5, DefaultAdagradEps)
	wantAcc := DefaultAdagradInit + (9.0+16.0)/2
	if math.Abs(float64(acc)-wantAcc) > 1e-6 {
		t.Fatalf("acc = %v, want %v", acc, wantAcc)
	}
	for i, want := range []float64{1 - 0.5*3/math.Sqrt(wantAcc), -2 - 0.5*4/math.Sqrt(wantAcc)} {
		if math.Abs(float64(p[i])-want) > 1e-6 {
			t.Fatalf("p[%d] = %v, want %v", i, p[i], want)
		}
	}
	long, short := make([]float32, 9), make([]float32, 1)
	g := []float32{2, 2, 2, 2, 2, 2, 2, 2, 2}
	accLong, accShort := float32(1), float32(1)
	RowAdagrad(long, g, &accLong, 0.1, 0)
	RowAdagrad(short, g[:1], &accShort, 0.1, 0)
	for i, v := range long {
		if v != short[0] {
			t.Fatalf("long row [%d] = %v, short row %v", i, v, short[0])
		}
	}
}
