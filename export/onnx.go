package export

import (
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/embedding"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/normalize"
	"github.com/ytdnn/ytdnn/ranking"
	"github.com/ytdnn/ytdnn/tower"
)

// The opsets an exported model imports: the default domain at 13 and
// ai.onnx.ml at 2 (LabelEncoder, which maps raw IDs to embedding rows).
const (
	ONNXOpset   = 13
	ONNXMLOpset = 2
	onnxIR      = 8
)

// ONNXInput documents one input of an exported model.
type ONNXInput struct {
	Name string `json:"name"`
	// DType is "int64", "float32" or "float64"; Shape names its dims
	// ("batch", a bag's "<name>_len", or a size).
	DType string   `json:"dtype"`
	Shape []string `json:"shape"`
	Doc   string   `json:"doc"`
}

// ONNXSignature documents an exported model's inputs and outputs.
type ONNXSignature struct {
	Inputs  []ONNXInput `json:"inputs"`
	Outputs []ONNXInput `json:"outputs"`
}

// ErrONNXFeature is wrapped by the error of a model whose features ONNX
// cannot express as this package writes them; the error names the feature.
var ErrONNXFeature = errors.New("export: ONNX cannot express the feature")

// UserTowerONNX writes candidate generation's user tower as an ONNX model
// (paper §3: u from the user features, example age fixed at 0 as at
// serving) whose output "user_vector" is [u, 1] (batch × D+1, float32):
// its inner product with an exported item [v_j, b_j] is the softmax logit
// v_j·u + b_j. Inputs, one or two per feature of the model's spec, in
// order (ONNXSignature lists them):
//
//   - a bag (watch history, search tokens): NAME int64 [batch, NAME_len]
//     of raw IDs, the last MaxLen of them, padded on the right with any ID,
//     and NAME_mask float32 [batch, NAME_len], 1 for a real ID, 0 for
//     padding; the embedding is the mean over the real IDs (an ID outside
//     the vocabulary counts with a zero row; no real ID gives zeros);
//   - an ID (a demographic, a device): NAME int64 [batch, 1]; an absent
//     value is any ID outside the vocabulary (events.NullID);
//   - a continuous feature: NAME float64 [batch, 1], the raw value: the
//     model applies the CDF normalization (x̃, x̃², √x̃) itself;
//   - a value in [0, 1]: NAME float32 [batch, 1], as it is.
//
// Example age contributes its value at 0, folded into the first layer's
// bias. Raw IDs map to rows through ai.onnx.ml's LabelEncoder (opset 2).
// Models whose spaces hold text IDs (a log's ids.dict) are refused with an
// error naming the feature, wrapping ErrONNXFeature, and nothing written.
func UserTowerONNX(w io.Writer, m *candgen.Model, textSpaces map[string]bool) (ONNXSignature, error) {
	enc := m.Encoder()
	age := -1
	if n := len(enc.Spec.Features); n > 0 && enc.Spec.Features[n-1].Name == candgen.ExampleAgeFeature {
		age = n - 1
	}
	b := &onnxBuilder{}
	x, width, err := b.encoder(enc, m.Tables(), age, textSpaces)
	if err != nil {
		return ONNXSignature{}, err
	}
	// Example age at serving is 0: its three inputs are constants, folded
	// into the first layer's bias.
	mlp := m.Tower()
	var ageIn []float32
	ageAt := 0
	if age >= 0 {
		p := make([]float32, 3)
		if err := enc.CDFs[age].Powers(p, 0); err != nil {
			return ONNXSignature{}, err
		}
		ageIn, ageAt = p, width // the encoder puts the last feature's inputs last
	}
	u := b.tower(x, mlp, ageIn, ageAt)
	out := b.node("Pad", []string{u, b.constInt64("pads", []int64{0, 0, 0, 1}, 4), b.constFloat("one", []float32{1})}, nil)
	b.output("user_vector", onnxFloat, []string{"batch", fmt.Sprint(mlp.Out() + 1)}, out, "[u, 1]: u the user vector (the tower's output), 1 the coefficient of the items' bias b_j")
	return b.write(w, "ytdnn_user_tower", "ytdnn candidate generation: the user tower (paper §3), example age 0")
}

