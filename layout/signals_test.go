package layout_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/events"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/layout"
)

const dayMs = 86_400_000

// signalLayout maps a channel column and every signal; videos 1 and 2 are
// on channel 7, video 3 on channel 8, video 9 is outside the catalogue.
func signalLayout(t *testing.T, max int) *layout.Layout {
	t.Helper()
	cfg := layout.Config{
		SearchTokens:  true,
		VideoFeatures: []events.Column{{Column: "channel", Kind: events.KindID}},
		Signals: layout.Signals{SameAttribute: []string{"channel"}, Exposure: true, Context: true, LastSearch: true,
			CandidateScore: true, MaxState: max, UTCOffsetMinutes: 8 * 60},
	}
	cat := &events.Catalogue{Features: cfg.VideoFeatures, Items: map[int64][]events.Feat{1: {{ID: 7}}, 2: {{ID: 7}}, 3: {{ID: 8}}}}
	l, err := layout.New(cfg, 100*dayMs, cat)
	require.NoError(t, err)
	return l
}

// num reads a numeric feature of a ranking example by name.
func num(t *testing.T, l *layout.Layout, ex feature.Example, name string) float64 {
	t.Helper()
	spec := l.RankingSpec()
	i := spec.Index(name)
	require.GreaterOrEqual(t, i, 0, name)
	return ex.Nums[i]
}

func ids(t *testing.T, l *layout.Layout, ex feature.Example, name string) []int64 {
	t.Helper()
	spec := l.RankingSpec()
	i := spec.Index(name)
	require.GreaterOrEqual(t, i, 0, name)
	return ex.IDs[i]
}

// TestSignalsSeeOnlyTheEarlierEvents: at each impression the channel
// counters count the earlier watches of the channel, the exposure counters
// the earlier showings of the video (clicked or not), never the impression
// itself or anything later.
func TestSignalsSeeOnlyTheEarlierEvents(t *testing.T) {
	l := signalLayout(t, 0)
	evs := []events.Event{
		{Kind: events.Watch, Item: 1, Time: 1 * dayMs, Tokens: []int64{40, 41}},
		{Kind: events.Impression, Item: 2, Time: 2 * dayMs},                               // shown, skipped
		{Kind: events.Impression, Item: 2, Time: 3 * dayMs, Clicked: true, WatchTime: 30}, // shown again
		{Kind: events.Watch, Item: 2, Time: 3 * dayMs},                                    // its watch
		{Kind: events.Impression, Item: 3, Time: 5 * dayMs},                               // another channel
		{Kind: events.Impression, Item: 2, Time: 6 * dayMs},                               // channel 7, third showing
		{Kind: events.Watch, Item: 9, Time: 7 * dayMs, Tokens: []int64{50}},               // outside the catalogue
		{Kind: events.Impression, Item: 1, Time: 8*dayMs + 3_600_000, Clicked: true, WatchTime: 5},
	}
	type want struct{ same, sameDays, shown, skipped, shownDays float64 }
	wants := []want{
		{1, 1, 0, 0, layout.NeverDays}, // day 2: one channel-7 watch a day ago; never shown
		{1, 2, 1, 1, 1},                // day 3: shown once (skipped) a day ago
		{0, layout.NeverDays, 0, 0, layout.NeverDays},
		{2, 3, 2, 1, 3}, // day 6: watches of 1 and 2 (last day 3); shown twice, last day 3
		{2, 5 + 1.0/24, 0, 0, layout.NeverDays},
	}
	var got []want
	var search [][]int64
	l.Walk(evs, nil, func(u *layout.User, e *events.Event) {
		ex := l.RankExample(u, e.Item, e.Time, 1.5)
		got = append(got, want{num(t, l, ex, "same_channel_watches"), num(t, l, ex, "same_channel_days"), num(t, l, ex, layout.FeatureShown),
			num(t, l, ex, layout.FeatureSkipped), num(t, l, ex, layout.FeatureShownDays)})
		search = append(search, ids(t, l, ex, layout.FeatureLastSearch))
		assert.Equal(t, 1.5, num(t, l, ex, layout.FeatureCandidateScore))
	})
	require.Len(t, got, len(wants))
	for i := range wants {
		assert.InDelta(t, wants[i].same, got[i].same, 1e-9, "impression %d: channel watches", i)
		assert.InDelta(t, wants[i].sameDays, got[i].sameDays, 1e-9, "impression %d: days since the channel", i)
		assert.InDelta(t, wants[i].shown, got[i].shown, 1e-9, "impression %d: shown", i)
		assert.InDelta(t, wants[i].skipped, got[i].skipped, 1e-9, "impression %d: skipped", i)
		assert.InDelta(t, wants[i].shownDays, got[i].shownDays, 1e-9, "impression %d: days since shown", i)
	}
	assert.Equal(t, []int64{40, 41}, search[0], "the last search before the impression")
	assert.Equal(t, []int64{50}, search[4], "a later watch's search")
}

