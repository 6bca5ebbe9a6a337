package embedding

import (
	"errors"
	"fmt"

	"github.com/ytdnn/ytdnn/internal/optim"
	"github.com/ytdnn/ytdnn/internal/par"
	"github.com/ytdnn/ytdnn/internal/vec"
)

// Grad accumulates a row-sparse gradient for one Table: only the rows a batch
// touched are stored, duplicates summed. Its memory is O(rows touched)·Dim
// plus one int32 per table row for the row→slot map, allocated once. Reset
// clears it in O(rows touched). A Grad is not safe for concurrent use.
type Grad struct {
	Dim  int
	slot []int32   // slot[row] = position in Rows, or -1
	Rows []int32   // touched rows, in first-touch order
	Data []float32 // Data[i*Dim:(i+1)*Dim] is the gradient of Rows[i]
}

// NewGrad returns an empty gradient for a table of the given shape.
func NewGrad(rows, dim int) *Grad {
	g := &Grad{Dim: dim, slot: make([]int32, rows)}
	for i := range g.slot {
		g.slot[i] = -1
	}
	return g
}

// Reset empties the gradient, keeping its buffers.
func (g *Grad) Reset() {
	for _, r := range g.Rows {
		g.slot[r] = -1
	}
	g.Rows = g.Rows[:0]
	g.Data = g.Data[:0]
}

// Add accumulates scale·v into the gradient of row. OOV and out-of-range
// rows are ignored: they never train. A v of another length than Dim is an
// error.
func (g *Grad) Add(row int32, scale float32, v []float32) error {
	if len(v) != g.Dim {
		return fmt.Errorf("embedding: Grad.Add: gradient of %d floats, want dim %d", len(v), g.Dim)
	}
	g.add(row, scale, v)
	return nil
}

// add is Add of a v of Dim floats.
func (g *Grad) add(row int32, scale float32, v []float32) {
	if row <= 0 || int(row) >= len(g.slot) {
		return
	}
	s := g.slot[row]
	if s < 0 {
		s = int32(len(g.Rows))
		g.slot[row] = s
		g.Rows = append(g.Rows, row)
		n := len(g.Data)
		if cap(g.Data) >= n+g.Dim {
			g.Data = g.Data[:n+g.Dim]
		} else {
			g.Data = append(g.Data, make([]float32, g.Dim)...)
		}
		clear(g.Data[n:])
	}
	vec.Axpy(scale, v, g.Data[int(s)*g.Dim:(int(s)+1)*g.Dim])
}

// AddBag accumulates the gradient of a mean-pooled bag: every member receives
// v/len(ids), matching Table.LookupBag. A v of another length than Dim is an
// error.
func (g *Grad) AddBag(ids []int32, v []float32) error {
	if len(v) != g.Dim {
		return fmt.Errorf("embedding: Grad.AddBag: gradient of %d floats, want dim %d", len(v), g.Dim)
	}
	if len(ids) == 0 {
		return nil
	}
	s := 1 / float32(len(ids))
	for _, id := range ids {
		g.add(id, s, v)
	}
	return nil
}

// Row returns the accumulated gradient of row, or nil if it was not touched.
func (g *Grad) Row(row int32) []float32 {
	if row < 0 || int(row) >= len(g.slot) || g.slot[row] < 0 {
		return nil
	}
	s := int(g.slot[row])
	return g.Data[s*g.Dim : (s+1)*g.Dim]
}

// Optimizer applies a row-sparse gradient to a table. Implementations touch
// only the rows in the gradient and never row OOV. An Optimizer holds
// per-table state; use one per table. Not safe for concurrent use.
type Optimizer interface {
	Apply(t *Table, g *Grad) error
}

var (
	_ Optimizer = (*SGD)(nil)
	_ Optimizer = (*Adagrad)(nil)
	_ Optimizer = (*LazyAdam)(nil)
	_ Optimizer = (*RowAdagrad)(nil)
)

// checkShape reports a gradient that does not fit the table or is not
// finite.
func checkShape(t *Table, g *Grad) error {
	if t.Dim != g.Dim || len(g.slot) != t.Rows {
		return fmt.Errorf("gradient for %d×%d applied to a %d×%d table", len(g.slot), g.Dim, t.Rows, t.Dim)
	}
	if !optim.Finite(g.Data) {
		return errors.New("non-finite gradient")
	}
	return nil
}

// SGD is plain stochastic gradient descent: row -= LR·grad.
type SGD struct {
	LR float32
}

// Apply implements Optimizer.
func (o *SGD) Apply(t *Table, g *Grad) error {
	if err := checkShape(t, g); err != nil {
		return fmt.Errorf("embedding: SGD: %w", err)
	}
	for i, r := range g.Rows {
		vec.Axpy(-o.LR, g.Data[i*g.Dim:(i+1)*g.Dim], t.Row(r))
	}
	return nil
}

