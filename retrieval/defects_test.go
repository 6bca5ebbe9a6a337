package retrieval

import (
	"bytes"
	"context"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func gaussian(n, dim int, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 5))
	v := make([]float32, n*dim)
	for i := range v {
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

// TestHNSWLargeM: M = 128 keeps 256 level-0 neighbours per node. The count
// was a uint8, so the lists wrapped to empty and recall fell to 0.63.
func TestHNSWLargeM(t *testing.T) {
	const n, dim = 3000, 8
	items := gaussian(n, dim, 1)
	qs := gaussian(50, dim, 2)
	ex, err := NewExact(items, dim, nil)
	require.NoError(t, err)
	want, err := ex.Search(context.Background(), qs, 10, nil)
	require.NoError(t, err)
	for _, m := range []int{128, 200} {
		h, err := NewHNSW(context.Background(), items, dim, nil, HNSWConfig{M: m, EfConstruction: 64, Seed: 1})
		require.NoError(t, err)
		got, err := h.Search(context.Background(), qs, 10, nil)
		require.NoError(t, err)
		r := recall(want, got)
		assert.Greater(t, r, 0.95, "M=%d recall@10 %.3f", m, r)
		for i := 0; i < 20; i++ {
			assert.NotEmpty(t, h.list(int32(i), 0), "M=%d: node %d has layer-0 links", m, i)
		}
		var buf bytesBuffer
		_, err = h.WriteTo(&buf)
		require.NoError(t, err)
		h2, err := ReadHNSW(&buf)
		require.NoError(t, err)
		got2, err := h2.Search(context.Background(), qs, 10, nil)
		require.NoError(t, err)
		assert.Equal(t, got, got2, "the counts survive a save and load")
	}
}

// TestHNSWConcurrentTopInserts: every node that reaches a level shared by
// another node keeps links on it. Two inserts above the old top level at
// once used to both link against the old top, leaving the lower one with no
// links on the levels between. M = 2 makes high levels common; 8 workers
// insert concurrently; several seeds.
func TestHNSWConcurrentTopInserts(t *testing.T) {
	const n, dim = 3000, 4
	items := gaussian(n, dim, 3)
	seeds := uint64(12)
	if testing.Short() {
		seeds = 4 // the race detector makes each build slow
	}
	for seed := uint64(1); seed <= seeds; seed++ {
		h, err := NewHNSW(context.Background(), items, dim, nil, HNSWConfig{M: 2, EfConstruction: 16, Seed: seed, Workers: 8})
		require.NoError(t, err)
		for l := 1; l <= h.maxLevel; l++ {
			var at []int32
			for i, lv := range h.level {
				if int(lv) >= l {
					at = append(at, int32(i))
				}
			}
			if len(at) < 2 {
				continue
			}
			for _, i := range at {
				assert.NotEmpty(t, h.list(i, l), "seed %d: node %d (level %d) has no links on level %d of %d nodes", seed, i, h.level[i], l, len(at))
			}
		}
	}
}

// TestHNSWProgressSerialized: the build's Progress callback is never
// entered by two goroutines at once (a progress bar is not safe for that).
func TestHNSWProgressSerialized(t *testing.T) {
	items := gaussian(40_000, 4, 4)
	var inside, overlaps, calls atomic.Int32
	_, err := NewHNSW(context.Background(), items, 4, nil, HNSWConfig{M: 4, EfConstruction: 8, Seed: 1, Workers: 8,
		Progress: func(done, total int) {
			calls.Add(1)
			if inside.Add(1) > 1 {
				overlaps.Add(1)
			}
			time.Sleep(20 * time.Millisecond)
			inside.Add(-1)
		}})
	require.NoError(t, err)
	assert.Greater(t, calls.Load(), int32(5))
	assert.Zero(t, overlaps.Load(), "Progress entered concurrently")
}

// TestSetEfSearchDuringSearches: changing efSearch while searches run is
// safe (the race detector checks it in CI) and takes effect.
func TestSetEfSearchDuringSearches(t *testing.T) {
	items := gaussian(2000, 8, 5)
	h, err := NewHNSW(context.Background(), items, 8, nil, HNSWConfig{M: 8, EfConstruction: 32, Seed: 1})
	require.NoError(t, err)
	qs := gaussian(20, 8, 6)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			h.SetEfSearch(10 + i%100)
		}
	}()
	for i := 0; i < 50; i++ {
		_, err := h.Search(context.Background(), qs, 5, nil)
		require.NoError(t, err)
	}
	close(stop)
	wg.Wait()
	h.SetEfSearch(2000)
	ex, _ := NewExact(items, 8, nil)
	want, _ := ex.Search(context.Background(), qs, 5, nil)
	got, _ := h.Search(context.Background(), qs, 5, nil)
	assert.GreaterOrEqual(t, recall(want, got), 0.95, "a large ef takes effect")
}

// TestExactScratchBounded: an exact search over many queries uses scratch
// bounded by blocks of queries; it used to allocate queries × 2,048 floats
// per worker (1M queries: GBs).
func TestExactScratchBounded(t *testing.T) {
	const n, dim, m = 9000, 4, 40_000
	items := gaussian(n, dim, 7)
	qs := gaussian(m, dim, 8)
	ex, err := NewExact(items, dim, nil)
	require.NoError(t, err)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	got, err := ex.Search(context.Background(), qs, 3, nil)
	require.NoError(t, err)
	runtime.ReadMemStats(&after)
	alloc := after.TotalAlloc - before.TotalAlloc
	t.Logf("%d queries: %.1f MiB allocated", m, float64(alloc)/(1<<20))
	assert.Less(t, alloc, uint64(64<<20), "scratch must not grow with the number of queries")
	// Still exact: spot-check against brute force.
	for _, q := range []int{0, 777, m - 1} {
		want := brute(items, dim, qs[q*dim:(q+1)*dim], 3, nil)
		require.Len(t, got[q], 3)
		for k := range want {
			assert.Equal(t, want[k].ID, got[q][k].ID)
			assert.InDelta(t, want[k].Score, got[q][k].Score, 1e-5)
		}
	}
}

// TestItemsAndBytes: both indexes give their items back (a loaded index
// can be exported or rebuilt), and the HNSW memory figure counts its own
// copy of the vectors.
func TestItemsAndBytes(t *testing.T) {
	items := gaussian(500, 6, 9)
	ids := make([]int32, 500)
	for i := range ids {
		ids[i] = int32(1000 + i)
	}
	ex, err := NewExact(items, 6, ids)
	require.NoError(t, err)
	h, err := NewHNSW(context.Background(), items, 6, ids, HNSWConfig{M: 4, EfConstruction: 16, Seed: 1})
	require.NoError(t, err)
	for _, idx := range []Index{ex, h} {
		v, got := idx.Items()
		assert.Equal(t, items, v)
		assert.Equal(t, ids, got)
	}
	assert.Equal(t, 4*500*6+h.Overhead(), h.Bytes())
}

type bytesBuffer = bytes.Buffer
