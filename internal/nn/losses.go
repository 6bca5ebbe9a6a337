package nn

import (
	"math"

	"github.com/ytdnn/ytdnn/internal/linalg"
	"github.com/ytdnn/ytdnn/internal/par"
	"github.com/ytdnn/ytdnn/internal/vec"
)

var (
	_ Loss = (*SampledSoftmax)(nil)
	_ Loss = (*WeightedLogistic)(nil)
)

// SampledSoftmax is the sampled-softmax loss over the tower output u
// (Batch×Dim): each row's true class against K negatives shared by the whole
// batch, so the negative logits are one Batch×K matrix product. Every logit
// is v·u + b - logQ, logQ being log of the candidate's expected count under
// the sampler (zero to turn the correction off). Negatives that equal a
// row's true class (accidental hits) are dropped from that row. Rows with
// RowWeight 0 (padding) contribute nothing; the loss is the RowWeight-weighted
// mean of -log softmax(true).
//
// Setting K to the number of classes, the negatives to every class, logQ to
// zero and Hits on each row's own class gives the full softmax.
type SampledSoftmax struct {
	Batch, Dim, K int
	// Inputs, filled by the caller before each step.
	TrueW, TrueB, TrueLogQ []float32 // Batch×Dim, Batch, Batch
	NegW, NegB, NegLogQ    []float32 // K×Dim, K, K
	Hits                   [][]int32 // per row: the negatives (0..K-1) to drop
	RowWeight              []float32 // Batch
	// Gradients, written by each step.
	DTrueW, DTrueB, DNegW, DNegB []float32

	logits []float32
	adj    []float32 // NegB - NegLogQ
}

// NewSampledSoftmax allocates every buffer for the given shape.
func NewSampledSoftmax(batch, dim, k int) *SampledSoftmax {
	return &SampledSoftmax{
		Batch: batch, Dim: dim, K: k,
		TrueW: make([]float32, batch*dim), TrueB: make([]float32, batch), TrueLogQ: make([]float32, batch),
		NegW: make([]float32, k*dim), NegB: make([]float32, k), NegLogQ: make([]float32, k),
		Hits: make([][]int32, batch), RowWeight: make([]float32, batch),
		DTrueW: make([]float32, batch*dim), DTrueB: make([]float32, batch),
		DNegW: make([]float32, k*dim), DNegB: make([]float32, k),
		logits: make([]float32, batch*k),
		adj:    make([]float32, k),
	}
}

// Loss implements Loss.
func (s *SampledSoftmax) Loss(u, grad []float32) float32 {
	B, D, K := s.Batch, s.Dim, s.K
	L := s.logits
	linalg.Gemm(false, true, B, K, D, 1, u, D, s.NegW, D, 0, L, K)
	var wsum float64
	for _, w := range s.RowWeight {
		wsum += float64(w)
	}
	if wsum == 0 {
		wsum = 1
	}
	s.prepare()
	// Rows are independent: split them over the cores.
	// One read of the worker count sizes parts and bounds the chunks.
	workers := par.Workers()
	parts := make([]float64, workers)
	par.ForN(workers, B, (1<<16)/max(K, 1), func(w, lo, hi int) {
		parts[w] = s.rows(u, lo, hi, wsum)
	})
	var total float64
	for _, p := range parts {
		total += p
	}
	// dU = dLneg·NegW + dLtrue·TrueW (row-wise).
	linalg.Gemm(false, false, B, D, K, 1, L, K, s.NegW, D, 0, grad, D)
	for r := 0; r < B; r++ {
		dt := s.DTrueB[r]
		vec.Axpy(dt, s.TrueW[r*D:(r+1)*D], grad[r*D:(r+1)*D])
		dw := s.DTrueW[r*D : (r+1)*D]
		ur := u[r*D : (r+1)*D]
		for i := range dw {
			dw[i] = dt * ur[i]
		}
	}
	// dNegW = dLnegᵀ·U; dNegB = column sums.
	linalg.Gemm(true, false, K, D, B, 1, L, K, u, D, 0, s.DNegW, D)
	clear(s.DNegB)
	for r := 0; r < B; r++ {
		vec.Axpy(1, L[r*K:(r+1)*K], s.DNegB)
	}
	return float32(total)
}

