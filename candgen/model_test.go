package candgen

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/embedding"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/retrieval"
	"github.com/ytdnn/ytdnn/tower"
)

func histSpec() feature.Spec {
	return feature.Spec{
		Spaces: []feature.Space{{Name: "video", Dim: 16}},
		Features: []feature.Feature{
			{Name: "watches", Kind: feature.Bag, Space: "video", MaxLen: 20},
			{Name: "last", Kind: feature.ID, Space: "video"},
		},
	}
}

func histExample(h []int64) feature.Example {
	ex := feature.Example{IDs: make([][]int64, 2), Nums: make([]float64, 2)}
	ex.IDs[0] = h
	if len(h) > 0 {
		ex.IDs[1] = h[len(h)-1:]
	}
	return ex
}

// randomModel is an untrained model over videos 0..29 with histSpec's
// features (and example age, fitted on ages 0-10, when exampleAge is set):
// random tables, tower 8 wide (D=8) and softmax table. Serving and files
// need no training.
func randomModel(t testing.TB, seed uint64, exampleAge bool) *Model {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed))
	spec := FullSpec(histSpec(), exampleAge)
	fit, err := feature.NewFitter(spec)
	require.NoError(t, err)
	for i := 0; i < 300; i++ {
		h := histExample([]int64{int64(rng.IntN(30))})
		ex, err := WithAge(&h, 2, exampleAge, rng.Float64()*10)
		require.NoError(t, err)
		require.NoError(t, fit.Observe(&ex, true))
		require.NoError(t, fit.CountID("video", int64(rng.IntN(30)), 1))
	}
	enc, err := fit.Encoder()
	require.NoError(t, err)
	emb, err := enc.NewParams(0.5, rng, nil)
	require.NoError(t, err)
	mlp, err := tower.New([]int{enc.Width(), 8}, false, rng)
	require.NoError(t, err)
	soft, err := embedding.NewTable(enc.Vocabs[0].Size(), 9, 0.5, rng)
	require.NoError(t, err)
	m, err := NewModel(Parts{Encoder: enc, Tables: emb.Tables, Tower: mlp, Softmax: soft, VideoSpace: "video", ExampleAge: exampleAge})
	require.NoError(t, err)
	return m
}

func TestSaveLoad(t *testing.T) {
	m := randomModel(t, 4, true)
	dir := t.TempDir()
	path := filepath.Join(dir, "cg.model")
	require.NoError(t, m.Save(path))
	m2, err := Load(path)
	require.NoError(t, err)
	ex := histExample([]int64{1, 2, 3})
	a, err := m.Recommend(context.Background(), ex, 20, nil)
	require.NoError(t, err)
	b, err := m2.Recommend(context.Background(), ex, 20, nil)
	require.NoError(t, err)
	assert.Equal(t, a, b)

	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, cut := range []int{0, 10, len(raw) / 3, len(raw) - 1} {
		_, err := ReadModel(bytes.NewReader(raw[:cut]))
		assert.Error(t, err, "truncated at %d", cut)
	}
	bad := append([]byte(nil), raw...)
	bad[len(bad)/2] ^= 0x40
	_, err = ReadModel(bytes.NewReader(bad))
	assert.Error(t, err)
	ver := append([]byte(nil), raw...)
	ver[4] = 3
	_, err = ReadModel(bytes.NewReader(ver))
	assert.ErrorContains(t, err, "unsupported version 3", "a newer format")
	ver[4] = 1
	_, err = ReadModel(bytes.NewReader(ver))
	assert.ErrorContains(t, err, "format version 1 is no longer read (this build reads 2)", "an older format")
	assert.ErrorIs(t, err, ErrFormat)

	// A failing save leaves the previous file loadable.
	require.NoError(t, os.Chmod(dir, 0o500))
	defer os.Chmod(dir, 0o700)
	if os.Geteuid() != 0 { // root ignores directory permissions
		assert.Error(t, m.Save(path))
	}
	_, err = Load(path)
	assert.NoError(t, err)
}

func TestNextWatchNoLeakage(t *testing.T) {
	w := []int64{10, 11, 12, 13, 14, 15}
	ws := NextWatch(w, 3, 0, nil)
	require.Len(t, ws, 5)
	for _, x := range ws {
		assert.Equal(t, w[x.Pos], x.Label)
		assert.Equal(t, w[max(0, x.Pos-3):x.Pos], x.History)
		assert.NotContains(t, x.History, x.Label)
	}
	capped := NextWatch(w, 3, 2, rand.New(rand.NewPCG(1, 1)))
	assert.Len(t, capped, 2)
	assert.Less(t, capped[0].Pos, capped[1].Pos)
}

