package layout_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/events"
	"github.com/ytdnn/ytdnn/layout"
)

// slateLayout has every kind of ranking feature: user attributes and a
// user table, catalogue IDs, bags, times and numbers, impression context,
// every signal and running statistics.
func slateLayout(t *testing.T) *layout.Layout {
	t.Helper()
	cfg := layout.Config{
		SearchTokens:       true,
		UserFeatures:       []events.Column{{Column: "region", Kind: events.KindID}, {Column: "age", Kind: events.KindContinuous}},
		UserTableFeatures:  []events.Column{{Column: "activity", Kind: events.KindID}},
		VideoFeatures:      []events.Column{{Column: "channel", Kind: events.KindID}, {Column: "tags", Kind: events.KindIDs}, {Column: "upload", Kind: events.KindTime}, {Column: "length", Kind: events.KindContinuous}},
		ImpressionFeatures: []events.Column{{Column: "tab", Kind: events.KindID}, {Column: "position", Kind: events.KindContinuous}},
		Signals: layout.Signals{SameAttribute: []string{"channel"}, Exposure: true, Context: true, LastSearch: true,
			CandidateScore: true, ItemStats: true, AttributeStats: []string{"channel"}},
	}
	cat := &events.Catalogue{Features: cfg.VideoFeatures, Items: map[int64][]events.Feat{
		1: {{ID: 7}, {IDs: []int64{1, 2}}, {Num: 1 * dayMs}, {Num: 30}},
		2: {{ID: 7}, {IDs: []int64{2}}, {Num: 2 * dayMs}, {Num: 60}},
		3: {{ID: 8}, {}, {ID: events.NullID}, {Num: 90}},
		4: {{ID: events.NullID}, {IDs: []int64{5}}, {Num: 3 * dayMs}, {Num: 5}},
		5: {{ID: 9}, {IDs: []int64{1}}, {Num: 4 * dayMs}, {Num: 7}},
	}}
	l, err := layout.New(cfg, 100*dayMs, cat)
	require.NoError(t, err)
	l.Users = &events.UserTable{Features: cfg.UserTableFeatures, Items: map[int64][]events.Feat{42: {{ID: 3}}}}
	imps := []events.Event{
		{User: 1, Item: 1, Time: 5 * dayMs, Kind: events.Impression, Clicked: true, WatchTime: 30},
		{User: 2, Item: 2, Time: 6 * dayMs, Kind: events.Impression},
		{User: 3, Item: 5, Time: 7 * dayMs, Kind: events.Impression, Clicked: true, WatchTime: 12},
	}
	rs := layout.NewRunningStats(l, 100*dayMs)
	for i := range imps {
		rs.Add(&imps[i])
	}
	rs.Seal()
	l.Stats = rs
	return l
}

// TestRankExamplesIsRankExampleEach: every example of a slate is the one
// RankExample builds for its video alone, across slates of other sizes and
// other users built in the same Slate (nothing of the previous slate left
// behind); the user's features are one slice shared by every candidate;
// and once the Slate has grown, building a slate allocates nothing.
func TestRankExamplesIsRankExampleEach(t *testing.T) {
	l := slateLayout(t)
	feats := []events.Feat{{ID: 4}, {Num: 33}}
	u := l.Walk([]events.Event{
		{User: 42, Kind: events.Watch, Item: 1, Time: 10 * dayMs, Tokens: []int64{40, 41}, Feats: feats},
		{User: 42, Kind: events.Impression, Item: 2, Time: 11 * dayMs},
		{User: 42, Kind: events.Impression, Item: 5, Time: 11 * dayMs, Clicked: true, WatchTime: 9},
		{User: 42, Kind: events.Watch, Item: 5, Time: 12 * dayMs, Feats: feats},
	}, nil, nil)
	u.Context = []events.Feat{{ID: 2}, {Num: 3}}
	stranger := layout.User{ID: 8, History: []int64{3}} // no table row, no signals, no context
	spec := l.RankingSpec()
	at := int64(20*dayMs + 5*3_600_000)
	var s layout.Slate
	for k, c := range []struct {
		u      *layout.User
		videos []int64
	}{{&u, []int64{1, 2, 3, 99, 1}}, {&stranger, []int64{4, 5}}, {&u, []int64{5, 4, 3, 2, 1, 99, 2}}, {&stranger, []int64{1}}} {
		scores := make([]float64, len(c.videos))
		for i := range scores {
			scores[i] = float64(k*10 + i)
		}
		got := l.RankExamples(&s, c.u, c.videos, at, scores)
		require.Len(t, got, len(c.videos))
		if c.u == &u {
			// The user's part, read independently of RankExample.
			for i := range got {
				assert.Equal(t, 33.0, got[i].Nums[spec.Index("user_age")])
				assert.Equal(t, 3.0, got[i].Nums[spec.Index("impression_position")])
				assert.Equal(t, []int64{4}, got[i].IDs[spec.Index("user_region")])
				assert.Equal(t, []int64{3}, got[i].IDs[spec.Index("user_activity")])
				assert.Equal(t, []int64{2}, got[i].IDs[spec.Index("impression_tab")])
				assert.Equal(t, []int64{40, 41}, got[i].IDs[spec.Index(layout.FeatureLastSearch)])
				assert.Equal(t, []int64{5}, got[i].IDs[spec.Index(layout.FeatureHour)])
				assert.Equal(t, float64(k*10+i), got[i].Nums[spec.Index(layout.FeatureCandidateScore)])
			}
		}
		for i, v := range c.videos {
			assert.Equal(t, l.RankExample(c.u, v, at, scores[i]), got[i], "slate %d, candidate %d (video %d)", k, i, v)
		}
		for _, name := range []string{layout.FeatureLastWatches, layout.FeatureHour} {
			j := spec.Index(name)
			for i := range got {
				require.NotEmpty(t, got[i].IDs[j])
				assert.Same(t, &got[0].IDs[j][0], &got[i].IDs[j][0], "%s is built once per slate", name)
			}
		}
	}
	videos := []int64{5, 4, 3, 2, 1, 99, 2}
	scores := make([]float64, len(videos))
	allocs := testing.AllocsPerRun(100, func() { l.RankExamples(&s, &u, videos, at, scores) })
	assert.Zero(t, allocs, "a slate built in a grown Slate allocates nothing")
}

