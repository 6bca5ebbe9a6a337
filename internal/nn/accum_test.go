package nn

import (
	"github.com/ytdnn/ytdnn/tower"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/ytdnn/ytdnn/internal/optim"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStepDoesNotAccumulate: two steps on the same input give the same
// gradients (gorgonia must not add the second into the first).
func TestStepDoesNotAccumulate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	m, _ := tower.New([]int{3, 4, 1}, false, rng)
	wl := NewWeightedLogistic(5)
	gr, err := NewGraph(m, 5, wl)
	require.NoError(t, err)
	randFill(rng, gr.X, 1)
	for r := range wl.Weight {
		wl.Weight[r], wl.Label[r] = 1, float32(r%2)
	}
	_, err = gr.Step()
	require.NoError(t, err)
	w1 := append([]float32(nil), gr.WGrad(0)...)
	dx1 := append([]float32(nil), gr.DX()...)
	_, err = gr.Step()
	require.NoError(t, err)
	assert.InDeltaSlice(t, w1, gr.WGrad(0), 1e-6)
	assert.InDeltaSlice(t, dx1, gr.DX(), 1e-6)
}

// TestRewindMatchesReset: a Graph that reuses the tape machine's registers
// computes, step after step with the weights changing in between, exactly
// what a Graph that resets its machine every step computes.
func TestRewindMatchesReset(t *testing.T) {
	for _, sizes := range [][]int{{3, 4, 1}, {7, 16, 8, 5}, {66, 256, 128, 64}} {
		for _, reluOut := range []bool{false, true} {
			rng := rand.New(rand.NewPCG(uint64(len(sizes)), 3))
			m1, err := tower.New(sizes, reluOut, rng)
			require.NoError(t, err)
			m2 := cloneMLP(m1)
			batch := 9
			loss1, loss2 := &squareLoss{}, &squareLoss{}
			g1, err := NewGraph(m1, batch, loss1)
			require.NoError(t, err)
			g2, err := NewGraph(m2, batch, loss2)
			require.NoError(t, err)
			g2.mode = modeReset
			o1, o2 := &optim.DenseAdam{LR: 0.01}, &optim.DenseAdam{LR: 0.01}
			for step := 0; step < 6; step++ {
				randFill(rng, g1.X, 1)
				copy(g2.X, g1.X)
				l1, err := g1.Step()
				require.NoError(t, err)
				l2, err := g2.Step()
				require.NoError(t, err)
				require.Equal(t, l2, l1, "step %d", step)
				require.Equal(t, g2.DX(), g1.DX(), "step %d", step)
				for l := range m1.W {
					require.Equal(t, g2.WGrad(l), g1.WGrad(l), "step %d layer %d", step, l)
					require.Equal(t, g2.BGrad(l), g1.BGrad(l), "step %d layer %d", step, l)
				}
				require.NoError(t, o1.Apply(g1.Params()))
				require.NoError(t, o2.Apply(g2.Params()))
			}
			assert.True(t, g1.Rewinds(), "sizes %v: the probe should accept rewinding", sizes)
			assert.False(t, g2.Rewinds())
		}
	}
}

func cloneMLP(m *tower.MLP) *tower.MLP {
	c := &tower.MLP{Sizes: m.Sizes, ReLUOut: m.ReLUOut}
	for l := range m.W {
		c.W = append(c.W, append([]float32(nil), m.W[l]...))
		c.B = append(c.B, append([]float32(nil), m.B[l]...))
	}
	return c
}

// squareLoss is Σ ½(out - sin(i))², a loss with a nonzero gradient everywhere.
type squareLoss struct{}

func (squareLoss) Loss(out, grad []float32) float32 {
	var l float32
	for i, o := range out {
		d := o - float32(math.Sin(float64(i)))
		grad[i] = d
		l += d * d / 2
	}
	return l
}
