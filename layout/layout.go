package layout

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/events"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/ranking"
)

// Names of the spaces and features a layout declares. A user attribute
// column C becomes the feature "user_C" in space "user:C" (ID columns); a
// catalogue column C becomes "video_C" in space "video:C" (ID columns),
// "video_C" (continuous) or "video_age_C" (time columns: the video's age at
// the impression, in days).
const (
	VideoSpace = "video" // shared by the labels, histories and the impressed video
	TokenSpace = "token" // search tokens

	FeatureWatches     = "watches"      // candgen: the watch history (Bag, MaxHistory)
	FeatureSearches    = "searches"     // candgen: recent search tokens (Bag, MaxTokens)
	FeatureVideo       = "video"        // ranking: the impressed video (ID)
	FeatureLastWatches = "last_watches" // ranking: the last watches (Bag, RankHistory)
)

// Defaults of Config, applied to its zero fields.
const (
	DefaultMaxHistory  = 50
	DefaultRankHistory = 20
	DefaultMaxTokens   = 50
	maxLen             = 10_000 // the largest history or token bag a layout keeps
)

// day is one day in Unix milliseconds.
const day = 86_400_000.0

// Config is everything that shapes the features a layout makes: the one
// authority on them, stored with the models (modeldir's manifest). Zero
// fields take the defaults in brackets.
type Config struct {
	// MaxVideos caps the video vocabulary (top-N by count; 0: no cap).
	MaxVideos int `json:"max_videos"`
	// MaxHistory is how many recent watches candidate generation sees
	// [DefaultMaxHistory].
	MaxHistory int `json:"max_history"`
	// RankHistory is how many recent watches the ranker sees
	// [DefaultRankHistory].
	RankHistory int `json:"rank_history"`
	// MaxTokens is how many recent search tokens candidate generation sees
	// [DefaultMaxTokens]; read only with SearchTokens.
	MaxTokens int `json:"max_tokens"`
	// SearchTokens says the watches carry search tokens.
	SearchTokens bool `json:"search_tokens"`
	// UserFeatures are the user attribute columns (KindID or
	// KindContinuous), in the order of events.Event.Feats.
	UserFeatures []events.Column `json:"user_features"`
	// VideoFeatures are the catalogue columns (KindID, KindContinuous or
	// KindTime), in the order of events.Catalogue.Items' values.
	VideoFeatures []events.Column `json:"video_features"`
	// UserTableFeatures are the columns of a table of user attributes, one
	// row per user joined by user ID (KindID or KindContinuous), read as
	// "user_C" like UserFeatures (a column may not be in both).
	UserTableFeatures []events.Column `json:"user_table_features"`
	// ImpressionFeatures are columns of the impression row itself, the
	// context of a showing (KindID or KindContinuous), in the order of an
	// impression event's Feats; the ranker reads each as "impression_C".
	ImpressionFeatures []events.Column `json:"impression_features"`
	// Signals are the ranking signals derived from the events (none by
	// default).
	Signals Signals `json:"signals"`
}

// withDefaults returns c with its zero fields set.
func (c Config) withDefaults() Config {
	if c.MaxHistory == 0 {
		c.MaxHistory = DefaultMaxHistory
	}
	if c.RankHistory == 0 {
		c.RankHistory = DefaultRankHistory
	}
	if c.MaxTokens == 0 {
		c.MaxTokens = DefaultMaxTokens
	}
	c.Signals = c.Signals.withDefaults()
	return c
}

