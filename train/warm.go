package train

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/ytdnn/ytdnn/embedding"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/internal/binfmt"
	"github.com/ytdnn/ytdnn/internal/optim"
	"github.com/ytdnn/ytdnn/tower"
)

// DefaultDecay is Warm.Decay's default: a previous run's vocabulary counts
// and normalizers weigh half as much as they did, so a count's half-life
// is one run (one day, trained daily).
const DefaultDecay = 0.5

// Warm continues a stage's training from a previous run: its model
// (M is *candgen.Model or *ranking.Model) and its training state
// (Stats.State of that run, or ReadState of what it saved). The paper's
// freshness (§3.3: the model is trained on the very end of the window)
// without re-reading all history:
//   - the vocabularies are refitted on the previous counts times Decay
//     plus the new examples' counts (top MaxVocab of the sums): an ID kept
//     keeps its embedding row, its softmax row and its optimizer state,
//     bit for bit, under its new index; an ID entering gets a fresh row
//     drawn as a new model's and fresh optimizer state; an ID leaving is
//     dropped, with its rows. The negative sampler is built on the new
//     counts;
//   - the normalizers mix the previous CDF with the new examples'
//     (normalize.Mix), weighted Decay·State.Examples() against the new
//     examples, so a feature's quantiles drift with the log as the counts
//     do (refitting on one day alone would move every input of the tower
//     at once; keeping the old CDF would never follow the log);
//   - the tower's weights and the dense optimizer's state carry over;
//     every embedding space keeps its dimension, so the tower's input
//     width does too.
//
// The previous model's spec must equal the config's (an error names the
// difference) and its tower the configured layer sizes.
type Warm[M any] struct {
	Model M
	State *State
	// Decay weighs the previous counts and normalizers [DefaultDecay];
	// it must lie in [0, 1].
	Decay float64
}

// State is what a stage's training leaves for a later run to continue
// from, beside the model: the optimizers' state (the tower's, each
// table's, the softmax table's) and the examples its normalizers stand for
// (the decayed sum over the runs so far). Stats.State returns it; WriteTo
// and ReadState store it.
type State struct {
	examples float64
	dense    optim.DenseState
	tables   []embedding.State
	head     *embedding.State // candidate generation's softmax table
}

// Examples is the number of examples the state's normalizers stand for:
// a run's own examples plus Decay times its predecessor's.
func (s *State) Examples() float64 { return s.examples }

// stateMagic and stateVersion identify a training-state file.
const (
	stateMagic   = "YTST"
	stateVersion = uint32(1)
)

// WriteTo writes the state as its own file (a binfmt container, CRC-32C
// checked).
func (s *State) WriteTo(w io.Writer) (int64, error) {
	return binfmt.WriteContainer(w, stateMagic, stateVersion, func(bw *binfmt.Writer) {
		bw.F64(s.examples)
		bw.String(s.dense.Kind)
		bw.I64(s.dense.Step)
		bw.U64(uint64(len(s.dense.Slots)))
		for _, slot := range s.dense.Slots {
			bw.U64(uint64(len(slot)))
			for _, p := range slot {
				bw.F32s(p)
			}
		}
		bw.U64(uint64(len(s.tables)))
		for i := range s.tables {
			s.tables[i].WriteTo(bw)
		}
		bw.Bool(s.head != nil)
		if s.head != nil {
			s.head.WriteTo(bw)
		}
	})
}

// ReadState reads a state written by WriteTo. A malformed, truncated or
// corrupted file is an error wrapping ErrFormat.
func ReadState(r io.Reader) (*State, error) {
	return binfmt.ReadContainer(r, stateMagic, stateVersion, "training state", func(br *binfmt.Reader) (*State, error) {
		s := &State{examples: br.F64()}
		s.dense.Kind, s.dense.Step = br.String(64), br.I64()
		n := br.Len(3, "dense slots")
		for k := 0; k < n && br.Err() == nil; k++ {
			m := br.Len(1<<12, "dense parameters")
			slot := make([][]float32, 0, m)
			for i := 0; i < m && br.Err() == nil; i++ {
				slot = append(slot, br.F32s(binfmt.MaxElems))
			}
			s.dense.Slots = append(s.dense.Slots, slot)
		}
		n = br.Len(1<<12, "tables")
		for i := 0; i < n && br.Err() == nil; i++ {
			st, err := embedding.ReadState(br)
			if err != nil {
				return nil, err
			}
			s.tables = append(s.tables, st)
		}
		if br.Bool() {
			st, err := embedding.ReadState(br)
			if err != nil {
				return nil, err
			}
			s.head = &st
		}
		if err := br.Err(); err != nil {
			return nil, err
		}
		if !(s.examples >= 0) || math.IsInf(s.examples, 0) || s.dense.Step < 0 {
			return nil, fmt.Errorf("%w: training state stands for %v examples after %d steps", binfmt.ErrFormat, s.examples, s.dense.Step)
		}
		for _, slot := range s.dense.Slots {
			for _, p := range slot {
				if !optim.Finite(p) {
					return nil, fmt.Errorf("%w: training state holds a non-finite value", binfmt.ErrFormat)
				}
			}
		}
		return s, nil
	})
}

// ErrFormat is wrapped by the errors of a malformed training-state file.
var ErrFormat = binfmt.ErrFormat

