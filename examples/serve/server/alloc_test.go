package server

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRecommendAllocations locks the served request's allocations: a
// handful per request (the request's user, the retrieval's answer, the
// response), none per candidate: ranking 200 candidates allocates what
// ranking 20 does, with exact retrieval and with HNSW.
func TestRecommendAllocations(t *testing.T) {
	a, b := dirs(t)
	for _, dir := range []string{a, b} {
		m, err := Load(dir)
		require.NoError(t, err)
		vocab := m.Candgen.VideoVocab()
		var h []ID
		for j := int32(1); j <= 12; j++ {
			id, _ := vocab.ID(j)
			h = append(h, ID{Int: id})
		}
		req := &Request{History: h, N: 10}
		per := func(candidates int) float64 {
			return testing.AllocsPerRun(30, func() {
				if _, err := m.Recommend(context.Background(), req, candidates); err != nil {
					t.Fatal(err)
				}
			})
		}
		few, many := per(20), per(200)
		t.Logf("%s: %.0f allocations with 20 candidates, %.0f with 200", dir, few, many)
		if raceEnabled {
			continue
		}
		assert.LessOrEqual(t, many, few+2, "allocations do not grow with the candidates")
		assert.LessOrEqual(t, many, 50.0)
	}
}

// TestItemPartRanksAsWithout: the videos' own features precomputed per
// video (the set's item part) give every request the ranking it gets
// without: the same videos in the same order, the same expected watch
// times to float rounding, for plain histories and for users with events
// and a request time (signals and ages that are not the item part's).
func TestItemPartRanksAsWithout(t *testing.T) {
	a, _ := dirs(t)
	m, err := Load(a)
	require.NoError(t, err)
	require.NotNil(t, m.items, "a set with a ranker has an item part")
	plain := *m
	plain.items = nil
	vocab := m.Candgen.VideoVocab()
	vid := func(j int32) ID { id, _ := vocab.ID(j); return ID{Int: id} }
	reqs := []*Request{
		{History: []ID{vid(1), vid(2), vid(3)}, N: 20},
		{History: []ID{vid(40)}, N: 5},
		{Events: []Event{
			{Video: vid(7), Time: m.Layout.End - 3_600_000, Kind: "watch"},
			{Video: vid(8), Time: m.Layout.End - 1_800_000, Kind: "impression"},
			{Video: vid(9), Time: m.Layout.End - 600_000, Kind: "impression", Clicked: true, WatchSeconds: 40},
		}, Time: m.Layout.End + 86_400_000, N: 20},
	}
	for k, req := range reqs {
		got, err := m.Recommend(context.Background(), req, 200)
		require.NoError(t, err)
		want, err := plain.Recommend(context.Background(), req, 200)
		require.NoError(t, err)
		require.Len(t, got, len(want))
		for i := range want {
			assert.Equal(t, want[i].VideoID, got[i].VideoID, "request %d, rank %d", k, i)
			assert.InDelta(t, want[i].ExpectedWatchTime, got[i].ExpectedWatchTime, 1e-5*want[i].ExpectedWatchTime, "request %d, rank %d", k, i)
		}
	}
}