// Validate reports every invalid setting of c (defaults applied) at once.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.MaxVideos < 0 {
		bad("max_videos %d is negative", c.MaxVideos)
	}
	for _, n := range []struct {
		name string
		v    int
	}{{"max_history", c.MaxHistory}, {"rank_history", c.RankHistory}, {"max_tokens", c.MaxTokens}} {
		if n.v < 1 || n.v > maxLen {
			bad("%s %d outside 1..%d", n.name, n.v, maxLen)
		}
	}
	seen := map[string]bool{}
	check := func(where string, cols []events.Column, allowTime bool) {
		for _, col := range cols {
			switch {
			case col.Column == "":
				bad("%s: a column without a name", where)
			case col.Kind != events.KindID && col.Kind != events.KindContinuous && !(allowTime && (col.Kind == events.KindTime || col.Kind == events.KindIDs)):
				bad("%s: column %q has kind %q", where, col.Column, col.Kind)
			case col.MaxVocab < 0:
				bad("%s: column %q has a negative max_vocab", where, col.Column)
			case seen[where+col.Column]:
				bad("%s: column %q mapped twice", where, col.Column)
			}
			seen[where+col.Column] = true
		}
	}
	check("user_features", c.UserFeatures, false)
	check("video_features", c.VideoFeatures, true)
	check("impression_features", c.ImpressionFeatures, false)
	for _, col := range c.UserTableFeatures {
		if slices.ContainsFunc(c.UserFeatures, func(u events.Column) bool { return u.Column == col.Column }) {
			bad("user_table_features: column %q is a user feature of the watches too", col.Column)
		}
	}
	check("user_table_features", c.UserTableFeatures, false)
	errs = append(errs, c.Signals.validate(&c))
	return errors.Join(errs...)
}

// Layout turns a user's events into both stages' examples, the same way
// at training and at serving: candidate generation's user features and the
// ranker's impression features, by feature name. A Layout is immutable and
// safe for concurrent use.
type Layout struct {
	cfg Config
	// End is the end of the training window (Unix ms): example ages are
	// measured from it, and a served request happens at it.
	End int64
	// Catalogue holds the videos' features (its Features are
	// Config.VideoFeatures).
	Catalogue *events.Catalogue
	// Users holds the user table's rows (nil: no user has any; its
	// Features are Config.UserTableFeatures).
	Users *events.UserTable
	// Stats answers the running statistics of Signals.ItemStats and
	// AttributeStats (nil: no showing of anything): at training a
	// RunningStats over the log, at serving the counts at the window's end.
	Stats    StatsSource
	cg, rk   *feature.Builder
	cs       cgSlots   // candgen's spec's slots, resolved once
	rs       rankSlots // the ranker's
	sameCols []int     // index in VideoFeatures of each Signals.SameAttribute column
	statCols []int     // index in VideoFeatures of each Signals.AttributeStats column
}

// New returns the layout of cfg (defaults applied) for a training window
// ending at end (Unix ms) and a catalogue (nil: no video has features).
// An invalid config, or a catalogue whose columns are not
// cfg.VideoFeatures, is an error.
func New(cfg Config, end int64, cat *events.Catalogue) (*Layout, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("layout: %w", err)
	}
	cfg = cfg.withDefaults()
	if cat == nil {
		cat = &events.Catalogue{Features: cfg.VideoFeatures, Items: map[int64][]events.Feat{}}
	}
	if len(cat.Features) != len(cfg.VideoFeatures) {
		return nil, fmt.Errorf("layout: the catalogue has %d columns, the config maps %d", len(cat.Features), len(cfg.VideoFeatures))
	}
	for i, c := range cat.Features {
		if w := cfg.VideoFeatures[i]; c.Column != w.Column || c.Kind != w.Kind {
			return nil, fmt.Errorf("layout: catalogue column %d is %q (%s), the config maps %q (%s)", i, c.Column, c.Kind, w.Column, w.Kind)
		}
	}
	l := &Layout{cfg: cfg, End: end, Catalogue: cat}
	col := func(name string) int {
		return slices.IndexFunc(cfg.VideoFeatures, func(c events.Column) bool { return c.Column == name })
	}
	for _, name := range cfg.Signals.SameAttribute {
		l.sameCols = append(l.sameCols, col(name))
	}
	for _, name := range cfg.Signals.AttributeStats {
		l.statCols = append(l.statCols, col(name))
	}
	var err error
	if l.cg, err = feature.NewBuilder(l.CandgenSpec()); err != nil {
		return nil, fmt.Errorf("layout: %w", err)
	}
	if l.rk, err = feature.NewBuilder(l.RankingSpec()); err != nil {
		return nil, fmt.Errorf("layout: %w", err)
	}
	l.resolveSlots()
	return l, nil
}

