package embedding

import (
	"fmt"
	"io"
	"slices"

	"github.com/ytdnn/ytdnn/internal/binfmt"
	"github.com/ytdnn/ytdnn/internal/optim"
)

// State is a table optimizer's state, saved at the end of a run so that a
// later run continues from it (warm start) instead of starting its moments
// or accumulators afresh. Slot s holds Widths[s] floats per table row (row r
// at Slots[s][r·W:(r+1)·W]); a row that enters later starts at Fresh[s]:
//
//	lazy Adam:       Step (bias correction), slots m and v, Dim wide, fresh 0
//	Adagrad:         one slot, Dim wide, fresh InitialAccumulator
//	row-wise Adagrad: one slot, 1 wide, fresh InitialAccumulator
//	SGD:             no slot
//
// Slots is nil when the optimizer was never applied.
type State struct {
	Kind   string
	Step   int64
	Rows   int
	Widths []int
	Fresh  []float32
	Slots  [][]float32
}

// The Kind of each optimizer's State.
const (
	KindSGD        = "sgd"
	KindAdagrad    = "adagrad"
	KindLazyAdam   = "lazy-adam"
	KindRowAdagrad = "rowwise-adagrad"
)

// SaveState returns a copy of o's state for table t (the table it has been
// applying to). An optimizer of a type this package does not define is an
// error.
func SaveState(o Optimizer, t *Table) (State, error) {
	st, err := TakeState(o, t)
	if err != nil || st.Slots == nil {
		return st, err
	}
	for i, s := range st.Slots {
		st.Slots[i] = slices.Clone(s)
	}
	return st, nil
}

// TakeState returns o's state for table t without copying it: the slots
// alias o's own, so o must not be applied again (the end of a training run,
// whose optimizers are dropped: a copy would double the memory of the
// largest state a run holds, 8 bytes a parameter under lazy Adam).
func TakeState(o Optimizer, t *Table) (State, error) {
	st := State{Rows: t.Rows}
	switch o := o.(type) {
	case *SGD:
		st.Kind = KindSGD
	case *Adagrad:
		st.Kind, st.Widths, st.Fresh = KindAdagrad, []int{t.Dim}, []float32{initAcc(o.InitialAccumulator)}
		if o.acc != nil {
			st.Slots = [][]float32{o.acc}
		}
	case *LazyAdam:
		st.Kind, st.Step, st.Widths, st.Fresh = KindLazyAdam, int64(o.step), []int{t.Dim, t.Dim}, []float32{0, 0}
		if o.m != nil {
			st.Slots = [][]float32{o.m, o.v}
		}
	case *RowAdagrad:
		st.Kind, st.Widths, st.Fresh = KindRowAdagrad, []int{1}, []float32{initAcc(o.InitialAccumulator)}
		if o.acc != nil {
			st.Slots = [][]float32{o.acc}
		}
	default:
		return st, fmt.Errorf("embedding: optimizer %T has no state this package saves", o)
	}
	return st, st.check()
}

// initAcc is the accumulator a fresh Adagrad row starts at.
func initAcc(init float32) float32 {
	if init == 0 {
		return optim.DefaultAdagradInit
	}
	return init
}

// LoadState sets o's state to a copy of st, for applying to table t. An
// optimizer of another kind than st's, or a state of another shape than
// t's, is an error naming both.
func LoadState(o Optimizer, st State, t *Table) error {
	if err := st.check(); err != nil {
		return err
	}
	want, err := TakeState(o, t) // its kind and shape only
	if err != nil {
		return err
	}
	if want.Kind != st.Kind {
		return fmt.Errorf("embedding: LoadState: state of a %s optimizer given to a %s one", st.Kind, want.Kind)
	}
	if st.Rows != t.Rows || !slices.Equal(st.Widths, want.Widths) {
		return fmt.Errorf("embedding: LoadState: state of %d rows × %v floats for a %d×%d table", st.Rows, st.Widths, t.Rows, t.Dim)
	}
	var s [][]float32
	for _, v := range st.Slots {
		s = append(s, slices.Clone(v))
	}
	switch o := o.(type) {
	case *Adagrad:
		if s != nil {
			o.acc = s[0]
		}
	case *LazyAdam:
		o.step = int(st.Step)
		if s != nil {
			o.m, o.v = s[0], s[1]
		}
	case *RowAdagrad:
		if s != nil {
			o.acc = s[0]
		}
	}
	return nil
}

