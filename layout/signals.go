package layout

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/ytdnn/ytdnn/events"
	"github.com/ytdnn/ytdnn/feature"
)

// Signals are the ranking signals the paper calls the most important
// (§4.1: "the user's previous interaction with the item itself and other
// similar items", how often it was shown, and candidate generation's
// score), derived from the events strictly before each impression. Every
// continuous one is CDF-normalized and fed as x̃, x̃², √x̃ like any other.
type Signals struct {
	// SameAttribute names catalogue ID columns (a channel, a topic). For
	// each column C the ranker sees "same_C_watches", how many of the
	// user's earlier watches share the impressed video's value of C, and
	// "same_C_days", the days since the last such watch (NeverDays when
	// none).
	SameAttribute []string `json:"same_attribute,omitempty"`
	// Exposure adds "shown", how many times the video was shown to the
	// user before (every impression, clicked or not), "skipped", how many
	// of those were not clicked, and "shown_days", the days since the last
	// showing (NeverDays when never).
	Exposure bool `json:"exposure,omitempty"`
	// Context adds the impression's "hour" (0-23) and "weekday" (0 for
	// Sunday) as ID features, in UTC shifted by UTCOffsetMinutes.
	Context          bool `json:"context,omitempty"`
	UTCOffsetMinutes int  `json:"utc_offset_minutes,omitempty"`
	// LastSearch adds "last_search", the search tokens of the user's
	// latest watch that came with a search (a bag in the token space;
	// needs Config.SearchTokens).
	LastSearch bool `json:"last_search,omitempty"`
	// CandidateScore adds "candgen_score", candidate generation's logit
	// v·u + b of the video for the user at that moment: the score of the
	// source that nominated the candidate.
	CandidateScore bool `json:"candidate_score,omitempty"`
	// ItemStats adds running statistics of the video over every user, from
	// the impressions strictly before the one ranked: "stats_video_"
	// impressions, ctr (click-through rate smoothed toward the overall one
	// with a weight of 10 impressions) and watch_per_click (watch seconds
	// per click, smoothed likewise). AttributeStats adds the same over
	// every video sharing the impressed video's value of each catalogue ID
	// column named ("stats_C_…"). The counts come from Layout.Stats.
	ItemStats      bool     `json:"item_stats,omitempty"`
	AttributeStats []string `json:"attribute_stats,omitempty"`
	// MaxState bounds each user's counters: at most MaxState attribute
	// values per column and MaxState shown videos are remembered, the
	// least recently seen forgotten first [DefaultMaxState].
	MaxState int `json:"max_state,omitempty"`
}

// NeverDays is the "days since" of an attribute never watched or a video
// never shown.
const NeverDays = 365.0

// DefaultMaxState is Signals.MaxState's default.
const DefaultMaxState = 1024

// Feature names of the signals (see Signals).
const (
	FeatureShown          = "shown"
	FeatureSkipped        = "skipped"
	FeatureShownDays      = "shown_days"
	FeatureHour           = "hour"
	FeatureWeekday        = "weekday"
	FeatureLastSearch     = "last_search"
	FeatureCandidateScore = "candgen_score"
	hourSpace             = "context:hour"
	weekdaySpace          = "context:weekday"
)

func sameWatches(col string) string { return "same_" + col + "_watches" }
func sameDays(col string) string    { return "same_" + col + "_days" }

func (s Signals) withDefaults() Signals {
	if s.MaxState == 0 {
		s.MaxState = DefaultMaxState
	}
	return s
}