// Config returns the layout's config, defaults applied.
func (l *Layout) Config() Config { return l.cfg }

func userSpace(col string) string    { return "user:" + col }
func videoSpace(col string) string   { return "video:" + col }
func userFeature(col string) string  { return "user_" + col }
func videoFeature(col string) string { return "video_" + col }
func videoAge(col string) string     { return "video_age_" + col }

func impressionSpace(col string) string   { return "impression:" + col }
func impressionFeature(col string) string { return "impression_" + col }

// TextSpaces names the ID spaces whose IDs are text in d (a log's
// dictionaries, a model directory's ids.dict): their int64 IDs are
// dictionary codes, not the log's values. nil d: none.
func (l *Layout) TextSpaces(d *events.Dicts) map[string]bool {
	out := map[string]bool{}
	if d == nil {
		return out
	}
	if d.Videos != nil {
		out[VideoSpace] = true
	}
	if d.Tokens != nil {
		out[TokenSpace] = true
	}
	for _, s := range l.spaces() {
		if i := strings.IndexByte(s.Name, ':'); i >= 0 && d.Feature(s.Name[i+1:]) != nil {
			out[s.Name] = true
		}
	}
	return out
}

// spaces declares the ID spaces both stages use.
func (l *Layout) spaces() []feature.Space {
	sp := []feature.Space{{Name: VideoSpace, MaxVocab: l.cfg.MaxVideos}}
	if l.cfg.SearchTokens {
		sp = append(sp, feature.Space{Name: TokenSpace})
	}
	for _, c := range append(slices.Clone(l.cfg.UserFeatures), l.cfg.UserTableFeatures...) {
		if c.Kind == events.KindID {
			sp = append(sp, feature.Space{Name: userSpace(c.Column), MaxVocab: c.MaxVocab})
		}
	}
	for _, c := range l.cfg.VideoFeatures {
		if c.Kind == events.KindID || c.Kind == events.KindIDs {
			sp = append(sp, feature.Space{Name: videoSpace(c.Column), MaxVocab: c.MaxVocab})
		}
	}
	for _, c := range l.cfg.ImpressionFeatures {
		if c.Kind == events.KindID {
			sp = append(sp, feature.Space{Name: impressionSpace(c.Column), MaxVocab: c.MaxVocab})
		}
	}
	return append(sp, l.cfg.Signals.spaces()...)
}

func (l *Layout) userFeatures() []feature.Feature {
	var fs []feature.Feature
	for _, c := range append(slices.Clone(l.cfg.UserFeatures), l.cfg.UserTableFeatures...) {
		if c.Kind == events.KindID {
			fs = append(fs, feature.Feature{Name: userFeature(c.Column), Kind: feature.ID, Space: userSpace(c.Column)})
		} else {
			fs = append(fs, feature.Feature{Name: userFeature(c.Column), Kind: feature.Continuous})
		}
	}
	return fs
}

// CandgenSpec is candidate generation's spec: the watch history, the
// recent search tokens (with SearchTokens), the user attributes. Example
// age is added by the model (candgen.FullSpec).
func (l *Layout) CandgenSpec() feature.Spec {
	fs := []feature.Feature{{Name: FeatureWatches, Kind: feature.Bag, Space: VideoSpace, MaxLen: l.cfg.MaxHistory}}
	if l.cfg.SearchTokens {
		fs = append(fs, feature.Feature{Name: FeatureSearches, Kind: feature.Bag, Space: TokenSpace, MaxLen: l.cfg.MaxTokens})
	}
	return feature.Spec{Spaces: l.spaces(), Features: append(fs, l.userFeatures()...)}
}

