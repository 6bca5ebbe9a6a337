package feature

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/ytdnn/ytdnn/embedding"
	"github.com/ytdnn/ytdnn/internal/binfmt"
	"github.com/ytdnn/ytdnn/normalize"
)

// ErrFormat is wrapped by every error of an encoder or tables read from a
// malformed, truncated or corrupted model file (errors.Is), as opposed to
// an I/O error.
var ErrFormat = binfmt.ErrFormat

// Kind is how a feature enters the network.
type Kind uint8

const (
	// ID is a univalent categorical feature: one ID from an ID space,
	// embedded.
	ID Kind = iota + 1
	// Bag is a multivalent categorical feature: a list of IDs from an ID
	// space, embedded and averaged. Only the last MaxLen IDs are kept.
	Bag
	// Continuous is a real-valued feature, normalized by its CDF and fed as
	// x̃, x̃² and √x̃ (three inputs).
	Continuous
	// Value is a real value already in [0, 1] fed as is (gender, logged-in).
	Value
)

func (k Kind) String() string {
	switch k {
	case ID:
		return "id"
	case Bag:
		return "bag"
	case Continuous:
		return "continuous"
	case Value:
		return "value"
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Feature declares one input.
type Feature struct {
	Name string
	Kind Kind
	// Space names the ID space of an ID or Bag feature. Features naming the
	// same space share one embedding table but enter the network separately.
	Space string
	// MaxLen keeps the last MaxLen IDs of a Bag (0 keeps all).
	MaxLen int
}

// Space declares one ID space.
type Space struct {
	Name string
	// MaxVocab keeps the top MaxVocab IDs by count (0 keeps all).
	MaxVocab int
	// Dim is the embedding dimension; 0 means embedding.Dim(vocabulary size).
	Dim int
}

// Spec declares a model's inputs.
type Spec struct {
	Spaces   []Space
	Features []Feature
}

// Validate checks names, kinds and space references.
func (s *Spec) Validate() error {
	spaces := map[string]bool{}
	for _, sp := range s.Spaces {
		if sp.Name == "" || spaces[sp.Name] {
			return fmt.Errorf("feature: space name %q empty or repeated", sp.Name)
		}
		if sp.MaxVocab < 0 || sp.Dim < 0 || sp.Dim > 4096 {
			return fmt.Errorf("feature: space %q: invalid MaxVocab or Dim", sp.Name)
		}
		spaces[sp.Name] = true
	}
	names := map[string]bool{}
	for _, f := range s.Features {
		if f.Name == "" || names[f.Name] {
			return fmt.Errorf("feature: feature name %q empty or repeated", f.Name)
		}
		names[f.Name] = true
		switch f.Kind {
		case ID, Bag:
			if !spaces[f.Space] {
				return fmt.Errorf("feature: feature %q uses undeclared space %q", f.Name, f.Space)
			}
		case Continuous, Value:
		default:
			return fmt.Errorf("feature: feature %q has invalid kind %d", f.Name, f.Kind)
		}
		if f.MaxLen < 0 {
			return fmt.Errorf("feature: feature %q: negative MaxLen", f.Name)
		}
	}
	if len(s.Features) == 0 {
		return errors.New("feature: spec has no features")
	}
	return nil
}

// Index returns the position of the named feature, or -1.
func (s *Spec) Index(name string) int {
	for i, f := range s.Features {
		if f.Name == name {
			return i
		}
	}
	return -1
}

// SpaceIndex returns the position of the named space, or -1.
func (s *Spec) SpaceIndex(name string) int {
	for i, sp := range s.Spaces {
		if sp.Name == name {
			return i
		}
	}
	return -1
}

// Example holds one example's raw feature values, aligned with
// Spec.Features: IDs[i] for an ID (one element) or Bag feature i, Nums[i]
// for a Continuous or Value feature i. Entries of the other kind are ignored.
// An ID feature with no ID (empty IDs[i]) reads as OOV.
type Example struct {
	IDs  [][]int64
	Nums []float64
}

// New returns an Example sized for the spec.
func (s *Spec) New() Example {
	return Example{IDs: make([][]int64, len(s.Features)), Nums: make([]float64, len(s.Features))}
}

// Fitter fits an Encoder in one pass over the training examples: ID counts
// per space and CDF sketches per continuous feature. Not safe for concurrent
// use.
type Fitter struct {
	spec     Spec
	counters []*embedding.Counter
	sketches []*normalize.Sketch
	// set by Continue:
	prev       *Encoder
	prevWeight float64
}

// NewFitter validates the spec and returns an empty Fitter.
func NewFitter(spec Spec) (*Fitter, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	f := &Fitter{spec: spec}
	for range spec.Spaces {
		f.counters = append(f.counters, embedding.NewCounter())
	}
	for i, ft := range spec.Features {
		var sk *normalize.Sketch
		if ft.Kind == Continuous {
			sk = normalize.NewSketch(ft.Name, 0, rand.New(rand.NewPCG(uint64(i), 0x5eed)))
		}
		f.sketches = append(f.sketches, sk)
	}
	return f, nil
}

func (s *Spec) check(ex *Example) error {
	if len(ex.IDs) != len(s.Features) || len(ex.Nums) != len(s.Features) {
		return fmt.Errorf("feature: example has %d ID and %d numeric slots, spec has %d features", len(ex.IDs), len(ex.Nums), len(s.Features))
	}
	for i := range s.Features {
		if err := s.checkFeature(i, ex); err != nil {
			return err
		}
	}
	return nil
}

// checkFeature is check of feature i alone (ex has the spec's slots).
func (s *Spec) checkFeature(i int, ex *Example) error {
	f := &s.Features[i]
	switch f.Kind {
	case ID:
		if len(ex.IDs[i]) > 1 {
			return fmt.Errorf("feature %q: univalent feature has %d IDs", f.Name, len(ex.IDs[i]))
		}
	case Continuous, Value:
		x := ex.Nums[i]
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("feature %q: %w %v", f.Name, normalize.ErrNonFinite, x)
		}
		if f.Kind == Value && (x < 0 || x > 1) {
			return fmt.Errorf("feature %q: value %v outside [0, 1]", f.Name, x)
		}
	}
	return nil
}

// Observe feeds one example. countIDs says whether its IDs count toward the
// vocabularies (the ranking stage counts only clicked impressions);
// continuous values are always fitted.
func (f *Fitter) Observe(ex *Example, countIDs bool) error {
	if err := f.spec.check(ex); err != nil {
		return err
	}
	for i, ft := range f.spec.Features {
		switch ft.Kind {
		case ID, Bag:
			if countIDs {
				c := f.counters[f.spec.SpaceIndex(ft.Space)]
				for _, id := range lastN(ex.IDs[i], ft.MaxLen) {
					c.Add(id, 1)
				}
			}
		case Continuous:
			if err := f.sketches[i].Add(ex.Nums[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// CountID adds n observations of id to a space's vocabulary counts (for IDs
// that are not features, such as candidate generation's labels).
func (f *Fitter) CountID(space string, id int64, n int64) error {
	i := f.spec.SpaceIndex(space)
	if i < 0 {
		return fmt.Errorf("feature: unknown space %q", space)
	}
	f.counters[i].Add(id, n)
	return nil
}

// Continue makes the fitter continue from prev, the encoder of the model
// a warm-started run starts from:
//   - vocabularies: prev's counts multiplied by decay and rounded down are
//     added to the counts observed, and the top MaxVocab of the sums kept
//     (an ID whose decayed count reaches 0 and that the new examples do not
//     show again leaves; a new ID enters when its count ranks). Only the
//     IDs prev kept carry counts: one that fell below prev's MaxVocab
//     starts again from its new count, which favours the IDs already in
//     the vocabulary;
//   - normalizers: prev's CDF mixes with the new examples' sketch
//     (normalize.Mix), weighted decay·weight against the number of values
//     observed, weight being the examples prev's normalizers stood for;
//   - embedding dimensions: each space keeps prev's, whatever its new
//     vocabulary size (the tower's input width stays), and the encoder's
//     spec records them.
//
// prev's spec must be f's (Diff; an error names the difference); decay
// must lie in [0, 1] and weight be finite and non-negative. Call it once,
// before Encoder.
func (f *Fitter) Continue(prev *Encoder, decay, weight float64) error {
	if err := Diff(prev.Spec, f.spec); err != nil {
		return fmt.Errorf("feature: the previous model's spec differs: %w", err)
	}
	if !(decay >= 0 && decay <= 1) || !(weight >= 0) || math.IsInf(weight, 0) {
		return fmt.Errorf("feature: Continue: decay %v must lie in [0, 1] and weight %v be finite and non-negative", decay, weight)
	}
	if f.prev != nil {
		return errors.New("feature: Continue called twice")
	}
	f.prev, f.prevWeight = prev, decay*weight
	for i, v := range prev.Vocabs {
		for j, c := range v.Counts() {
			if n := int64(math.Floor(float64(c) * decay)); n > 0 {
				id, _ := v.ID(int32(j + 1))
				f.counters[i].Add(id, n)
			}
		}
	}
	return nil
}

// Encoder returns the fitted Encoder.
func (f *Fitter) Encoder() (*Encoder, error) {
	vocabs := make([]*embedding.Vocab, len(f.spec.Spaces))
	for i, sp := range f.spec.Spaces {
		vocabs[i] = f.counters[i].Vocab(sp.MaxVocab)
	}
	spec := f.spec
	if f.prev != nil {
		spec.Spaces = slices.Clone(spec.Spaces)
		for i := range spec.Spaces {
			spec.Spaces[i].Dim = f.prev.dims[i]
		}
	}
	cdfs := make([]*normalize.CDF, len(f.spec.Features))
	for i, sk := range f.sketches {
		if sk == nil {
			continue
		}
		if f.prev != nil && sk.Count() == 0 {
			cdfs[i] = f.prev.CDFs[i]
			continue
		}
		c, err := sk.CDF(0)
		if err == nil && f.prev != nil {
			c, err = normalize.Mix(f.prev.CDFs[i], f.prevWeight, c, float64(sk.Count()))
		}
		if err != nil {
			return nil, fmt.Errorf("feature: fitting %q: %w", f.spec.Features[i].Name, err)
		}
		cdfs[i] = c
	}
	return newEncoder(spec, vocabs, cdfs)
}

func lastN(ids []int64, n int) []int64 {
	if n > 0 && len(ids) > n {
		return ids[len(ids)-n:]
	}
	return ids
}

// Encoder turns raw examples into network input rows: IDs become vocabulary
// indices (OOV for unknown IDs), continuous values their normalized powers.
// An Encoder is immutable and safe for concurrent use.
type Encoder struct {
	Spec   Spec
	Vocabs []*embedding.Vocab // per space
	CDFs   []*normalize.CDF   // per feature; nil unless Continuous
	dims   []int              // per space
	space  []int              // per feature: space index or -1
	offset []int              // per feature: first input column
	width  int
	nums   int // floats in Encoded.Num
}

func newEncoder(spec Spec, vocabs []*embedding.Vocab, cdfs []*normalize.CDF) (*Encoder, error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	e := &Encoder{Spec: spec, Vocabs: vocabs, CDFs: cdfs}
	for i, sp := range spec.Spaces {
		d := sp.Dim
		if d == 0 {
			d = embedding.Dim(vocabs[i].Size())
		}
		e.dims = append(e.dims, d)
	}
	for i, f := range spec.Features {
		e.offset = append(e.offset, e.width)
		si := -1
		switch f.Kind {
		case ID, Bag:
			si = spec.SpaceIndex(f.Space)
			e.width += e.dims[si]
		case Continuous:
			if cdfs[i] == nil {
				return nil, fmt.Errorf("feature: continuous feature %q has no CDF", f.Name)
			}
			e.width += 3
			e.nums += 3
		case Value:
			e.width++
			e.nums++
		}
		e.space = append(e.space, si)
	}
	return e, nil
}

// Width is the number of network inputs one example fills.
func (e *Encoder) Width() int { return e.width }

// Dim returns the embedding dimension of space i.
func (e *Encoder) Dim(space int) int { return e.dims[space] }

// Encoded is an example with IDs mapped to indices and continuous values
// normalized, ready to assemble into input rows many times (every epoch).
type Encoded struct {
	Idx [][]int32 // per feature (ID, Bag)
	Num []float32 // per feature: Value → 1 float, Continuous → 3 (x̃, x̃², √x̃), packed in feature order
}

// Encode maps a raw example. Bad input (wrong slot counts, NaN/Inf, values
// out of range) is an error naming the feature. The result owns its memory
// (keep it across epochs); serving paths reuse one with EncodeTo.
func (e *Encoder) Encode(ex *Example) (Encoded, error) {
	var out Encoded
	err := e.EncodeTo(&out, ex)
	return out, err
}

// EncodeTo is Encode into dst, reusing dst's buffers: once they have grown
// to fit, it allocates nothing.
func (e *Encoder) EncodeTo(dst *Encoded, ex *Example) error {
	if err := e.Spec.check(ex); err != nil {
		return err
	}
	n := len(e.Spec.Features)
	if cap(dst.Idx) < n {
		dst.Idx = make([][]int32, n)
	}
	dst.Idx = dst.Idx[:n]
	dst.Num = dst.Num[:0]
	for i, f := range e.Spec.Features {
		switch f.Kind {
		case ID, Bag:
			ids := lastN(ex.IDs[i], f.MaxLen)
			idx := dst.Idx[i][:0]
			v := e.Vocabs[e.space[i]]
			for _, id := range ids {
				idx = append(idx, v.Index(id))
			}
			dst.Idx[i] = idx
		case Continuous:
			var p [3]float32
			if err := e.CDFs[i].Powers(p[:], ex.Nums[i]); err != nil {
				return err
			}
			dst.Num = append(dst.Num, p[:]...)
		case Value:
			dst.Num = append(dst.Num, float32(ex.Nums[i]))
		}
	}
	return nil
}

// Params are the embedding tables of an Encoder's spaces, with their sparse
// gradients and optimizers for training.
type Params struct {
	Tables []*embedding.Table
	Grads  []*embedding.Grad
	Opts   []embedding.Optimizer
}

// NewParams draws fresh tables (N(0, std²) rows, OOV zero) and attaches an
// optimizer per table made by newOpt (nil for inference only).
func (e *Encoder) NewParams(std float64, rng *rand.Rand, newOpt func() embedding.Optimizer) (*Params, error) {
	p := &Params{}
	for i, v := range e.Vocabs {
		t, err := embedding.NewTable(v.Size(), e.dims[i], std, rng)
		if err != nil {
			return nil, err
		}
		p.Tables = append(p.Tables, t)
	}
	if newOpt != nil {
		p.Train(newOpt)
	}
	return p, nil
}

// Train attaches a sparse gradient and a fresh optimizer from newOpt to
// every table, replacing any attached before.
func (p *Params) Train(newOpt func() embedding.Optimizer) {
	p.Detach()
	for _, t := range p.Tables {
		p.Grads = append(p.Grads, embedding.NewGrad(t.Rows, t.Dim))
		p.Opts = append(p.Opts, newOpt())
	}
}

// Detach drops the gradients and optimizers (and their state), leaving
// the tables for serving.
func (p *Params) Detach() { p.Grads, p.Opts = nil, nil }

// Assemble writes the input row of enc into dst (Width floats). A dst of
// another length, or an enc or p that does not fit the encoder, is an error.
func (e *Encoder) Assemble(dst []float32, enc *Encoded, p *Params) error {
	if len(dst) != e.width {
		return fmt.Errorf("feature: Assemble: dst holds %d floats, want Width %d", len(dst), e.width)
	}
	if len(enc.Idx) != len(e.Spec.Features) || len(enc.Num) != e.nums || p == nil || len(p.Tables) != len(e.Spec.Spaces) {
		return errors.New("feature: Assemble: encoded example or parameters do not fit the encoder")
	}
	k := 0
	for i, f := range e.Spec.Features {
		o := e.offset[i]
		switch f.Kind {
		case ID, Bag:
			t := p.Tables[e.space[i]]
			seg := dst[o : o+t.Dim]
			if f.Kind == ID && len(enc.Idx[i]) == 1 {
				id := enc.Idx[i][0]
				if id > 0 && int(id) < t.Rows {
					copy(seg, t.Row(id))
				} else {
					clear(seg)
				}
			} else {
				if err := t.LookupBag(seg, enc.Idx[i]); err != nil {
					return err
				}
			}
		case Continuous:
			copy(dst[o:o+3], enc.Num[k:k+3])
			k += 3
		case Value:
			dst[o] = enc.Num[k]
			k++
		}
	}
	return nil
}

// Backprop accumulates the gradient dx of one input row into the sparse
// gradients of the tables the row read. A dx of another length than Width,
// or an enc or p that does not fit the encoder, is an error.
func (e *Encoder) Backprop(dx []float32, enc *Encoded, p *Params) error {
	if len(dx) != e.width || len(enc.Idx) != len(e.Spec.Features) || p == nil || len(p.Grads) != len(e.Spec.Spaces) {
		return errors.New("feature: Backprop: gradient, encoded example or parameters do not fit the encoder")
	}
	for i, f := range e.Spec.Features {
		if f.Kind != ID && f.Kind != Bag {
			continue
		}
		g := p.Grads[e.space[i]]
		seg := dx[e.offset[i] : e.offset[i]+g.Dim]
		if err := g.AddBag(enc.Idx[i], seg); err != nil {
			return err
		}
	}
	return nil
}

// ResetGrads empties every table's gradient.
func (p *Params) ResetGrads() {
	for _, g := range p.Grads {
		g.Reset()
	}
}

// Apply runs every table's optimizer on its gradient.
func (p *Params) Apply() error {
	for i, t := range p.Tables {
		if err := p.Opts[i].Apply(t, p.Grads[i]); err != nil {
			return err
		}
	}
	return nil
}

// WriteTo writes the encoder (spec, vocabularies, normalizers) as a part of
// a model file: inside the container when w is the model's binfmt writer.
func (e *Encoder) WriteTo(w io.Writer) (int64, error) {
	bw := binfmt.PartWriter(w)
	n0 := bw.N()
	bw.U64(uint64(len(e.Spec.Spaces)))
	for _, sp := range e.Spec.Spaces {
		bw.String(sp.Name)
		bw.I64(int64(sp.MaxVocab))
		bw.I64(int64(sp.Dim))
	}
	bw.U64(uint64(len(e.Spec.Features)))
	for _, f := range e.Spec.Features {
		bw.String(f.Name)
		bw.U32(uint32(f.Kind))
		bw.String(f.Space)
		bw.I64(int64(f.MaxLen))
	}
	for _, v := range e.Vocabs {
		v.WriteTo(bw) // errors are sticky in bw
	}
	for i, f := range e.Spec.Features {
		if f.Kind == Continuous {
			e.CDFs[i].WriteTo(bw)
		}
	}
	return bw.N() - n0, bw.Err()
}

// ReadEncoder reads an encoder written by WriteTo, checking its spec. Its
// errors wrap ErrFormat.
func ReadEncoder(rd io.Reader) (*Encoder, error) {
	r := binfmt.PartReader(rd)
	var spec Spec
	n := r.Len(1<<12, "spaces")
	for i := 0; i < n && r.Err() == nil; i++ {
		spec.Spaces = append(spec.Spaces, Space{Name: r.String(1 << 10), MaxVocab: int(r.I64()), Dim: int(r.I64())})
	}
	n = r.Len(1<<14, "features")
	for i := 0; i < n && r.Err() == nil; i++ {
		spec.Features = append(spec.Features, Feature{Name: r.String(1 << 10), Kind: Kind(r.U32()), Space: r.String(1 << 10), MaxLen: int(r.I64())})
	}
	if err := r.Err(); err != nil {
		return nil, err
	}
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	vocabs := make([]*embedding.Vocab, len(spec.Spaces))
	for i := range vocabs {
		v, err := embedding.ReadVocab(r)
		if err != nil {
			return nil, err
		}
		vocabs[i] = v
	}
	cdfs := make([]*normalize.CDF, len(spec.Features))
	for i, f := range spec.Features {
		if f.Kind == Continuous {
			c, err := normalize.ReadCDF(r)
			if err != nil {
				return nil, err
			}
			cdfs[i] = c
		}
	}
	return newEncoder(spec, vocabs, cdfs)
}

// WriteTo writes the tables as a part of a model file.
func (p *Params) WriteTo(w io.Writer) (int64, error) {
	bw := binfmt.PartWriter(w)
	n0 := bw.N()
	for _, t := range p.Tables {
		t.WriteTo(bw) // errors are sticky in bw
	}
	return bw.N() - n0, bw.Err()
}

// ReadParams reads tables written by Params.WriteTo and checks their
// shapes against the encoder.
func (e *Encoder) ReadParams(rd io.Reader) (*Params, error) {
	r := binfmt.PartReader(rd)
	p := &Params{}
	for range e.Vocabs {
		t, err := embedding.ReadTable(r)
		if err != nil {
			return nil, err
		}
		p.Tables = append(p.Tables, t)
	}
	if err := e.CheckTables(p.Tables); err != nil {
		return nil, err
	}
	return p, nil
}

// CheckTables reports tables that do not fit the encoder: one per space,
// each vocabulary-size × the space's dimension. The error wraps
// ErrFormat and names the space.
func (e *Encoder) CheckTables(tables []*embedding.Table) error {
	if len(tables) != len(e.Vocabs) {
		return fmt.Errorf("%w: %d tables for %d spaces", ErrFormat, len(tables), len(e.Vocabs))
	}
	for i, v := range e.Vocabs {
		t := tables[i]
		if t == nil || t.Rows != v.Size() || t.Dim != e.dims[i] {
			return fmt.Errorf("%w: table of space %q does not have %d×%d floats", ErrFormat, e.Spec.Spaces[i].Name, v.Size(), e.dims[i])
		}
	}
	return nil
}
