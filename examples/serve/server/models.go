package server

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/events"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/layout"
	"github.com/ytdnn/ytdnn/modeldir"
	"github.com/ytdnn/ytdnn/ranking"
	"github.com/ytdnn/ytdnn/retrieval/weaviate"
)

// Models is one loaded, immutable model set: a model directory
// (package modeldir) with its layout, catalogue and models.
type Models struct {
	// Dir is the directory the set was loaded from (server-side only: it is
	// never sent to clients).
	Dir    string
	Layout *layout.Layout
	// Candgen retrieves candidates; Ranking ranks them, or is nil for a
	// directory trained without impressions: candidates are then returned
	// by their retrieval score.
	Candgen *candgen.Model
	Ranking *ranking.Model
	// Dicts map the log's text IDs (nil: every ID is an integer).
	Dicts *events.Dicts
	// Generation is set by the Server when the set goes into service.
	Generation uint64
	// attrs are the names of the layout's user attribute columns.
	attrs map[string]bool
	// items is the ranker's part over the videos' own features,
	// precomputed per video from Layout at load (nil: none, or over the
	// memory bound). A set is immutable once loaded: changing its Layout
	// (its catalogue or statistics) would leave items stale.
	items *ranking.ItemPart
}

// maxItemPart bounds the memory of a set's precomputed item part (bytes):
// a catalogue beyond it is ranked without one.
const maxItemPart = 256 << 20

// itemPart precomputes the ranker's part over the videos' own features
// (layout.ItemFeatures) for every video retrieval can return: the
// candidates' largest share of the ranker's work, done once per model set
// instead of once per candidate of every request. It is nil when the set
// has no ranker or the part would pass maxItemPart. A catalogue value the
// ranker cannot encode (a non-finite number) is an error: the set does not
// load, where without the part only the requests that retrieved that video
// would have failed.
func itemPart(l *layout.Layout, cg *candgen.Model, rk *ranking.Model) (*ranking.ItemPart, error) {
	if rk == nil {
		return nil, nil
	}
	vocab := cg.VideoVocab()
	n := vocab.Size() - 1
	if int64(n)*int64(rk.Tower().Sizes[1])*4 > maxItemPart {
		return nil, nil
	}
	ids := make([]int64, n)
	for i := range ids {
		ids[i], _ = vocab.ID(int32(i + 1))
	}
	var s layout.Slate
	return rk.NewItemPart(l.ItemFeatures(), ids, func(chunk []int64) []feature.Example {
		return l.RankExamples(&s, &layout.User{}, chunk, l.End, nil)
	})
}

// Version is the name clients see for the set: its directory's last
// element, never a path.
func (m *Models) Version() string { return filepath.Base(m.Dir) }

// LoadOptions say where retrieval runs.
type LoadOptions struct {
	// Retrieval, when set, retrieves from a Weaviate collection (see
	// package retrieval/weaviate) instead of in process: the collection
	// of the model's version (its name's {model} replaced), checked at
	// load against the model (dimension, version, item count).
	Retrieval *weaviate.Target
	// RetrievalTimeout bounds each call to the engine [1s].
	RetrievalTimeout time.Duration
}

// Load reads a model directory (modeldir.Load checks that its parts fit
// together) and serves one probe request. A broken directory is an error.
func Load(dir string) (*Models, error) { return LoadWith(dir, LoadOptions{}) }

// LoadWith is Load with retrieval placed by o. A collection that is
// missing or does not hold the model's items, or an engine that does not
// answer, is an error: the set is not loaded.
func LoadWith(dir string, o LoadOptions) (*Models, error) {
	md, err := modeldir.Load(dir)
	if err != nil {
		return nil, err
	}
	if o.Retrieval != nil {
		if o.RetrievalTimeout <= 0 {
			o.RetrievalTimeout = time.Second
		}
		ctx, cancel := context.WithTimeout(context.Background(), 4*o.RetrievalTimeout)
		defer cancel()
		version := weaviate.Version(md.Manifest.Files[modeldir.CandgenFile].SHA256)
		idx, err := weaviate.Open(ctx, *o.Retrieval, version, md.Candgen.D()+1, md.Candgen.VideoVocab().Size()-1, o.RetrievalTimeout)
		if err != nil {
			return nil, err
		}
		if err := md.Candgen.SetRemoteIndex(idx); err != nil {
			return nil, err
		}
	}
	m := &Models{Dir: dir, Layout: md.Layout, Candgen: md.Candgen, Ranking: md.Ranking, Dicts: md.Dicts, attrs: map[string]bool{}}
	if m.items, err = itemPart(md.Layout, md.Candgen, md.Ranking); err != nil {
		return nil, fmt.Errorf("model directory %s: %w", dir, err)
	}
	for _, c := range md.Layout.Config().UserFeatures {
		m.attrs[c.Column] = true
	}
	probe := ID{Int: 1}
	if m.dicts().Videos != nil {
		probe = ID{Text: "1", IsText: true}
	}
	if _, err := m.Recommend(context.Background(), &Request{History: []ID{probe}, N: 1}, 10); err != nil {
		return nil, fmt.Errorf("model directory %s fails a probe request: %w", dir, err)
	}
	return m, nil
}