// RankerONNX writes the ranker as an ONNX model (paper §4): its outputs
// are "logit" (batch × 1, float32) and "expected_watch_time" = exp(logit),
// the expected watch time of the impression in seconds. Its inputs are the
// ranking spec's features, as UserTowerONNX describes them; textSpaces and
// errors as there.
func RankerONNX(w io.Writer, m *ranking.Model, textSpaces map[string]bool) (ONNXSignature, error) {
	b := &onnxBuilder{}
	x, _, err := b.encoder(m.Encoder(), m.Tables(), -1, textSpaces)
	if err != nil {
		return ONNXSignature{}, err
	}
	logit := b.tower(x, m.Tower(), nil, 0)
	b.output("logit", onnxFloat, []string{"batch", "1"}, logit, "the weighted logistic regression's logit")
	b.output("expected_watch_time", onnxFloat, []string{"batch", "1"}, b.node("Exp", []string{logit}, nil), "exp(logit): the expected watch time, seconds")
	return b.write(w, "ytdnn_ranker", "ytdnn ranking: weighted logistic regression (paper §4)")
}

// onnxBuilder accumulates a graph.
type onnxBuilder struct {
	g   onnxGraph
	sig ONNXSignature
	n   int
}

func (b *onnxBuilder) name(prefix string) string {
	b.n++
	return fmt.Sprintf("%s_%d", prefix, b.n)
}

// node adds a node of the default domain (domain "ai.onnx.ml" for an op
// spelled "ml.Op") and returns its output.
func (b *onnxBuilder) node(op string, in []string, attrs []*onnxAttr) string {
	out := b.name(op)
	n := &onnxNode{op: op, in: in, out: []string{out}, name: out, attrs: attrs}
	if len(op) > 3 && op[:3] == "ml." {
		n.op, n.domain = op[3:], "ai.onnx.ml"
	}
	b.g.nodes = append(b.g.nodes, n)
	return out
}

func (b *onnxBuilder) init(t *onnxTensor) string {
	t.name = b.name(t.name)
	b.g.initializer = append(b.g.initializer, t)
	return t.name
}

// constFloat, constDouble and constInt64 add a constant of shape dims (none:
// a scalar).
func (b *onnxBuilder) constFloat(name string, v []float32, dims ...int64) string {
	return b.init(floatTensor(name, v, dims))
}

func (b *onnxBuilder) constDouble(name string, v []float64, dims ...int64) string {
	return b.init(doubleTensor(name, v, dims))
}

func (b *onnxBuilder) constInt64(name string, v []int64, dims ...int64) string {
	return b.init(int64Tensor(name, v, dims))
}

var dtypeName = map[int32]string{onnxInt64: "int64", onnxFloat: "float32", onnxDouble: "float64"}

func (b *onnxBuilder) input(name string, t int32, shape []string, doc string) string {
	b.g.inputs = append(b.g.inputs, &onnxValue{name: name, elem: t, shape: shape, doc: doc})
	b.sig.Inputs = append(b.sig.Inputs, ONNXInput{Name: name, DType: dtypeName[t], Shape: shape, Doc: doc})
	return name
}

func (b *onnxBuilder) output(name string, t int32, shape []string, from, doc string) {
	b.g.nodes = append(b.g.nodes, &onnxNode{op: "Identity", in: []string{from}, out: []string{name}, name: b.name("out")})
	b.g.outputs = append(b.g.outputs, &onnxValue{name: name, elem: t, shape: shape, doc: doc})
	b.sig.Outputs = append(b.sig.Outputs, ONNXInput{Name: name, DType: dtypeName[t], Shape: shape, Doc: doc})
}

func attrInt(name string, v int64) *onnxAttr { return &onnxAttr{name: name, typ: attrTypeInt, i: v} }

func attrInts(name string, v []int64) *onnxAttr {
	return &onnxAttr{name: name, typ: attrTypeInts, ints: v}
}

// write serializes the model; nothing is written on an error before it.
func (b *onnxBuilder) write(w io.Writer, name, doc string) (ONNXSignature, error) {
	b.g.name, b.g.doc = name, doc
	raw := marshalModel(&b.g, onnxIR, map[string]int64{"": ONNXOpset, "ai.onnx.ml": ONNXMLOpset}, doc)
	if _, err := w.Write(raw); err != nil {
		return ONNXSignature{}, err
	}
	return b.sig, nil
}

