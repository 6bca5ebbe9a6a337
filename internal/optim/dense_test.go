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
}

// TestDenseBadGradients: gradients that do not fit the parameters, are not
// finite, or come with another model's state are errors naming the
// optimizer (and no internal package), and update nothing.
func TestDenseBadGradients(t *testing.T) {
	nan := float32(math.NaN())
	for _, name := range []string{"adam", "adagrad"} {
		opt, err := NewDense(name, 0.1, 0)
		require.NoError(t, err)
		typ := map[string]string{"adam": "DenseAdam", "adagrad": "DenseAdagrad"}[name]
		p := []float32{1, 2}
		for _, tc := range []struct {
			name, want string
			ps         Params
		}{
			{"NaN gradient", typ + ": non-finite gradient", Params{P: [][]float32{p}, G: [][]float32{{nan, 0}}, Decay: []bool{true}}},
			{"gradient shorter than its parameter", typ + ": gradient 0 has 1 values for 2 parameters", Params{P: [][]float32{p}, G: [][]float32{{1}}, Decay: []bool{true}}},
			{"no gradients", typ + ": 1 parameters, 0 gradients, 1 decay flags", Params{P: [][]float32{p}, G: nil, Decay: []bool{true}}},
			{"no decay flags", typ + ": 1 parameters, 1 gradients, 0 decay flags", Params{P: [][]float32{p}, G: [][]float32{{1, 1}}}},
		} {
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				assert.EqualError(t, opt.Apply(tc.ps), tc.want)
				assert.Equal(t, []float32{1, 2}, p, "nothing updated on a bad gradient")
			})
		}
		require.NoError(t, opt.Apply(Params{P: [][]float32{p}, G: [][]float32{{1, 1}}, Decay: []bool{true}}))
		q := []float32{3}
		t.Run(name+"/state for another model", func(t *testing.T) {
			assert.EqualError(t, opt.Apply(Params{P: [][]float32{p, q}, G: [][]float32{{1, 1}, {1}}, Decay: []bool{true, true}}), typ+": state for 1 parameters applied to 2")
		})
		t.Run(name+"/parameter changed size", func(t *testing.T) {
			assert.EqualError(t, opt.Apply(Params{P: [][]float32{q}, G: [][]float32{{1}}, Decay: []bool{true}}), typ+": parameter 0 changed size")
		})
	}
}

// TestNewDenseUnknownName: a name other than adam or adagrad, the empty one
// included (the caller applies its default), is an error.
func TestNewDenseUnknownName(t *testing.T) {
	for _, name := range []string{"sgdx", "", "Adam"} {
		t.Run(name, func(t *testing.T) {
			opt, err := NewDense(name, 1, 0)
			assert.Nil(t, opt)
			assert.EqualError(t, err, `unknown optimizer "`+name+`" (want adam or adagrad)`)
		})
	}
}
