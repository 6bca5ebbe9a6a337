package tower

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestForwardSharedIsForward: a batch whose rows share every column
// outside the runs gets Forward's outputs (to float rounding) from one
// shared row and the rows' own columns, for one, two and three layers,
// runs at the start, the middle and the end, ReLU out or linear; bad runs
// panic.
func TestForwardSharedIsForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct {
		sizes []int
		runs  []Run
		relu  bool
	}{
		{[]int{20, 1}, []Run{{Start: 3, Len: 4}}, false},
		{[]int{20, 9, 1}, []Run{{Start: 0, Len: 2}, {Start: 5, Len: 7}, {Start: 19, Len: 1}}, false},
		{[]int{33, 24, 16, 3}, []Run{{Start: 1, Len: 10}, {Start: 20, Len: 13}}, true},
	} {
		m, err := New(c.sizes, c.relu, rng)
		require.NoError(t, err)
		for l := range m.B {
			for j := range m.B[l] {
				m.B[l][j] = float32(rng.NormFloat64())
			}
		}
		const batch = 13
		in := m.In()
		shared := make([]float32, in)
		for j := range shared {
			shared[j] = float32(rng.NormFloat64())
		}
		shared[len(shared)/2] = 0 // a zero shared column adds nothing
		k := 0
		for _, r := range c.runs {
			k += r.Len
		}
		full := make([]float32, batch*in)
		own := make([]float32, batch*k)
		for b := range batch {
			copy(full[b*in:], shared)
			o := 0
			for _, r := range c.runs {
				for j := range r.Len {
					v := float32(rng.NormFloat64())
					full[b*in+r.Start+j] = v
					own[b*k+o+j] = v
				}
				o += r.Len
			}
		}
		want := make([]float32, batch*m.Out())
		m.Forward(want, full, batch)
		// The shared row's own columns are never read.
		for _, r := range c.runs {
			for j := range r.Len {
				shared[r.Start+j] = float32(math.NaN())
			}
		}
		got := make([]float32, batch*m.Out())
		m.ForwardShared(got, shared, own, c.runs, batch, nil)
		for i := range want {
			assert.InDelta(t, want[i], got[i], 1e-5*(1+math.Abs(float64(want[i]))), "sizes %v, output %d", c.sizes, i)
		}

		// The first shared column made per row, its product passed in pre.
		item := 0
		for _, r := range c.runs {
			if r.Start > item {
				break
			}
			item = r.Start + r.Len
		}
		no := c.sizes[1]
		pre, col := make([]float32, batch*no), make([]float32, batch)
		for b := range batch {
			v := float32(rng.NormFloat64())
			full[b*in+item], col[b] = v, v
			for j := range no {
				pre[b*no+j] = v * m.W[0][item*no+j]
			}
		}
		byTower := make([]float32, batch*no)
		m.FirstProduct(byTower, col, []Run{{Start: item, Len: 1}}, batch)
		assert.InDeltaSlice(t, pre, byTower, 1e-6, "FirstProduct")
		m.Forward(want, full, batch)
		saved := shared[item]
		shared[item] = 0
		rows := make([][]float32, batch)
		for b := range rows {
			rows[b] = pre[b*no : (b+1)*no]
		}
		m.ForwardShared(got, shared, own, c.runs, batch, rows)
		shared[item] = saved
		for i := range want {
			assert.InDelta(t, want[i], got[i], 1e-5*(1+math.Abs(float64(want[i]))), "with pre: sizes %v, output %d", c.sizes, i)
		}
	}
	m, err := New([]int{10, 4, 1}, false, rng)
	require.NoError(t, err)
	x := make([]float32, 10)
	dst := make([]float32, 1)
	for name, runs := range map[string][]Run{
		"overlapping":    {{Start: 0, Len: 3}, {Start: 2, Len: 2}},
		"descending":     {{Start: 5, Len: 1}, {Start: 1, Len: 1}},
		"past the input": {{Start: 8, Len: 3}},
		"empty run":      {{Start: 2, Len: 0}},
	} {
		assert.Panics(t, func() { m.ForwardShared(dst, make([]float32, 10), x, runs, 1, nil) }, name)
	}
}