// RankingSpec is the ranker's spec: the impressed video, the last watches
// (the same video space), the user attributes, the video's catalogue
// features.
func (l *Layout) RankingSpec() feature.Spec {
	fs := []feature.Feature{
		{Name: FeatureVideo, Kind: feature.ID, Space: VideoSpace},
		{Name: FeatureLastWatches, Kind: feature.Bag, Space: VideoSpace, MaxLen: l.cfg.RankHistory},
	}
	fs = append(fs, l.userFeatures()...)
	for _, c := range l.cfg.VideoFeatures {
		switch c.Kind {
		case events.KindID:
			fs = append(fs, feature.Feature{Name: videoFeature(c.Column), Kind: feature.ID, Space: videoSpace(c.Column)})
		case events.KindIDs:
			fs = append(fs, feature.Feature{Name: videoFeature(c.Column), Kind: feature.Bag, Space: videoSpace(c.Column)})
		case events.KindTime:
			fs = append(fs, feature.Feature{Name: videoAge(c.Column), Kind: feature.Continuous})
		default:
			fs = append(fs, feature.Feature{Name: videoFeature(c.Column), Kind: feature.Continuous})
		}
	}
	for _, c := range l.cfg.ImpressionFeatures {
		if c.Kind == events.KindID {
			fs = append(fs, feature.Feature{Name: impressionFeature(c.Column), Kind: feature.ID, Space: impressionSpace(c.Column)})
		} else {
			fs = append(fs, feature.Feature{Name: impressionFeature(c.Column), Kind: feature.Continuous})
		}
	}
	fs = append(fs, l.cfg.Signals.features(l.cfg.MaxTokens)...)
	return feature.Spec{Spaces: l.spaces(), Features: fs}
}

// CheckCandgen reports a candidate-generation model that was not trained
// on this layout: its stored spec must be CandgenSpec with example age,
// feature by feature (names, kinds, spaces, lengths, in order); the error
// names the first difference.
func (l *Layout) CheckCandgen(m *candgen.Model) error {
	if err := feature.Diff(m.Encoder().Spec, candgen.FullSpec(l.CandgenSpec(), true)); err != nil {
		return fmt.Errorf("layout: candidate generation's model does not fit the layout: %w", err)
	}
	return nil
}

// CheckRanking is CheckCandgen for the ranker's spec, RankingSpec.
func (l *Layout) CheckRanking(m *ranking.Model) error {
	if err := feature.Diff(m.Encoder().Spec, l.RankingSpec()); err != nil {
		return fmt.Errorf("layout: the ranker does not fit the layout: %w", err)
	}
	return nil
}

// User is what is known of a user at some moment: watches and search
// tokens before it (oldest first) and the latest user attributes (in the
// order of Config.UserFeatures; a missing one, or an ID of
// events.NullID, reads as unknown: no ID, which the encoder reads as OOV,
// or the value 0).
type User struct {
	// ID is the user's ID (Walk sets it from the events; a server from the
	// request): the key of the user table.
	ID      int64
	History []int64
	Tokens  []int64
	Feats   []events.Feat
	// Context is the context of the showing being ranked: the impression
	// row's feature values, in the order of Config.ImpressionFeatures
	// (Walk sets it for each impression; a server from the request).
	Context []events.Feat
	sig     *state // the signals' counters (nil: none yet)
}

// Snapshot is u frozen at this moment: its slices end at their current
// length and its counters are copied, so a walk that goes on does not
// change it.
func (u *User) Snapshot() User {
	return User{
		ID:      u.ID,
		History: u.History[:len(u.History):len(u.History)],
		Tokens:  u.Tokens[:len(u.Tokens):len(u.Tokens)],
		Feats:   u.Feats,
		Context: u.Context,
		sig:     u.sig.clone(),
	}
}

func lastN(s []int64, n int) []int64 { return s[max(0, len(s)-n):] }

