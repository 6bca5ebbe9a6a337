package retrieval

import (
	"bytes"
	"context"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clustered draws n vectors around c centres with per-item norms varying,
// like softmax weights of videos; queries come from the same process but are
// not indexed points.
func clustered(n, c, dim int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 9))
	centres := make([]float32, c*dim)
	crng := rand.New(rand.NewPCG(42, 42))
	for i := range centres {
		centres[i] = float32(crng.NormFloat64())
	}
	v := make([]float32, n*dim)
	for i := 0; i < n; i++ {
		k := rng.IntN(c)
		scale := float32(0.5 + rng.Float64())
		for j := 0; j < dim; j++ {
			v[i*dim+j] = scale * (centres[k*dim+j] + 0.7*float32(rng.NormFloat64()))
		}
	}
	return v
}

func recall(exact, approx [][]Hit) float64 { return Recall(exact, approx) }

func buildTest(t *testing.T, n int) (*HNSW, *Exact, []float32) {
	const dim = 16
	items := clustered(n, 50, dim, 1)
	ex, err := NewExact(items, dim, nil)
	require.NoError(t, err)
	h, err := NewHNSW(context.Background(), items, dim, nil, HNSWConfig{M: 12, EfConstruction: 100, Seed: 1})
	require.NoError(t, err)
	return h, ex, clustered(100, 50, dim, 2)
}

func TestHNSWRecallAgainstExact(t *testing.T) {
	h, ex, qs := buildTest(t, 8000)
	want, err := ex.Search(context.Background(), qs, 50, nil)
	require.NoError(t, err)
	got, err := h.Search(context.Background(), qs, 50, nil)
	require.NoError(t, err)
	r := recall(want, got)
	t.Logf("recall@50 = %.3f, overhead %d bytes/item", r, h.Overhead()/h.Len())
	assert.Greater(t, r, 0.95)
	// Sorted by the true inner product, which the scores are.
	for q, hs := range got {
		for i, hit := range hs {
			if i > 0 {
				assert.GreaterOrEqual(t, hs[i-1].Score, hit.Score)
			}
			var s float32
			for j := 0; j < 16; j++ {
				s += qs[q*16+j] * ex.data[int(hit.ID)*16+j]
			}
			assert.InDelta(t, s, hit.Score, float64(1e-3*(1+abs(s))))
		}
	}
}

func abs(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}

func TestHNSWExclusionStillReturnsN(t *testing.T) {
	h, ex, qs := buildTest(t, 3000)
	q := qs[:16]
	first, err := h.Search(context.Background(), q, 100, nil)
	require.NoError(t, err)
	banned := map[int32]bool{}
	for _, hit := range first[0] {
		banned[hit.ID] = true
	}
	// Also ban a big slice of the index so ef has to grow.
	for id := int32(0); id < 2000; id++ {
		banned[id] = true
	}
	filter := func(_ int, id int32) bool { return banned[id] }
	got, err := h.Search(context.Background(), q, 100, filter)
	require.NoError(t, err)
	require.Len(t, got[0], 100)
	for _, hit := range got[0] {
		assert.False(t, banned[hit.ID])
	}
	want, _ := ex.Search(context.Background(), q, 100, filter)
	assert.Greater(t, recall(want, got), 0.9)
}

func TestHNSWSaveLoadIdentical(t *testing.T) {
	h, _, qs := buildTest(t, 2000)
	path := filepath.Join(t.TempDir(), "idx.hnsw")
	require.NoError(t, h.Save(path))
	h2, err := LoadHNSW(path)
	require.NoError(t, err)
	a, _ := h.Search(context.Background(), qs, 20, nil)
	b, _ := h2.Search(context.Background(), qs, 20, nil)
	assert.Equal(t, a, b)

	var buf bytes.Buffer
	_, err = h.WriteTo(&buf)
	require.NoError(t, err)
	raw := buf.Bytes()
	for _, cut := range []int{0, 20, len(raw) / 2, len(raw) - 1} {
		_, err := ReadHNSW(bytes.NewReader(raw[:cut]))
		assert.Error(t, err)
	}
	bad := append([]byte(nil), raw...)
	bad[len(bad)-100] ^= 0x7f
	_, err = ReadHNSW(bytes.NewReader(bad))
	assert.Error(t, err)
}

func TestHNSWConcurrentSearch(t *testing.T) {
	h, _, qs := buildTest(t, 2000)
	want, _ := h.Search(context.Background(), qs[:16*8], 10, nil)
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := 0; k < 10; k++ {
				got, err := h.Search(context.Background(), qs[:16*8], 10, nil)
				assert.NoError(t, err)
				assert.Equal(t, want, got)
			}
		}()
	}
	wg.Wait()
}

func TestHNSWBadInput(t *testing.T) {
	_, err := NewHNSW(context.Background(), nil, 4, nil, HNSWConfig{})
	assert.Error(t, err)
	_, err = NewHNSW(context.Background(), make([]float32, 8), 4, nil, HNSWConfig{M: 1})
	assert.Error(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = NewHNSW(ctx, clustered(10000, 5, 4, 1), 4, nil, HNSWConfig{})
	assert.ErrorIs(t, err, context.Canceled)
}