// validate checks the signals against the config's columns.
func (s Signals) validate(c *Config) error {
	var errs []error
	ids := map[string]bool{}
	for _, col := range c.VideoFeatures {
		if col.Kind == events.KindID {
			ids[col.Column] = true
		}
	}
	for _, list := range []struct {
		name string
		cols []string
	}{{"same_attribute", s.SameAttribute}, {"attribute_stats", s.AttributeStats}} {
		seen := map[string]bool{}
		for _, col := range list.cols {
			switch {
			case !ids[col]:
				errs = append(errs, fmt.Errorf("signals: %s %q is not an id column of the catalogue", list.name, col))
			case seen[col]:
				errs = append(errs, fmt.Errorf("signals: %s %q named twice", list.name, col))
			}
			seen[col] = true
		}
	}
	if s.LastSearch && !c.SearchTokens {
		errs = append(errs, errors.New("signals: last_search needs the watches' search tokens"))
	}
	if s.MaxState < 1 {
		errs = append(errs, fmt.Errorf("signals: max_state %d must be positive", s.MaxState))
	}
	if s.UTCOffsetMinutes < -14*60 || s.UTCOffsetMinutes > 14*60 {
		errs = append(errs, fmt.Errorf("signals: utc_offset_minutes %d outside ±14 h", s.UTCOffsetMinutes))
	}
	return errors.Join(errs...)
}

// spaces are the ID spaces the signals add.
func (s Signals) spaces() []feature.Space {
	if !s.Context {
		return nil
	}
	return []feature.Space{{Name: hourSpace}, {Name: weekdaySpace}}
}

// features are the ranker's features the signals add, in order.
func (s Signals) features(maxTokens int) []feature.Feature {
	var fs []feature.Feature
	for _, col := range s.SameAttribute {
		fs = append(fs, feature.Feature{Name: sameWatches(col), Kind: feature.Continuous}, feature.Feature{Name: sameDays(col), Kind: feature.Continuous})
	}
	if s.Exposure {
		fs = append(fs, feature.Feature{Name: FeatureShown, Kind: feature.Continuous}, feature.Feature{Name: FeatureSkipped, Kind: feature.Continuous},
			feature.Feature{Name: FeatureShownDays, Kind: feature.Continuous})
	}
	if s.Context {
		fs = append(fs, feature.Feature{Name: FeatureHour, Kind: feature.ID, Space: hourSpace}, feature.Feature{Name: FeatureWeekday, Kind: feature.ID, Space: weekdaySpace})
	}
	if s.LastSearch {
		fs = append(fs, feature.Feature{Name: FeatureLastSearch, Kind: feature.Bag, Space: TokenSpace, MaxLen: maxTokens})
	}
	if s.CandidateScore {
		fs = append(fs, feature.Feature{Name: FeatureCandidateScore, Kind: feature.Continuous})
	}
	return append(fs, s.statsFeatures()...)
}

// seen is one remembered value: how often, how many of those skipped, and
// when last (Unix ms).
type seen struct {
	n, skipped int32
	last       int64
}

// state is a user's bounded counters for the signals.
type state struct {
	attr       []map[int64]seen // per Signals.SameAttribute column: value → watches
	shown      map[int64]seen   // video → showings
	lastSearch []int64
}

func (s *state) clone() *state {
	if s == nil {
		return nil
	}
	c := &state{shown: maps.Clone(s.shown), lastSearch: s.lastSearch}
	for _, m := range s.attr {
		c.attr = append(c.attr, maps.Clone(m))
	}
	return c
}

// bound forgets the least recently seen half of m once it holds more than
// max entries (amortized O(log n) per insert).
func bound(m map[int64]seen, max int) {
	if len(m) <= max {
		return
	}
	lasts := make([]int64, 0, len(m))
	for _, s := range m {
		lasts = append(lasts, s.last)
	}
	slices.Sort(lasts)
	cut := lasts[len(lasts)-max/2-1] // keep the max/2 most recent (ties kept too)
	for k, s := range m {
		if s.last < cut {
			delete(m, k)
		}
	}
}

// attrValue returns the value of catalogue column col (an index into
// Config.VideoFeatures) for video, and whether the video has one (a null
// value is none: two videos without a channel share nothing).
func (l *Layout) attrValue(video int64, col int) (int64, bool) {
	return attrOf(l.Catalogue.Items[video], col)
}

// attrOf is attrValue of a video's catalogue row.
func attrOf(f []events.Feat, col int) (int64, bool) {
	if col >= len(f) || f[col].ID == events.NullID {
		return 0, false
	}
	return f[col].ID, true
}

