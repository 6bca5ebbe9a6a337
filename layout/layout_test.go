package layout_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/ytdnn/ytdnn/events"
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