// maxUnknownNamed is how many unknown attribute names an error lists.
const maxUnknownNamed = 3

// user turns a request into the layout's user: its history and search
// tokens, its attributes by column name. An attribute the layout does not
// map, or a value its column cannot take, is a request error naming it.
func (m *Models) user(req *Request) (*layout.User, error) {
	var unknown []string
	for k := range req.Attributes {
		if !m.attrs[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		names := make([]string, 0, maxUnknownNamed)
		for _, k := range unknown[:min(len(unknown), maxUnknownNamed)] {
			names = append(names, echo(k))
		}
		msg := "unknown attribute " + names[0]
		if len(unknown) > 1 {
			msg = "unknown attributes " + strings.Join(names, ", ")
		}
		if len(unknown) > maxUnknownNamed {
			msg += fmt.Sprintf(" and %d more", len(unknown)-maxUnknownNamed)
		}
		return nil, badRequest("%s", msg)
	}
	var feats []events.Feat
	for _, c := range m.Layout.Config().UserFeatures {
		f, err := m.attr(c, req.Attributes[c.Column])
		if err != nil {
			return nil, err
		}
		feats = append(feats, f)
	}
	d := m.dicts()
	history, err := m.ids(d.Videos, req.History, "history")
	if err != nil {
		return nil, err
	}
	tokens, err := m.ids(d.Tokens, req.SearchTokens, "search_tokens")
	if err != nil {
		return nil, err
	}
	u := &layout.User{History: history, Tokens: tokens}
	if len(req.Events) > 0 {
		evs := make([]events.Event, len(req.Events))
		for i, e := range req.Events {
			video, err := m.id(d.Videos, e.Video, "events.video")
			if err != nil {
				return nil, err
			}
			evs[i] = events.Event{Item: video, Time: e.Time, Kind: events.Impression, Clicked: e.Clicked, WatchTime: float32(e.WatchSeconds)}
			if e.Kind == "watch" {
				if evs[i].Tokens, err = m.ids(d.Tokens, e.SearchTokens, "events.search_tokens"); err != nil {
					return nil, err
				}
				evs[i].Kind, evs[i].Feats = events.Watch, feats
			}
		}
		w := m.Layout.Walk(evs, nil, nil) // the user as training's walk knows them
		u = &w
	}
	u.Feats = feats
	u.ID = 0
	if req.UserID != nil {
		if u.ID, err = m.id(d.Users, *req.UserID, "user_id"); err != nil {
			return nil, err
		}
	}
	if u.Context, err = m.context(req.Context); err != nil {
		return nil, err
	}
	return u, nil
}

// context is the request's context of the showing, in the layout's
// impression-feature order; an unknown name is a request error naming it.
func (m *Models) context(ctx map[string]Attr) ([]events.Feat, error) {
	cols := m.Layout.Config().ImpressionFeatures
	for k := range ctx {
		if !slices.ContainsFunc(cols, func(c events.Column) bool { return c.Column == k }) {
			return nil, badRequest("unknown context %s", echo(k))
		}
	}
	out := make([]events.Feat, 0, len(cols))
	for _, c := range cols {
		f, err := m.attr(c, ctx[c.Column])
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, nil
}

// at is the moment a request is served: its Time, else the end of the
// training window, or just after the last event if that is later (the
// features of a moment see only the events strictly before it).
func (m *Models) at(req *Request) int64 {
	if req.Time != 0 {
		return req.Time
	}
	at := m.Layout.End
	if n := len(req.Events); n > 0 {
		at = max(at, req.Events[n-1].Time+1)
	}
	return at
}

// attr is the layout's value of one attribute. Absent, null, and a text ID
// the dictionary does not hold read as the zero Feat: what the layout makes
// of a missing attribute.
func (m *Models) attr(c events.Column, v Attr) (events.Feat, error) {
	dict := m.dicts().Feature(c.Column)
	switch {
	case v.null() && c.Kind == events.KindID:
		return events.Feat{ID: events.NullID}, nil // unknown, never the real category 0
	case v.null():
		return events.Feat{}, nil
	case c.Kind == events.KindID && v.IsText && dict == nil:
		return events.Feat{}, badRequest("attribute %s: this model's IDs are integers, got a string", echo(c.Column))
	case c.Kind == events.KindID && v.IsText:
		id, ok := dict.Lookup(v.Text)
		if !ok {
			return events.Feat{ID: events.NullID}, nil // text the log never had: unknown
		}
		return events.Feat{ID: id}, nil
	case c.Kind == events.KindID && dict != nil:
		return events.Feat{}, badRequest("attribute %s: this model's IDs are text, got a number", echo(c.Column))
	case c.Kind == events.KindID:
		id, ok := v.id()
		if !ok {
			return events.Feat{}, badRequest("attribute %s: want an integer ID or a string, got the number %s", echo(c.Column), echo(string(v.Number)))
		}
		return events.Feat{ID: id}, nil
	case v.IsText:
		return events.Feat{}, badRequest("attribute %s: want a number, got a string", echo(c.Column))
	}
	x, ok := v.num()
	if !ok {
		return events.Feat{}, badRequest("attribute %s: want a finite number", echo(c.Column))
	}
	return events.Feat{Num: x}, nil
}

// dicts returns the model's ID dictionaries (empty when every space has
// integer IDs).
func (m *Models) dicts() *events.Dicts {
	if m.Dicts == nil {
		return &events.Dicts{}
	}
	return m.Dicts
}

// id maps a request's ID through a space's dictionary d (nil: integer
// IDs): text the dictionary does not hold is unknown (events.NullID, out
// of every vocabulary); a string for integer IDs, or a number for text
// ones, is a request error.
func (m *Models) id(d *events.Dict, x ID, what string) (int64, error) {
	switch {
	case d == nil && x.IsText:
		return 0, badRequest("%s: this model's IDs are integers, got a string", what)
	case d == nil:
		return x.Int, nil
	case !x.IsText:
		return 0, badRequest("%s: this model's IDs are text, got a number", what)
	}
	if id, ok := d.Lookup(x.Text); ok {
		return id, nil
	}
	return events.NullID, nil
}

// ids maps a list of IDs (see id).
func (m *Models) ids(d *events.Dict, xs []ID, what string) ([]int64, error) {
	out := make([]int64, len(xs))
	for i, x := range xs {
		var err error
		if out[i], err = m.id(d, x, what); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// item is the response item of video id: its ID as the log had it (text
// through the dictionary), its scores.
func (m *Models) item(id int64, expectedWatchTime float64, candidateScore float32) Item {
	it := newItem(id, expectedWatchTime, candidateScore)
	if d := m.dicts().Videos; d != nil {
		if text, ok := d.Text(id); ok {
			it.VideoID = text
		}
	}
	return it
}

// Recommend runs both stages for one request, the request happening at the
// end of the training window: retrieve `candidates` videos (history
// excluded) through the layout training used, rank them, return the top N.
// It stops with ctx's error once ctx is done: retrieval checks it as it
// goes, and so does every stage after it.
func (m *Models) Recommend(ctx context.Context, req *Request, candidates int) ([]Item, error) {
	l := m.Layout
	u, err := m.user(req)
	if err != nil {
		return nil, err
	}
	recs, err := m.Candgen.Recommend(ctx, l.UserExample(u), max(candidates, req.N), u.History)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if m.Ranking == nil {
		out := make([]Item, 0, req.N)
		for _, r := range recs[:min(req.N, len(recs))] {
			out = append(out, m.item(r.ID, 0, r.Score))
		}
		return out, nil
	}
	s := slates.Get().(*slate)
	defer slates.Put(s)
	s.ids, s.scores = s.ids[:0], s.scores[:0]
	for _, r := range recs {
		s.ids = append(s.ids, r.ID)
		s.scores = append(s.scores, float64(r.Score))
	}
	// With every candidate in the item part, the examples leave out what
	// the part holds (the statistics are not looked up).
	s.SkipItemFeatures = m.items.Covers(m.Ranking, s.ids)
	feats := l.RankExamples(&s.Slate, u, s.ids, m.at(req), s.scores)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ranked, err := m.Ranking.RankTopWith(req.N, s.ids, feats, m.items)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]Item, 0, req.N)
	for _, r := range ranked[:min(req.N, len(ranked))] {
		out = append(out, m.item(r.ID, r.ExpectedWatchTime, recs[r.Index].Score))
	}
	return out, nil
}

// slate is the memory of one request's ranking, reused across requests.
type slate struct {
	layout.Slate
	ids    []int64
	scores []float64
}

var slates = sync.Pool{New: func() any { return new(slate) }}
