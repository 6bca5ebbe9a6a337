package train

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/internal/gradcheck"
)

// TestEarlyStopping: Validate scores a copy of the model after every epoch;
// training stops once Patience epochs have not beaten the best, and the
// model returned is the best epoch's, not the last.
func TestEarlyStopping(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	data := zipfExamples(2000, 30, rng)
	probe := data[0].Features
	scores := []float64{0.1, 0.5, 0.2, 0.5, 0.3, 0.9, 0.9}
	var vectors [][]float32
	var seen []int
	cfg := CandgenConfig{Spec: constSpec(), Tower: []int{8}, Negatives: 10, Validation: func(ctx context.Context, epoch int, m *candgen.Model) (float64, error) {
		seen = append(seen, epoch)
		u, err := m.UserVector(probe)
		require.NoError(t, err)
		vectors = append(vectors, u)
		return scores[epoch], nil
	}, Options: Options{Batch: 64, Epochs: len(scores), LR: 0.05, Seed: 1, Patience: 3}}
	m, st, err := Candgen(context.Background(), cfg, data)
	require.NoError(t, err)
	// Best 0.5 at epoch 2 (the earliest of two); epochs 3-5 do not beat
	// it, so training stops after the fifth.
	assert.Equal(t, []int{0, 1, 2, 3, 4}, seen)
	assert.Equal(t, 5, st.Epochs)
	assert.Equal(t, 2, st.BestEpoch)
	assert.Equal(t, 0.5, st.BestScore)
	u, err := m.UserVector(probe)
	require.NoError(t, err)
	assert.Equal(t, vectors[1], u, "the returned model is the best epoch's")
	assert.NotEqual(t, vectors[4], u, "the model kept training after the best epoch")

	// Without patience every epoch runs and the best is still returned.
	cfg.Patience, seen, vectors = 0, nil, nil
	m, st, err = Candgen(context.Background(), cfg, data)
	require.NoError(t, err)
	assert.Len(t, seen, len(scores))
	assert.Equal(t, 6, st.BestEpoch)
	u, err = m.UserVector(probe)
	require.NoError(t, err)
	assert.Equal(t, vectors[5], u)

	// A failing or NaN validation is an error, not a model.
	boom := errors.New("boom")
	cfg.Validation = func(context.Context, int, *candgen.Model) (float64, error) { return 0, boom }
	_, _, err = Candgen(context.Background(), cfg, data)
	assert.ErrorIs(t, err, boom)
	cfg.Validation = func(context.Context, int, *candgen.Model) (float64, error) { return nan(), nil }
	_, _, err = Candgen(context.Background(), cfg, data)
	assert.ErrorContains(t, err, "NaN")
	for _, p := range []float64{-0.1, 1, nan()} {
		cfg.Dropout = p
		_, _, err = Candgen(context.Background(), cfg, data)
		assert.ErrorContains(t, err, "Dropout", "dropout %v", p)
	}
}

func nan() float64 { z := 0.0; return z / z }

// TestGradientCheckDropout: with the dropout mask held fixed (the trainer's
// generator reseeded before each pass), the embedding gradients match
// finite differences: a dropped input passes no gradient and a kept one is
// scaled by 1/(1-p).
func TestGradientCheckDropout(t *testing.T) {
	tr := gradCheckTrainer(t, 0.5)
	loss := func() float32 {
		tr.rng = rand.New(rand.NewPCG(7, 7)) // the same mask every pass
		l, err := tr.forwardBackward()
		require.NoError(t, err)
		return l
	}
	loss()
	dropped := 0
	for _, k := range tr.mask {
		if k == 0 {
			dropped++
		}
	}
	require.InDelta(t, len(tr.mask)/2, dropped, float64(len(tr.mask))/5, "about half the inputs dropped")
	g := tr.emb.Grads[0]
	const floor = 1e-4
	checked := 0
	for _, row := range g.Rows {
		grad := append([]float32(nil), g.Row(row)...)
		if gradcheck.MaxAbs(grad) < 10*floor {
			continue // too small a gradient to tell right from wrong
		}
		gradcheck.Slice(t, "video emb", tr.emb.Tables[0].Row(row), grad, loss, floor)
		checked++
	}
	require.GreaterOrEqual(t, checked, 3, "rows with gradients large enough to check")
}
