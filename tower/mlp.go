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

type fwdScratch struct{ a, b []float32 }

// Forward computes the outputs of batch rows of x (batch×In) into dst
// (batch×Out). It allocates nothing once warm.
func (m *MLP) Forward(dst, x []float32, batch int) {
	if len(x) != batch*m.In() || len(dst) != batch*m.Out() {
		panic("tower: Forward: bad buffer sizes")
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
