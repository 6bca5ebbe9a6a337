package server

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/events"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/layout"
	"github.com/ytdnn/ytdnn/modeldir"
	"github.com/ytdnn/ytdnn/ranking"
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
	// Generation is set by the Server when the set goes into service.
	Generation uint64
	// attrs are the layout's user attribute columns, by name.
	attrs map[string]int
}

// Version is the name clients see for the set: its directory's last
// element, never a path.
func (m *Models) Version() string { return filepath.Base(m.Dir) }

// Load reads a model directory (modeldir.Load checks that its parts fit
// together) and serves one probe request. A broken directory is an error.
func Load(dir string) (*Models, error) {
	md, err := modeldir.Load(dir)
	if err != nil {
		return nil, err
	}
	m := &Models{Dir: dir, Layout: md.Layout, Candgen: md.Candgen, Ranking: md.Ranking, attrs: map[string]int{}}
	for i, c := range md.Layout.Config().UserFeatures {
		m.attrs[c.Column] = i
	}
	if _, err := m.Recommend(context.Background(), &Request{History: []int64{1}, N: 1}, 10); err != nil {
		return nil, fmt.Errorf("model directory %s fails a probe request: %w", dir, err)
	}
	return m, nil
}

// user turns a request into the layout's user: its history and search
// tokens, its attributes by column name. An attribute the layout does not
// map is a request error naming it.
func (m *Models) user(req *Request) (*layout.User, error) {
	var unknown []string
	for k := range req.Attributes {
		if _, ok := m.attrs[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		slices.Sort(unknown)
		for i, k := range unknown {
			if len(k) > 32 {
				unknown[i] = k[:32] + "…"
			}
		}
		return nil, badRequest("unknown attributes %s", strings.Join(unknown[:min(len(unknown), 5)], ", "))
	}
	u := &layout.User{History: req.History, Tokens: req.SearchTokens}
	for _, c := range m.Layout.Config().UserFeatures {
		v := req.Attributes[c.Column] // absent: 0, the OOV ID or the value 0
		u.Feats = append(u.Feats, events.Feat{ID: int64(v), Num: v})
	}
	return u, nil
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
	recs, err := m.Candgen.Recommend(ctx, l.UserExample(u), max(candidates, req.N), req.History)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if m.Ranking == nil {
		out := make([]Item, 0, req.N)
		for _, r := range recs[:min(req.N, len(recs))] {
			out = append(out, Item{Video: r.ID, CandidateScore: r.Score})
		}
		return out, nil
	}
	ids := make([]int64, len(recs))
	feats := make([]feature.Example, len(recs))
	score := make(map[int64]float32, len(recs))
	for i, r := range recs {
		if i%64 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		ids[i], feats[i], score[r.ID] = r.ID, l.RankExample(u, r.ID, l.End, float64(r.Score)), r.Score
	}
	return m.rankTop(ctx, ids, feats, score, req.N)
}

// rankTop ranks the candidates and returns the n with the highest expected
// watch time, checking ctx before and after the ranker's work.
func (m *Models) rankTop(ctx context.Context, ids []int64, feats []feature.Example, score map[int64]float32, n int) ([]Item, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ranked, err := m.Ranking.Rank(ids, feats)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]Item, 0, n)
	for _, r := range ranked[:min(n, len(ranked))] {
		out = append(out, Item{Video: r.ID, ExpectedWatchTime: r.ExpectedWatchTime, CandidateScore: score[r.ID]})
	}
	return out, nil
}
