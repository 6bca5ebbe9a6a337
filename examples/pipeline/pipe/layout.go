package pipe

import (
	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/ingest"
)

// Names of the spaces and features the layout declares.
const (
	VideoSpace = "video"
	TokenSpace = "token"
	// RankHistory is how many recent watches the ranker sees.
	RankHistory = 20
	// MaxTokens is how many recent search tokens candidate generation sees.
	MaxTokens = 50
	day       = 86_400_000.0 // ms
)

// Layout is the feature layout derived from a column mapping: the same for
// training and serving.
type Layout struct {
	Spec ingest.Spec
	// End is the end of the training window (Unix ms): example ages are
	// measured from it, and a served request happens at it.
	End int64
	// Catalogue holds the videos' features (may have none).
	Catalogue *ingest.Catalogue
}

// hasTokens reports whether the watch log maps search tokens.
func (l *Layout) hasTokens() bool { return l.Spec.Watches.SearchTokens != "" }

func userSpace(col string) string  { return "user:" + col }
func videoSpace(col string) string { return "video:" + col }

// spaces declares the ID spaces both stages use.
func (l *Layout) spaces() []feature.Space {
	sp := []feature.Space{{Name: VideoSpace, MaxVocab: l.Spec.MaxVideos}}
	if l.hasTokens() {
		sp = append(sp, feature.Space{Name: TokenSpace})
	}
	for _, c := range l.Spec.Watches.UserFeatures {
		if c.Kind == ingest.KindID {
			sp = append(sp, feature.Space{Name: userSpace(c.Column), MaxVocab: c.MaxVocab})
		}
	}
	for _, c := range l.Spec.Catalogue.Features {
		if c.Kind == ingest.KindID {
			sp = append(sp, feature.Space{Name: videoSpace(c.Column), MaxVocab: c.MaxVocab})
		}
	}
	return sp
}

func (l *Layout) userFeatures() []feature.Feature {
	var fs []feature.Feature
	for _, c := range l.Spec.Watches.UserFeatures {
		if c.Kind == ingest.KindID {
			fs = append(fs, feature.Feature{Name: "user_" + c.Column, Kind: feature.ID, Space: userSpace(c.Column)})
		} else {
			fs = append(fs, feature.Feature{Name: "user_" + c.Column, Kind: feature.Continuous})
		}
	}
	return fs
}

// CandgenSpec is candidate generation's spec: the watch history, the
// recent search tokens (when mapped), the user features. Example age is
// added by candgen.
func (l *Layout) CandgenSpec() feature.Spec {
	fs := []feature.Feature{{Name: "watches", Kind: feature.Bag, Space: VideoSpace, MaxLen: l.Spec.MaxHistory}}
	if l.hasTokens() {
		fs = append(fs, feature.Feature{Name: "searches", Kind: feature.Bag, Space: TokenSpace, MaxLen: MaxTokens})
	}
	return feature.Spec{Spaces: l.spaces(), Features: append(fs, l.userFeatures()...)}
}

// RankingSpec is the ranker's spec: the impression's video, the last
// watches (same video space), the user features, the video's catalogue
// features (a time column becomes the video's age at the impression, in
// days).
func (l *Layout) RankingSpec() feature.Spec {
	fs := []feature.Feature{
		{Name: "video", Kind: feature.ID, Space: VideoSpace},
		{Name: "last_watches", Kind: feature.Bag, Space: VideoSpace, MaxLen: RankHistory},
	}
	fs = append(fs, l.userFeatures()...)
	for _, c := range l.Spec.Catalogue.Features {
		switch c.Kind {
		case ingest.KindID:
			fs = append(fs, feature.Feature{Name: "video_" + c.Column, Kind: feature.ID, Space: videoSpace(c.Column)})
		case ingest.KindTime:
			fs = append(fs, feature.Feature{Name: "video_age_" + c.Column, Kind: feature.Continuous})
		default:
			fs = append(fs, feature.Feature{Name: "video_" + c.Column, Kind: feature.Continuous})
		}
	}
	return feature.Spec{Spaces: l.spaces(), Features: fs}
}