// check reports a state whose slots do not have Rows·Widths floats.
func (st *State) check() error {
	if len(st.Fresh) != len(st.Widths) || (st.Slots != nil && len(st.Slots) != len(st.Widths)) || st.Rows < 1 || st.Step < 0 {
		return fmt.Errorf("embedding: %s state of %d rows has %d widths, %d fresh values, %d slots", st.Kind, st.Rows, len(st.Widths), len(st.Fresh), len(st.Slots))
	}
	for i, s := range st.Slots {
		if len(s) != st.Rows*st.Widths[i] {
			return fmt.Errorf("embedding: %s state slot %d holds %d floats, want %d rows × %d", st.Kind, i, len(s), st.Rows, st.Widths[i])
		}
	}
	return nil
}

// Remap returns the state for a table whose row r was row from[r] of the
// old table (from[r] <= 0: a new row, whose slots start at Fresh; len(from)
// is the new row count). A source row outside the old table is an error.
func (st State) Remap(from []int32) (State, error) {
	out := st
	out.Rows, out.Slots = len(from), nil
	if out.Rows < 1 {
		return out, fmt.Errorf("embedding: Remap: no rows")
	}
	for _, f := range from {
		if int(f) >= st.Rows {
			return out, fmt.Errorf("embedding: Remap: row %d of a %d-row state", f, st.Rows)
		}
	}
	if st.Slots == nil {
		return out, nil
	}
	for s, old := range st.Slots {
		w := st.Widths[s]
		v := make([]float32, len(from)*w)
		for r, f := range from {
			dst := v[r*w : (r+1)*w]
			if f <= 0 {
				for i := range dst {
					dst[i] = st.Fresh[s]
				}
				continue
			}
			copy(dst, old[int(f)*w:(int(f)+1)*w])
		}
		out.Slots = append(out.Slots, v)
	}
	return out, nil
}

// RowMap returns, for each index of v, the index the same ID has in old
// (0 where old does not hold it, and for OOV): the from of Remap and
// CopyRows when a vocabulary is refitted.
func RowMap(v, old *Vocab) []int32 {
	from := make([]int32, v.Size())
	for i, id := range v.ids {
		from[i+1] = old.Index(id)
	}
	return from
}

// CopyRows copies row from[r] of src into row r of dst for every r with
// from[r] > 0, leaving the other rows as they are (a new model's draws).
// Tables of another dimension, or a from that does not fit, are an error.
func CopyRows(dst, src *Table, from []int32) error {
	if dst.Dim != src.Dim || len(from) != dst.Rows {
		return fmt.Errorf("embedding: CopyRows: %d rows mapped into a %d×%d table from a %d×%d one", len(from), dst.Rows, dst.Dim, src.Rows, src.Dim)
	}
	for r, f := range from {
		if f <= 0 {
			continue
		}
		if int(f) >= src.Rows {
			return fmt.Errorf("embedding: CopyRows: row %d of a %d-row table", f, src.Rows)
		}
		copy(dst.Row(int32(r)), src.Row(f))
	}
	return nil
}

// WriteTo writes the state as a part of a training-state file (inside the
// container when w is its binfmt writer):
//
//	kind string, step i64, rows u64, widths (u64 n, n × i64), fresh
//	(u64 n, n × f32), has-slots bool, then each slot's floats (u64 n, n × f32)
func (st *State) WriteTo(w io.Writer) (int64, error) {
	bw := binfmt.PartWriter(w)
	n0 := bw.N()
	bw.String(st.Kind)
	bw.I64(st.Step)
	bw.U64(uint64(st.Rows))
	bw.Ints(st.Widths)
	bw.F32s(st.Fresh)
	bw.Bool(st.Slots != nil)
	for _, s := range st.Slots {
		bw.F32s(s)
	}
	return bw.N() - n0, bw.Err()
}

// ReadState reads a state written by WriteTo, checking its shape and that
// its values are finite. Its errors wrap ErrFormat, unprefixed.
func ReadState(r io.Reader) (State, error) {
	br := binfmt.PartReader(r)
	st := State{Kind: br.String(64), Step: br.I64(), Rows: br.Len(binfmt.MaxElems, "state rows"), Widths: br.Ints(8), Fresh: br.F32s(8)}
	if br.Bool() {
		for range st.Widths {
			st.Slots = append(st.Slots, br.F32s(binfmt.MaxElems))
		}
	}
	if err := br.Err(); err != nil {
		return st, err
	}
	if err := st.check(); err != nil {
		return st, fmt.Errorf("%w: %v", binfmt.ErrFormat, err)
	}
	for _, s := range append([][]float32{st.Fresh}, st.Slots...) {
		if !optim.Finite(s) {
			return st, fmt.Errorf("%w: %s state holds a non-finite value", binfmt.ErrFormat, st.Kind)
		}
	}
	return st, nil
}
