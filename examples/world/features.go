package world

import (
	"math/rand/v2"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/ranking"
)

// MaxHistory is the watch-history length fed to both stages.
const MaxHistory = 50

// CandgenSpec is the candidate-generation feature spec of the world: watch
// history, search tokens, region, device, gender, logged-in and age.
func CandgenSpec() feature.Spec {
	return feature.Spec{
		Spaces: []feature.Space{{Name: "video"}, {Name: "token"}, {Name: "region"}, {Name: "device"}},
		Features: []feature.Feature{
			{Name: "watches", Kind: feature.Bag, Space: "video", MaxLen: MaxHistory},
			{Name: "searches", Kind: feature.Bag, Space: "token", MaxLen: 30},
			{Name: "region", Kind: feature.ID, Space: "region"},
			{Name: "device", Kind: feature.ID, Space: "device"},
			{Name: "gender", Kind: feature.Value},
			{Name: "logged_in", Kind: feature.Value},
			{Name: "age", Kind: feature.Continuous},
		},
	}
}

// UserFeatures builds the candgen features of u from the watches before
// position pos (pos = len(u.Watches) uses every watch) and the searches made
// before that watch.
func (w *World) UserFeatures(u *User, pos int) feature.Example {
	ex := feature.Example{IDs: make([][]int64, 7), Nums: make([]float64, 7)}
	lo := max(0, pos-MaxHistory)
	hist := make([]int64, 0, pos-lo)
	for _, wt := range u.Watches[lo:pos] {
		hist = append(hist, wt.Video)
	}
	cut := w.Cfg.Horizon
	if pos < len(u.Watches) {
		cut = u.Watches[pos].Time
	}
	var toks []int64
	for _, s := range u.Searches {
		if s.Time < cut {
			toks = append(toks, s.Tokens...)
		}
	}
	ex.IDs[0], ex.IDs[1] = hist, toks
	ex.IDs[2], ex.IDs[3] = []int64{u.Region}, []int64{u.Device}
	ex.Nums[4], ex.Nums[5], ex.Nums[6] = u.Gender, u.LoggedIn, u.Age
	return ex
}

// CandgenData returns next-watch training examples of every user but the
// last watch (held out), capped at maxPerUser per user (0: no cap), with
// example age = Horizon - watch time.
func (w *World) CandgenData(maxPerUser int, rng *rand.Rand) []candgen.Example {
	var out []candgen.Example
	for ui := range w.Users {
		u := &w.Users[ui]
		ids := make([]int64, len(u.Watches)-1)
		for i := range ids {
			ids[i] = u.Watches[i].Video
		}
		for _, win := range candgen.NextWatch(ids, MaxHistory, maxPerUser, rng) {
			out = append(out, candgen.Example{
				Features: w.UserFeatures(u, win.Pos),
				Label:    win.Label,
				Age:      w.Cfg.Horizon - u.Watches[win.Pos].Time,
			})
		}
	}
	return out
}

// RankingSpec is the ranking feature spec: impression video, last watched
// videos (same space), region, device, and continuous features describing
// the user's past interaction with the video's channel and topic.
func RankingSpec() feature.Spec {
	return feature.Spec{
		Spaces: []feature.Space{{Name: "video"}, {Name: "region"}, {Name: "device"}},
		Features: []feature.Feature{
			{Name: "video", Kind: feature.ID, Space: "video"},
			{Name: "last_watched", Kind: feature.Bag, Space: "video", MaxLen: 10},
			{Name: "region", Kind: feature.ID, Space: "region"},
			{Name: "device", Kind: feature.ID, Space: "device"},
			{Name: "channel_watches", Kind: feature.Continuous},
			{Name: "topic_watches", Kind: feature.Continuous},
			{Name: "since_topic_watch", Kind: feature.Continuous},
			{Name: "video_age", Kind: feature.Continuous},
			{Name: "previous_impressions", Kind: feature.Continuous},
			{Name: "gender", Kind: feature.Value},
		},
	}
}

// RankContext summarizes a user's history for ranking features.
type RankContext struct {
	u         *User
	last      []int64
	channel   map[int64]int
	topic     map[int]int
	lastTopic map[int]float64
	shown     map[int64]int
}

// NewRankContext summarizes every watch of u.
func (w *World) NewRankContext(u *User) *RankContext {
	c := &RankContext{u: u, channel: map[int64]int{}, topic: map[int]int{}, lastTopic: map[int]float64{}, shown: map[int64]int{}}
	for _, wt := range u.Watches {
		v := w.Video(wt.Video)
		if v == nil {
			continue // not in the catalogue
		}
		c.channel[v.Channel]++
		c.topic[v.Topic]++
		c.lastTopic[v.Topic] = wt.Time
	}
	lo := max(0, len(u.Watches)-10)
	for _, wt := range u.Watches[lo:] {
		c.last = append(c.last, wt.Video)
	}
	return c
}

// Features builds the ranking features of showing video to the context's
// user now (at the end of the window).
func (w *World) Features(c *RankContext, video int64) feature.Example {
	v := w.Video(video)
	ex := feature.Example{IDs: make([][]int64, 10), Nums: make([]float64, 10)}
	ex.IDs[0], ex.IDs[1] = []int64{video}, c.last
	ex.IDs[2], ex.IDs[3] = []int64{c.u.Region}, []int64{c.u.Device}
	since := 2 * w.Cfg.Horizon
	if t, ok := c.lastTopic[v.Topic]; ok {
		since = w.Cfg.Horizon - t
	}
	ex.Nums[4] = float64(c.channel[v.Channel])
	ex.Nums[5] = float64(c.topic[v.Topic])
	ex.Nums[6] = since
	ex.Nums[7] = w.Cfg.Horizon - v.Upload
	ex.Nums[8] = float64(c.shown[video])
	ex.Nums[9] = c.u.Gender
	return ex
}

// RankingData returns the impressions of the given users as ranking
// examples, page by page (previous impressions of a video count earlier
// pages), with the world's impressions aligned.
func (w *World) RankingData(users []int) ([]ranking.Impression, []Impression) {
	var out []ranking.Impression
	var raw []Impression
	for _, ui := range users {
		u := &w.Users[ui]
		c := w.NewRankContext(u)
		for _, page := range u.Pages {
			for _, imp := range page {
				out = append(out, ranking.Impression{Features: w.Features(c, imp.Video), Clicked: imp.Clicked, WatchTime: imp.WatchTime})
				raw = append(raw, imp)
			}
			for _, imp := range page {
				c.shown[imp.Video]++
			}
		}
	}
	return out, raw
}