// TestServingMatchesTraining: a request carrying the same events (a user
// replayed from them) yields the very features training built at that
// moment.
func TestServingMatchesTraining(t *testing.T) {
	l := signalLayout(t, 0)
	evs := []events.Event{
		{Kind: events.Watch, Item: 1, Time: 1 * dayMs, Tokens: []int64{40}},
		{Kind: events.Impression, Item: 3, Time: 2 * dayMs},
		{Kind: events.Watch, Item: 3, Time: 2*dayMs + 1},
		{Kind: events.Impression, Item: 2, Time: 4 * dayMs, Clicked: true, WatchTime: 12},
	}
	var training feature.Example
	l.Walk(evs, nil, func(u *layout.User, e *events.Event) {
		if e.Time == 4*dayMs {
			training = l.RankExample(u, e.Item, e.Time, 0.25)
		}
	})
	served := l.Walk(evs[:3], nil, nil) // the request: every event before the impression
	assert.Equal(t, training, l.RankExample(&served, 2, 4*dayMs, 0.25))
}

// TestSignalStateIsBounded: a user shown more videos than MaxState keeps
// the most recent ones; the forgotten read as never shown.
func TestSignalStateIsBounded(t *testing.T) {
	l := signalLayout(t, 8)
	var evs []events.Event
	for v := int64(100); v < 140; v++ {
		evs = append(evs, events.Event{Kind: events.Impression, Item: v, Time: v * 1000})
	}
	u := l.Walk(evs, nil, nil)
	assert.Equal(t, 1.0, num(t, l, l.RankExample(&u, 139, 200_000, 0), layout.FeatureShown), "the latest is remembered")
	assert.Equal(t, 0.0, num(t, l, l.RankExample(&u, 100, 200_000, 0), layout.FeatureShown), "the oldest is forgotten")
}

// TestContextHourAndWeekday: the impression's hour and weekday in the
// configured offset (UTC+8 here).
func TestContextHourAndWeekday(t *testing.T) {
	l := signalLayout(t, 0)
	var u layout.User
	for _, c := range []struct {
		at            time.Time
		hour, weekday int64
	}{
		{time.Date(2022, 4, 29, 15, 30, 0, 0, time.UTC), 23, 5}, // Friday 23:30 in China
		{time.Date(2022, 4, 29, 16, 0, 0, 0, time.UTC), 0, 6},   // Saturday 00:00
		{time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC), 7, 4},  // before the epoch: Thursday 07:00
	} {
		ex := l.RankExample(&u, 1, c.at.UnixMilli(), 0)
		assert.Equal(t, []int64{c.hour}, ids(t, l, ex, layout.FeatureHour), c.at)
		assert.Equal(t, []int64{c.weekday}, ids(t, l, ex, layout.FeatureWeekday), c.at)
	}
}