// User is what is known of a user at some moment: watches and search
// tokens before it (oldest first) and the latest user features.
type User struct {
	History []int64
	Tokens  []int64
	Feats   []ingest.Feat
}

func lastN(s []int64, n int) []int64 { return s[max(0, len(s)-n):] }

// UserExample is candidate generation's input for u (without example age).
func (l *Layout) UserExample(u *User) feature.Example {
	nf := 1 + len(l.Spec.Watches.UserFeatures)
	if l.hasTokens() {
		nf++
	}
	ex := feature.Example{IDs: make([][]int64, nf), Nums: make([]float64, nf)}
	ex.IDs[0] = lastN(u.History, l.Spec.MaxHistory)
	k := 1
	if l.hasTokens() {
		ex.IDs[1] = lastN(u.Tokens, MaxTokens)
		k = 2
	}
	l.putUserFeats(&ex, k, u.Feats)
	return ex
}

func (l *Layout) putUserFeats(ex *feature.Example, k int, feats []ingest.Feat) {
	for i, c := range l.Spec.Watches.UserFeatures {
		var f ingest.Feat
		if i < len(feats) {
			f = feats[i]
		}
		if c.Kind == ingest.KindID {
			ex.IDs[k+i] = []int64{f.ID}
		} else {
			ex.Nums[k+i] = f.Num
		}
	}
}

// RankExample is the ranker's input for showing video to u at time at
// (Unix ms).
func (l *Layout) RankExample(u *User, video int64, at int64) feature.Example {
	nu, nc := len(l.Spec.Watches.UserFeatures), len(l.Spec.Catalogue.Features)
	nf := 2 + nu + nc
	ex := feature.Example{IDs: make([][]int64, nf), Nums: make([]float64, nf)}
	ex.IDs[0] = []int64{video}
	ex.IDs[1] = lastN(u.History, RankHistory)
	l.putUserFeats(&ex, 2, u.Feats)
	var cat []ingest.Feat
	if l.Catalogue != nil {
		cat = l.Catalogue.Items[video]
	}
	for i, c := range l.Spec.Catalogue.Features {
		var f ingest.Feat
		if i < len(cat) {
			f = cat[i]
		}
		k := 2 + nu + i
		switch c.Kind {
		case ingest.KindID:
			ex.IDs[k] = []int64{f.ID}
		case ingest.KindTime:
			if len(cat) > 0 { // unknown videos: age 0
				ex.Nums[k] = (float64(at) - f.Num) / day
			}
		default:
			ex.Nums[k] = f.Num
		}
	}
	return ex
}

// Age is the example age of a moment: days before the end of the window.
func (l *Layout) Age(at int64) float64 { return max(0, float64(l.End-at)/day) }

// Walk replays one user's events (in time order) and calls onWatch for
// every watch after the first — a next-watch example: the user as known
// before it, its video, its time — and onImp for every impression, with
// the user as known before it. The user state holds the watches and the
// search tokens that came with them (a search precedes its watch), and the
// latest watch's user features. Either callback may be nil; the User they
// get is reused, its slices are not modified afterwards.
func (l *Layout) Walk(evs []ingest.Event, onWatch func(u *User, video, at int64), onImp func(u *User, e *ingest.Event)) User {
	var u User
	for i := range evs {
		e := &evs[i]
		if e.Kind == ingest.Impression {
			if onImp != nil {
				onImp(&u, e)
			}
			continue
		}
		if len(u.History) > 0 && onWatch != nil {
			onWatch(&u, e.Item, e.Time)
		}
		u.History = append(u.History, e.Item)
		u.Tokens = append(u.Tokens, e.Tokens...)
		u.Feats = e.Feats
	}
	return u
}

// NewCandgenExample builds the training example of a next watch.
func (l *Layout) NewCandgenExample(u *User, video, at int64) candgen.Example {
	return candgen.Example{Features: l.UserExample(u), Label: video, Age: l.Age(at)}
}