// Adagrad keeps a per-element sum of squared gradients, allocated (Rows×Dim)
// on first use: acc += grad², row -= LR·grad/(√acc + Eps). The sums start at
// InitialAccumulator; zero InitialAccumulator and Eps mean the defaults of
// internal/optim, DefaultAdagradInit (0.1, as in TensorFlow) and
// DefaultAdagradEps (1e-8), which the towers' Adagrad uses too.
type Adagrad struct {
	LR, Eps, InitialAccumulator float32
	acc                         []float32
}

// Apply implements Optimizer.
func (o *Adagrad) Apply(t *Table, g *Grad) error {
	if err := checkShape(t, g); err != nil {
		return fmt.Errorf("embedding: Adagrad: %w", err)
	}
	if o.acc == nil {
		o.acc = optim.Accumulators(len(t.Data), o.InitialAccumulator)
	}
	eps := optim.AdagradEps(o.Eps)
	for i, r := range g.Rows {
		off := int(r) * t.Dim
		optim.Adagrad(t.Data[off:off+t.Dim], g.Data[i*g.Dim:(i+1)*g.Dim], o.acc[off:off+t.Dim], o.LR, eps, 0)
	}
	return nil
}

// LazyAdam is lazy Adam (as TensorFlow's LazyAdam): the first and second moments
// of a row are updated only on steps that touch the row, with bias correction
// from the global step count. Moments (2·Rows·Dim floats) are allocated on
// first use. Zero Beta1, Beta2, Eps mean the defaults of internal/optim,
// DefaultAdamBeta1, DefaultAdamBeta2, DefaultAdamEps (0.9, 0.999, 1e-8),
// which the towers' Adam uses too.
type LazyAdam struct {
	LR, Beta1, Beta2, Eps float32
	m, v                  []float32
	step                  int
}

// Apply implements Optimizer.
func (o *LazyAdam) Apply(t *Table, g *Grad) error {
	if err := checkShape(t, g); err != nil {
		return fmt.Errorf("embedding: LazyAdam: %w", err)
	}
	if o.m == nil {
		o.m = make([]float32, len(t.Data))
		o.v = make([]float32, len(t.Data))
	}
	o.step++
	st := optim.NewAdamStep(o.LR, o.Beta1, o.Beta2, o.Eps, o.step)
	// Rows are disjoint: update them on all cores.
	par.For(len(g.Rows), 1024, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			off := int(g.Rows[i]) * t.Dim
			st.Update(t.Data[off:off+t.Dim], g.Data[i*g.Dim:(i+1)*g.Dim], o.m[off:off+t.Dim], o.v[off:off+t.Dim], 0)
		}
	})
	return nil
}

// RowAdagrad is row-wise Adagrad, as large-scale embedding trainers use:
// one accumulator per row, summing the mean over the row of the squared
// gradient, acc_r += mean_j(g_j²), then row -= LR·grad/(√acc_r + Eps). Its
// state is Rows floats (4 bytes a row) where LazyAdam keeps 2·Rows·Dim, so a
// 10⁷-row, 64-dim table costs 0.04 GB of state instead of 5.1 GB. Rows not
// in the gradient are not touched. The accumulators are allocated on first
// use and start at InitialAccumulator; zero InitialAccumulator and Eps mean
// the same defaults as Adagrad's (0.1 and 1e-8).
type RowAdagrad struct {
	LR, Eps, InitialAccumulator float32
	acc                         []float32
}

// Apply implements Optimizer.
func (o *RowAdagrad) Apply(t *Table, g *Grad) error {
	if err := checkShape(t, g); err != nil {
		return fmt.Errorf("embedding: RowAdagrad: %w", err)
	}
	if o.acc == nil {
		o.acc = optim.Accumulators(t.Rows, o.InitialAccumulator)
	}
	eps := optim.AdagradEps(o.Eps)
	par.For(len(g.Rows), 1024, func(_, lo, hi int) {
		for i := lo; i < hi; i++ {
			r := g.Rows[i]
			optim.RowAdagrad(t.Row(r), g.Data[i*g.Dim:(i+1)*g.Dim], &o.acc[r], o.LR, eps)
		}
	})
	return nil
}

// StateBytesPerRow is the optimizer state a row of dim floats costs under
// o (beyond the row itself, 4·dim bytes): LazyAdam 8·dim, Adagrad 4·dim,
// RowAdagrad 4, SGD 0.
func StateBytesPerRow(o Optimizer, dim int) int {
	switch o.(type) {
	case *LazyAdam:
		return 8 * dim
	case *Adagrad:
		return 4 * dim
	case *RowAdagrad:
		return 4
	}
	return 0
}