// encoder adds the inputs of enc's features (all but skip, -1 for none)
// and the nodes that turn them into the tower's input row, as
// feature.Encoder.Assemble does; it returns the row (batch × width,
// float32) and its width.
func (b *onnxBuilder) encoder(enc *feature.Encoder, tables []*embedding.Table, skip int, text map[string]bool) (string, int, error) {
	for i, f := range enc.Spec.Features {
		if i == skip || (f.Kind != feature.ID && f.Kind != feature.Bag) {
			continue
		}
		if text[f.Space] {
			return "", 0, fmt.Errorf("%w %q: its space %q has text IDs (ids.dict); the exported model takes int64 IDs", ErrONNXFeature, f.Name, f.Space)
		}
	}
	var parts []string
	width := 0
	rows := map[int]string{} // space → its rows' lookup (LabelEncoder keys and values, table)
	for i, f := range enc.Spec.Features {
		if i == skip {
			continue
		}
		switch f.Kind {
		case feature.ID, feature.Bag:
			s := enc.Spec.SpaceIndex(f.Space)
			t := tables[s]
			table, ok := rows[s]
			if !ok {
				table = b.constFloat("table_"+f.Space, t.Data, int64(t.Rows), int64(t.Dim))
				rows[s] = table
			}
			v := enc.Vocabs[s]
			keys := make([]int64, 0, v.Size()-1)
			vals := make([]int64, 0, v.Size()-1)
			for r := int32(1); r < int32(v.Size()); r++ {
				id, _ := v.ID(r)
				keys, vals = append(keys, id), append(vals, int64(r))
			}
			if len(keys) == 0 { // an empty vocabulary: LabelEncoder needs a key, and every ID reads row 0 anyway
				keys, vals = []int64{math.MinInt64}, []int64{0}
			}
			lenDim := "1"
			doc := fmt.Sprintf("raw %s IDs (int64); an ID outside the vocabulary reads a zero row", f.Space)
			if f.Kind == feature.Bag {
				lenDim = f.Name + "_len"
				doc = fmt.Sprintf("raw %s IDs, the last %d (0: all), padded on the right; see %s_mask", f.Space, f.MaxLen, f.Name)
			}
			raw := b.input(f.Name, onnxInt64, []string{"batch", lenDim}, doc)
			idx := b.node("ml.LabelEncoder", []string{raw}, []*onnxAttr{
				attrInts("keys_int64s", keys), attrInts("values_int64s", vals), attrInt("default_int64", 0),
			})
			emb := b.node("Gather", []string{table, idx}, []*onnxAttr{attrInt("axis", 0)}) // batch × len × dim
			if f.Kind == feature.ID {
				parts = append(parts, b.node("Squeeze", []string{emb, b.constInt64("axis1", []int64{1}, 1)}, nil))
			} else {
				mask := b.input(f.Name+"_mask", onnxFloat, []string{"batch", lenDim}, "1 for a real ID, 0 for padding")
				m3 := b.node("Unsqueeze", []string{mask, b.constInt64("axis2", []int64{2}, 1)}, nil)
				sum := b.node("ReduceSum", []string{b.node("Mul", []string{emb, m3}, nil), b.constInt64("axis1", []int64{1}, 1)}, []*onnxAttr{attrInt("keepdims", 0)})
				n := b.node("ReduceSum", []string{mask, b.constInt64("axis1", []int64{1}, 1)}, []*onnxAttr{attrInt("keepdims", 1)})
				n = b.node("Max", []string{n, b.constFloat("one", []float32{1})}, nil)
				parts = append(parts, b.node("Div", []string{sum, n}, nil))
			}
			width += t.Dim
		case feature.Continuous:
			x := b.input(f.Name, onnxDouble, []string{"batch", "1"}, "the raw value; the model normalizes it (CDF by quantile interpolation, then x̃, x̃², √x̃)")
			parts = append(parts, b.cdf(x, enc.CDFs[i]))
			width += 3
		case feature.Value:
			parts = append(parts, b.input(f.Name, onnxFloat, []string{"batch", "1"}, "a value in [0, 1], as it is"))
			width++
		}
	}
	if len(parts) == 1 {
		return parts[0], width, nil
	}
	return b.node("Concat", parts, []*onnxAttr{attrInt("axis", 1)}), width, nil
}