// watched updates u's signal state with a watch.
func (l *Layout) watched(u *User, e *events.Event) {
	sg := &l.cfg.Signals
	if len(sg.SameAttribute) == 0 && !sg.LastSearch {
		return
	}
	s := l.state(u)
	for k, col := range l.sameCols {
		v, ok := l.attrValue(e.Item, col)
		if !ok {
			continue
		}
		c := s.attr[k][v]
		c.n++
		c.last = e.Time
		s.attr[k][v] = c
		bound(s.attr[k], sg.MaxState)
	}
	if sg.LastSearch && len(e.Tokens) > 0 {
		s.lastSearch = e.Tokens
	}
}

// shownTo updates u's signal state with an impression.
func (l *Layout) shownTo(u *User, e *events.Event) {
	if !l.cfg.Signals.Exposure {
		return
	}
	s := l.state(u)
	c := s.shown[e.Item]
	c.n++
	if !e.Clicked {
		c.skipped++
	}
	c.last = e.Time
	s.shown[e.Item] = c
	bound(s.shown, l.cfg.Signals.MaxState)
}

// state returns u's signal state, made on first use.
func (l *Layout) state(u *User) *state {
	if u.sig == nil {
		u.sig = &state{shown: map[int64]seen{}}
		for range l.sameCols {
			u.sig.attr = append(u.sig.attr, map[int64]seen{})
		}
	}
	return u.sig
}

func daysSince(at, last int64) float64 { return max(0, float64(at-last)/day) }

// SetCandidateScore sets the candidate-generation score of a ranking
// example made with RankExample (for callers that compute scores in a
// batch after the walk); a no-op without Signals.CandidateScore.
func (l *Layout) SetCandidateScore(ex *feature.Example, score float64) {
	if l.cfg.Signals.CandidateScore {
		ex.Nums[l.rs.score] = score
	}
}

// putUserSignals fills the signal features that depend on u and the time
// alone: the context of the showing and the last search.
func (l *Layout) putUserSignals(ex *feature.Example, u *User, at int64, ones *idBuf) {
	sg := &l.cfg.Signals
	if sg.Context {
		t := at + int64(sg.UTCOffsetMinutes)*60_000
		dayIndex := t / 86_400_000
		if t < 0 && t%86_400_000 != 0 {
			dayIndex--
		}
		ms := t - dayIndex*86_400_000
		ex.IDs[l.rs.hour] = ones.one(ms / 3_600_000)
		ex.IDs[l.rs.weekday] = ones.one(((dayIndex+4)%7 + 7) % 7) // 1970-01-01 was a Thursday
	}
	if sg.LastSearch && u.sig != nil {
		ex.IDs[l.rs.lastSearch] = lastN(u.sig.lastSearch, l.cfg.MaxTokens)
	}
}

// putSignals fills the signal features of showing video to u at time at,
// candidate generation scoring it score (those of putUserSignals aside).
func (l *Layout) putSignals(ex *feature.Example, u *User, video int64, cat []events.Feat, at int64, score float64) {
	sg := &l.cfg.Signals
	s := u.sig
	for k, col := range l.sameCols {
		n, days := 0.0, NeverDays
		if v, ok := attrOf(cat, col); ok && s != nil {
			if c, ok := s.attr[k][v]; ok {
				n, days = float64(c.n), daysSince(at, c.last)
			}
		}
		ex.Nums[l.rs.sameWatches[k]] = n
		ex.Nums[l.rs.sameDays[k]] = days
	}
	if sg.Exposure {
		var c seen
		days := NeverDays
		if s != nil {
			if x, ok := s.shown[video]; ok {
				c, days = x, daysSince(at, x.last)
			}
		}
		ex.Nums[l.rs.shown] = float64(c.n)
		ex.Nums[l.rs.skipped] = float64(c.skipped)
		ex.Nums[l.rs.shownDays] = days
	}
	if sg.CandidateScore {
		ex.Nums[l.rs.score] = score
	}
}
