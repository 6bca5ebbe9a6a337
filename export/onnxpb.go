package export

import (
	"encoding/binary"
	"math"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
)

// The few ONNX protobuf messages an exported model needs, encoded with
// protowire (the protobuf module's wire-format encoder) by the field
// numbers of onnx.proto (ONNX IR version 8). Only what the exporter writes
// is here; nothing reads them back but the runtimes.

// ONNX tensor element types (TensorProto.DataType).
const (
	onnxFloat  = 1
	onnxInt64  = 7
	onnxDouble = 11
)

// ONNX attribute types (AttributeProto.AttributeType).
const (
	attrTypeInt  = 2
	attrTypeInts = 7
)

type onnxTensor struct {
	name     string
	dataType int32
	dims     []int64
	raw      []byte // little-endian values
}

func floatTensor(name string, v []float32, dims []int64) *onnxTensor {
	raw := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
	}
	return &onnxTensor{name: name, dataType: onnxFloat, dims: dims, raw: raw}
}

func doubleTensor(name string, v []float64, dims []int64) *onnxTensor {
	raw := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(raw[8*i:], math.Float64bits(x))
	}
	return &onnxTensor{name: name, dataType: onnxDouble, dims: dims, raw: raw}
}

func int64Tensor(name string, v []int64, dims []int64) *onnxTensor {
	raw := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(x))
	}
	return &onnxTensor{name: name, dataType: onnxInt64, dims: dims, raw: raw}
}

func (t *onnxTensor) marshal() []byte {
	var b []byte
	for _, d := range t.dims {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
	}
	b = appendVarint(b, 2, uint64(t.dataType))
	b = appendString(b, 8, t.name)
	b = protowire.AppendTag(b, 9, protowire.BytesType)
	return protowire.AppendBytes(b, t.raw)
}

type onnxAttr struct {
	name string
	typ  int
	i    int64
	ints []int64
}

func (a *onnxAttr) marshal() []byte {
	b := appendString(nil, 1, a.name)
	switch a.typ {
	case attrTypeInt:
		b = appendVarint(b, 3, uint64(a.i))
	case attrTypeInts:
		for _, v := range a.ints {
			b = appendVarint(b, 8, uint64(v))
		}
	}
	return appendVarint(b, 20, uint64(a.typ))
}

type onnxNode struct {
	op, domain, name string
	in, out          []string
	attrs            []*onnxAttr
}

func (n *onnxNode) marshal() []byte {
	var b []byte
	for _, s := range n.in {
		b = appendString(b, 1, s)
	}
	for _, s := range n.out {
		b = appendString(b, 2, s)
	}
	b = appendString(b, 3, n.name)
	b = appendString(b, 4, n.op)
	for _, a := range n.attrs {
		b = appendMessage(b, 5, a.marshal())
	}
	if n.domain != "" {
		b = appendString(b, 7, n.domain)
	}
	return b
}

// onnxValue is a graph input or output: a tensor of an element type and
// a shape whose dims are sizes or names.
type onnxValue struct {
	name, doc string
	elem      int32
	shape     []string
}

func (v *onnxValue) marshal() []byte {
	var shape []byte
	for _, s := range v.shape {
		var dim []byte
		if n, err := strconv.ParseUint(s, 10, 63); err == nil {
			dim = appendVarint(nil, 1, n)
		} else {
			dim = appendString(nil, 2, s)
		}
		shape = appendMessage(shape, 1, dim)
	}
	tensor := appendVarint(nil, 1, uint64(v.elem))
	tensor = appendMessage(tensor, 2, shape)
	typ := appendMessage(nil, 1, tensor)
	b := appendString(nil, 1, v.name)
	b = appendMessage(b, 2, typ)
	return appendString(b, 3, v.doc)
}

type onnxGraph struct {
	name, doc   string
	nodes       []*onnxNode
	initializer []*onnxTensor
	inputs      []*onnxValue
	outputs     []*onnxValue
}

func (g *onnxGraph) marshal() []byte {
	var b []byte
	for _, n := range g.nodes {
		b = appendMessage(b, 1, n.marshal())
	}
	b = appendString(b, 2, g.name)
	for _, t := range g.initializer {
		b = appendMessage(b, 5, t.marshal())
	}
	b = appendString(b, 10, g.doc)
	for _, v := range g.inputs {
		b = appendMessage(b, 11, v.marshal())
	}
	for _, v := range g.outputs {
		b = appendMessage(b, 12, v.marshal())
	}
	return b
}

// marshalModel encodes a ModelProto: IR version, the opsets imported
// (domain → version), producer, doc and graph.
func marshalModel(g *onnxGraph, irVersion int64, opsets map[string]int64, doc string) []byte {
	b := appendVarint(nil, 1, uint64(irVersion))
	b = appendString(b, 2, "ytdnn")
	b = appendString(b, 6, doc)
	b = appendMessage(b, 7, g.marshal())
	for _, d := range []string{"", "ai.onnx.ml"} {
		if v, ok := opsets[d]; ok {
			op := appendString(nil, 1, d)
			op = appendVarint(op, 2, uint64(v))
			b = appendMessage(b, 8, op)
		}
	}
	return b
}

func appendVarint(b []byte, field protowire.Number, v uint64) []byte {
	b = protowire.AppendTag(b, field, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func appendString(b []byte, field protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMessage(b []byte, field protowire.Number, m []byte) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendBytes(b, m)
}
