package nn

import (
	"fmt"
	"hash"
	"hash/fnv"

	"github.com/chewxy/hm"
	G "gorgonia.org/gorgonia"
	"gorgonia.org/tensor"

	"github.com/ytdnn/ytdnn/internal/par"
)

// The tower's layers add a bias and apply a ReLU. Written with gorgonia's
// own ops that is a Reshape, a Repeat of the bias into a full matrix, an
// add, a comparison with zero and a product by the 0/1 mask forward, and
// two products and a column sum backward: seven serial passes over every
// activation. biasActOp does it in one parallel pass forward and
// biasActGradOp plus colSumOp in two backward; each op owns its output
// buffer, so a rewound tape machine allocates nothing for them.

// matType and vecType are the float32 matrix and vector types of the ops.
var (
	matType = G.TensorType{Dims: 2, Of: G.Float32}
	vecType = G.TensorType{Dims: 1, Of: G.Float32}
)

// elemGrain is the least number of elements worth a goroutine.
const elemGrain = 1 << 14

// ownedMatrix returns buf, (re)allocated to shape s when it does not have it.
func ownedMatrix(buf *tensor.Dense, s tensor.Shape) *tensor.Dense {
	if buf == nil || !buf.Shape().Eq(s) {
		return tensor.New(tensor.WithShape(s.Clone()...), tensor.Of(tensor.Float32))
	}
	return buf
}

func f32s(v G.Value) ([]float32, error) {
	d, ok := v.Data().([]float32)
	if !ok {
		return nil, fmt.Errorf("nn: value holds %T, want []float32", v.Data())
	}
	return d, nil
}

// opBase holds the Op methods shared by every op of this package: a name
// unique to the op instance (gorgonia merges nodes whose ops hash alike),
// no pointer results, no extern calls, no in-place writes.
type opBase struct{ name string }

func (o opBase) ReturnsPtr() bool      { return false }
func (o opBase) CallsExtern() bool     { return false }
func (o opBase) OverwritesInput() int  { return -1 }
func (o opBase) WriteHash(h hash.Hash) { fmt.Fprint(h, o.name) }
func (o opBase) String() string        { return o.name }
func (o opBase) Hashcode() uint32 {
	h := fnv.New32a()
	o.WriteHash(h)
	return h.Sum32()
}

// catch turns a panic inside an op's Do into the op's error. gorgonia runs
// the ops on a goroutine of its own, where no recover of ours (Graph.Step's
// included) would see the panic and the process would die; as an error it
// reaches Step's caller.
func catch(name string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("nn: op %s: panic: %v", name, r)
	}
}

// biasActOp is act(h + b) for a batch×n matrix h and an n-vector b, act being
// ReLU or the identity.
type biasActOp struct {
	opBase
	relu bool
	out  *tensor.Dense
}

func newBiasAct(relu bool) *biasActOp {
	op := &biasActOp{relu: relu}
	name := "ytdnnBias"
	if relu {
		name = "ytdnnBiasReLU"
	}
	op.name = fmt.Sprintf("%s%p", name, op)
	return op
}

func (op *biasActOp) Arity() int    { return 2 }
func (op *biasActOp) Type() hm.Type { return hm.NewFnType(matType, vecType, matType) }
func (op *biasActOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	return ds[0].(tensor.Shape).Clone(), nil
}
func (op *biasActOp) Do(vals ...G.Value) (v G.Value, err error) {
	defer catch(op.name, &err)
	h, err := f32s(vals[0])
	if err != nil {
		return nil, err
	}
	b, err := f32s(vals[1])
	if err != nil {
		return nil, err
	}
	s := vals[0].Shape()
	if len(s) != 2 || s[1] != len(b) {
		return nil, fmt.Errorf("nn: bias of %d for a %v matrix", len(b), s)
	}
	op.out = ownedMatrix(op.out, s)
	out := op.out.Data().([]float32)
	n := len(b)
	par.For(s[0], max(1, elemGrain/n), func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			hr, or := h[r*n:(r+1)*n], out[r*n:(r+1)*n]
			if op.relu {
				for j, v := range hr {
					or[j] = max(v+b[j], 0)
				}
			} else {
				for j, v := range hr {
					or[j] = v + b[j]
				}
			}
		}
	})
	return op.out, nil
}
func (op *biasActOp) DiffWRT(int) []bool { return []bool{true, true} }

