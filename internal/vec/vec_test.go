package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

func randSlice(rng *rand.Rand, n int, scale float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = (rng.Float32()*2 - 1) * scale
	}
	return s
}

// TestAxpyMatchesGo: the vector path equals the scalar loop bit for bit on
// every length, including tails and lengths below one vector.
func TestAxpyMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n < 150; n++ {
		x := randSlice(rng, n, 3)
		y := randSlice(rng, n+3, 3) // longer y: only len(x) elements change
		want := append([]float32(nil), y...)
		axpyGo(0.37, x, want)
		Axpy(0.37, x, y)
		for i := range y {
			if y[i] != want[i] {
				t.Fatalf("n=%d: y[%d] = %v, want %v", n, i, y[i], want[i])
			}
		}
	}
}

// TestAdamMatchesGo: the vector Adam step equals the scalar one bit for bit,
// with and without L2, over several steps, and moves p against g.
func TestAdamMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, l2 := range []float32{0, 1e-3} {
		for n := 0; n < 70; n++ {
			c := &AdamConsts{B1: 0.9, OneMinusB1: 1 - float32(0.9), B2: 0.999, OneMinusB2: 1 - float32(0.999), LR: 1e-2, Eps: 1e-8, L2: l2}
			p, m, v := randSlice(rng, n, 1), make([]float32, n), make([]float32, n)
			p2, m2, v2 := append([]float32(nil), p...), make([]float32, n), make([]float32, n)
			for step := 0; step < 3; step++ {
				g := randSlice(rng, n, 2)
				Adam(p, g, m, v, c)
				adamGo(p2, g, m2, v2, c)
				for i := range p {
					if p[i] != p2[i] || m[i] != m2[i] || v[i] != v2[i] {
						t.Fatalf("n=%d step %d elem %d: (%v %v %v) vs (%v %v %v)", n, step, i, p[i], m[i], v[i], p2[i], m2[i], v2[i])
					}
				}
			}
		}
	}
	// One step from zero moments moves every coordinate by about LR against
	// the sign of its gradient.
	c := &AdamConsts{B1: 0.9, OneMinusB1: 0.1, B2: 0.999, OneMinusB2: 1 - float32(0.999), LR: 1e-2 * 0.0316227766 / 0.1, Eps: 1e-8 * 0.0316227766}
	p, g := make([]float32, 16), randSlice(rng, 16, 1)
	Adam(p, g, make([]float32, 16), make([]float32, 16), c)
	for i := range p {
		if d := p[i] + 1e-2*sign(g[i]); d > 1e-5 || d < -1e-5 {
			t.Fatalf("p[%d] = %v after one step on g = %v, want %v", i, p[i], g[i], -1e-2*sign(g[i]))
		}
	}
}

func sign(x float32) float32 {
	if x < 0 {
		return -1
	}
	return 1
}

func BenchmarkAxpy64(b *testing.B) {
	x, y := make([]float32, 64), make([]float32, 64)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Axpy(0.5, x, y)
	}
}

func BenchmarkAdam64k(b *testing.B) {
	const n = 1 << 16
	p, g, m, v := make([]float32, n), make([]float32, n), make([]float32, n), make([]float32, n)
	c := &AdamConsts{B1: 0.9, OneMinusB1: 0.1, B2: 0.999, OneMinusB2: 0.001, LR: 1e-3, Eps: 1e-8}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		Adam(p, g, m, v, c)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mparams/s")
}

// TestMaxAndScale: the vector paths agree with plain loops on every length,
// with the maximum anywhere (including the tail) and -Inf entries.
func TestMaxAndScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	negInf := float32(math.Inf(-1))
	for n := 0; n < 100; n++ {
		for trial := 0; trial < 3; trial++ {
			x := randSlice(rng, n, 10)
			if n > 0 {
				x[rng.IntN(n)] = 50 + float32(trial)
				x[rng.IntN(n)] = negInf
			}
			want := float32(-5)
			for _, v := range x {
				want = max(want, v)
			}
			if got := Max(-5, x); got != want {
				t.Fatalf("n=%d: Max = %v, want %v", n, got, want)
			}
			y := append([]float32(nil), x...)
			Scale(0.3, x)
			for i := range x {
				if x[i] != 0.3*y[i] {
					t.Fatalf("n=%d: Scale[%d] = %v, want %v", n, i, x[i], 0.3*y[i])
				}
			}
		}
	}
	if got := Max(7, make([]float32, 16)); got != 7 {
		t.Fatalf("Max(7, zeros) = %v", got)
	}
}

// TestDot: Dot against a float64 reference on every length up to 200
// (assembly body and Go tail), within float32 rounding of Σ|x·y|.
func TestDot(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for n := 0; n <= 200; n++ {
		x, y := make([]float32, n), make([]float32, n+3)
		var ref, mag float64
		for i := range x {
			x[i], y[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
			ref += float64(x[i]) * float64(y[i])
			mag += math.Abs(float64(x[i]) * float64(y[i]))
		}
		got := Dot(x, y)
		if math.Abs(float64(got)-ref) > 4*float64(n+1)*1.2e-7*mag+1e-30 {
			t.Fatalf("n=%d: Dot %g, reference %g", n, got, ref)
		}
		if g := dotGo(x, y); math.Abs(float64(g)-ref) > 4*float64(n+1)*1.2e-7*mag+1e-30 {
			t.Fatalf("n=%d: dotGo %g, reference %g", n, g, ref)
		}
	}
}

func BenchmarkDot(b *testing.B) {
	x, y := make([]float32, 64), make([]float32, 64)
	for i := range x {
		x[i], y[i] = float32(i), float32(64-i)
	}
	var s float32
	for i := 0; i < b.N; i++ {
		s += Dot(x, y)
	}
	_ = s
}

// TestReLU: the vector path equals the comparison loop bit for bit on
// every length, NaN and -0 kept, +Inf kept, -Inf zeroed.
func TestReLU(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	special := []float32{float32(math.NaN()), float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), -1e-30, 1e-30}
	for n := 0; n <= 83; n++ {
		x := randSlice(rng, n, 3)
		for i := range x {
			if rng.IntN(4) == 0 {
				x[i] = special[rng.IntN(len(special))]
			}
		}
		want := append([]float32(nil), x...)
		for i, v := range want {
			if v < 0 {
				want[i] = 0
			}
		}
		ReLU(x)
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(want[i]) {
				t.Fatalf("n=%d: x[%d] = %v (bits %x), want %v (bits %x)", n, i, x[i], math.Float32bits(x[i]), want[i], math.Float32bits(want[i]))
			}
		}
	}
}

// TestDotBlock8: eight dot products over lane-by-lane vectors equal the
// float64 sums to float32 rounding on every length, through the assembly
// path and the Go one; lanes do not mix.
func TestDotBlock8(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for n := 0; n <= 70; n++ {
		q := randSlice(rng, n, 2)
		block := randSlice(rng, 8*n, 2)
		var want [8]float64
		var mag [8]float64
		for j := range n {
			for l := range 8 {
				p := float64(q[j]) * float64(block[j*8+l])
				want[l] += p
				mag[l] += math.Abs(p)
			}
		}
		var got [8]float32
		DotBlock8(&got, q, block)
		for l := range 8 {
			if d := math.Abs(float64(got[l]) - want[l]); d > 1e-6*(1+mag[l]) {
				t.Fatalf("n=%d lane %d: %v, want %v", n, l, got[l], want[l])
			}
		}
	}
}
