package train

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/feature"
)

// countingSource is a slice source that counts its passes and can fail
// at a given example.
type countingSource struct {
	exs    []candgen.Example
	opens  int
	failAt int // -1: never
	// failFrom is the first pass (1-based) that fails at failAt.
	failFrom int
}

func (s *countingSource) Open(ctx context.Context) (feature.Iterator[candgen.Example], error) {
	s.opens++
	return &countingIter{s: s}, nil
}

type countingIter struct {
	s *countingSource
	i int
}

func (it *countingIter) Next() (candgen.Example, error) {
	if it.i == it.s.failAt && it.s.opens >= it.s.failFrom {
		return candgen.Example{}, errors.New("disk on fire")
	}
	if it.i >= len(it.s.exs) {
		return candgen.Example{}, io.EOF
	}
	it.i++
	return it.s.exs[it.i-1], nil
}

func (it *countingIter) Close() error { return nil }

// recall10 is the planted world's recall@10 of m on fresh users.
func recall10(t *testing.T, m *candgen.Model, w world) float64 {
	t.Helper()
	rng := rand.New(rand.NewPCG(99, 99))
	const users = 500
	exs := make([]feature.Example, users)
	labels := make([]int64, users)
	for i := range exs {
		h, next := w.user(rng, 8)
		exs[i], labels[i] = histExample(h), next
	}
	recs, err := m.RecommendBatch(context.Background(), exs, 10, nil)
	require.NoError(t, err)
	hits := 0
	for i, r := range recs {
		for _, s := range r {
			if s.ID == labels[i] {
				hits++
			}
		}
	}
	return float64(hits) / users
}

// TestTrainSourceStreams: a source longer than the shuffle buffer is read
// once to fit and once per epoch, and — even sorted by label, the worst
// order a log could come in — trains as well as the same examples held in
// memory, thanks to the shuffle buffer. Without the buffer's shuffling
// (buffer of 1) the sorted stream trains much worse.
func TestTrainSourceStreams(t *testing.T) {
	w := world{clusters: 20, perCluster: 25}
	rng := rand.New(rand.NewPCG(11, 7))
	var data []candgen.Example
	for u := 0; u < 3000; u++ {
		h, next := w.user(rng, 3+rng.IntN(10))
		data = append(data, candgen.Example{Features: histExample(h), Label: next})
	}
	slices.SortStableFunc(data, func(a, b candgen.Example) int { return int(a.Label - b.Label) })
	cfg := CandgenConfig{Spec: histSpec(), Tower: []int{32, 16}, Negatives: 50, Options: Options{Batch: 128, Epochs: 10, LR: 0.005, Seed: 11}}
	mem, st, err := Candgen(context.Background(), cfg, data)
	require.NoError(t, err)
	require.Equal(t, 3000, st.Examples)

	recall := map[int]float64{}
	for _, buffer := range []int{1, 1000} {
		src := &countingSource{exs: data, failAt: -1}
		c := cfg
		c.ShuffleBuffer = buffer
		m, st, err := CandgenSource(context.Background(), c, src)
		require.NoError(t, err)
		assert.Equal(t, 3000, st.Examples)
		assert.Equal(t, 10, st.Epochs)
		assert.Equal(t, 1+10, src.opens, "one fitting pass and one per epoch")
		recall[buffer] = recall10(t, m, w)
	}
	rMem := recall10(t, mem, w)
	t.Logf("recall@10: in memory %.3f, streamed with buffer 1000 %.3f, with buffer 1 %.3f", rMem, recall[1000], recall[1])
	assert.Greater(t, recall[1000], rMem-0.06, "streaming through the buffer trains about as well")
	assert.Greater(t, recall[1000], recall[1]+0.05, "the buffer's shuffle matters on a sorted stream")
}

// TestTrainSourceErrors: a source that fails mid-pass is an error naming
// the example, whether it fails while fitting or while streaming.
func TestTrainSourceErrors(t *testing.T) {
	var data []candgen.Example
	for i := 0; i < 300; i++ {
		data = append(data, candgen.Example{Features: histExample([]int64{int64(i % 7), int64(i % 5)}), Label: int64(i % 9)})
	}
	cfg := CandgenConfig{Spec: histSpec(), Tower: []int{4}, Negatives: 3, Options: Options{Batch: 16, Epochs: 2, ShuffleBuffer: 50, Seed: 1}}
	_, _, err := CandgenSource(context.Background(), cfg, &countingSource{exs: data, failAt: 120})
	require.Error(t, err)
	assert.ErrorContains(t, err, "example 120")
	assert.ErrorContains(t, err, "disk on fire")
	// The fitting pass reads fine; the first epoch's pass fails.
	src := &countingSource{exs: data, failAt: 200, failFrom: 2}
	_, _, err = CandgenSource(context.Background(), cfg, src)
	require.Error(t, err)
	assert.ErrorContains(t, err, "example 200")
	assert.Equal(t, 2, src.opens)
	_, _, err = CandgenSource(context.Background(), cfg, &countingSource{exs: nil, failAt: -1})
	assert.ErrorContains(t, err, "no training examples")
	bad := append(slices.Clone(data), candgen.Example{Features: feature.Example{IDs: make([][]int64, 1), Nums: make([]float64, 1)}, Label: 1})
	_, _, err = CandgenSource(context.Background(), cfg, feature.SliceSource(bad))
	assert.ErrorContains(t, err, "example 300")
}

// TestRowAdagradTables: the tables train with row-wise Adagrad (the
// large-vocabulary option) and learn the planted signal.
func TestRowAdagradTables(t *testing.T) {
	w := world{clusters: 20, perCluster: 25}
	rng := rand.New(rand.NewPCG(11, 7))
	var data []candgen.Example
	for u := 0; u < 3000; u++ {
		h, next := w.user(rng, 3+rng.IntN(10))
		data = append(data, candgen.Example{Features: histExample(h), Label: next})
	}
	cfg := CandgenConfig{Spec: histSpec(), Tower: []int{32, 16}, Negatives: 50, Options: Options{Batch: 128, Epochs: 10, LR: 0.005, EmbeddingLR: 0.5, TableOptimizer: TableRowAdagrad, Seed: 11}}
	m, _, err := Candgen(context.Background(), cfg, data)
	require.NoError(t, err)
	r := recall10(t, m, w)
	t.Logf("recall@10 with row-wise Adagrad tables: %.3f", r)
	assert.Greater(t, r, 0.3)
	cfg.TableOptimizer = "sgd"
	_, _, err = Candgen(context.Background(), cfg, data)
	assert.ErrorContains(t, err, "TableOptimizer")
}
