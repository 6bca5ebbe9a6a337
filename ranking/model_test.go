package ranking

import (
	"bytes"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/tower"
)

// randomModel is an untrained ranker over a video ID, a bag of recent
// videos (videos 0..19, 8-dimensional) and two continuous features, with a
// tower 16 wide, and 50 impressions of it: scoring and files need no
// training.
func randomModel(t testing.TB, seed uint64) (*Model, []Impression) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, seed))
	spec := feature.Spec{
		Spaces: []feature.Space{{Name: "video", Dim: 8}},
		Features: []feature.Feature{
			{Name: "video", Kind: feature.ID, Space: "video"},
			{Name: "last_watched", Kind: feature.Bag, Space: "video", MaxLen: 5},
			{Name: "appeal", Kind: feature.Continuous},
			{Name: "quality", Kind: feature.Continuous},
		},
	}
	fit, err := feature.NewFitter(spec)
	require.NoError(t, err)
	imps := make([]Impression, 50)
	for i := range imps {
		ex := feature.Example{
			IDs:  [][]int64{{int64(rng.IntN(20))}, {int64(rng.IntN(20)), int64(rng.IntN(20))}, nil, nil},
			Nums: []float64{0, 0, rng.Float64(), rng.Float64()},
		}
		imps[i] = Impression{Features: ex, Clicked: i%3 == 0, WatchTime: float64(i % 7)}
		require.NoError(t, fit.Observe(&ex, true))
	}
	enc, err := fit.Encoder()
	require.NoError(t, err)
	emb, err := enc.NewParams(0.5, rng, nil)
	require.NoError(t, err)
	mlp, err := tower.New([]int{enc.Width(), 16, 1}, false, rng)
	require.NoError(t, err)
	m, err := NewModel(enc, emb.Tables, mlp)
	require.NoError(t, err)
	return m, imps
}

func TestSaveLoadRanking(t *testing.T) {
	m, imps := randomModel(t, 1)
	path := filepath.Join(t.TempDir(), "rank.model")
	require.NoError(t, m.Save(path))
	m2, err := Load(path)
	require.NoError(t, err)
	exs := []feature.Example{imps[0].Features, imps[1].Features}
	a, _ := m.ExpectedWatchTime(exs)
	b, _ := m2.ExpectedWatchTime(exs)
	assert.Equal(t, a, b)
	var buf bytes.Buffer
	_, err = m.WriteTo(&buf)
	require.NoError(t, err)
	raw := buf.Bytes()
	_, err = ReadModel(bytes.NewReader(raw[:len(raw)-5]))
	assert.Error(t, err)
	raw[len(raw)/2] ^= 1
	_, err = ReadModel(bytes.NewReader(raw))
	assert.Error(t, err)
}