func TestUserVectorsAt(t *testing.T) {
	m := randomModel(t, 6, true)
	exs := []feature.Example{histExample([]int64{1}), histExample([]int64{2})}
	D := m.D()
	a := make([]float32, 2*D)
	b := make([]float32, 2*D)
	require.NoError(t, m.UserVectors(a, exs))
	// An independent reference: assemble each input row by hand with the
	// example-age slot fed its normalized powers at age 0 and 9, and run
	// the tower's plain forward pass.
	ref := func(ex feature.Example, age float64) []float32 {
		full := feature.Example{IDs: append(slices.Clone(ex.IDs), nil), Nums: append(slices.Clone(ex.Nums), age)}
		enc, err := m.enc.Encode(&full)
		require.NoError(t, err)
		x := make([]float32, m.enc.Width())
		require.NoError(t, m.enc.Assemble(x, &enc, m.emb))
		out := make([]float32, D)
		m.mlp.Forward(out, x, 1)
		return out
	}
	assert.InDeltaSlice(t, ref(exs[0], 0), a[:D], 1e-6, "UserVectors serves at example age 0")
	assert.InDeltaSlice(t, ref(exs[1], 0), a[D:], 1e-6)
	// Per-user ages: each row gets its own.
	require.NoError(t, m.UserVectorsAt(b, exs, []float64{0, 9}))
	assert.InDeltaSlice(t, ref(exs[0], 0), b[:D], 1e-6)
	assert.InDeltaSlice(t, ref(exs[1], 9), b[D:], 1e-6)
	assert.NotEqual(t, a[D:], b[D:], "the age reaches the tower")
	assert.Error(t, m.UserVectorsAt(b, exs, []float64{1}))
	_, err := m.RecommendBatchAt(context.Background(), exs, []float64{math.NaN(), 0}, 3, nil)
	assert.Error(t, err)
}

// TestSetIndexRejectsStaleIndex: an index built for another model with the
// same dimension (a stale index file) is refused; the model's own index is
// accepted, in any item order.
func TestSetIndexRejectsStaleIndex(t *testing.T) {
	a, b := randomModel(t, 1, false), randomModel(t, 2, false)
	ctx := context.Background()
	stale, err := b.BuildHNSW(ctx, retrieval.HNSWConfig{M: 4, Seed: 1})
	require.NoError(t, err)
	assert.ErrorContains(t, a.SetIndex(stale), "another model")
	// Fewer items, or unknown ids: refused too.
	vecs, rows := b.indexItems()
	half := len(rows) / 2
	few, err := retrieval.NewExact(vecs[:half*(b.D()+1)], b.D()+1, rows[:half])
	require.NoError(t, err)
	assert.ErrorContains(t, a.SetIndex(few), "holds")
	// The model's own items, reversed: accepted.
	own, ownRows := a.indexItems()
	D1 := a.D() + 1
	rv, rr := make([]float32, 0, len(own)), make([]int32, 0, len(ownRows))
	for k := len(ownRows) - 1; k >= 0; k-- {
		rv = append(rv, own[k*D1:(k+1)*D1]...)
		rr = append(rr, ownRows[k])
	}
	mine, err := retrieval.NewHNSW(ctx, rv, D1, rr, retrieval.HNSWConfig{M: 4, Seed: 1})
	require.NoError(t, err)
	assert.NoError(t, a.SetIndex(mine))
}

// TestItemsAreRawIDs: Items speaks raw video IDs, in the order of the
// vectors, and each vector scores as the model's logit.
func TestItemsAreRawIDs(t *testing.T) {
	m := randomModel(t, 3, false)
	vecs, ids := m.Items()
	require.Len(t, ids, m.VideoVocab().Size()-1)
	ex := histExample([]int64{4, 5})
	recs, err := m.Recommend(context.Background(), ex, 3, nil)
	require.NoError(t, err)
	u, err := m.UserVector(ex)
	require.NoError(t, err)
	D1 := m.D() + 1
	for _, r := range recs {
		k := slices.Index(ids, r.ID)
		require.GreaterOrEqual(t, k, 0, "recommended ID %d is one of Items' IDs", r.ID)
		row := vecs[k*D1 : (k+1)*D1]
		logit := row[D1-1]
		for j, x := range u {
			logit += row[j] * x
		}
		assert.InDelta(t, r.Score, logit, 1e-4)
	}
}
