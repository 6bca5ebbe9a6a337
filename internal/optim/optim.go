package optim

import (
	"math"

	"github.com/ytdnn/ytdnn/internal/vec"
)

// AdamStep is one Adam step's constants: the bias corrections folded into
// the learning rate and epsilon, so that Update equals the textbook
// m̂/(√v̂ + ε) form.
type AdamStep struct {
	B1, B2, LR, EpsHat float32
}

// Adam's defaults, shared by the dense and the row-sparse optimizers and
// applied in NewAdamStep.
const (
	DefaultAdamBeta1 = 0.9   // decay of the first moment
	DefaultAdamBeta2 = 0.999 // decay of the second moment
	DefaultAdamEps   = 1e-8  // added to √v̂
)

// NewAdamStep returns the constants of step t (1-based). Zero b1, b2, eps
// mean DefaultAdamBeta1, DefaultAdamBeta2, DefaultAdamEps.
func NewAdamStep(lr, b1, b2, eps float32, t int) AdamStep {
	if b1 == 0 {
		b1 = DefaultAdamBeta1
	}
	if b2 == 0 {
		b2 = DefaultAdamBeta2
	}
	if eps == 0 {
		eps = DefaultAdamEps
	}
	c1 := 1 - math.Pow(float64(b1), float64(t))
	c2 := 1 - math.Pow(float64(b2), float64(t))
	return AdamStep{B1: b1, B2: b2, LR: lr * float32(math.Sqrt(c2)/c1), EpsHat: eps * float32(math.Sqrt(c2))}
}

// Update applies one Adam step to p with gradient g + l2·p and moments m, v.
// It runs the vector kernel of internal/vec.
func (s AdamStep) Update(p, g, m, v []float32, l2 float32) {
	c := vec.AdamConsts{B1: s.B1, OneMinusB1: 1 - s.B1, B2: s.B2, OneMinusB2: 1 - s.B2, LR: s.LR, Eps: s.EpsHat, L2: l2}
	vec.Adam(p, g, m, v, &c)
}

// Adagrad's defaults, shared by the dense and the row-sparse optimizers and
// applied in Accumulators and AdagradEps.
const (
	DefaultAdagradInit = 0.1  // initial accumulator, as in TensorFlow
	DefaultAdagradEps  = 1e-8 // added to √acc
)

// Accumulators returns n Adagrad accumulators set to init (zero means
// DefaultAdagradInit).
func Accumulators(n int, init float32) []float32 {
	if init == 0 {
		init = DefaultAdagradInit
	}
	acc := make([]float32, n)
	for i := range acc {
		acc[i] = init
	}
	return acc
}

// AdagradEps is eps, or DefaultAdagradEps when zero.
func AdagradEps(eps float32) float32 {
	if eps == 0 {
		return DefaultAdagradEps
	}
	return eps
}

// Adagrad applies one Adagrad step to p with gradient g + l2·p and
// accumulator acc: acc += g², p -= lr·g/(√acc + eps).
func Adagrad(p, g, acc []float32, lr, eps, l2 float32) {
	g, acc = g[:len(p)], acc[:len(p)]
	for i := range p {
		gi := g[i] + l2*p[i]
		acc[i] += gi * gi
		p[i] -= lr * gi / (float32(math.Sqrt(float64(acc[i]))) + eps)
	}
}

// RowAdagrad applies one row-wise Adagrad step to the row p with gradient g
// (as long as p) and the row's one accumulator acc: acc += mean_j(g_j²),
// p -= lr·g/(√acc + eps).
func RowAdagrad(p, g []float32, acc *float32, lr, eps float32) {
	var ss float32
	for _, v := range g {
		ss += v * v
	}
	*acc += ss / float32(len(g))
	vec.Axpy(-lr/(float32(math.Sqrt(float64(*acc)))+eps), g, p)
}

// Finite reports whether every element of v is neither NaN nor ±Inf.
func Finite(v []float32) bool {
	// x·0 is ±0 for finite x and NaN for ±Inf and NaN, and a NaN anywhere
	// makes the sum NaN: branch-free, four independent sums.
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(v); i += 4 {
		s0 += v[i] * 0
		s1 += v[i+1] * 0
		s2 += v[i+2] * 0
		s3 += v[i+3] * 0
	}
	for ; i < len(v); i++ {
		s0 += v[i] * 0
	}
	return s0+s1+s2+s3 == 0
}
