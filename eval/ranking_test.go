package eval

import (
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// page is one user's page: A (0.5, clicked, 10 minutes), B (0.9, clicked,
// 2), C (0.7) and D (0.1).
var page = []Scored{{Score: 0.5, Clicked: true, WatchTime: 10}, {Score: 0.9, Clicked: true, WatchTime: 2}, {Score: 0.7}, {Score: 0.1}}

func TestWeightedPerUserLoss(t *testing.T) {
	for _, c := range []struct {
		name   string
		groups [][]Scored
		want   float64
	}{
		// Pairs (A,C) (A,D) (B,C) (B,D) weigh 10+10+2+2 = 24; only C beats
		// A: 10/24.
		{"one page", [][]Scored{page}, 10.0 / 24},
		// Tied pair: half of 4 over 4.
		{"tie counts half", [][]Scored{{{Score: 1, Clicked: true, WatchTime: 4}, {Score: 1}}}, 0.5},
		// Within each page the click wins (0 of 3+1); pooled, 0.6 would
		// beat 0.5 (3 of 8): pairs never cross pages.
		{"pages apart", [][]Scored{{{Score: 0.5, Clicked: true, WatchTime: 3}, {Score: 0.4}}, {{Score: 0.9, Clicked: true, WatchTime: 1}, {Score: 0.6}}}, 0},
		// Two pages, 3 of 3 and 0 of 1: weighted by watch time, 3/4 (the
		// mean of the pages' losses would be 1/2).
		{"weighted by watch time", [][]Scored{{{Score: 0.2, Clicked: true, WatchTime: 3}, {Score: 0.8}}, {{Score: 0.9, Clicked: true, WatchTime: 1}, {Score: 0.8}}}, 0.75},
		{"no groups", nil, 0},
		{"no unclicked", [][]Scored{{{Score: 1, Clicked: true, WatchTime: 3}, {Score: 2, Clicked: true, WatchTime: 1}}}, 0},
		{"no clicked", [][]Scored{{{Score: 1}, {Score: 2}}}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.InDelta(t, c.want, WeightedPerUserLoss(c.groups), 1e-12)
		})
	}
}

func TestAUC(t *testing.T) {
	for _, c := range []struct {
		name  string
		items []Scored
		want  float64
	}{
		// By ascending score D−, A+, C−, B+: ranks of the clicks 2 and 4,
		// (6 − 2·3/2)/(2·2) = 3/4 (of the pairs only (A,C) is lost).
		{"one page", page, 0.75},
		{"tie counts half", []Scored{{Score: 1, Clicked: true}, {Score: 1}}, 0.5},
		// Pairs: (1+,1−) ½, (1+,0−) 1, (2+,1−) 1, (2+,0−) 1: 3.5/4.
		{"tie among others", []Scored{{Score: 1, Clicked: true}, {Score: 1}, {Score: 0}, {Score: 2, Clicked: true}}, 0.875},
		{"perfect", []Scored{{Score: 0}, {Score: 3, Clicked: true}}, 1},
		{"reversed", []Scored{{Score: 3}, {Score: 0, Clicked: true}}, 0},
		{"one class", []Scored{{Score: 1}}, math.NaN()},
		{"empty", nil, math.NaN()},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := AUC(c.items)
			if math.IsNaN(c.want) {
				assert.True(t, math.IsNaN(got), "got %v, want NaN", got)
				return
			}
			assert.InDelta(t, c.want, got, 1e-12)
		})
	}
}

func TestCalibration(t *testing.T) {
	// Sorted by score: 1, 2 (clicked, 2 minutes) | 3, 4 (clicked, 6):
	// predicted 1.5 and 3.5, observed 2/2 = 1 and 6/2 = 3.
	four := []Scored{{Score: 4, Clicked: true, WatchTime: 6}, {Score: 1}, {Score: 2, Clicked: true, WatchTime: 2}, {Score: 3}}
	for _, c := range []struct {
		name  string
		items []Scored
		bins  int
		want  []Bin
	}{
		{"two items two bins", []Scored{{Score: 1}, {Score: 3, Clicked: true, WatchTime: 4}}, 2, []Bin{{N: 1, Predicted: 1, Observed: 0}, {N: 1, Predicted: 3, Observed: 4}}},
		{"unsorted input", four, 2, []Bin{{N: 2, Predicted: 1.5, Observed: 1}, {N: 2, Predicted: 3.5, Observed: 3}}},
		{"one bin", four, 1, []Bin{{N: 4, Predicted: 2.5, Observed: 2}}},
		// Bins 0..0 (empty, left out), 0..1 and 1..2.
		{"more bins than items", []Scored{{Score: 1}, {Score: 3, Clicked: true, WatchTime: 4}}, 3, []Bin{{N: 1, Predicted: 1, Observed: 0}, {N: 1, Predicted: 3, Observed: 4}}},
		{"no bins", four, 0, nil},
		{"no items", nil, 2, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			in := slices.Clone(c.items)
			got := Calibration(c.items, c.bins)
			require.Len(t, got, len(c.want))
			for i := range got {
				assert.Equal(t, c.want[i].N, got[i].N, "bin %d", i)
				assert.InDelta(t, c.want[i].Predicted, got[i].Predicted, 1e-12, "bin %d", i)
				assert.InDelta(t, c.want[i].Observed, got[i].Observed, 1e-12, "bin %d", i)
			}
			assert.Equal(t, in, c.items, "input mutated")
		})
	}
}

// TestRankingNonFinite: a NaN or ±Inf score or watch time gives NaN (nil
// bins), and returns at once. Before, AUC looped forever on a NaN score: NaN
// never equals itself, so its tie group never advanced.
func TestRankingNonFinite(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
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
				assert.True(t, math.IsNaN(AUC(wt)), "AUC watch time")
			}()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("metric did not return")
			}
		})
	}
}

func TestWatchNDCG(t *testing.T) {
	// Group 1: watch times 0, 10, 2 scored 0.9, 0.5, 0.1: the order is
	// (0, 10, 2), DCG@3 = 0 + 10/log2(3) + 2/log2(4) = 6.3093 + 1;
	// ideal (10, 2, 0): 10 + 2/log2(3) = 11.2619.
	g1 := []Scored{{Score: 0.9}, {Score: 0.5, Clicked: true, WatchTime: 10}, {Score: 0.1, Clicked: true, WatchTime: 2}}
	want1 := (10/math.Log2(3) + 1) / (10 + 2/math.Log2(3))
	// Group 2 is perfectly ordered: 1.
	g2 := []Scored{{Score: 3, Clicked: true, WatchTime: 5}, {Score: 1}}
	// Group 3 has no watch time: left out.
	g3 := []Scored{{Score: 1}, {Score: 2}}
	for _, c := range []struct {
		name   string
		groups [][]Scored
		k      int
		want   float64
	}{
		{"one group", [][]Scored{g1}, 3, want1},
		{"mean over groups with watch time", [][]Scored{g1, g2, g3}, 3, (want1 + 1) / 2},
		{"cut at k=1", [][]Scored{g1}, 1, 0},
		{"k past the group", [][]Scored{g2}, 10, 1},
	} {
		t.Run(c.name, func(t *testing.T) { assert.InDelta(t, c.want, WatchNDCG(c.groups, c.k), 1e-12) })
	}
	for name, groups := range map[string][][]Scored{
		"no group with watch time": {g3},
		"NaN score":                {{{Score: math.NaN(), WatchTime: 1}}},
	} {
		t.Run(name, func(t *testing.T) { assert.True(t, math.IsNaN(WatchNDCG(groups, 10))) })
	}
}
