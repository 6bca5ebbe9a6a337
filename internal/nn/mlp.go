// Package nn is the dense part of ytdnn's networks: a ReLU tower (MLP) built
// once as a gorgonia graph for training, a custom gorgonia op that evaluates
// a hand-written loss (sampled softmax, weighted logistic) inside the graph,
// a plain-Go forward pass for serving, and dense Adam.
//
// Embedding tables stay outside the graph: the caller writes gathered rows
// into the input matrix, runs a step, and reads the input's gradient back.
package nn

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"sync"
	"unsafe"

	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/ytdnn/ytdnn/internal/binfmt"
	"github.com/ytdnn/ytdnn/internal/linalg"
	"github.com/ytdnn/ytdnn/internal/optim"
)

// MLP holds the weights of a tower: Sizes[0] inputs, then one dense layer
// per following size. Every layer but the last is ReLU; the last is ReLU
// when ReLUOut is set and linear otherwise. W[l] is Sizes[l]×Sizes[l+1]
// row-major, B[l] has Sizes[l+1] entries.
//
// Forward is safe for concurrent use as long as nothing updates the weights.
type MLP struct {
	Sizes   []int
	ReLUOut bool
	W, B    [][]float32
	scratch sync.Pool
}

// NewMLP initializes an MLP with He-uniform weights and zero biases.
func NewMLP(sizes []int, reluOut bool, rng *rand.Rand) (*MLP, error) {
	if len(sizes) < 2 {
		return nil, errors.New("nn: an MLP needs an input and at least one layer")
	}
	for _, s := range sizes {
		if s < 1 {
			return nil, fmt.Errorf("nn: invalid layer sizes %v", sizes)
		}
	}
	if rng == nil {
		rng = rand.New(rand.NewPCG(1, 1))
	}
	m := &MLP{Sizes: append([]int(nil), sizes...), ReLUOut: reluOut}
	for l := 0; l+1 < len(sizes); l++ {
		in, out := sizes[l], sizes[l+1]
		w := make([]float32, in*out)
		lim := math.Sqrt(6 / float64(in))
		if l == len(sizes)-2 && !reluOut {
			lim = math.Sqrt(3 / float64(in))
		}
		for i := range w {
			w[i] = float32((rng.Float64()*2 - 1) * lim)
		}
		m.W = append(m.W, w)
		m.B = append(m.B, make([]float32, out))
	}
	return m, nil
}

// In returns the input width; Out the output width.
func (m *MLP) In() int  { return m.Sizes[0] }
func (m *MLP) Out() int { return m.Sizes[len(m.Sizes)-1] }

// NumParams returns the number of weights and biases.
func (m *MLP) NumParams() int {
	n := 0
	for l := range m.W {
		n += len(m.W[l]) + len(m.B[l])
	}
	return n
}

type fwdScratch struct{ a, b []float32 }

// Forward computes the outputs of batch rows of x (batch×In) into dst
// (batch×Out). It allocates nothing once warm.
func (m *MLP) Forward(dst, x []float32, batch int) {
	if len(x) != batch*m.In() || len(dst) != batch*m.Out() {
		panic("nn: Forward: bad buffer sizes")
	}
	s, _ := m.scratch.Get().(*fwdScratch)
	if s == nil {
		s = &fwdScratch{}
	}
	maxW := 0
	for _, sz := range m.Sizes[1:] {
		maxW = max(maxW, sz)
	}
	if cap(s.a) < batch*maxW {
		s.a = make([]float32, batch*maxW)
		s.b = make([]float32, batch*maxW)
	}
	in := x
	for l := range m.W {
		ni, no := m.Sizes[l], m.Sizes[l+1]
		out := s.a[:batch*no]
		if l == len(m.W)-1 {
			out = dst
		}
		for r := 0; r < batch; r++ {
			copy(out[r*no:(r+1)*no], m.B[l])
		}
		linalg.Gemm(false, false, batch, no, ni, 1, in, ni, m.W[l], no, 1, out, no)
		if l < len(m.W)-1 || m.ReLUOut {
			for i, v := range out {
				if v < 0 {
					out[i] = 0
				}
			}
		}
		in = out
		s.a, s.b = s.b, s.a
	}
	m.scratch.Put(s)
}

// Encode writes the MLP into an open container.
func (m *MLP) Encode(w *binfmt.Writer) {
	w.Ints(m.Sizes)
	w.Bool(m.ReLUOut)
	for l := range m.W {
		w.F32s(m.W[l])
		w.F32s(m.B[l])
	}
}

