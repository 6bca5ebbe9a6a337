package retrieval

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func brute(data []float32, dim int, q []float32, n int, skip func(int32) bool) []Hit {
	var all []Hit
	for i := 0; i < len(data)/dim; i++ {
		if skip != nil && skip(int32(i)) {
			continue
		}
		var s float32
		for j := 0; j < dim; j++ {
			s += data[i*dim+j] * q[j]
		}
		all = append(all, Hit{int32(i), s})
	}
	return SortHits(all, n)
}

// TestExactMatchesBruteForce over 1, 7 (the serial thin path) and 300
// queries (the packed matrix product, and two query blocks), with a
// per-query filter, against brute force.
func TestExactMatchesBruteForce(t *testing.T) {
	for _, m := range []int{1, 7, 300} {
		t.Run(fmt.Sprint(m), func(t *testing.T) { exactMatchesBrute(t, m) })
	}
}

func exactMatchesBrute(t *testing.T, m int) {
	rng := rand.New(rand.NewPCG(1, 2))
	const n, dim = 5000, 17
	data := make([]float32, n*dim)
	for i := range data {
		data[i] = float32(rng.NormFloat64())
	}
	orig := slices.Clone(data)
	idx, err := NewExact(data, dim, nil)
	require.NoError(t, err)
	q := make([]float32, m*dim)
	for i := range q {
		q[i] = float32(rng.NormFloat64())
	}
	skip := func(qi int, id int32) bool { return id%3 == int32(qi%3) }
	got, err := idx.Search(context.Background(), q, 25, skip)
	require.NoError(t, err)
	require.Len(t, got, m)
	for qi := 0; qi < m; qi++ {
		want := brute(data, dim, q[qi*dim:(qi+1)*dim], 25, func(id int32) bool { return skip(qi, id) })
		require.Len(t, got[qi], 25)
		for j := range want {
			assert.Equal(t, want[j].ID, got[qi][j].ID)
			assert.InDelta(t, want[j].Score, got[qi][j].Score, 1e-4)
		}
	}
	assert.Equal(t, orig, data, "search must not modify the vectors")
}

func TestExactFewerThanN(t *testing.T) {
	idx, err := NewExact([]float32{1, 0, 0, 1, 1, 1}, 2, []int32{10, 11, 12})
	require.NoError(t, err)
	got, err := idx.Search(context.Background(), []float32{1, 2}, 10, func(_ int, id int32) bool { return id == 11 })
	require.NoError(t, err)
	assert.Equal(t, []Hit{{12, 3}, {10, 1}}, got[0])
}

func TestExactBadInput(t *testing.T) {
	_, err := NewExact([]float32{1, 2, 3}, 2, nil)
	assert.Error(t, err)
	idx, _ := NewExact([]float32{1, 2}, 2, nil)
	_, err = idx.Search(context.Background(), []float32{1}, 1, nil)
	assert.Error(t, err)
	_, err = idx.Search(context.Background(), []float32{1, 2}, 0, nil)
	assert.Error(t, err)
}

// TestSearchStopsOnDoneContext: a search whose context is done returns the
// context's error, and a deadline reached mid-scan stops an exact search
// between item blocks instead of finishing it.
func TestSearchStopsOnDoneContext(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n, dim = 3000, 8
	data := make([]float32, n*dim)
	for i := range data {
		data[i] = float32(rng.NormFloat64())
	}
	ex, err := NewExact(data, dim, nil)
	require.NoError(t, err)
	hn, err := NewHNSW(context.Background(), data, dim, nil, HNSWConfig{M: 8, EfConstruction: 32, Seed: 1})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for name, idx := range map[string]Index{"exact": ex, "hnsw": hn} {
		_, err := idx.Search(ctx, data[:dim], 5, nil)
		assert.ErrorIs(t, err, context.Canceled, name)
	}
	// Cancelled from inside the scan (the filter runs on the first item
	// block's candidates): the search returns the error, and the second
	// block (items 2,048 on; one worker over 3,000 items) is never scored.
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	maxID := int32(-1)
	_, err = ex.Search(ctx, data[:dim], 5, func(_ int, id int32) bool {
		cancel()
		maxID = max(maxID, id)
		return false
	})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Less(t, maxID, int32(itemBlock), "the scan stopped after the block in which ctx was cancelled")
}

func TestRecall(t *testing.T) {
	truth := [][]Hit{{{ID: 1}, {ID: 2}}, {{ID: 3}, {ID: 4}}}
	assert.Equal(t, 0.75, Recall(truth, [][]Hit{{{ID: 2}, {ID: 1}}, {{ID: 4}, {ID: 9}}}))
	assert.Equal(t, 0.25, Recall(truth, [][]Hit{{{ID: 2}}}), "a missing query finds nothing")
	assert.Zero(t, Recall(nil, nil))
}

// TestExactUnevenSplit: with several workers forced and item counts that do
// not divide evenly among them, every item is scored, including the best
// one, placed last (splitting by N/workers dropped the tail). The other
// multi-worker tests split evenly, and one core means one worker.
func TestExactUnevenSplit(t *testing.T) {
	const dim = 3
	for _, tc := range []struct{ items, workers int }{
		{7, 3},
		{5, 8}, // more workers than items
		{4097, 2},
		{6001, 4}, // ranges over item blocks of 2,048
		{10_001, 7},
	} {
		t.Run(fmt.Sprintf("%d_items_%d_workers", tc.items, tc.workers), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(tc.items), 3))
			data := make([]float32, tc.items*dim)
			for i := range data {
				data[i] = float32(rng.NormFloat64())
			}
			q := []float32{1, 1, 1}
			copy(data[(tc.items-1)*dim:], []float32{10, 10, 10}) // the best item, last
			idx, err := NewExact(data, dim, nil)
			require.NoError(t, err)
			idx.Workers = tc.workers
			require.Equal(t, min(tc.workers, tc.items), idx.workers())
			n := min(5, tc.items)
			got, err := idx.Search(context.Background(), q, n, nil)
			require.NoError(t, err)
			want := brute(data, dim, q, n, nil)
			require.Len(t, got[0], n)
			assert.Equal(t, int32(tc.items-1), got[0][0].ID, "the last item is the best")
			for j := range want {
				assert.Equal(t, want[j].ID, got[0][j].ID)
				assert.InDelta(t, want[j].Score, got[0][j].Score, 1e-4)
			}
			// All of them: nothing is dropped from any range.
			all, err := idx.Search(context.Background(), q, tc.items, nil)
			require.NoError(t, err)
			assert.Len(t, all[0], tc.items)
		})
	}
}