// SymDiff: d(h) = grad ⊙ [out > 0] (grad itself without the ReLU) and
// d(b) = the column sums of d(h).
func (op *biasActOp) SymDiff(inputs G.Nodes, output, grad *G.Node) (G.Nodes, error) {
	dh := grad
	if op.relu {
		var err error
		if dh, err = G.ApplyOp(&reluGradOp{opBase: opBase{op.name + "/ReLUGrad"}}, output, grad); err != nil {
			return nil, err
		}
	}
	db, err := G.ApplyOp(&colSumOp{opBase: opBase{op.name + "/ColSum"}}, dh)
	if err != nil {
		return nil, err
	}
	return G.Nodes{dh, db}, nil
}

// reluGradOp is grad ⊙ [out > 0] for the output out of a ReLU.
type reluGradOp struct {
	opBase
	out *tensor.Dense
}

func (op *reluGradOp) Arity() int    { return 2 }
func (op *reluGradOp) Type() hm.Type { return hm.NewFnType(matType, matType, matType) }
func (op *reluGradOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	return ds[0].(tensor.Shape).Clone(), nil
}
func (op *reluGradOp) Do(vals ...G.Value) (v G.Value, err error) {
	defer catch(op.name, &err)
	y, err := f32s(vals[0])
	if err != nil {
		return nil, err
	}
	g, err := f32s(vals[1])
	if err != nil {
		return nil, err
	}
	if len(y) != len(g) {
		return nil, fmt.Errorf("nn: ReLU gradient of %d values for %d outputs", len(g), len(y))
	}
	op.out = ownedMatrix(op.out, vals[0].Shape())
	d := op.out.Data().([]float32)
	par.For(len(y), elemGrain, func(_, lo, hi int) {
		yy, gg, dd := y[lo:hi], g[lo:hi], d[lo:hi]
		for i, v := range yy {
			if v > 0 {
				dd[i] = gg[i]
			} else {
				dd[i] = 0
			}
		}
	})
	return op.out, nil
}

// colSumOp sums a batch×n matrix over its rows into an n-vector.
type colSumOp struct {
	opBase
	out *tensor.Dense
}

func (op *colSumOp) Arity() int    { return 1 }
func (op *colSumOp) Type() hm.Type { return hm.NewFnType(matType, vecType) }
func (op *colSumOp) InferShape(ds ...G.DimSizer) (tensor.Shape, error) {
	s := ds[0].(tensor.Shape)
	if len(s) != 2 {
		return nil, fmt.Errorf("nn: column sum of a %v tensor", s)
	}
	return tensor.Shape{s[1]}, nil
}
func (op *colSumOp) Do(vals ...G.Value) (v G.Value, err error) {
	defer catch(op.name, &err)
	x, err := f32s(vals[0])
	if err != nil {
		return nil, err
	}
	s := vals[0].Shape()
	if len(s) != 2 {
		return nil, fmt.Errorf("nn: column sum of a %v tensor", s)
	}
	rows, n := s[0], s[1]
	op.out = ownedMatrix(op.out, tensor.Shape{n})
	d := op.out.Data().([]float32)
	// Split the columns: each worker owns its output slots.
	par.For(n, max(1, elemGrain/max(rows, 1)), func(_, lo, hi int) {
		dd := d[lo:hi]
		clear(dd)
		for r := 0; r < rows; r++ {
			xr := x[r*n+lo : r*n+hi]
			for j, v := range xr {
				dd[j] += v
			}
		}
	})
	return op.out, nil
}