// DecodeMLP reads an MLP written by Encode.
func DecodeMLP(r *binfmt.Reader) (*MLP, error) {
	m := &MLP{Sizes: r.Ints(64), ReLUOut: r.Bool()}
	if err := r.Err(); err != nil {
		return nil, err
	}
	if len(m.Sizes) < 2 {
		return nil, fmt.Errorf("%w: MLP with %d sizes", binfmt.ErrFormat, len(m.Sizes))
	}
	for l := 0; l+1 < len(m.Sizes); l++ {
		if m.Sizes[l] < 1 || m.Sizes[l] > 1<<20 || m.Sizes[l+1] < 1 || m.Sizes[l+1] > 1<<20 {
			return nil, fmt.Errorf("%w: MLP sizes %v", binfmt.ErrFormat, m.Sizes)
		}
		w := r.F32s(m.Sizes[l] * m.Sizes[l+1])
		b := r.F32s(m.Sizes[l+1])
		if r.Err() == nil && (len(w) != m.Sizes[l]*m.Sizes[l+1] || len(b) != m.Sizes[l+1]) {
			return nil, fmt.Errorf("%w: MLP layer %d has wrong size", binfmt.ErrFormat, l)
		}
		m.W, m.B = append(m.W, w), append(m.B, b)
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	for l := range m.W {
		if !optim.Finite(m.W[l]) || !optim.Finite(m.B[l]) {
			return nil, fmt.Errorf("%w: MLP holds non-finite weights", binfmt.ErrFormat)
		}
	}
	return m, nil
}

// Graph is the training graph of an MLP at a fixed batch size, built once.
// The caller fills X, calls Step, and reads DX (the gradient with respect to
// X) and the weight gradients, which Step hands to the optimizer. The graph
// reads and updates the MLP's weight slices in place. A Graph is not safe for
// concurrent use.
type Graph struct {
	mlp   *MLP
	Batch int
	// X is the batch×In input, bound to the graph's input node.
	X []float32

	g      *G.ExprGraph
	x      *G.Node
	ws, bs G.Nodes
	cost   *G.Node
	op     *lossOp
	vm     G.VM
	wrt    G.Nodes
	mode   int
	ran    bool
}

// NewGraph builds the training graph for batch rows and the given loss.
func NewGraph(m *MLP, batch int, loss Loss) (gr *Graph, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("nn: building graph: %v", r)
		}
	}()
	if batch < 1 {
		return nil, fmt.Errorf("nn: batch %d", batch)
	}
	gr = &Graph{mlp: m, Batch: batch, g: G.NewGraph()}
	gr.X = make([]float32, batch*m.In())
	xt := tensor.New(tensor.WithShape(batch, m.In()), tensor.WithBacking(gr.X))
	gr.x = G.NewMatrix(gr.g, G.Float32, G.WithShape(batch, m.In()), G.WithName("x"), G.WithValue(xt))
	h := gr.x
	for l := range m.W {
		ni, no := m.Sizes[l], m.Sizes[l+1]
		wt := tensor.New(tensor.WithShape(ni, no), tensor.WithBacking(m.W[l]))
		bt := tensor.New(tensor.WithShape(no), tensor.WithBacking(m.B[l]))
		w := G.NewMatrix(gr.g, G.Float32, G.WithShape(ni, no), G.WithName(fmt.Sprintf("w%d", l)), G.WithValue(wt))
		b := G.NewVector(gr.g, G.Float32, G.WithShape(no), G.WithName(fmt.Sprintf("b%d", l)), G.WithValue(bt))
		gr.ws, gr.bs = append(gr.ws, w), append(gr.bs, b)
		if h, err = G.Mul(h, w); err != nil {
			return nil, err
		}
		relu := l < len(m.W)-1 || m.ReLUOut
		if h, err = G.ApplyOp(newBiasAct(relu), h, b); err != nil {
			return nil, err
		}
	}
	id := fmt.Sprintf("%p", loss)
	gr.op = &lossOp{opBase: opBase{"ytdnnLoss" + id}, loss: loss, id: id}
	if gr.cost, err = G.ApplyOp(gr.op, h); err != nil {
		return nil, err
	}
	wrt := append(append(G.Nodes{gr.x}, gr.ws...), gr.bs...)
	gr.wrt = wrt
	if _, err = G.Grad(gr.cost, wrt...); err != nil {
		return nil, err
	}
	gr.vm = G.NewTapeMachine(gr.g, G.BindDualValues(wrt...))
	return gr, nil
}

