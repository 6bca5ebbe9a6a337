package layout

import (
	"cmp"
	"slices"

	"github.com/ytdnn/ytdnn/events"
	"github.com/ytdnn/ytdnn/feature"
)

// Counts are the showings of a video (or of every video sharing a catalogue
// value) before a moment: impressions, clicks, and the watch seconds of
// the clicks.
type Counts struct {
	Impressions, Clicks, WatchSeconds float64
}

// StatsSource answers the running statistics of Signals.ItemStats and
// Signals.AttributeStats: the counts strictly before a moment (Unix ms),
// over every user, and the overall rates the smoothing falls back on.
// Training uses a source indexed by time (NewRunningStats over the log);
// a service uses the counts at the end of the training window (the
// model directory's), so that a feature never sees its own impression.
type StatsSource interface {
	// Video counts the showings of video before at.
	Video(video, at int64) Counts
	// Attribute counts the showings of every video whose value of
	// catalogue column col is value, before at.
	Attribute(col string, value, at int64) Counts
	// Prior is the overall click-through rate and watch seconds per click
	// of the training window.
	Prior() (ctr, watchPerClick float64)
}

// statsPrior is the weight, in impressions (clicks for watch time), of the
// prior in the smoothed rates.
const statsPrior = 10

// CTR is the click-through rate of c smoothed toward prior with the weight
// of 10 impressions: (clicks + 10·prior) / (impressions + 10), the
// stats_…_ctr feature.
func (c Counts) CTR(prior float64) float64 {
	return (c.Clicks + statsPrior*prior) / (c.Impressions + statsPrior)
}

// putStats fills the running-statistics features of showing video at at.
func (l *Layout) putStats(ex *feature.Example, video int64, cat []events.Feat, at int64) {
	sg := &l.cfg.Signals
	if !sg.ItemStats && len(sg.AttributeStats) == 0 {
		return
	}
	src := l.Stats
	if src == nil {
		src = noStats{}
	}
	ctr0, watch0 := src.Prior()
	slots := l.rs.stats
	put := func(c Counts) {
		ex.Nums[slots[0][0]] = c.Impressions
		ex.Nums[slots[0][1]] = c.CTR(ctr0)
		ex.Nums[slots[0][2]] = (c.WatchSeconds + statsPrior*watch0) / (c.Clicks + statsPrior)
		slots = slots[1:]
	}
	if sg.ItemStats {
		put(src.Video(video, at))
	}
	for k, col := range sg.AttributeStats {
		var c Counts
		if v, ok := attrOf(cat, l.statCols[k]); ok {
			c = src.Attribute(col, v, at)
		}
		put(c)
	}
}

// statsFeatures are the features of the running statistics, in order.
func (s Signals) statsFeatures() []feature.Feature {
	var fs []feature.Feature
	add := func(prefix string) {
		for _, suffix := range []string{"_impressions", "_ctr", "_watch_per_click"} {
			fs = append(fs, feature.Feature{Name: prefix + suffix, Kind: feature.Continuous})
		}
	}
	if s.ItemStats {
		add("stats_video")
	}
	for _, col := range s.AttributeStats {
		add("stats_" + col)
	}
	return fs
}

// noStats is the source of a layout given none: no showing of anything.
type noStats struct{}

func (noStats) Video(int64, int64) Counts             { return Counts{} }
func (noStats) Attribute(string, int64, int64) Counts { return Counts{} }
func (noStats) Prior() (float64, float64)             { return 0, 0 }

// showing is one impression in a running index: its click and watch
// seconds, and the sums of both over its series up to it (filled by Seal).
type showing struct {
	at                        int64
	clicks, watch             float64
	prefixClicks, prefixWatch float64
}

// series are the showings of one key in time order, with prefix sums.
type series []showing

func (s series) before(at int64) Counts {
	k, _ := slices.BinarySearchFunc(s, at, func(x showing, t int64) int { return cmp.Compare(x.at, t) })
	if k == 0 {
		return Counts{}
	}
	last := s[k-1]
	return Counts{Impressions: float64(k), Clicks: last.prefixClicks, WatchSeconds: last.prefixWatch}
}

// RunningStats is a StatsSource indexed by time, built from every
// impression of a log (32 bytes an impression per key it counts under: the
// video and each of the catalogue columns counted): it answers the counts
// strictly before any moment. Build it with NewRunningStats, Add every
// impression (in any order), then Seal. Safe for concurrent reads once
// sealed.
type RunningStats struct {
	l         *Layout
	videos    map[int64]series
	attrs     map[string]map[int64]series
	n, clicks float64
	watch     float64
	until     int64 // the prior counts impressions before it
}