// prepare folds the negatives' bias and logQ into one per-candidate term.
func (s *SampledSoftmax) prepare() {
	for j := range s.adj {
		s.adj[j] = s.NegB[j] - s.NegLogQ[j]
	}
}

// rows computes the loss of rows [lo, hi) and overwrites their logits with
// dLoss/dlogit (softmax minus one-hot, scaled by the row's weight share).
// Accidental hits become -Inf logits, so every pass is branch-free.
func (s *SampledSoftmax) rows(u []float32, lo, hi int, wsum float64) float64 {
	D, K, L, adj := s.Dim, s.K, s.logits, s.adj
	negInf := float32(math.Inf(-1))
	var total float64
	for r := lo; r < hi; r++ {
		row := L[r*K : (r+1)*K]
		adj := adj[:len(row)]
		t := vec.Dot(u[r*D:(r+1)*D], s.TrueW[r*D:(r+1)*D]) + s.TrueB[r] - s.TrueLogQ[r]
		vec.Axpy(1, adj, row)
		for _, j := range s.Hits[r] {
			row[j] = negInf
		}
		m := vec.Max(t, row)
		// One exp per logit: row holds exp(l - m) until it is normalized.
		et := expf(t - m)
		zs := expSub(row, m)
		z := float64(et) + float64(zs)
		scale := float64(s.RowWeight[r]) / wsum
		total += scale * (math.Log(z) - float64(t-m))
		s.DTrueB[r] = float32((float64(et)/z - 1) * scale)
		vec.Scale(float32(scale/z), row)
	}
	return total
}

// expf is e^x for x ≤ 0 in float32 (the softmax exponent after the max is
// subtracted), relative error below 2e-7; e^x below the normal float32
// range is 0.
func expf(x float32) float32 {
	if !(x >= -87) { // also -Inf (a dropped candidate) and NaN
		return 0
	}
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	n := int32(x*log2e - 0.5) // round to nearest (x ≤ 0)
	fn := float32(n)
	r := x - fn*ln2hi - fn*ln2lo
	p := 1 + r*(1+r*(0.5+r*(1.0/6+r*(1.0/24+r*(1.0/120+r*(1.0/720))))))
	return p * math.Float32frombits(uint32(n+127)<<23)
}

// WeightedLogistic is weighted logistic regression on a single logit per row
// (the tower output is Batch×1): row r has label Label[r] ∈ {0, 1} and weight
// Weight[r]; in the paper a clicked impression weighs its watch time and an
// unclicked one 1, so exp(logit) learns expected watch time. Rows with weight
// 0 are padding. The loss is Σ w·CE(z, y) over the number of non-padding rows.
type WeightedLogistic struct {
	Label, Weight []float32
}

// NewWeightedLogistic allocates the buffers for batch rows.
func NewWeightedLogistic(batch int) *WeightedLogistic {
	return &WeightedLogistic{Label: make([]float32, batch), Weight: make([]float32, batch)}
}

func softplus(x float64) float64 {
	if x > 30 {
		return x
	}
	return math.Log1p(math.Exp(x))
}

// Loss implements Loss.
func (w *WeightedLogistic) Loss(z, grad []float32) float32 {
	n := 0
	for _, wt := range w.Weight {
		if wt > 0 {
			n++
		}
	}
	if n == 0 {
		n = 1
	}
	var total float64
	for r, zr := range z {
		y, wt := float64(w.Label[r]), float64(w.Weight[r])
		x := float64(zr)
		total += wt * (y*softplus(-x) + (1-y)*softplus(x))
		sig := 1 / (1 + math.Exp(-x))
		grad[r] = float32(wt * (sig - y) / float64(n))
	}
	return float32(total / float64(n))
}
