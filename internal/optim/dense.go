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
	// State returns a copy of the optimizer's state; SetState continues
	// from one (for parameters of the given sizes), for a warm start.
	State() DenseState
	SetState(st DenseState, sizes []int) error
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

// DenseState is a dense optimizer's state, saved at the end of a run so
// that a later run continues from it (warm start): Kind is "adam" or
// "adagrad", Step Adam's step count, Slots[k][i] the k-th state of
// parameter i (Adam: m then v; Adagrad: the accumulators). Slots is nil
// when the optimizer was never applied.
type DenseState struct {
	Kind  string
	Step  int64
	Slots [][][]float32
}

// State returns a copy of the optimizer's state.
func (a *DenseAdam) State() DenseState {
	st := DenseState{Kind: "adam", Step: int64(a.step)}
	if a.m != nil {
		st.Slots = [][][]float32{clone2(a.m), clone2(a.v)}
	}
	return st
}

// SetState continues from st (a copy is kept); it must be an Adam state
// for parameters of sizes (checked before anything is set).
func (a *DenseAdam) SetState(st DenseState, sizes []int) error {
	if err := st.check("adam", 2, sizes); err != nil {
		return err
	}
	a.step = int(st.Step)
	a.m, a.v = nil, nil
	if st.Slots != nil {
		a.m, a.v = clone2(st.Slots[0]), clone2(st.Slots[1])
	}
	return nil
}

// State returns a copy of the optimizer's state.
func (a *DenseAdagrad) State() DenseState {
	st := DenseState{Kind: "adagrad"}
	if a.acc != nil {
		st.Slots = [][][]float32{clone2(a.acc)}
	}
	return st
}

// SetState continues from st (a copy is kept); it must be an Adagrad state
// for parameters of sizes.
func (a *DenseAdagrad) SetState(st DenseState, sizes []int) error {
	if err := st.check("adagrad", 1, sizes); err != nil {
		return err
	}
	a.acc = nil
	if st.Slots != nil {
		a.acc = clone2(st.Slots[0])
	}
	return nil
}

// check reports a state of another kind, or whose slots do not fit
// parameters of the given sizes.
func (st *DenseState) check(kind string, slots int, sizes []int) error {
	if st.Kind != kind {
		return fmt.Errorf("state of a dense %s optimizer given to one of %s", st.Kind, kind)
	}
	if st.Slots == nil {
		return nil
	}
	if len(st.Slots) != slots {
		return fmt.Errorf("dense %s state has %d slots, want %d", kind, len(st.Slots), slots)
	}
	for _, s := range st.Slots {
		if len(s) != len(sizes) {
			return fmt.Errorf("dense %s state for %d parameters applied to %d", kind, len(s), len(sizes))
		}
		for i, p := range s {
			if len(p) != sizes[i] {
				return fmt.Errorf("dense %s state of parameter %d holds %d values, want %d", kind, i, len(p), sizes[i])
			}
		}
	}
	return nil
}

func clone2(v [][]float32) [][]float32 {
	out := make([][]float32, len(v))
	for i, x := range v {
		out[i] = append([]float32(nil), x...)
	}
	return out
}
