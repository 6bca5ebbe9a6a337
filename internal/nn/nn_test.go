package nn

import (
	"fmt"
	"github.com/ytdnn/ytdnn/tower"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ytdnn/ytdnn/internal/optim"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// TestGorgoniaStarts guards the go.mod pin of go4.org/unsafe/assume-no-moving-gc:
// without it gorgonia panics at start-up on this Go version.
func TestGorgoniaStarts(t *testing.T) {
	g := G.NewGraph()
	a := G.NewScalar(g, G.Float64, G.WithName("a"))
	b := G.NewScalar(g, G.Float64, G.WithName("b"))
	c := G.Must(G.Add(a, b))
	vm := G.NewTapeMachine(g)
	defer vm.Close()
	require.NoError(t, G.Let(a, 2.0))
	require.NoError(t, G.Let(b, 2.5))
	require.NoError(t, vm.RunAll())
	assert.Equal(t, 4.5, c.Value().Data())
	_ = tensor.Float32
}

func lossAt(m *tower.MLP, loss Loss, x []float32, batch int) float64 {
	out := make([]float32, batch*m.Out())
	m.Forward(out, x, batch)
	return float64(loss.Loss(out, make([]float32, len(out))))
}

// fdCheck compares analytic gradients with central finite differences on
// a few coordinates of every parameter and of the input.
func fdCheck(t *testing.T, m *tower.MLP, gr *Graph, loss Loss, extra map[string][2][]float32) {
	t.Helper()
	_, err := gr.Step()
	require.NoError(t, err)
	type param struct {
		name string
		p, g []float32
	}
	ps := []param{{"x", gr.X, append([]float32(nil), gr.DX()...)}}
	for l := range m.W {
		ps = append(ps, param{"w", m.W[l], append([]float32(nil), gr.WGrad(l)...)}, param{"b", m.B[l], append([]float32(nil), gr.BGrad(l)...)})
	}
	for name, pg := range extra {
		ps = append(ps, param{name, pg[0], append([]float32(nil), pg[1]...)})
	}
	rng := rand.New(rand.NewPCG(5, 5))
	for _, p := range ps {
		require.Equal(t, len(p.p), len(p.g), p.name)
		for trial := 0; trial < 6; trial++ {
			i := rng.IntN(len(p.p))
			orig := p.p[i]
			const h = 1e-2
			p.p[i] = orig + h
			lp := lossAt(m, loss, gr.X, gr.Batch)
			p.p[i] = orig - h
			lm := lossAt(m, loss, gr.X, gr.Batch)
			p.p[i] = orig
			fd := (lp - lm) / (2 * h)
			assert.InDelta(t, fd, float64(p.g[i]), 2e-3+0.02*math.Abs(fd), "%s[%d]", p.name, i)
		}
	}
}

func randFill(rng *rand.Rand, v []float32, s float64) {
	for i := range v {
		v[i] = float32(rng.NormFloat64() * s)
	}
}

func TestGradientSampledSoftmax(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const batch, in, dim, k = 4, 5, 3, 6
	m, err := tower.New([]int{in, 7, dim}, true, rng)
	require.NoError(t, err)
	for l := range m.B {
		randFill(rng, m.B[l], 0.3) // keep ReLUs away from their kink
	}
	ss := NewSampledSoftmax(batch, dim, k)
	gr, err := NewGraph(m, batch, ss)
	require.NoError(t, err)
	randFill(rng, gr.X, 1)
	randFill(rng, ss.TrueW, 1)
	randFill(rng, ss.TrueB, 0.5)
	randFill(rng, ss.TrueLogQ, 0.5)
	randFill(rng, ss.NegW, 1)
	randFill(rng, ss.NegB, 0.5)
	randFill(rng, ss.NegLogQ, 0.5)
	for r := 0; r < batch; r++ {
		ss.RowWeight[r] = 1
	}
	ss.RowWeight[3] = 0 // padding row
	ss.Hits[1] = []int32{2}
	fdCheck(t, m, gr, ss, map[string][2][]float32{
		"trueW": {ss.TrueW, ss.DTrueW}, "trueB": {ss.TrueB, ss.DTrueB},
		"negW": {ss.NegW, ss.DNegW}, "negB": {ss.NegB, ss.DNegB},
	})
	// The padding row gets no gradient at all.
	for i := 0; i < in; i++ {
		assert.Equal(t, float32(0), gr.DX()[3*in+i])
	}
}

func TestGradientWeightedLogistic(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const batch, in = 6, 4
	m, err := tower.New([]int{in, 8, 5, 1}, false, rng)
	require.NoError(t, err)
	for l := range m.B {
		randFill(rng, m.B[l], 0.3)
	}
	wl := NewWeightedLogistic(batch)
	gr, err := NewGraph(m, batch, wl)
	require.NoError(t, err)
	randFill(rng, gr.X, 1)
	for r := 0; r < batch; r++ {
		wl.Label[r] = float32(r % 2)
		wl.Weight[r] = 1 + 3*wl.Label[r]
	}
	fdCheck(t, m, gr, wl, nil)
}

func TestGraphMatchesForwardAndTrains(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	const batch = 32
	m, err := tower.New([]int{2, 16, 1}, false, rng)
	require.NoError(t, err)
	wl := NewWeightedLogistic(batch)
	gr, err := NewGraph(m, batch, wl)
	require.NoError(t, err)
	opt := &optim.DenseAdam{LR: 0.05}
	var first, last float32
	for step := 0; step < 300; step++ {
		for r := 0; r < batch; r++ {
			a, b := rng.Float32()*2-1, rng.Float32()*2-1
			gr.X[2*r], gr.X[2*r+1] = a, b
			wl.Weight[r] = 1
			wl.Label[r] = 0
			if a*b > 0 { // XOR-like: needs the hidden layer
				wl.Label[r] = 1
			}
		}
		l, err := gr.Step()
		require.NoError(t, err)
		// The graph's loss equals the plain-Go forward pass's loss.
		assert.InDelta(t, lossAt(m, wl, gr.X, batch), float64(l), 1e-4)
		require.NoError(t, opt.Apply(gr.Params()))
		if step == 0 {
			first = l
		}
		last = l
	}
	assert.Less(t, last, first*0.6, "training must reduce the loss")
}

func TestAdagradTrains(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	m, err := tower.New([]int{2, 16, 1}, false, rng)
	require.NoError(t, err)
	wl := NewWeightedLogistic(32)
	gr, err := NewGraph(m, 32, wl)
	require.NoError(t, err)
	opt, err := optim.NewDense("adagrad", 0.1, 0)
	require.NoError(t, err)
	var first, last float32
	for step := 0; step < 300; step++ {
		for r := 0; r < 32; r++ {
			a, b := rng.Float32()*2-1, rng.Float32()*2-1
			gr.X[2*r], gr.X[2*r+1] = a, b
			wl.Weight[r], wl.Label[r] = 1, 0
			if a > b {
				wl.Label[r] = 1
			}
		}
		l, err := gr.Step()
		require.NoError(t, err)
		require.NoError(t, opt.Apply(gr.Params()))
		if step == 0 {
			first = l
		}
		last = l
	}
	assert.Less(t, last, first*0.6)
	_, err = optim.NewDense("sgdx", 1, 0)
	assert.Error(t, err)
}

func TestExpf(t *testing.T) {
	for x := float32(-90); x <= 0; x += 0.0137 {
		want := math.Exp(float64(x))
		got := float64(expf(x))
		if want < 1e-37 {
			assert.InDelta(t, 0, got, 1e-37)
			continue
		}
		assert.InEpsilon(t, want, got, 3e-7, "x=%g", x)
	}
	assert.Equal(t, float32(1), expf(0))
}

// naiveSampledSoftmax is the loss written from its definition in float64,
// independent of the implementation: for each row r with weight w_r > 0,
// -log softmax of its true logit t_r = u_r·TrueW_r + TrueB_r - TrueLogQ_r
// against the negatives' logits l_rj = u_r·NegW_j + NegB_j - NegLogQ_j
// (j not an accidental hit of r), averaged with weights w_r/Σw. It returns
// the loss and every gradient.
func naiveSampledSoftmax(s *SampledSoftmax, u []float32) (loss float64, dU, dTW, dTB, dNW, dNB []float64) {
	B, D, K := s.Batch, s.Dim, s.K
	dU, dTW, dTB = make([]float64, B*D), make([]float64, B*D), make([]float64, B)
	dNW, dNB = make([]float64, K*D), make([]float64, K)
	dot := func(a, b []float32) float64 {
		var v float64
		for i := range a {
			v += float64(a[i]) * float64(b[i])
		}
		return v
	}
	var wsum float64
	for _, w := range s.RowWeight {
		wsum += float64(w)
	}
	for r := 0; r < B; r++ {
		w := float64(s.RowWeight[r]) / wsum
		if w == 0 {
			continue
		}
		ur := u[r*D : (r+1)*D]
		t := dot(ur, s.TrueW[r*D:(r+1)*D]) + float64(s.TrueB[r]) - float64(s.TrueLogQ[r])
		hit := map[int]bool{}
		for _, j := range s.Hits[r] {
			hit[int(j)] = true
		}
		logits := make([]float64, K)
		z := math.Exp(t)
		for j := 0; j < K; j++ {
			if hit[j] {
				continue
			}
			logits[j] = dot(ur, s.NegW[j*D:(j+1)*D]) + float64(s.NegB[j]) - float64(s.NegLogQ[j])
			z += math.Exp(logits[j])
		}
		loss += w * (math.Log(z) - t)
		gt := w * (math.Exp(t)/z - 1)
		dTB[r] = gt
		for d := 0; d < D; d++ {
			dTW[r*D+d] = gt * float64(ur[d])
			dU[r*D+d] += gt * float64(s.TrueW[r*D+d])
		}
		for j := 0; j < K; j++ {
			if hit[j] {
				continue
			}
			g := w * math.Exp(logits[j]) / z
			dNB[j] += g
			for d := 0; d < D; d++ {
				dNW[j*D+d] += g * float64(ur[d])
				dU[r*D+d] += g * float64(s.NegW[j*D+d])
			}
		}
	}
	return loss, dU, dTW, dTB, dNW, dNB
}

// TestSampledSoftmaxMatchesNaive: the loss value and every gradient against
// the naive definition, with logQ on, a negative drawn twice (two identical
// columns), accidental hits, a padding row, on the one-goroutine path
// (small B·K) and the multi-goroutine path (large B·K).
func TestSampledSoftmaxMatchesNaive(t *testing.T) {
	for _, sh := range [][3]int{{6, 4, 7}, {256, 8, 300}} {
		B, D, K := sh[0], sh[1], sh[2]
		t.Run(fmt.Sprintf("B=%d,K=%d", B, K), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(B), 8))
			s := NewSampledSoftmax(B, D, K)
			for _, v := range [][]float32{s.TrueW, s.TrueB, s.TrueLogQ, s.NegW, s.NegB, s.NegLogQ} {
				randFill(rng, v, 1)
			}
			// Negative 2 is drawn twice: column 5 repeats it.
			copy(s.NegW[5*D:6*D], s.NegW[2*D:3*D])
			s.NegB[5], s.NegLogQ[5] = s.NegB[2], s.NegLogQ[2]
			for r := range s.RowWeight {
				s.RowWeight[r] = 1
			}
			s.RowWeight[B-1] = 0      // padding
			s.Hits[0] = []int32{2, 5} // row 0's label was drawn (twice)
			s.Hits[1] = []int32{int32(K - 1)}
			u := make([]float32, B*D)
			randFill(rng, u, 1)
			grad := make([]float32, B*D)
			loss := s.Loss(u, grad)
			wl, dU, dTW, dTB, dNW, dNB := naiveSampledSoftmax(s, u)
			assert.InEpsilon(t, wl, float64(loss), 1e-5)
			near := func(name string, want []float64, got []float32) {
				t.Helper()
				for i := range want {
					if math.Abs(want[i]-float64(got[i])) > 1e-5+1e-4*math.Abs(want[i]) {
						t.Fatalf("%s[%d]: got %g, want %g", name, i, got[i], want[i])
					}
				}
			}
			near("dU", dU, grad)
			near("dTrueW", dTW, s.DTrueW)
			near("dTrueB", dTB, s.DTrueB)
			near("dNegW", dNW, s.DNegW)
			near("dNegB", dNB, s.DNegB)
		})
	}
}

func TestExpSubVectorMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, n := range []int{0, 1, 15, 16, 17, 100, 1000} {
		row := make([]float32, n)
		for i := range row {
			row[i] = float32(rng.NormFloat64() * 30)
		}
		if n > 5 {
			row[3] = float32(math.Inf(-1))
			row[4] = -500
		}
		m := float32(math.Inf(-1))
		for _, v := range row {
			m = max(m, v)
		}
		a, b := append([]float32(nil), row...), append([]float32(nil), row...)
		za := expSub(a, m)
		zb := expSubGo(b, m)
		assert.InEpsilon(t, float64(zb)+1e-30, float64(za)+1e-30, 1e-5, "n=%d", n)
		for i := range a {
			assert.InDelta(t, b[i], a[i], 1e-6*float64(b[i])+1e-37, "n=%d i=%d", n, i)
		}
		if n > 5 {
			assert.Equal(t, float32(0), a[3], "-Inf gives exactly 0")
		}
	}
}

// TestGradientReLUOut: finite differences through a tower whose output layer
// has a ReLU too (the fused bias-and-ReLU op on every layer).
func TestGradientReLUOut(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 7))
	const batch, in = 5, 6
	m, err := tower.New([]int{in, 9, 7}, true, rng)
	require.NoError(t, err)
	for l := range m.B {
		randFill(rng, m.B[l], 0.3)
	}
	gr, err := NewGraph(m, batch, squareLoss{})
	require.NoError(t, err)
	randFill(rng, gr.X, 1)
	fdCheck(t, m, gr, squareLoss{}, nil)
	// Some outputs are clipped, so the ReLU's gradient mask is exercised.
	out := make([]float32, batch*m.Out())
	m.Forward(out, gr.X, batch)
	assert.Contains(t, out, float32(0))
}