// NewRunningStats returns an empty index for layout l's statistics; the
// prior (overall rates) counts the impressions before until (the end of
// the training window).
func NewRunningStats(l *Layout, until int64) *RunningStats {
	r := &RunningStats{l: l, videos: map[int64]series{}, attrs: map[string]map[int64]series{}, until: until}
	for _, c := range l.cfg.Signals.AttributeStats {
		r.attrs[c] = map[int64]series{}
	}
	return r
}

// Add counts one impression.
func (r *RunningStats) Add(e *events.Event) {
	s := showing{at: e.Time}
	if e.Clicked {
		s.clicks, s.watch = 1, float64(e.WatchTime)
	}
	if e.Time < r.until {
		r.n++
		r.clicks += s.clicks
		r.watch += s.watch
	}
	if r.l.cfg.Signals.ItemStats {
		r.videos[e.Item] = append(r.videos[e.Item], s)
	}
	for k, name := range r.l.cfg.Signals.AttributeStats {
		if v, ok := r.l.attrValue(e.Item, r.l.statCols[k]); ok {
			r.attrs[name][v] = append(r.attrs[name][v], s)
		}
	}
}

// Seal sorts every series by time and sums them.
func (r *RunningStats) Seal() {
	sum := func(s series) {
		slices.SortFunc(s, func(a, b showing) int { return cmp.Compare(a.at, b.at) })
		var c, w float64
		for i := range s {
			c += s[i].clicks
			w += s[i].watch
			s[i].prefixClicks, s[i].prefixWatch = c, w
		}
	}
	for _, s := range r.videos {
		sum(s)
	}
	for _, m := range r.attrs {
		for _, s := range m {
			sum(s)
		}
	}
}

// Video implements StatsSource.
func (r *RunningStats) Video(video, at int64) Counts { return r.videos[video].before(at) }

// Attribute implements StatsSource.
func (r *RunningStats) Attribute(col string, value, at int64) Counts {
	return r.attrs[col][value].before(at)
}

// Prior implements StatsSource.
func (r *RunningStats) Prior() (float64, float64) {
	ctr, watch := 0.0, 0.0
	if r.n > 0 {
		ctr = r.clicks / r.n
	}
	if r.clicks > 0 {
		watch = r.watch / r.clicks
	}
	return ctr, watch
}

// Snapshot returns the counts at the moment at (a service's source: every
// video's and value's counts before the end of the training window).
func (r *RunningStats) Snapshot(at int64) *FixedStats {
	f := &FixedStats{Videos: map[int64]Counts{}, Attributes: map[string]map[int64]Counts{}}
	f.CTR, f.WatchPerClick = r.Prior()
	for v, s := range r.videos {
		if c := s.before(at); c.Impressions > 0 {
			f.Videos[v] = c
		}
	}
	for name, m := range r.attrs {
		f.Attributes[name] = map[int64]Counts{}
		for v, s := range m {
			if c := s.before(at); c.Impressions > 0 {
				f.Attributes[name][v] = c
			}
		}
	}
	return f
}

// FixedStats are counts frozen at one moment (the end of the training
// window), the StatsSource of a service: the moment asked is ignored.
type FixedStats struct {
	Videos             map[int64]Counts
	Attributes         map[string]map[int64]Counts
	CTR, WatchPerClick float64
}

// Video implements StatsSource.
func (f *FixedStats) Video(video, _ int64) Counts { return f.Videos[video] }

// Attribute implements StatsSource.
func (f *FixedStats) Attribute(col string, value, _ int64) Counts { return f.Attributes[col][value] }

// Prior implements StatsSource.
func (f *FixedStats) Prior() (float64, float64) { return f.CTR, f.WatchPerClick }

// SumStats adds the counts of two sources: the counts a model directory
// holds at the end of its training window (Base) and a later log's running
// counts (Later), for evaluating a trained model on a later log. The prior
// is Base's.
type SumStats struct{ Base, Later StatsSource }

func add(a, b Counts) Counts {
	return Counts{a.Impressions + b.Impressions, a.Clicks + b.Clicks, a.WatchSeconds + b.WatchSeconds}
}

// Video implements StatsSource.
func (s SumStats) Video(video, at int64) Counts {
	return add(s.Base.Video(video, at), s.Later.Video(video, at))
}

// Attribute implements StatsSource.
func (s SumStats) Attribute(col string, value, at int64) Counts {
	return add(s.Base.Attribute(col, value, at), s.Later.Attribute(col, value, at))
}

// Prior implements StatsSource.
func (s SumStats) Prior() (float64, float64) { return s.Base.Prior() }

// WantsStats reports whether the layout's signals read running statistics.
func (l *Layout) WantsStats() bool {
	return l.cfg.Signals.ItemStats || len(l.cfg.Signals.AttributeStats) > 0
}
