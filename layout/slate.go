package layout

import (
	"slices"

	"github.com/ytdnn/ytdnn/events"
	"github.com/ytdnn/ytdnn/feature"
)

// cgSlots are the slots of candidate generation's spec.
type cgSlots struct {
	watches, searches int
	user              []int // per UserFeatures, then UserTableFeatures column
}

// rankSlots are the slots of the ranker's spec, resolved once by New so
// that building a candidate's example never looks a name up.
type rankSlots struct {
	video, lastWatches int
	user               []int // per UserFeatures, then UserTableFeatures column
	videoCols          []int // per VideoFeatures column (video_ or video_age_)
	impression         []int // per ImpressionFeatures column
	sameWatches        []int // per Signals.SameAttribute column
	sameDays           []int
	shown, skipped     int
	shownDays          int
	hour, weekday      int
	lastSearch, score  int
	stats              [][3]int // ItemStats, then per AttributeStats column
	// oneIDs is how many single IDs a candidate's own features hold (the
	// video and its ID columns): what RankExamples sets aside per
	// candidate.
	oneIDs int
}

// resolveSlots fills l.cs and l.rs from the builders' specs.
func (l *Layout) resolveSlots() {
	cg, rk := l.cg, l.rk
	num := []feature.Kind{feature.Continuous, feature.Value}
	ids := []feature.Kind{feature.ID, feature.Bag}
	user := func(b *feature.Builder) []int { // the spec's user features, in order
		var out []int
		for _, f := range l.userFeatures() {
			out = append(out, b.Slot(f.Name, f.Kind))
		}
		return out
	}
	l.cs = cgSlots{watches: cg.Slot(FeatureWatches, ids...), searches: -1, user: user(cg)}
	if l.cfg.SearchTokens {
		l.cs.searches = cg.Slot(FeatureSearches, ids...)
	}
	rs := rankSlots{
		video: rk.Slot(FeatureVideo, ids...), lastWatches: rk.Slot(FeatureLastWatches, ids...), user: user(rk),
		shown: -1, skipped: -1, shownDays: -1, hour: -1, weekday: -1, lastSearch: -1, score: -1, oneIDs: 1,
	}
	for _, c := range l.cfg.VideoFeatures {
		switch c.Kind {
		case events.KindID:
			rs.videoCols = append(rs.videoCols, rk.Slot(videoFeature(c.Column), ids...))
			rs.oneIDs++
		case events.KindIDs:
			rs.videoCols = append(rs.videoCols, rk.Slot(videoFeature(c.Column), ids...))
		case events.KindTime:
			rs.videoCols = append(rs.videoCols, rk.Slot(videoAge(c.Column), num...))
		default:
			rs.videoCols = append(rs.videoCols, rk.Slot(videoFeature(c.Column), num...))
		}
	}
	for _, c := range l.cfg.ImpressionFeatures {
		k := num
		if c.Kind == events.KindID {
			k = ids
		}
		rs.impression = append(rs.impression, rk.Slot(impressionFeature(c.Column), k...))
	}
	sg := &l.cfg.Signals
	for _, col := range sg.SameAttribute {
		rs.sameWatches = append(rs.sameWatches, rk.Slot(sameWatches(col), num...))
		rs.sameDays = append(rs.sameDays, rk.Slot(sameDays(col), num...))
	}
	if sg.Exposure {
		rs.shown, rs.skipped, rs.shownDays = rk.Slot(FeatureShown, num...), rk.Slot(FeatureSkipped, num...), rk.Slot(FeatureShownDays, num...)
	}
	if sg.Context {
		rs.hour, rs.weekday = rk.Slot(FeatureHour, ids...), rk.Slot(FeatureWeekday, ids...)
	}
	if sg.LastSearch {
		rs.lastSearch = rk.Slot(FeatureLastSearch, ids...)
	}
	if sg.CandidateScore {
		rs.score = rk.Slot(FeatureCandidateScore, num...)
	}
	stats := func(prefix string) {
		rs.stats = append(rs.stats, [3]int{rk.Slot(prefix+"_impressions", num...), rk.Slot(prefix+"_ctr", num...), rk.Slot(prefix+"_watch_per_click", num...)})
	}
	if sg.ItemStats {
		stats("stats_video")
	}
	for _, col := range sg.AttributeStats {
		stats("stats_" + col)
	}
	l.rs = rs
}

// idBuf hands out one-ID slices from a buffer sized beforehand, so that a
// slate's examples take no allocation each; a nil or full idBuf allocates.
type idBuf struct{ b []int64 }

// one returns []int64{id}.
func (p *idBuf) one(id int64) []int64 {
	if p == nil || len(p.b) == cap(p.b) {
		return []int64{id}
	}
	p.b = append(p.b, id)
	n := len(p.b)
	return p.b[n-1 : n : n]
}

// of is an ID feature's IDs: none (OOV) for a null.
func (p *idBuf) of(f events.Feat) []int64 {
	if f.ID == events.NullID {
		return nil
	}
	return p.one(f.ID)
}

// Slate holds the memory of the examples RankExamples builds, reused from
// one slate to the next: once it has held a slate as large, building one
// allocates nothing. The zero value is ready to use; a Slate is not safe
// for concurrent use (a server keeps one per request in flight, in a
// sync.Pool say).
type Slate struct {
	// SkipItemFeatures leaves the features ItemFeatures names unset (no
	// IDs, 0), for a ranker that takes them from a precomputed
	// ranking.ItemPart holding every candidate of the slate (it reads no
	// candidate's values for them): their statistics are not looked up.
	// Any other ranker would score such examples wrongly.
	SkipItemFeatures bool

	exs  []feature.Example
	ids  [][]int64
	nums []float64
	ones idBuf
	user feature.Example // the features every candidate shares
	used int             // slots of ids the last slate filled
}

