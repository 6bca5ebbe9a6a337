package nn

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestStepDoesNotAccumulate: two steps on the same input give the same
// gradients (gorgonia must not add the second into the first).
func TestStepDoesNotAccumulate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	m, _ := NewMLP([]int{3, 4, 1}, false, rng)
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
