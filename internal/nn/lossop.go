package nn

import (
	"fmt"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"
)

// Loss computes a scalar loss of the tower's output and its gradient. It is
// evaluated inside the gorgonia graph by a custom op, so the graph's backward
// pass continues from grad into the tower.
type Loss interface {
	// Loss reads out (batch×outDim, row-major), writes dLoss/dout into grad
	// (same shape) and returns the loss.
	Loss(out, grad []float32) float32
}

// lossOp is a gorgonia Op: matrix → scalar, evaluated by a Loss.
type lossOp struct {
	opBase
	loss Loss
	grad []float32
	id   string
}

func (op *lossOp) Arity() int { return 1 }
func (op *lossOp) Type() hm.Type {
	return hm.NewFnType(G.TensorType{Dims: 2, Of: G.Float32}, G.Float32)
}
func (op *lossOp) InferShape(...G.DimSizer) (tensor.Shape, error) { return tensor.ScalarShape(), nil }
func (op *lossOp) Do(vals ...G.Value) (v G.Value, err error) {
	defer catch(op.name, &err)
	out, ok := vals[0].Data().([]float32)
	if !ok {
		return nil, fmt.Errorf("nn: loss input is %T, want []float32", vals[0].Data())
	}
	if len(op.grad) != len(out) {
		op.grad = make([]float32, len(out))
	}
	return G.NewF32(op.loss.Loss(out, op.grad)), nil
}
func (op *lossOp) DiffWRT(int) []bool { return []bool{true} }
func (op *lossOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	// output (the loss node) is an input of the gradient op although its
	// value is not read: the edge orders the gradient op after the op whose
	// Do fills op.grad.
	d, err := G.ApplyOp(&lossGradOp{opBase: opBase{"ytdnnLossGrad" + op.id}, op: op}, inputs[0], output, grad)
	if err != nil {
		return nil, err
	}
	return G.Nodes{d}, nil
}

// lossGradOp returns the gradient the lossOp computed in its forward pass,
// scaled by the upstream scalar gradient. Its inputs are the loss op's input
// (for the shape), the loss op's output (for the ordering) and the upstream
// gradient.
type lossGradOp struct {
	opBase
	op  *lossOp
	out *tensor.Dense
}

func (g *lossGradOp) Arity() int { return 3 }
func (g *lossGradOp) Type() hm.Type {
	m := G.TensorType{Dims: 2, Of: G.Float32}
	return hm.NewFnType(m, G.Float32, G.Float32, m)
}
func (g *lossGradOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	return ds[0].(tensor.Shape).Clone(), nil
}
func (g *lossGradOp) Do(vals ...G.Value) (v G.Value, err error) {
	defer catch(g.name, &err)
	in := vals[0].(tensor.Tensor)
	up := float32(1)
	switch s := vals[2].(type) {
	case *G.F32:
		up = float32(*s)
	default:
		if f, ok := s.Data().(float32); ok {
			up = f
		}
	}
	if g.out == nil || !g.out.Shape().Eq(in.Shape()) {
		g.out = tensor.New(tensor.WithShape(in.Shape().Clone()...), tensor.Of(tensor.Float32))
	}
	d := g.out.Data().([]float32)
	for i, v := range g.op.grad {
		d[i] = up * v
	}
	return g.out, nil
}