// cdf adds the normalization of x (batch × 1, float64) by c: x̃ as
// normalize.CDF.Transform computes it, in float64 — the sum over the
// quantile intervals of clip((x - q_j)/(q_{j+1} - q_j), 0, 1), an interval
// of equal quantiles adding (sign(x - q_j) + 1)/2 (the middle of a tie),
// over the number of intervals — then (x̃, x̃², √x̃) as float32 (where
// Transform's "just below 1" above the range is 1, as in the Go model's
// float32 inputs).
func (b *onnxBuilder) cdf(x string, c *normalize.CDF) string {
	q := c.Q
	k := len(q) - 1
	var lo, inv, ties []float64
	for j := 0; j < k; j++ {
		if q[j+1] > q[j] {
			lo, inv = append(lo, q[j]), append(inv, 1/(q[j+1]-q[j]))
		} else {
			ties = append(ties, q[j])
		}
	}
	if k == 0 { // one quantile: x̃ is 0, ½ or just below 1
		ties, k = []float64{q[0]}, 1
	}
	axis1 := b.constInt64("axis1", []int64{1}, 1)
	var sums []string
	if len(lo) > 0 {
		d := b.node("Mul", []string{b.node("Sub", []string{x, b.constDouble("q_lo", lo, 1, int64(len(lo)))}, nil), b.constDouble("q_inv", inv, 1, int64(len(inv)))}, nil)
		d = b.node("Clip", []string{d, b.constDouble("zero", []float64{0}), b.constDouble("one", []float64{1})}, nil)
		sums = append(sums, b.node("ReduceSum", []string{d, axis1}, []*onnxAttr{attrInt("keepdims", 1)}))
	}
	if len(ties) > 0 {
		s := b.node("Sign", []string{b.node("Sub", []string{x, b.constDouble("q_tie", ties, 1, int64(len(ties)))}, nil)}, nil)
		s = b.node("Mul", []string{b.node("Add", []string{s, b.constDouble("one", []float64{1})}, nil), b.constDouble("half", []float64{0.5})}, nil)
		sums = append(sums, b.node("ReduceSum", []string{s, axis1}, []*onnxAttr{attrInt("keepdims", 1)}))
	}
	t := sums[0]
	if len(sums) == 2 {
		t = b.node("Add", sums, nil)
	}
	t = b.node("Div", []string{t, b.constDouble("k", []float64{float64(k)})}, nil)
	t2 := b.node("Mul", []string{t, t}, nil)
	st := b.node("Sqrt", []string{t}, nil)
	p := b.node("Concat", []string{t, t2, st}, []*onnxAttr{attrInt("axis", 1)})
	return b.node("Cast", []string{p}, []*onnxAttr{attrInt("to", onnxFloat)})
}

// tower adds the MLP over x. fixed, when set, are constant inputs at
// column at of the first layer (example age at serving), folded into its
// bias: x holds the other columns.
func (b *onnxBuilder) tower(x string, mlp *tower.MLP, fixed []float32, at int) string {
	h := x
	for l := range mlp.W {
		in, out := mlp.Sizes[l], mlp.Sizes[l+1]
		w, bias := mlp.W[l], append([]float32(nil), mlp.B[l]...)
		if l == 0 && fixed != nil {
			kept := make([]float32, 0, (in-len(fixed))*out)
			for r := 0; r < in; r++ {
				if r >= at && r < at+len(fixed) {
					for c := 0; c < out; c++ {
						bias[c] += fixed[r-at] * w[r*out+c]
					}
					continue
				}
				kept = append(kept, w[r*out:(r+1)*out]...)
			}
			w, in = kept, in-len(fixed)
		}
		h = b.node("MatMul", []string{h, b.constFloat("W", w, int64(in), int64(out))}, nil)
		h = b.node("Add", []string{h, b.constFloat("B", bias, int64(out))}, nil)
		if l < len(mlp.W)-1 || mlp.ReLUOut {
			h = b.node("Relu", []string{h}, nil)
		}
	}
	return h
}
