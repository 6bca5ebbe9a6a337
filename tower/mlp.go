package tower

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sync"

	"github.com/ytdnn/ytdnn/internal/binfmt"
	"github.com/ytdnn/ytdnn/internal/linalg"
	"github.com/ytdnn/ytdnn/internal/optim"
	"github.com/ytdnn/ytdnn/internal/vec"
)

// ErrFormat is wrapped by every error of a part read from a malformed,
// truncated or corrupted model file (errors.Is), as opposed to an I/O
// error.
var ErrFormat = binfmt.ErrFormat

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

// New initializes an MLP with He-uniform weights and zero biases.
func New(sizes []int, reluOut bool, rng *rand.Rand) (*MLP, error) {
	if len(sizes) < 2 {
		return nil, errors.New("tower: an MLP needs an input and at least one layer")
	}
	for _, s := range sizes {
		if s < 1 {
			return nil, fmt.Errorf("tower: invalid layer sizes %v", sizes)
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

type fwdScratch struct{ a, b, h []float32 }

// Forward computes the outputs of batch rows of x (batch×In) into dst
// (batch×Out). It allocates nothing once warm.
func (m *MLP) Forward(dst, x []float32, batch int) {
	if len(x) != batch*m.In() || len(dst) != batch*m.Out() {
		panic("tower: Forward: bad buffer sizes")
	}
	s := m.getScratch(batch)
	m.forwardFrom(0, dst, x, batch, s, false)
	m.scratch.Put(s)
}

// getScratch returns pooled buffers for a batch's hidden layers.
func (m *MLP) getScratch(batch int) *fwdScratch {
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
	return s
}

// forwardFrom runs layers first.. on in (batch×Sizes[first]) into dst,
// the products on the calling goroutine when serial.
func (m *MLP) forwardFrom(first int, dst, in []float32, batch int, s *fwdScratch, serial bool) {
	for l := first; l < len(m.W); l++ {
		ni, no := m.Sizes[l], m.Sizes[l+1]
		out := s.a[:batch*no]
		if l == len(m.W)-1 {
			out = dst
		}
		for r := 0; r < batch; r++ {
			copy(out[r*no:(r+1)*no], m.B[l])
		}
		gemm(serial, batch, no, ni, in, ni, m.W[l], out)
		m.activate(l, out)
		in = out
		s.a, s.b = s.b, s.a
	}
}

// activate applies layer l's activation to out in place.
func (m *MLP) activate(l int, out []float32) {
	if l < len(m.W)-1 || m.ReLUOut {
		vec.ReLU(out)
	}
}

// runsWidth checks runs against the input and returns their total length.
func (m *MLP) runsWidth(runs []Run) int {
	k, next := 0, 0
	for _, r := range runs {
		if r.Start < next || r.Len < 1 || r.Start+r.Len > m.Sizes[0] {
			panic("tower: runs not ascending, disjoint and inside the input")
		}
		k += r.Len
		next = r.Start + r.Len
	}
	return k
}

// addRuns adds to out (batch × Sizes[1]) each run's columns of x (batch ×
// k, the runs one after the other) times the run's rows of W[0].
func (m *MLP) addRuns(out, x []float32, runs []Run, k, batch int, serial bool) {
	no := m.Sizes[1]
	off := 0
	for _, r := range runs {
		gemm(serial, batch, no, r.Len, x[off:], k, m.W[0][r.Start*no:], out)
		off += r.Len
	}
}

// FirstProduct writes into dst (batch × Sizes[1]) the first layer's
// product over the input columns in runs alone, without the bias: x holds
// each row's columns of the runs, one run after the other (batch × their
// total length). It is what ForwardShared takes as pre, computed ahead:
// the product over an item's own features, once per item of a catalogue
// (ranking.ItemPart). runs must be ascending, disjoint and inside the
// input, else it panics.
func (m *MLP) FirstProduct(dst, x []float32, runs []Run, batch int) {
	k := m.runsWidth(runs)
	if len(x) != batch*k || len(dst) != batch*m.Sizes[1] {
		panic("tower: FirstProduct: bad buffer sizes")
	}
	clear(dst)
	m.addRuns(dst, x, runs, k, batch, false)
}

// gemm is out += x·w for a batch of rows (x: batch×k with row stride lda,
// w: k×n, out: batch×n): on the calling goroutine when serial (a served
// slate: a server's concurrency comes from its requests, one per core),
// else split across GOMAXPROCS goroutines when large.
func gemm(serial bool, batch, n, k int, x []float32, lda int, w, out []float32) {
	if serial {
		linalg.GemmSerial(false, false, batch, n, k, 1, x, lda, w, n, 1, out, n)
		return
	}
	linalg.Gemm(false, false, batch, n, k, 1, x, lda, w, n, 1, out, n)
}

// Run is a range of input columns, [Start, Start+Len).
type Run struct{ Start, Len int }

// ForwardShared is Forward for a batch whose rows agree on every input
// column outside runs (a slate of candidates for one user: the user's
// features are the same in every row). shared is one full input row (In
// floats) whose columns outside runs hold the shared values (the columns
// in runs are not read); x holds each row's own columns, the runs' columns
// one after the other (batch × the runs' total length). The first layer's
// product over the shared columns is computed once for the batch, not once
// per row; the result equals Forward's on the full rows up to the order of
// floating-point summation (a relative difference around 1e-7). pre, if
// not nil, holds one slice of Sizes[1] floats per row, added to the row's
// first-layer product: the part of columns computed elsewhere (an item's
// own features, precomputed per item by the caller, its row passed in
// place; their columns in shared are then 0). Its products run on the
// calling goroutine (Forward's large ones use every core): a slate is a
// served request's, and a server's concurrency comes from its requests.
// runs must be ascending, disjoint and inside [0, In), else it panics, as
// Forward does on bad sizes.
func (m *MLP) ForwardShared(dst, shared, x []float32, runs []Run, batch int, pre [][]float32) {
	ni, no := m.Sizes[0], m.Sizes[1]
	k := m.runsWidth(runs)
	if len(shared) != ni || len(x) != batch*k || len(dst) != batch*m.Out() || pre != nil && len(pre) != batch {
		panic("tower: ForwardShared: bad buffer sizes")
	}
	s := m.getScratch(batch)
	if cap(s.h) < no {
		s.h = make([]float32, no)
	}
	// h = b + the shared columns' part of x·W, once.
	h := s.h[:no]
	copy(h, m.B[0])
	w := m.W[0]
	c := 0
	for j := 0; j <= len(runs); j++ {
		end := ni
		if j < len(runs) {
			end = runs[j].Start
		}
		for ; c < end; c++ {
			if v := shared[c]; v != 0 {
				vec.Axpy(v, w[c*no:(c+1)*no], h)
			}
		}
		if j < len(runs) {
			c = runs[j].Start + runs[j].Len
		}
	}
	out := s.a[:batch*no]
	if len(m.W) == 1 {
		out = dst
	}
	for r := 0; r < batch; r++ {
		row := out[r*no : (r+1)*no]
		copy(row, h)
		if pre != nil {
			vec.Axpy(1, pre[r][:no], row)
		}
	}
	m.addRuns(out, x, runs, k, batch, true)
	m.activate(0, out)
	if len(m.W) > 1 {
		s.a, s.b = s.b, s.a
		m.forwardFrom(1, dst, out, batch, s, true)
	}
	m.scratch.Put(s)
}

// WriteTo writes the MLP as a part of a model file: its sizes, whether the
// last layer is ReLU, then each layer's weights and biases (little-endian
// float32): inside the container when w is the model's binfmt writer.
func (m *MLP) WriteTo(w io.Writer) (int64, error) {
	bw := binfmt.PartWriter(w)
	n0 := bw.N()
	bw.Ints(m.Sizes)
	bw.Bool(m.ReLUOut)
	for l := range m.W {
		bw.F32s(m.W[l])
		bw.F32s(m.B[l])
	}
	return bw.N() - n0, bw.Err()
}

// ReadMLP reads an MLP written by WriteTo, checking its sizes and that its
// weights are finite. Its errors wrap ErrFormat.
func ReadMLP(rd io.Reader) (*MLP, error) {
	r := binfmt.PartReader(rd)
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
