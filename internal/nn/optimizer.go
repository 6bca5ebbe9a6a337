package nn

import (
	"fmt"

	"github.com/ytdnn/ytdnn/internal/optim"
)

// Adam is dense Adam over an MLP's weights. Zero Beta1, Beta2, Eps mean 0.9,
// 0.999, 1e-8. Not safe for concurrent use.
type Adam struct {
	LR, Beta1, Beta2, Eps float32
	// L2 adds L2·w to every weight gradient (not to biases).
	L2   float32
	m, v [][]float32
	step int
}

// Apply takes one step on the MLP's weights with the graph's gradients.
func (a *Adam) Apply(m *MLP, gr *Graph) error {
	if a.m == nil {
		for l := range m.W {
			a.m = append(a.m, make([]float32, len(m.W[l])), make([]float32, len(m.B[l])))
			a.v = append(a.v, make([]float32, len(m.W[l])), make([]float32, len(m.B[l])))
		}
	}
	a.step++
	st := optim.NewAdamStep(a.LR, a.Beta1, a.Beta2, a.Eps, a.step)
	return eachParam(m, gr, "Adam", a.L2, func(i int, p, g []float32, l2 float32) {
		st.Update(p, g, a.m[i], a.v[i], l2)
	})
}

// eachParam checks every weight and bias gradient of the graph (present,
// finite) and calls update on the i-th parameter slice (W[0], B[0], W[1],
// …) with its gradient and L2 factor (l2 for weights, 0 for biases); it
// stops at the first bad gradient, before updating that parameter.
func eachParam(m *MLP, gr *Graph, opt string, l2 float32, update func(i int, p, g []float32, l2 float32)) error {
	for l := range m.W {
		for k, pair := range [2][2][]float32{{m.W[l], gr.WGrad(l)}, {m.B[l], gr.BGrad(l)}} {
			p, g := pair[0], pair[1]
			if len(g) != len(p) {
				return fmt.Errorf("nn: %s: gradient of layer %d missing", opt, l)
			}
			if !optim.Finite(g) {
				return fmt.Errorf("nn: %s: non-finite gradient", opt)
			}
			if k == 1 {
				update(2*l+k, p, g, 0)
			} else {
				update(2*l+k, p, g, l2)
			}
		}
	}
	return nil
}

// Optimizer updates an MLP's weights from a Graph's gradients.
type Optimizer interface {
	Apply(m *MLP, gr *Graph) error
}

var (
	_ Optimizer = (*Adam)(nil)
	_ Optimizer = (*Adagrad)(nil)
)

// Adagrad is dense Adagrad over an MLP's weights: w -= LR·g/(√acc + Eps),
// acc starting at optim.DefaultAdagradInit (0.1). Zero Eps means
// optim.DefaultAdagradEps (1e-8). Not safe for concurrent use.
type Adagrad struct {
	LR, Eps float32
	// L2 adds L2·w to every weight gradient (not to biases).
	L2  float32
	acc [][]float32
}

// Apply takes one step on the MLP's weights with the graph's gradients.
func (a *Adagrad) Apply(m *MLP, gr *Graph) error {
	if a.acc == nil {
		for l := range m.W {
			for _, p := range [][]float32{m.W[l], m.B[l]} {
				a.acc = append(a.acc, optim.Accumulators(len(p), 0))
			}
		}
	}
	eps := optim.AdagradEps(a.Eps)
	return eachParam(m, gr, "Adagrad", a.L2, func(i int, p, g []float32, l2 float32) {
		optim.Adagrad(p, g, a.acc[i], a.LR, eps, l2)
	})
}

// NewOptimizer returns the named dense optimizer ("adam", the default when
// name is empty, or "adagrad").
func NewOptimizer(name string, lr, l2 float32) (Optimizer, error) {
	switch name {
	case "", "adam":
		return &Adam{LR: lr, L2: l2}, nil
	case "adagrad":
		return &Adagrad{LR: lr, L2: l2}, nil
	}
	return nil, fmt.Errorf("nn: unknown optimizer %q (want adam or adagrad)", name)
}
