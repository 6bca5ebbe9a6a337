package embedding

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStateRemap(t *testing.T) {
	tab, err := NewTable(4, 2, 0.1, nil)
	require.NoError(t, err)
	g := NewGrad(4, 2)
	require.NoError(t, g.Add(1, 1, []float32{1, 2}))
	require.NoError(t, g.Add(3, 1, []float32{3, 4}))
	for _, o := range []Optimizer{&LazyAdam{LR: 0.1}, &RowAdagrad{LR: 0.1}, &Adagrad{LR: 0.1}} {
		require.NoError(t, o.Apply(tab, g))
		st, err := SaveState(o, tab)
		require.NoError(t, err)
		// New row 1 was row 3, new row 2 is fresh, new row 3 was row 1.
		re, err := st.Remap([]int32{0, 3, 0, 1})
		require.NoError(t, err)
		for s, w := range st.Widths {
			assert.Equal(t, st.Slots[s][3*w:4*w], re.Slots[s][1*w:2*w], "%s slot %d row 1", st.Kind, s)
			assert.Equal(t, st.Slots[s][1*w:2*w], re.Slots[s][3*w:4*w], "%s slot %d row 3", st.Kind, s)
			for _, x := range re.Slots[s][2*w : 3*w] {
				assert.Equal(t, st.Fresh[s], x, "%s slot %d fresh row", st.Kind, s)
			}
		}
		var buf bytes.Buffer
		_, err = re.WriteTo(&buf)
		require.NoError(t, err)
		back, err := ReadState(&buf)
		require.NoError(t, err)
		assert.Equal(t, re, back)
	}
}

func TestStateRefused(t *testing.T) {
	tab, err := NewTable(4, 2, 0.1, nil)
	require.NoError(t, err)
	other, err := NewTable(5, 2, 0.1, nil)
	require.NoError(t, err)
	st, err := SaveState(&LazyAdam{}, tab)
	require.NoError(t, err)
	t.Run("other_kind", func(t *testing.T) {
		assert.ErrorContains(t, LoadState(&RowAdagrad{}, st, tab), "state of a lazy-adam optimizer given to a rowwise-adagrad one")
	})
	t.Run("other_rows", func(t *testing.T) {
		assert.ErrorContains(t, LoadState(&LazyAdam{}, st, other), "state of 4 rows")
	})
	t.Run("remap_out_of_range", func(t *testing.T) {
		_, err := st.Remap([]int32{0, 9})
		assert.ErrorContains(t, err, "row 9 of a 4-row state")
	})
	t.Run("copy_rows_other_dim", func(t *testing.T) {
		wide, err := NewTable(4, 3, 0.1, nil)
		require.NoError(t, err)
		assert.ErrorContains(t, CopyRows(wide, tab, []int32{0, 1, 2, 3}), "CopyRows")
	})
}

// TestSaveStateCopies: SaveState's slots are a copy (the optimizer may go
// on), TakeState's are the optimizer's own (for the end of a run).
func TestSaveStateCopies(t *testing.T) {
	tab, err := NewTable(4, 2, 0.1, nil)
	require.NoError(t, err)
	g := NewGrad(4, 2)
	require.NoError(t, g.Add(1, 1, []float32{1, 2}))
	o := &LazyAdam{LR: 0.1}
	require.NoError(t, o.Apply(tab, g))
	saved, err := SaveState(o, tab)
	require.NoError(t, err)
	taken, err := TakeState(o, tab)
	require.NoError(t, err)
	before := append([]float32(nil), saved.Slots[0]...)
	require.NoError(t, o.Apply(tab, g))
	assert.Equal(t, before, saved.Slots[0], "SaveState: unchanged by later steps")
	assert.NotEqual(t, before, taken.Slots[0], "TakeState: the optimizer's own moments")
}
