package main

import (
	"context"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTinyRun runs the whole example on a tiny world.
func TestTinyRun(t *testing.T) {
	o := options{
		users: 600, videos: 400, topics: 8, watches: 15, cgEpochs: 8, rkEpochs: 2, batch: 128, neg: 50,
		tower: "32,16", rankTower: "16", lr: 0.005, evalUsers: 100, candidates: 50, seed: 1, index: "hnsw",
		out: io.Discard,
	}
	m, err := run(context.Background(), o)
	require.NoError(t, err)
	for _, k := range []string{"candgen_hr@50_filtered", "mostpop_hr@50_filtered", "candgen_ndcg@10_filtered", "hnsw_recall@50", "ranking_auc", "ranking_weighted_per_user_loss", "e2e_top10_true_watch", "oracle_top10_true_watch"} {
		require.Contains(t, m, k)
	}
	assert.Greater(t, m["candgen_hr@50_filtered"].(float64), m["mostpop_hr@50_filtered"].(float64))
	assert.Greater(t, m["hnsw_recall@50"].(float64), 0.9)
	assert.Greater(t, m["e2e_top10_true_watch"].(float64), m["mostpop_top10_true_watch"].(float64))
	t.Logf("top-10 true watch: two-stage %v, candgen only %v, most popular %v", m["e2e_top10_true_watch"], m["candgen_top10_true_watch"], m["mostpop_top10_true_watch"])
	// Ranking the candidates must add watch time over their retrieval
	// order (a ranker that learned nothing would not), on users whose
	// impressions it never saw.
	assert.Greater(t, m["e2e_top10_true_watch"].(float64), 1.2*m["candgen_top10_true_watch"].(float64))
	_, err = run(context.Background(), options{tower: "x"})
	assert.Error(t, err)
}
