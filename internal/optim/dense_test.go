package optim

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDenseDecayOnlyWeights: with a zero gradient, L2 alone moves the
// parameters marked Decay (Adam's first step moves each by LR against the
// sign of its effective gradient L2·p; Adagrad's by LR·g/√(init+g²)) and
// leaves the others where they are.
func TestDenseDecayOnlyWeights(t *testing.T) {
	for _, name := range []string{"adam", "adagrad"} {
		opt, err := NewDense(name, 0.1, 0.5)
		require.NoError(t, err)
		w, b := []float32{1, -2}, []float32{1, -2}
		ps := Params{P: [][]float32{w, b}, G: [][]float32{{0, 0}, {0, 0}}, Decay: []bool{true, false}}
		require.NoError(t, opt.Apply(ps))
		assert.Equal(t, []float32{1, -2}, b, "%s: no decay on biases", name)
		if name == "adam" {
			assert.InDeltaSlice(t, []float64{0.9, -1.9}, []float64{float64(w[0]), float64(w[1])}, 1e-5, name)
		} else {
			g0, g1 := 0.5, -1.0
			want0 := 1 - 0.1*g0/math.Sqrt(DefaultAdagradInit+g0*g0)
			want1 := -2 - 0.1*g1/math.Sqrt(DefaultAdagradInit+g1*g1)
			assert.InDeltaSlice(t, []float64{want0, want1}, []float64{float64(w[0]), float64(w[1])}, 1e-5, name)
		}
	}
	_, err := NewDense("sgdx", 1, 0)
	assert.Error(t, err)
}

func TestDenseBadGradients(t *testing.T) {
	for _, name := range []string{"adam", "adagrad"} {
		opt, err := NewDense(name, 0.1, 0)
		require.NoError(t, err)
		p := []float32{1, 2}
		nan := float32(math.NaN())
		for _, ps := range []Params{
			{P: [][]float32{p}, G: [][]float32{{nan, 0}}, Decay: []bool{true}},
			{P: [][]float32{p}, G: [][]float32{{1}}, Decay: []bool{true}},
			{P: [][]float32{p}, G: nil, Decay: []bool{true}},
			{P: [][]float32{p}, G: [][]float32{{1, 1}}},
		} {
			assert.Error(t, opt.Apply(ps), name)
			assert.Equal(t, []float32{1, 2}, p, "%s: nothing updated on a bad gradient", name)
		}
		require.NoError(t, opt.Apply(Params{P: [][]float32{p}, G: [][]float32{{1, 1}}, Decay: []bool{true}}))
		q := []float32{3}
		assert.Error(t, opt.Apply(Params{P: [][]float32{p, q}, G: [][]float32{{1, 1}, {1}}, Decay: []bool{true, true}}), "%s: state for one parameter applied to two", name)
	}
}