// UserExample is candidate generation's input for u (without example age).
func (l *Layout) UserExample(u *User) feature.Example {
	ex := l.cg.New()
	ex.IDs[l.cs.watches] = lastN(u.History, l.cfg.MaxHistory)
	if l.cfg.SearchTokens {
		ex.IDs[l.cs.searches] = lastN(u.Tokens, l.cfg.MaxTokens)
	}
	l.putUserFeats(&ex, l.cs.user, u, nil)
	return ex
}

// putUserFeats fills the user attributes (slots: one per UserFeatures
// then UserTableFeatures column), single IDs taken from ones.
func (l *Layout) putUserFeats(ex *feature.Example, slots []int, u *User, ones *idBuf) {
	put := func(slots []int, cols []events.Column, feats []events.Feat) {
		for i, c := range cols {
			f := events.Feat{ID: events.NullID}
			if i < len(feats) {
				f = feats[i]
			}
			if c.Kind == events.KindID {
				ex.IDs[slots[i]] = ones.of(f)
			} else {
				ex.Nums[slots[i]] = f.Num
			}
		}
	}
	n := len(l.cfg.UserFeatures)
	put(slots[:n], l.cfg.UserFeatures, u.Feats)
	if len(l.cfg.UserTableFeatures) > 0 {
		var row []events.Feat
		if l.Users != nil {
			row = l.Users.Items[u.ID]
		}
		put(slots[n:], l.cfg.UserTableFeatures, row) // a user outside the table: unknown
	}
}

// RankExample is the ranker's input for showing video to u at time at
// (Unix ms), candidate generation scoring it score (its logit v·u + b; read
// only with Signals.CandidateScore). A video outside the catalogue has OOV
// IDs (never those of a real category 0), zero values and age 0.
func (l *Layout) RankExample(u *User, video, at int64, score float64) feature.Example {
	ex := l.rk.New()
	l.putUser(&ex, u, at, nil) // nil: each one-ID slice its own allocation
	l.putCandidate(&ex, u, video, at, score, nil, false)
	return ex
}

// Age is the example age of a moment: days before the end of the window
// (0 at or after it).
func (l *Layout) Age(at int64) float64 { return max(0, float64(l.End-at)/day) }

// Walk replays one user's events (in time order) and calls onWatch for
// every watch after the first — a next-watch example: the user as known
// before it, its video, its time — and onImp for every impression, with
// the user as known before it. The user state holds the watches and the
// search tokens that came with them (a search precedes its watch), the
// latest watch's user attributes, and the signals' counters (every
// impression counts as shown, clicked or not, once the walk moves past its
// time: impressions at one moment do not see each other). Either callback
// may be nil;
// the User they get is reused and changes as the walk goes on (keep a
// Snapshot). It returns the user after every event.
func (l *Layout) Walk(evs []events.Event, onWatch func(u *User, video, at int64), onImp func(u *User, e *events.Event)) User {
	var u User
	var pending []int // impressions at the current moment, shown from the next one on
	flush := func() {
		for _, j := range pending {
			l.shownTo(&u, &evs[j])
		}
		pending = pending[:0]
	}
	for i := range evs {
		e := &evs[i]
		if len(pending) > 0 && e.Time != evs[pending[0]].Time {
			flush()
		}
		if e.Kind == events.Impression {
			u.ID = e.User
			u.Context = e.Feats
			if onImp != nil {
				onImp(&u, e)
			}
			u.Context = nil
			pending = append(pending, i)
			continue
		}
		u.ID = e.User
		if len(u.History) > 0 && onWatch != nil {
			onWatch(&u, e.Item, e.Time)
		}
		u.History = append(u.History, e.Item)
		u.Tokens = append(u.Tokens, e.Tokens...)
		u.Feats = e.Feats
		l.watched(&u, e)
	}
	flush()
	return u
}

// CandgenExample builds the training example of a next watch of video at
// time at by u.
func (l *Layout) CandgenExample(u *User, video, at int64) candgen.Example {
	return candgen.Example{Features: l.UserExample(u), Label: video, Age: l.Age(at)}
}
