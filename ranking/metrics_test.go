package ranking

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMetrics(t *testing.T) {
	// One page: the long watch (10) is beaten by one negative, the short (2) by none.
	g := [][]Scored{{{Score: 0.5, Clicked: true, WatchTime: 10}, {Score: 0.9, Clicked: true, WatchTime: 2}, {Score: 0.7}, {Score: 0.1}}}
	assert.InDelta(t, 10.0/24, WeightedPerUserLoss(g), 1e-12)
	assert.Equal(t, 0.0, WeightedPerUserLoss(nil))
	assert.InDelta(t, 0.75, AUC(g[0]), 1e-12)
	assert.InDelta(t, 0.5, AUC([]Scored{{Score: 1, Clicked: true}, {Score: 1}}), 1e-12)
	assert.True(t, math.IsNaN(AUC([]Scored{{Score: 1}})))
	bins := Calibration([]Scored{{Score: 1}, {Score: 3, Clicked: true, WatchTime: 4}}, 2)
	require.Len(t, bins, 2)
	assert.Equal(t, Bin{N: 1, Predicted: 1, Observed: 0}, bins[0])
	assert.Equal(t, Bin{N: 1, Predicted: 3, Observed: 4}, bins[1])
}

// TestMetricsNonFinite: a NaN or ±Inf score or watch time gives NaN (nil
// bins), and returns at once. Before, AUC looped forever on a NaN score: NaN
// never equals itself, so its tie group never advanced.
func TestMetricsNonFinite(t *testing.T) {
	bad := []float64{math.NaN(), math.Inf(1), math.Inf(-1)}
	for _, v := range bad {
		t.Run(fmt.Sprint(v), func(t *testing.T) {
			items := []Scored{{Score: 0.3, Clicked: true, WatchTime: 2}, {Score: v}, {Score: 0.1}}
			done := make(chan struct{})
			go func() {
				defer close(done)
				assert.True(t, math.IsNaN(AUC(items)), "AUC")
				assert.True(t, math.IsNaN(WeightedPerUserLoss([][]Scored{items})), "WeightedPerUserLoss")
				assert.Nil(t, Calibration(items, 2), "Calibration")
				wt := []Scored{{Score: 0.3, Clicked: true, WatchTime: v}, {Score: 0.1}}
				assert.True(t, math.IsNaN(WeightedPerUserLoss([][]Scored{wt})), "watch time")
			}()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("metric did not return")
			}
		})
	}
}