// TestItemFeatures: the features ItemFeatures names take the same value
// for a video whoever the user, whatever the moment and the retrieval
// score, once the statistics are fixed as a server holds them; the
// video's age is not among them; running statistics (training's) are not
// either.
func TestItemFeatures(t *testing.T) {
	l := slateLayout(t)
	spec := l.RankingSpec()
	name := func(fs []int) []string {
		var out []string
		for _, f := range fs {
			out = append(out, spec.Features[f].Name)
		}
		return out
	}
	assert.NotContains(t, name(l.ItemFeatures()), "stats_video_ctr", "running statistics change with the moment")
	rs := l.Stats.(*layout.RunningStats)
	l.Stats = rs.Snapshot(100 * dayMs)
	items := l.ItemFeatures()
	assert.ElementsMatch(t, []string{layout.FeatureVideo, "video_channel", "video_tags", "video_length",
		"stats_video_impressions", "stats_video_ctr", "stats_video_watch_per_click",
		"stats_channel_impressions", "stats_channel_ctr", "stats_channel_watch_per_click"}, name(items))
	u := l.Walk([]events.Event{
		{User: 42, Kind: events.Watch, Item: 1, Time: 10 * dayMs, Tokens: []int64{40}, Feats: []events.Feat{{ID: 4}, {Num: 33}}},
		{User: 42, Kind: events.Impression, Item: 2, Time: 11 * dayMs},
		{User: 42, Kind: events.Watch, Item: 2, Time: 12 * dayMs},
	}, nil, nil)
	u.Context = []events.Feat{{ID: 2}, {Num: 3}}
	for _, v := range []int64{1, 2, 3, 4, 5, 99} {
		base := l.RankExample(&layout.User{}, v, l.End, 0)
		other := l.RankExample(&u, v, l.End+3*dayMs+7, 1.5)
		for _, f := range items {
			assert.Equal(t, base.IDs[f], other.IDs[f], "video %d, %s", v, spec.Features[f].Name)
			assert.Equal(t, base.Nums[f], other.Nums[f], "video %d, %s", v, spec.Features[f].Name)
		}
	}
	age := spec.Index("video_age_upload")
	assert.NotEqual(t, l.RankExample(&u, 1, l.End, 0).Nums[age], l.RankExample(&u, 1, l.End+dayMs, 0).Nums[age])
}

// TestSkipItemFeatures: a Slate that skips the item features builds every
// other feature as RankExample does and leaves those unset, statistics
// included when they are fixed; running statistics (not item features)
// are still filled.
func TestSkipItemFeatures(t *testing.T) {
	l := slateLayout(t)
	spec := l.RankingSpec()
	u := l.Walk([]events.Event{{User: 42, Kind: events.Watch, Item: 1, Time: 10 * dayMs, Tokens: []int64{40}}}, nil, nil)
	videos := []int64{1, 2, 3, 4, 5, 99}
	at := l.End + 5
	for _, fixed := range []bool{false, true} {
		if fixed {
			l.Stats = l.Stats.(*layout.RunningStats).Snapshot(100 * dayMs)
		}
		item := map[int]bool{}
		for _, f := range l.ItemFeatures() {
			item[f] = true
		}
		assert.Equal(t, fixed, item[spec.Index("stats_video_ctr")])
		s := layout.Slate{SkipItemFeatures: true}
		got := l.RankExamples(&s, &u, videos, at, nil)
		for i, v := range videos {
			want := l.RankExample(&u, v, at, 0)
			for f := range spec.Features {
				if item[f] {
					assert.Empty(t, got[i].IDs[f], "video %d, %s", v, spec.Features[f].Name)
					assert.Zero(t, got[i].Nums[f], "video %d, %s", v, spec.Features[f].Name)
					continue
				}
				assert.Equal(t, want.IDs[f], got[i].IDs[f], "video %d, %s", v, spec.Features[f].Name)
				assert.Equal(t, want.Nums[f], got[i].Nums[f], "video %d, %s", v, spec.Features[f].Name)
			}
		}
	}
}