func TestSignalsConfigErrors(t *testing.T) {
	base := layout.Config{VideoFeatures: []events.Column{{Column: "channel", Kind: events.KindID}, {Column: "views", Kind: events.KindContinuous}}}
	for _, c := range []struct {
		name string
		sig  layout.Signals
		want string
	}{
		{"unknown column", layout.Signals{SameAttribute: []string{"topic"}}, `same_attribute "topic" is not an id column`},
		{"numeric column", layout.Signals{SameAttribute: []string{"views"}}, `same_attribute "views" is not an id column`},
		{"named twice", layout.Signals{SameAttribute: []string{"channel", "channel"}}, `"channel" named twice`},
		{"last search without tokens", layout.Signals{LastSearch: true}, "last_search needs the watches' search tokens"},
		{"negative state bound", layout.Signals{MaxState: -1}, "max_state -1 must be positive"},
		{"offset past 14 h", layout.Signals{UTCOffsetMinutes: 15 * 60}, "utc_offset_minutes 900 outside ±14 h"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := base
			cfg.Signals = c.sig
			_, err := layout.New(cfg, 0, nil)
			assert.ErrorContains(t, err, c.want)
		})
	}
}

// TestExposureEqualTimestamps: two showings of one video at the same
// millisecond (a duplicated row, a multi-slot feed) do not see each other
// (neither is strictly before the other); a later showing sees both.
func TestExposureEqualTimestamps(t *testing.T) {
	l := signalLayout(t, 0)
	evs := []events.Event{
		{Kind: events.Impression, Item: 2, Time: 5 * dayMs},
		{Kind: events.Impression, Item: 2, Time: 5 * dayMs, Clicked: true},
		{Kind: events.Impression, Item: 2, Time: 6 * dayMs},
	}
	var shown, skipped []float64
	u := l.Walk(evs, nil, func(u *layout.User, e *events.Event) {
		ex := l.RankExample(u, e.Item, e.Time, 0)
		shown = append(shown, num(t, l, ex, layout.FeatureShown))
		skipped = append(skipped, num(t, l, ex, layout.FeatureSkipped))
	})
	assert.Equal(t, []float64{0, 0, 2}, shown)
	assert.Equal(t, []float64{0, 0, 1}, skipped)
	ex := l.RankExample(&u, 2, 7*dayMs, 0)
	assert.Equal(t, 3.0, num(t, l, ex, layout.FeatureShown), "the walk's user counts its last moment's showings")
}

// TestNullAttributeIsNoMatch: two videos whose channel is null share no
// channel: watching one does not count toward the other's same_channel.
func TestNullAttributeIsNoMatch(t *testing.T) {
	l := signalLayout(t, 0)
	l.Catalogue.Items[4] = []events.Feat{{ID: events.NullID}}
	l.Catalogue.Items[5] = []events.Feat{{ID: events.NullID}}
	evs := []events.Event{
		{Kind: events.Watch, Item: 4, Time: 1 * dayMs},
		{Kind: events.Watch, Item: 1, Time: 2 * dayMs},
	}
	u := l.Walk(evs, nil, nil)
	assert.Equal(t, 0.0, num(t, l, l.RankExample(&u, 5, 3*dayMs, 0), "same_channel_watches"), "null is not a channel")
	assert.Equal(t, 1.0, num(t, l, l.RankExample(&u, 2, 3*dayMs, 0), "same_channel_watches"), "channel 7 is")
}

// TestRankExampleAllocations locks what building one candidate's ranking
// features alone allocates: the example's own slices, never the feature
// names (slots resolved once; building names per candidate was most of a
// served request's allocations). A slate allocates nothing per candidate
// (TestRankExamplesIsRankExampleEach).
func TestRankExampleAllocations(t *testing.T) {
	l := signalLayout(t, 0)
	u := l.Walk([]events.Event{{Kind: events.Watch, Item: 1, Time: dayMs, Tokens: []int64{40}}, {Kind: events.Watch, Item: 2, Time: 2 * dayMs}}, nil, nil)
	allocs := testing.AllocsPerRun(200, func() { _ = l.RankExample(&u, 3, 3*dayMs, 0.5) })
	t.Logf("%.0f allocations per candidate", allocs)
	assert.LessOrEqual(t, allocs, 6.0)
}
