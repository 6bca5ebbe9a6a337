package layout_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ytdnn/ytdnn/events"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/layout"
)

// TestWalkHasNoLeakage: an example's history, tokens and features come
// from events strictly before its label; impressions see the watches
// before them only.
func TestWalkHasNoLeakage(t *testing.T) {
	l, err := layout.New(layout.Config{
		SearchTokens: true,
		UserFeatures: []events.Column{{Column: "region", Kind: events.KindID}, {Column: "device", Kind: events.KindID}, {Column: "age", Kind: events.KindContinuous}},
	}, 0, nil)
	require.NoError(t, err)
	evs := []events.Event{
		{Kind: events.Watch, Item: 1, Time: 10, Tokens: []int64{100}, Feats: []events.Feat{{ID: 1}, {ID: 1}, {Num: 20}}},
		{Kind: events.Impression, Item: 9, Time: 15},
		{Kind: events.Watch, Item: 2, Time: 20, Tokens: []int64{200}, Feats: []events.Feat{{ID: 2}, {ID: 1}, {Num: 21}}},
		{Kind: events.Watch, Item: 3, Time: 30, Tokens: []int64{300}, Feats: []events.Feat{{ID: 3}, {ID: 1}, {Num: 22}}},
	}
	type ex struct {
		hist, toks []int64
		video      int64
		region     int64
	}
	var got []ex
	l.Walk(evs, func(u *layout.User, video, at int64) {
		got = append(got, ex{append([]int64(nil), u.History...), append([]int64(nil), u.Tokens...), video, u.Feats[0].ID})
	}, func(u *layout.User, e *events.Event) {
		assert.Equal(t, []int64{1}, u.History, "the impression sees the watch before it only")
	})
	assert.Equal(t, []ex{
		{[]int64{1}, []int64{100}, 2, 1},
		{[]int64{1, 2}, []int64{100, 200}, 3, 2},
	}, got, "the label's own search and features are not in its example")
}

// TestNullIDIsUnknown: a user attribute or video feature that is null
// (events.NullID) or missing, and every ID feature of a video outside the
// catalogue, carry no ID (OOV): none shares the embedding of the real
// category 0, which stays an ID.
func TestNullIDIsUnknown(t *testing.T) {
	cat := &events.Catalogue{Features: []events.Column{{Column: "channel", Kind: events.KindID}}, Items: map[int64][]events.Feat{
		1: {{ID: 0}}, 2: {{ID: events.NullID}},
	}}
	l, err := layout.New(layout.Config{
		UserFeatures:  []events.Column{{Column: "region", Kind: events.KindID}},
		VideoFeatures: cat.Features,
	}, 0, cat)
	require.NoError(t, err)
	slot := func(names []string, name string) int {
		for i, n := range names {
			if n == name {
				return i
			}
		}
		t.Fatalf("no feature %q", name)
		return -1
	}
	var cgNames, rkNames []string
	for _, f := range l.CandgenSpec().Features {
		cgNames = append(cgNames, f.Name)
	}
	for _, f := range l.RankingSpec().Features {
		rkNames = append(rkNames, f.Name)
	}
	region, channel := slot(cgNames, "user_region"), slot(rkNames, "video_channel")
	for _, tc := range []struct {
		name  string
		feats []events.Feat
		want  []int64
	}{
		{"real category 0", []events.Feat{{ID: 0}}, []int64{0}},
		{"null", []events.Feat{{ID: events.NullID}}, nil},
		{"missing", nil, nil},
	} {
		t.Run("user "+tc.name, func(t *testing.T) {
			ex := l.UserExample(&layout.User{History: []int64{1}, Feats: tc.feats})
			assert.Equal(t, tc.want, ex.IDs[region])
		})
	}
	for _, tc := range []struct {
		name  string
		video int64
		want  []int64
	}{
		{"video of channel 0", 1, []int64{0}},
		{"video of a null channel", 2, nil},
		{"video outside the catalogue", 3, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ex := l.RankExample(&layout.User{Feats: []events.Feat{{ID: 4}}}, tc.video, 0, 0)
			assert.Equal(t, tc.want, ex.IDs[channel])
		})
	}
}

// TestNullUploadTimeIsAgeZero: a catalogue time that is null (events.NullID)
// gives the video age 0, as an unknown video, never its age since 1970.
func TestNullUploadTimeIsAgeZero(t *testing.T) {
	cfg := layout.Config{VideoFeatures: []events.Column{{Column: "uploaded", Kind: events.KindTime}}}
	cat := &events.Catalogue{Features: cfg.VideoFeatures, Items: map[int64][]events.Feat{1: {{ID: events.NullID}}, 2: {{Num: 0}}}}
	l, err := layout.New(cfg, 0, cat)
	require.NoError(t, err)
	spec := l.RankingSpec()
	i := spec.Index("video_age_uploaded")
	at := int64(10 * 86_400_000)
	assert.Equal(t, 0.0, l.RankExample(&layout.User{}, 1, at, 0).Nums[i], "null time")
	assert.Equal(t, 10.0, l.RankExample(&layout.User{}, 2, at, 0).Nums[i], "a real time at the epoch")
}

