package world

import (
	"math"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStatisticsMatchParameters(t *testing.T) {
	w, err := New(Config{Users: 1500, Videos: 2000, Topics: 10, Watches: 20, Seed: 3})
	require.NoError(t, err)
	assert.Len(t, w.Users, 1500)
	// Popularity tail: the power law concentrates watches on few videos.
	counts := map[int64]int{}
	total := 0
	for _, u := range w.Users {
		for i, wt := range u.Watches {
			counts[wt.Video]++
			total++
			if i > 0 {
				assert.GreaterOrEqual(t, wt.Time, u.Watches[i-1].Time)
			}
		}
	}
	var cs []int
	for _, c := range counts {
		cs = append(cs, c)
	}
	slices.Sort(cs)
	slices.Reverse(cs)
	top := 0
	for _, c := range cs[:len(w.Videos)/10] {
		top += c
	}
	assert.Greater(t, float64(top)/float64(total), 0.35, "the top 10%% of videos get a large share of watches")
	// CTR and mean watch time match the stated process.
	var clicks, imps int
	var expCTR, watch, expWatch float64
	for ui := range w.Users {
		u := &w.Users[ui]
		for _, page := range u.Pages {
			for _, imp := range page {
				imps++
				p, mean := w.clickAndMean(u, imp.Video)
				expCTR += p
				expWatch += imp.Expected
				if imp.Clicked {
					clicks++
					watch += imp.WatchTime
				}
				assert.InDelta(t, p*mean, imp.Expected, 1e-12)
				assert.Equal(t, p, imp.ClickProb)
			}
		}
	}
	ctr := float64(clicks) / float64(imps)
	assert.InDelta(t, expCTR/float64(imps), ctr, 3*math.Sqrt(ctr/float64(imps)))
	assert.InEpsilon(t, expWatch/float64(imps), watch/float64(imps), 0.15)
	assert.Less(t, ctr, 0.3, "a small click-through rate")
}

// TestBadConfigIsError: configs that would panic or hang generation (one
// topic, no videos, NaN rates, absurd sizes) are errors from New.
func TestBadConfigIsError(t *testing.T) {
	for name, c := range map[string]Config{
		"one topic":        {Topics: 1},
		"negative users":   {Users: -5},
		"absurd videos":    {Videos: 1 << 40},
		"NaN noise":        {Noise: math.NaN()},
		"stickiness > 1":   {Stickiness: 2},
		"fewer videos":     {Videos: 3, Topics: 10},
		"negative regions": {Regions: -1},
	} {
		t.Run(name, func(t *testing.T) {
			assert.Error(t, c.Validate())
			_, err := New(c)
			assert.Error(t, err)
		})
	}
	_, err := New(Config{Users: 10, Videos: 40, Topics: 2, Seed: 1})
	assert.NoError(t, err)
}