// Step runs the forward and backward pass on X and returns the loss. After
// it, DX, WGrad and BGrad hold the gradients until the next Step.
//
// gorgonia's tape machine Reset drops every register, so each run would
// allocate all op outputs anew (4.6 MB a step for the candgen tower). Step
// instead rewinds the machine's program counter and lets the ops write into
// the registers of the previous run. It proves that safe for this graph on
// its second Step: the rewound run is repeated after a full Reset on the same
// inputs and both must agree bit for bit, or the Graph keeps using Reset.
func (gr *Graph) Step() (loss float32, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("nn: graph step: %v", r)
		}
	}()
	switch gr.mode {
	case modeFirst:
		gr.mode = modeProbe
		return gr.run(false)
	case modeProbe:
		if loss, err = gr.run(true); err != nil || gr.mode == modeReset {
			gr.mode = modeReset
			return gr.run(false)
		}
		grads := make([][]float32, len(gr.wrt))
		for i, n := range gr.wrt {
			grads[i] = append([]float32(nil), gradOf(n)...)
		}
		ref, err := gr.run(false)
		if err != nil {
			return 0, err
		}
		gr.mode = modeRewind
		if math.Float32bits(ref) != math.Float32bits(loss) {
			gr.mode = modeReset
		}
		for i, n := range gr.wrt {
			if !sameBits(grads[i], gradOf(n)) {
				gr.mode = modeReset
			}
		}
		return ref, nil
	default:
		return gr.run(gr.mode == modeRewind)
	}
}

// Rewinds reports whether Step reuses the tape machine's registers (see
// Step); it is known from the second Step on.
func (gr *Graph) Rewinds() bool { return gr.mode == modeRewind }

const (
	modeFirst = iota
	modeProbe
	modeRewind
	modeReset
)

func (gr *Graph) run(rewindVM bool) (float32, error) {
	if !rewindVM || !rewind(gr.vm) {
		if rewindVM {
			gr.mode = modeReset
		}
		gr.vm.Reset()
	}
	// gorgonia accumulates into the bound gradients (its solvers zero them
	// after each update): zero them so every Step reports its own batch.
	if gr.ran {
		for _, n := range gr.wrt {
			clear(gradOf(n))
		}
	}
	gr.ran = true
	if err := gr.vm.RunAll(); err != nil {
		return 0, fmt.Errorf("nn: graph step: %w", err)
	}
	switch v := gr.cost.Value().(type) {
	case *G.F32:
		return float32(*v), nil
	default:
		return v.Data().(float32), nil
	}
}

// rewind sets the program counter of gorgonia's tape machine back to zero
// and keeps its registers. The machine has no exported way to do that, so it
// reaches the unexported field; it reports false, and the caller resets the
// machine instead, when the field is not there.
func rewind(vm G.VM) bool {
	v := reflect.ValueOf(vm)
	if v.Kind() != reflect.Pointer || v.Elem().Kind() != reflect.Struct {
		return false
	}
	f := v.Elem().FieldByName("pc")
	if !f.IsValid() || f.Kind() != reflect.Int || !f.CanAddr() {
		return false
	}
	*(*int)(unsafe.Pointer(f.UnsafeAddr())) = 0
	return true
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func gradOf(n *G.Node) []float32 {
	v, err := n.Grad()
	if err != nil {
		return nil
	}
	return v.Data().([]float32)
}

// DX returns dLoss/dX (batch×In) from the last Step.
func (gr *Graph) DX() []float32 { return gradOf(gr.x) }

// WGrad returns dLoss/dW[l] from the last Step.
func (gr *Graph) WGrad(l int) []float32 { return gradOf(gr.ws[l]) }

// BGrad returns dLoss/dB[l] from the last Step.
func (gr *Graph) BGrad(l int) []float32 { return gradOf(gr.bs[l]) }

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
// acc starting at 0.1. Zero Eps means 1e-8. Not safe for concurrent use.
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
				acc := make([]float32, len(p))
				for i := range acc {
					acc[i] = 0.1
				}
				a.acc = append(a.acc, acc)
			}
		}
	}
	eps := a.Eps
	if eps == 0 {
		eps = 1e-8
	}
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