// warmParts is what the trainer continues from: the previous model's
// parts and state.
type warmParts struct {
	enc    *feature.Encoder
	tables []*embedding.Table
	mlp    *tower.MLP
	state  *State
	decay  float64
}

// check reports a warm start that cannot continue: no state, a state for
// another model, a decay outside [0, 1].
func (w *warmParts) check() error {
	switch {
	case w.state == nil:
		return errors.New("warm start: no training state (a model trained before warm starts existed, or one chosen by early stopping, has none)")
	case !(w.decay >= 0 && w.decay <= 1):
		return fmt.Errorf("warm start: Decay %v outside [0, 1]", w.decay)
	case len(w.state.tables) != len(w.tables):
		return fmt.Errorf("warm start: the state holds %d tables' optimizers, the model %d tables", len(w.state.tables), len(w.tables))
	}
	return nil
}

// warmTables copies the previous model's rows of every ID kept into the
// fresh tables and carries their optimizer state over, remapped.
func (t *trainer[R, T, M]) warmTables() error {
	w := t.warm
	for i, v := range t.enc.Vocabs {
		from := embedding.RowMap(v, w.enc.Vocabs[i])
		name := t.enc.Spec.Spaces[i].Name
		if err := embedding.CopyRows(t.emb.Tables[i], w.tables[i], from); err != nil {
			return fmt.Errorf("warm start: space %q: %w", name, err)
		}
		st, err := w.state.tables[i].Remap(from)
		if err == nil {
			err = embedding.LoadState(t.emb.Opts[i], st, t.emb.Tables[i])
		}
		if err != nil {
			return fmt.Errorf("warm start: space %q: %w", name, err)
		}
	}
	return nil
}

// warmTower copies the previous tower's weights into the new one and
// carries the dense optimizer's state over.
func (t *trainer[R, T, M]) warmTower() error {
	prev := t.warm.mlp
	if !slices.Equal(prev.Sizes, t.mlp.Sizes) || prev.ReLUOut != t.mlp.ReLUOut {
		return fmt.Errorf("warm start: the previous tower has layers %v, the config %v", prev.Sizes, t.mlp.Sizes)
	}
	var sizes []int // in the dense optimizers' order: W[0], B[0], W[1], …
	for l := range t.mlp.W {
		copy(t.mlp.W[l], prev.W[l])
		copy(t.mlp.B[l], prev.B[l])
		sizes = append(sizes, len(t.mlp.W[l]), len(t.mlp.B[l]))
	}
	if err := t.dense.SetState(t.warm.state.dense, sizes); err != nil {
		return fmt.Errorf("warm start: %w", err)
	}
	return nil
}

// saveState returns the state of the optimizers at the end of training,
// taken from them (not copied: they are dropped right after).
func (t *trainer[R, T, M]) saveState(examples int) (*State, error) {
	s := &State{examples: float64(examples), dense: t.dense.State()}
	if t.warm != nil {
		s.examples += t.warm.decay * t.warm.state.examples
	}
	for i, o := range t.emb.Opts {
		st, err := embedding.TakeState(o, t.emb.Tables[i])
		if err != nil {
			return nil, err
		}
		s.tables = append(s.tables, st)
	}
	h, err := t.h.state()
	if err != nil {
		return nil, err
	}
	s.head = h
	return s, nil
}

// parts returns the previous model's parts for the trainer, the decay
// defaulted; nil when w is nil.
func (w *Warm[M]) parts(enc *feature.Encoder, tables []*embedding.Table, mlp *tower.MLP) *warmParts {
	d := w.Decay
	if d == 0 {
		d = DefaultDecay
	}
	return &warmParts{enc: enc, tables: tables, mlp: mlp, state: w.State, decay: d}
}

// checkWarm reports a previous model a config cannot continue from: its
// spec (with the example age for candidate generation) or its tower's
// layers differ, or the state does not fit it. It runs before any example
// is read.
func checkWarm(w *warmParts, o *Options, spec feature.Spec, sizes []int, reluOut bool) error {
	if err := w.check(); err != nil {
		return err
	}
	if w.state.dense.Kind != string(o.Optimizer) {
		return fmt.Errorf("warm start: the previous tower was trained with %s, the config says %s", w.state.dense.Kind, o.Optimizer)
	}
	kind := embedding.KindLazyAdam
	if o.TableOptimizer == TableRowAdagrad {
		kind = embedding.KindRowAdagrad
	}
	for i, st := range w.state.tables {
		name := w.enc.Spec.Spaces[min(i, len(w.enc.Spec.Spaces)-1)].Name
		if st.Kind != kind {
			return fmt.Errorf("warm start: space %q's table was trained with %s, the config says %s", name, st.Kind, o.TableOptimizer)
		}
		if st.Rows != w.tables[i].Rows {
			return fmt.Errorf("warm start: the state of space %q has %d rows, the previous model's table %d: a state of another model", name, st.Rows, w.tables[i].Rows)
		}
	}
	if err := feature.Diff(w.enc.Spec, spec); err != nil {
		return fmt.Errorf("warm start: the previous model's spec differs: %w", err)
	}
	if got := w.mlp.Sizes[1:]; !slices.Equal(got, sizes) || w.mlp.ReLUOut != reluOut {
		return fmt.Errorf("warm start: the previous model's tower has layers %v (ReLU output %v), the config %v (%v)", got, w.mlp.ReLUOut, sizes, reluOut)
	}
	return nil
}
