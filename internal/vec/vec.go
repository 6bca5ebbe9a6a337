package vec

import "math"

// Dot returns Σ x[i]·y[i] over len(x) elements (y at least as long). With
// AVX2 and FMA it sums in four 8-wide fused accumulators, so its rounding
// differs from the pure-Go loop's (by a few ulps of Σ|x·y|); the Go loop
// keeps four scalar accumulators.
func Dot(x, y []float32) float32 {
	y = y[:len(x)]
	n := 0
	var s float32
	if hasFMA {
		n = len(x) &^ 7
		if n > 0 {
			s = dotFMA(&x[0], &y[0], n)
		}
	}
	return s + dotGo(x[n:], y[n:])
}

func dotGo(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		s0 += x[i] * y[i]
		s1 += x[i+1] * y[i+1]
		s2 += x[i+2] * y[i+2]
		s3 += x[i+3] * y[i+3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return s0 + s1 + s2 + s3
}

// Axpy computes y += alpha·x over len(x) elements (y at least as long).
func Axpy(alpha float32, x, y []float32) {
	y = y[:len(x)]
	n := 0
	if hasAVX2 {
		n = len(x) &^ 7
		if n > 0 {
			axpyAVX2(alpha, &x[0], &y[0], n)
		}
	}
	axpyGo(alpha, x[n:], y[n:])
}

func axpyGo(alpha float32, x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] += alpha * v
	}
}

// AdamConsts are one Adam step's constants (see Adam).
type AdamConsts struct {
	B1, OneMinusB1, B2, OneMinusB2, LR, Eps, L2 float32
}

// Adam applies one Adam step to p, with gradient g + L2·p and moments m, v:
//
//	m = B1·m + (1-B1)·g;  v = B2·v + (1-B2)·g·g;  p -= LR·m / (√v + Eps)
//
// (bias corrections folded into LR and Eps by the caller). g, m and v are at
// least as long as p.
func Adam(p, g, m, v []float32, c *AdamConsts) {
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	n := 0
	if hasAVX2 {
		n = len(p) &^ 7
		if n > 0 {
			adamAVX2(&p[0], &g[0], &m[0], &v[0], n, c)
		}
	}
	adamGo(p[n:], g[n:], m[n:], v[n:], c)
}

func adamGo(p, g, m, v []float32, c *AdamConsts) {
	g, m, v = g[:len(p)], m[:len(p)], v[:len(p)]
	for i := range p {
		gi := g[i] + c.L2*p[i]
		m[i] = c.B1*m[i] + c.OneMinusB1*gi
		v[i] = c.B2*v[i] + c.OneMinusB2*gi*gi
		p[i] -= c.LR * m[i] / (float32(math.Sqrt(float64(v[i]))) + c.Eps)
	}
}

// Max returns the largest of init and the elements of x. NaNs are not
// ordered: a NaN in x may or may not be returned, so callers that care check
// the result with their own finiteness test.
func Max(init float32, x []float32) float32 {
	m := init
	n := 0
	if hasAVX2 {
		n = len(x) &^ 7
		if n > 0 {
			m = max(m, maxAVX2(&x[0], n))
		}
	}
	for _, v := range x[n:] {
		m = max(m, v)
	}
	return m
}

// DotBlock8 writes into dst the dot products of q with eight vectors of
// len(q) floats stored lane by lane in block (len(q)·8 floats: element j of
// vector l at block[j·8+l]), the layout that scores eight items per
// multiply-add with no horizontal sum: a scan over many short vectors
// (an index's items) at the speed of the arithmetic, not of a reduction
// per item. With FMA it sums in four accumulators (j mod 4), so its
// rounding differs from Dot's by a few ulps of Σ|q·v|.
func DotBlock8(dst *[8]float32, q, block []float32) {
	block = block[:8*len(q)]
	if hasFMA && len(q) > 0 {
		dotBlock8FMA(&q[0], &block[0], len(q), &dst[0])
		return
	}
	var acc [4][8]float32
	for j, x := range q {
		a := &acc[j%4]
		b := block[j*8 : j*8+8]
		for l := range a {
			a[l] += x * b[l]
		}
	}
	for l := range dst {
		dst[l] = (acc[0][l] + acc[1][l]) + (acc[2][l] + acc[3][l])
	}
}

// ReLU sets every negative element of x to 0 in place (max(0, x), as the
// comparison x < 0 decides it: -0 and NaN are kept). The AVX2 path is
// branch-free: on a layer's pre-activations, about half of them negative
// at random, the comparison's branch mispredicts half the time: 9% of a
// served request's time before this path.
func ReLU(x []float32) {
	n := 0
	if hasAVX2 {
		n = len(x) &^ 7
		if n > 0 {
			reluAVX2(&x[0], n)
		}
	}
	for i, v := range x[n:] {
		if v < 0 {
			x[n+i] = 0
		}
	}
}

// Scale computes x *= alpha.
func Scale(alpha float32, x []float32) {
	n := 0
	if hasAVX2 {
		n = len(x) &^ 7
		if n > 0 {
			scaleAVX2(alpha, &x[0], n)
		}
	}
	for i := range x[n:] {
		x[n+i] *= alpha
	}
}