// RankExamples is RankExample for every video of a slate shown to u at
// time at, candidate generation scoring videos[i] scores[i] (nil: 0):
// example i is RankExample(u, videos[i], at, scores[i]). The features that
// depend on u and at alone are built once and shared by every example (the
// same slices: ranking.Model.Logits encodes them once). The examples live
// in s and alias u's history and search tokens: they are valid until s
// builds the next slate. scores of another length than videos panics (a
// programmer error).
func (l *Layout) RankExamples(s *Slate, u *User, videos []int64, at int64, scores []float64) []feature.Example {
	if scores != nil && len(scores) != len(videos) {
		panic("layout: RankExamples: scores and videos differ in length")
	}
	F, n := len(l.rk.Spec().Features), len(videos)
	shared := 2 + len(l.rs.user) + len(l.rs.impression) // at most: hour, weekday, ID columns
	if need := shared + n*l.rs.oneIDs; cap(s.ones.b) < need {
		s.ones.b = make([]int64, 0, need)
	}
	s.ones.b = s.ones.b[:0]
	if len(s.user.IDs) != F {
		s.user = feature.Example{IDs: make([][]int64, F), Nums: make([]float64, F)}
	}
	clear(s.user.IDs)
	clear(s.user.Nums)
	l.putUser(&s.user, u, at, &s.ones)
	if cap(s.ids) < n*F {
		s.ids, s.nums = make([][]int64, n*F), make([]float64, n*F)
	} else if s.used > n*F {
		// A smaller slate than the last: drop the larger one's references
		// (earlier users' histories, another catalogue's rows).
		clear(s.ids[n*F : s.used])
	}
	s.used = n * F
	if cap(s.exs) < n {
		s.exs = make([]feature.Example, n)
	}
	s.exs = s.exs[:n]
	for i, video := range videos {
		ex := feature.Example{IDs: s.ids[i*F : (i+1)*F : (i+1)*F], Nums: s.nums[i*F : (i+1)*F : (i+1)*F]}
		copy(ex.IDs, s.user.IDs)
		copy(ex.Nums, s.user.Nums)
		score := 0.0
		if scores != nil {
			score = scores[i]
		}
		l.putCandidate(&ex, u, video, at, score, &s.ones, s.SkipItemFeatures)
		s.exs[i] = ex
	}
	return s.exs
}

// putUser fills the ranker's features that depend on u and at alone.
func (l *Layout) putUser(ex *feature.Example, u *User, at int64, ones *idBuf) {
	ex.IDs[l.rs.lastWatches] = lastN(u.History, l.cfg.RankHistory)
	l.putUserFeats(ex, l.rs.user, u, ones)
	for i, c := range l.cfg.ImpressionFeatures {
		var f events.Feat
		if i < len(u.Context) {
			f = u.Context[i]
		} else if c.Kind == events.KindID {
			f.ID = events.NullID // no context given: unknown
		}
		if c.Kind == events.KindID {
			ex.IDs[l.rs.impression[i]] = ones.of(f)
		} else {
			ex.Nums[l.rs.impression[i]] = f.Num
		}
	}
	l.putUserSignals(ex, u, at, ones)
}

// putCandidate fills the features of showing video (its own, its signals
// and statistics) into ex, whose other features are set; with skipItem,
// not those of ItemFeatures.
func (l *Layout) putCandidate(ex *feature.Example, u *User, video, at int64, score float64, ones *idBuf, skipItem bool) {
	if !skipItem {
		ex.IDs[l.rs.video] = ones.one(video)
	}
	cat := l.Catalogue.Items[video]
	for i, c := range l.cfg.VideoFeatures {
		if skipItem && c.Kind != events.KindTime {
			continue
		}
		var f events.Feat
		if i < len(cat) {
			f = cat[i]
		}
		slot := l.rs.videoCols[i]
		switch c.Kind {
		case events.KindID:
			if len(cat) > 0 { // unknown videos: unknown IDs
				ex.IDs[slot] = ones.of(f)
			}
		case events.KindIDs:
			ex.IDs[slot] = f.IDs // a bag: every value, averaged
		case events.KindTime:
			if len(cat) > 0 && f.ID != events.NullID { // unknown videos and times: age 0
				ex.Nums[slot] = (float64(at) - f.Num) / day
			}
		default:
			ex.Nums[slot] = f.Num
		}
	}
	l.putSignals(ex, u, video, cat, at, score)
	if !skipItem || !l.statsFixed() {
		l.putStats(ex, video, cat, at)
	}
}

// statsFixed reports whether the running statistics depend on the video
// alone (a server's FixedStats, or none).
func (l *Layout) statsFixed() bool {
	switch l.Stats.(type) {
	case nil, *FixedStats:
		return true
	}
	return false
}

// ItemFeatures returns the ranker's features (indices into RankingSpec,
// ascending) whose value depends on the candidate video alone while a
// server holds the statistics fixed: the video's ID, its catalogue ID,
// bag and number columns (not a time column: the video's age depends on
// the moment), and the running statistics when Stats is a *FixedStats (a
// model directory's, at serving) or nil. A server precomputes their part
// of the ranker once per catalogue (ranking.ItemPart) from
// RankExample(&User{}, video, End, 0).
func (l *Layout) ItemFeatures() []int {
	out := []int{l.rs.video}
	for i, c := range l.cfg.VideoFeatures {
		if c.Kind != events.KindTime {
			out = append(out, l.rs.videoCols[i])
		}
	}
	if l.statsFixed() {
		for _, s := range l.rs.stats {
			out = append(out, s[:]...)
		}
	}
	slices.Sort(out)
	return out
}
