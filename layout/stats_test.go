package layout_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/events"
	"github.com/ytdnn/ytdnn/layout"
)

// TestRunningStatsCountOnlyEarlierShowings: the running statistics of a
// video and of its channel count every user's impressions strictly before
// the one ranked, smoothed toward the training window's overall rates;
// the snapshot at the window's end serves the same counts; a later log's
// counts add to a model's.
func TestRunningStatsCountOnlyEarlierShowings(t *testing.T) {
	cfg := layout.Config{
		VideoFeatures: []events.Column{{Column: "channel", Kind: events.KindID}},
		Signals:       layout.Signals{ItemStats: true, AttributeStats: []string{"channel"}},
	}
	cat := &events.Catalogue{Features: cfg.VideoFeatures, Items: map[int64][]events.Feat{1: {{ID: 7}}, 2: {{ID: 7}}, 3: {{ID: 8}}}}
	l, err := layout.New(cfg, 100, cat)
	require.NoError(t, err)
	imps := []events.Event{
		{User: 1, Item: 1, Time: 10, Kind: events.Impression, Clicked: true, WatchTime: 30},
		{User: 2, Item: 1, Time: 20, Kind: events.Impression},
		{User: 3, Item: 2, Time: 30, Kind: events.Impression, Clicked: true, WatchTime: 10},
		{User: 4, Item: 3, Time: 40, Kind: events.Impression},
		{User: 5, Item: 1, Time: 150, Kind: events.Impression, Clicked: true, WatchTime: 99}, // after the window
	}
	rs := layout.NewRunningStats(l, 100)
	for i := range imps {
		rs.Add(&imps[i])
	}
	rs.Seal()
	ctr0, watch0 := rs.Prior()
	assert.InDelta(t, 0.5, ctr0, 1e-12, "2 clicks of 4 impressions before the window's end")
	assert.InDelta(t, 20.0, watch0, 1e-12, "40 s over 2 clicks")
	l.Stats = rs
	spec := l.RankingSpec()
	get := func(video, at int64) map[string]float64 {
		ex := l.RankExample(&layout.User{}, video, at, 0)
		out := map[string]float64{}
		for _, n := range []string{"stats_video_impressions", "stats_video_ctr", "stats_video_watch_per_click", "stats_channel_impressions", "stats_channel_ctr", "stats_channel_watch_per_click"} {
			out[n] = ex.Nums[spec.Index(n)]
		}
		return out
	}
	// Video 1 at t=20: one earlier impression (clicked, 30 s), not its own.
	at20 := get(1, 20)
	assert.Equal(t, 1.0, at20["stats_video_impressions"])
	assert.InDelta(t, (1+10*0.5)/(1+10), at20["stats_video_ctr"], 1e-12)
	assert.InDelta(t, (30+10*20.0)/(1+10), at20["stats_video_watch_per_click"], 1e-12)
	// Channel 7 at t=35: videos 1 and 2 before it, 3 impressions, 2 clicks, 40 s.
	at35 := get(2, 35)
	assert.Equal(t, 3.0, at35["stats_channel_impressions"])
	assert.InDelta(t, (2+10*0.5)/(3+10), at35["stats_channel_ctr"], 1e-12)
	assert.InDelta(t, (40+10*20.0)/(2+10), at35["stats_channel_watch_per_click"], 1e-12)
	// Nothing before the first showing: the prior alone.
	first := get(1, 10)
	assert.Equal(t, 0.0, first["stats_video_impressions"])
	assert.InDelta(t, 0.5, first["stats_video_ctr"], 1e-12)

	// The snapshot at the window's end serves the counts before it.
	snap := rs.Snapshot(100)
	assert.Equal(t, layout.Counts{Impressions: 2, Clicks: 1, WatchSeconds: 30}, snap.Video(1, 1_000))
	assert.Equal(t, layout.Counts{Impressions: 3, Clicks: 2, WatchSeconds: 40}, snap.Attribute("channel", 7, 1_000))
	// A later log adds to the model's counts.
	later := layout.NewRunningStats(l, 100)
	later.Add(&imps[4])
	later.Seal()
	sum := layout.SumStats{Base: snap, Later: later}
	assert.Equal(t, layout.Counts{Impressions: 3, Clicks: 2, WatchSeconds: 129}, sum.Video(1, 200))
	assert.Equal(t, layout.Counts{Impressions: 2, Clicks: 1, WatchSeconds: 30}, sum.Video(1, 150), "not the later impression itself")
}

func TestStatsConfigErrors(t *testing.T) {
	cfg := layout.Config{VideoFeatures: []events.Column{{Column: "channel", Kind: events.KindID}}}
	for _, c := range []struct{ name, col, want string }{
		{"unknown column", "topic", `attribute_stats "topic" is not an id column`},
	} {
		t.Run(c.name, func(t *testing.T) {
			cf := cfg
			cf.Signals.AttributeStats = []string{c.col}
			_, err := layout.New(cf, 0, nil)
			assert.ErrorContains(t, err, c.want)
		})
	}
}
