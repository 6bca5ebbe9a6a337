package optim

import "fmt"

// Params are a model's dense parameters as the dense optimizers see them:
// P[i] is updated in place from its gradient G[i]; Decay[i] says whether
// the L2 penalty applies to it (weights yes, biases no).
type Params struct {
	P, G  [][]float32
	Decay []bool
}

// Dense updates dense parameters from their gradients: the tower's
// optimizer. Not safe for concurrent use; one per model.
type Dense interface {
	Apply(ps Params) error
}

var (
	_ Dense = (*DenseAdam)(nil)
	_ Dense = (*DenseAdagrad)(nil)
)

// check verifies every gradient (present, finite) and the optimizer's
// per-parameter state, when it has any, before any update.
func (ps *Params) check(opt string, state [][]float32) error {
	if len(ps.G) != len(ps.P) || len(ps.Decay) != len(ps.P) {
		return fmt.Errorf("%s: %d parameters, %d gradients, %d decay flags", opt, len(ps.P), len(ps.G), len(ps.Decay))
	}
	if state != nil && len(state) != len(ps.P) {
		return fmt.Errorf("%s: state for %d parameters applied to %d", opt, len(state), len(ps.P))
	}
	for i := range ps.P {
		if len(ps.G[i]) != len(ps.P[i]) {
			return fmt.Errorf("%s: gradient %d has %d values for %d parameters", opt, i, len(ps.G[i]), len(ps.P[i]))
		}
		if state != nil && len(state[i]) != len(ps.P[i]) {
			return fmt.Errorf("%s: parameter %d changed size", opt, i)
		}
		if !Finite(ps.G[i]) {
			return fmt.Errorf("%s: non-finite gradient", opt)
		}
	}
	return nil
}

func (ps *Params) l2(i int, l2 float32) float32 {
	if ps.Decay[i] {
		return l2
	}
	return 0
}

// DenseAdam is Adam over dense parameters. Zero Beta1, Beta2, Eps mean
// DefaultAdamBeta1, DefaultAdamBeta2, DefaultAdamEps (0.9, 0.999, 1e-8). L2
// adds L2·p to the gradient of every parameter with Decay.
// Its moments are allocated on the first Apply.
type DenseAdam struct {
	LR, Beta1, Beta2, Eps, L2 float32
	m, v                      [][]float32
	step                      int
}

// Apply takes one step.
func (a *DenseAdam) Apply(ps Params) error {
	if err := ps.check("DenseAdam", a.m); err != nil {
		return err
	}
	if a.m == nil {
		for _, p := range ps.P {
			a.m, a.v = append(a.m, make([]float32, len(p))), append(a.v, make([]float32, len(p)))
		}
	}
	a.step++
	st := NewAdamStep(a.LR, a.Beta1, a.Beta2, a.Eps, a.step)
	for i, p := range ps.P {
		st.Update(p, ps.G[i], a.m[i], a.v[i], ps.l2(i, a.L2))
	}
	return nil
}

// DenseAdagrad is Adagrad over dense parameters: p -= LR·g/(√acc + Eps),
// acc starting at DefaultAdagradInit; zero Eps means DefaultAdagradEps. L2
// adds L2·p to the gradient of every parameter with Decay. Its
// accumulators are allocated on the first Apply.
type DenseAdagrad struct {
	LR, Eps, L2 float32
	acc         [][]float32
}

// Apply takes one step.
func (a *DenseAdagrad) Apply(ps Params) error {
	if err := ps.check("DenseAdagrad", a.acc); err != nil {
		return err
	}
	if a.acc == nil {
		for _, p := range ps.P {
			a.acc = append(a.acc, Accumulators(len(p), 0))
		}
	}
	eps := AdagradEps(a.Eps)
	for i, p := range ps.P {
		Adagrad(p, ps.G[i], a.acc[i], a.LR, eps, ps.l2(i, a.L2))
	}
	return nil
}

// NewDense returns the named dense optimizer, "adam" or "adagrad". An
// empty name is an unknown one: the caller's settings apply their default
// (train.DefaultOptimizer) before they get here.
func NewDense(name string, lr, l2 float32) (Dense, error) {
	switch name {
	case "adam":
		return &DenseAdam{LR: lr, L2: l2}, nil
	case "adagrad":
		return &DenseAdagrad{LR: lr, L2: l2}, nil
	}
	return nil, fmt.Errorf("unknown optimizer %q (want adam or adagrad)", name)
}
