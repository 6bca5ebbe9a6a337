package nn

import (
	"fmt"
	"github.com/ytdnn/ytdnn/tower"
	"math"
	"reflect"
	"unsafe"

	"github.com/ytdnn/ytdnn/internal/optim"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Graph is the training graph of an MLP at a fixed batch size, built once.
// The caller fills X, calls Step, and reads DX (the gradient with respect to
// X) and the weight gradients, which Step hands to the optimizer. The graph
// reads and updates the MLP's weight slices in place. A Graph is not safe for
// concurrent use.
type Graph struct {
	mlp   *tower.MLP
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
	params optim.Params
}

// NewGraph builds the training graph for batch rows and the given loss.
func NewGraph(m *tower.MLP, batch int, loss Loss) (gr *Graph, err error) {
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