// TestImpressionContext: the impression row's context columns reach the
// ranker's example of that impression only; without a context (a request
// that gives none) they read as unknown.
func TestImpressionContext(t *testing.T) {
	cfg := layout.Config{ImpressionFeatures: []events.Column{{Column: "tab", Kind: events.KindID}, {Column: "position", Kind: events.KindContinuous}}}
	l, err := layout.New(cfg, 0, nil)
	require.NoError(t, err)
	spec := l.RankingSpec()
	tab, pos := spec.Index("impression_tab"), spec.Index("impression_position")
	require.GreaterOrEqual(t, tab, 0)
	require.GreaterOrEqual(t, pos, 0)
	evs := []events.Event{
		{Kind: events.Impression, Item: 1, Time: 1, Feats: []events.Feat{{ID: 3}, {Num: 2}}},
		{Kind: events.Watch, Item: 1, Time: 2},
		{Kind: events.Impression, Item: 2, Time: 3, Feats: []events.Feat{{ID: 0}, {Num: 5}}},
	}
	var got [][2]any
	u := l.Walk(evs, nil, func(u *layout.User, e *events.Event) {
		ex := l.RankExample(u, e.Item, e.Time, 0)
		got = append(got, [2]any{ex.IDs[tab], ex.Nums[pos]})
	})
	assert.Equal(t, [][2]any{{[]int64{3}, 2.0}, {[]int64{0}, 5.0}}, got, "each impression its own context; a real 0 stays 0")
	ex := l.RankExample(&u, 9, 4, 0)
	assert.Nil(t, ex.IDs[tab], "no context: unknown")
}

// TestMultiValuedAttributeIsABag: a catalogue "ids" column is one bag
// feature of every value in its own space.
func TestMultiValuedAttributeIsABag(t *testing.T) {
	cfg := layout.Config{VideoFeatures: []events.Column{{Column: "tags", Kind: events.KindIDs}}}
	cat := &events.Catalogue{Features: cfg.VideoFeatures, Items: map[int64][]events.Feat{1: {{IDs: []int64{12, 60}}}}}
	l, err := layout.New(cfg, 0, cat)
	require.NoError(t, err)
	spec := l.RankingSpec()
	i := spec.Index("video_tags")
	require.GreaterOrEqual(t, i, 0)
	assert.Equal(t, feature.Bag, spec.Features[i].Kind)
	assert.Equal(t, "video:tags", spec.Features[i].Space)
	assert.Equal(t, []int64{12, 60}, l.RankExample(&layout.User{}, 1, 0, 0).IDs[i])
	assert.Empty(t, l.RankExample(&layout.User{}, 2, 0, 0).IDs[i], "a video outside the catalogue")
}

// TestUserTableJoinsByUserID: the user table's attributes reach both
// stages' examples by the user's ID; a user outside the table reads as
// unknown; a column in the watches' user features too is refused.
func TestUserTableJoinsByUserID(t *testing.T) {
	cfg := layout.Config{UserTableFeatures: []events.Column{{Column: "activity", Kind: events.KindID}, {Column: "days", Kind: events.KindContinuous}}}
	l, err := layout.New(cfg, 0, nil)
	require.NoError(t, err)
	l.Users = &events.UserTable{Features: cfg.UserTableFeatures, Items: map[int64][]events.Feat{7: {{ID: 3}, {Num: 800}}}}
	cg, rk := l.CandgenSpec(), l.RankingSpec()
	u := l.Walk([]events.Event{{User: 7, Kind: events.Watch, Item: 1, Time: 1}}, nil, nil)
	assert.Equal(t, int64(7), u.ID)
	assert.Equal(t, []int64{3}, l.UserExample(&u).IDs[cg.Index("user_activity")])
	assert.Equal(t, 800.0, l.RankExample(&u, 1, 2, 0).Nums[rk.Index("user_days")])
	stranger := layout.User{ID: 8}
	assert.Nil(t, l.UserExample(&stranger).IDs[cg.Index("user_activity")], "a user outside the table: unknown")
	bad := cfg
	bad.UserFeatures = []events.Column{{Column: "activity", Kind: events.KindID}}
	_, err = layout.New(bad, 0, nil)
	assert.ErrorContains(t, err, `column "activity" is a user feature of the watches too`)
}

// TestTextSpaces: the spaces whose IDs are dictionary codes, by the
// dictionaries a log had.
func TestTextSpaces(t *testing.T) {
	l, err := layout.New(layout.Config{SearchTokens: true,
		UserFeatures:  []events.Column{{Column: "region", Kind: events.KindID}},
		VideoFeatures: []events.Column{{Column: "channel_id", Kind: events.KindID}, {Column: "tag", Kind: events.KindIDs}}}, 0, nil)
	require.NoError(t, err)
	assert.Empty(t, l.TextSpaces(nil))
	d := &events.Dicts{Videos: events.NewDict(), Features: map[string]*events.Dict{"tag": events.NewDict()}}
	assert.Equal(t, map[string]bool{layout.VideoSpace: true, "video:tag": true}, l.TextSpaces(d))
	d = &events.Dicts{Tokens: events.NewDict(), Features: map[string]*events.Dict{"region": events.NewDict()}}
	assert.Equal(t, map[string]bool{layout.TokenSpace: true, "user:region": true}, l.TextSpaces(d))
}
