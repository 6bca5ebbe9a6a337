package eval

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNames(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{MetricHR.At(10, HistoryAll), "hr@10_all"},
		{MetricHR.At(50, HistoryFiltered), "hr@50_filtered"},
		{MetricNDCG.At(10, HistoryFiltered), "ndcg@10_filtered"},
		{MetricRecall.At(50, ""), "recall@50"},
		{MetricAUC.String(), "auc"},
		{MetricAUC.At(0, ""), "auc"},
		{MetricWeightedPerUserLoss.String(), "weighted_per_user_loss"},
	} {
		t.Run(c.want, func(t *testing.T) { assert.Equal(t, c.want, c.got) })
	}
}

func TestPut(t *testing.T) {
	out := map[string]any{"seconds": 3}
	Put(out, "mostpop_", map[string]float64{"hr@50_all": 0.123456, "auc": math.NaN()})
	assert.Equal(t, 0.1235, out["mostpop_hr@50_all"])
	assert.True(t, math.IsNaN(out["mostpop_auc"].(float64)))
	assert.Equal(t, 3, out["seconds"])
	assert.Len(t, out, 3)
}

func TestMarshalJSON(t *testing.T) {
	line, bad, err := MarshalJSON(map[string]any{"auc": math.NaN(), "hr@50_all": 0.25, "n": 3, "loss": float32(math.Inf(1))})
	require.NoError(t, err)
	assert.JSONEq(t, `{"auc":null,"hr@50_all":0.25,"n":3,"loss":null}`, string(line))
	assert.Equal(t, []string{"auc", "loss"}, bad)
	_, _, err = MarshalJSON(map[string]any{"f": func() {}})
	assert.Error(t, err, "a value JSON cannot hold is still an error")
}
