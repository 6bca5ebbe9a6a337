package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/examples/pipeline/pipe"
	"github.com/ytdnn/ytdnn/examples/world"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/ingest"
	"github.com/ytdnn/ytdnn/internal/binfmt"
	"github.com/ytdnn/ytdnn/ranking"
	"github.com/ytdnn/ytdnn/retrieval"
	"github.com/ytdnn/ytdnn/train"
)

// Files of a model directory.
const (
	WorldFile   = "world.json"    // the world.Config the models were trained on (the video catalogue)
	CandgenFile = "candgen.model" // candgen.Model
	RankingFile = "ranking.model" // ranking.Model
	IndexFile   = "index.hnsw"    // optional retrieval.HNSW over the candgen items
)

// Models is one loaded, immutable model set: either a pipeline model
// directory (examples/pipeline train: pipeline.json, the catalogue, the
// models) or a demo directory (world.json and the models of Build).
type Models struct {
	// Dir is the directory the set was loaded from (server-side only: it is
	// never sent to clients).
	Dir string
	// Pipeline is the pipeline model directory's layout and catalogue (nil
	// for a demo directory).
	Pipeline *pipe.Model
	// World is the generated world of a demo directory (nil for a pipeline
	// one).
	World   *world.World
	Candgen *candgen.Model
	// Ranking may be nil for a pipeline directory trained without
	// impressions: candidates are then returned by their retrieval score.
	Ranking *ranking.Model
	// Generation is set by the Server when the set goes into service.
	Generation uint64
}

// Version is the name clients see for the set: its directory's last
// element, never a path.
func (m *Models) Version() string { return filepath.Base(m.Dir) }

// Load reads a model directory (a pipeline one when it has pipeline.json)
// and checks that the parts fit together by serving one probe request. A
// broken directory is an error.
func Load(dir string) (*Models, error) {
	if pipe.IsModelDir(dir) {
		pm, err := pipe.LoadModelDir(dir)
		if err != nil {
			return nil, err
		}
		m := &Models{Dir: dir, Pipeline: pm, Candgen: pm.Candgen, Ranking: pm.Ranking}
		if _, err := m.Recommend(context.Background(), &Request{History: []int64{1}, N: 1}, 10); err != nil {
			return nil, fmt.Errorf("model directory %s fails a probe request: %w", dir, err)
		}
		return m, nil
	}
	raw, err := os.ReadFile(filepath.Join(dir, WorldFile))
	if err != nil {
		return nil, err
	}
	var cfg world.Config
	dec := json.NewDecoder(bytesReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", WorldFile, err)
	}
	cfg.Users = 1 // the catalogue is all the server needs
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", WorldFile, err)
	}
	w, err := world.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", WorldFile, err)
	}
	m := &Models{Dir: dir, World: w}
	if m.Candgen, err = candgen.Load(filepath.Join(dir, CandgenFile)); err != nil {
		return nil, err
	}
	if m.Ranking, err = ranking.Load(filepath.Join(dir, RankingFile)); err != nil {
		return nil, err
	}
	if err := pipe.LoadIndex(m.Candgen, filepath.Join(dir, IndexFile)); err != nil {
		return nil, err
	}
	if _, err := m.Recommend(context.Background(), &Request{History: []int64{1}, N: 1}, 10); err != nil {
		return nil, fmt.Errorf("model directory %s fails a probe request: %w", dir, err)
	}
	return m, nil
}

// Build trains a small model set on a generated world and writes it to dir
// (for the demo and the tests). withIndex also builds and saves an HNSW
// index.
func Build(ctx context.Context, dir string, cfg world.Config, epochs int, withIndex bool) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	w, err := world.New(cfg)
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 5))
	cg, _, err := train.Candgen(ctx, train.CandgenConfig{Spec: world.CandgenSpec(), ExampleAge: true, Tower: []int{64, 32}, Negatives: 200, Options: train.Options{Batch: 256, Epochs: epochs, LR: 0.003, Seed: cfg.Seed}}, w.CandgenData(0, rng))
	if err != nil {
		return err
	}
	users := make([]int, len(w.Users))
	for i := range users {
		users[i] = i
	}
	imps, _ := w.RankingData(users)
	rk, _, err := train.Ranking(ctx, train.RankingConfig{Spec: world.RankingSpec(), Tower: []int{64, 32}, Options: train.Options{Batch: 256, Epochs: epochs, LR: 0.003, Seed: cfg.Seed}}, imps)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(w.Cfg)
	if err != nil {
		return err
	}
	if err := binfmt.WriteFileAtomic(filepath.Join(dir, WorldFile), func(f io.Writer) error {
		_, err := f.Write(raw)
		return err
	}); err != nil {
		return err
	}
	if err := cg.Save(filepath.Join(dir, CandgenFile)); err != nil {
		return err
	}
	if err := rk.Save(filepath.Join(dir, RankingFile)); err != nil {
		return err
	}
	if withIndex {
		vecs, ids := cg.Items()
		idx, err := retrieval.NewHNSW(ctx, vecs, cg.D()+1, ids, retrieval.HNSWConfig{Seed: cfg.Seed})
		if err != nil {
			return err
		}
		return idx.Save(filepath.Join(dir, IndexFile))
	}
	return nil
}

// Recommend runs both stages for one request: retrieve `candidates` videos
// (history excluded), rank them, return the top N. It stops with ctx's error
// once ctx is done: retrieval checks it as it goes, and so does every stage
// after it.
func (m *Models) Recommend(ctx context.Context, req *Request, candidates int) ([]Item, error) {
	if m.Pipeline != nil {
		return m.recommendPipeline(ctx, req, candidates)
	}
	u := req.user(m.World.Cfg.Horizon)
	ex := m.World.UserFeatures(u, len(u.Watches))
	recs, err := m.Candgen.Recommend(ctx, ex, max(candidates, req.N), req.History)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rc := m.World.NewRankContext(u)
	ids := make([]int64, 0, len(recs))
	feats := make([]feature.Example, 0, len(recs))
	score := make(map[int64]float32, len(recs))
	for i, r := range recs {
		if i%64 == 0 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if m.World.Video(r.ID) == nil {
			continue // not in the catalogue
		}
		ids = append(ids, r.ID)
		feats = append(feats, m.World.Features(rc, r.ID))
		score[r.ID] = r.Score
	}
	if len(ids) == 0 {
		return nil, errors.New("no candidates")
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

// recommendPipeline serves a pipeline model set: the request's history,
// search tokens and attributes (by the user-feature column names of the
// spec) through the same feature layout training used, the request
// happening at the end of the training window.
func (m *Models) recommendPipeline(ctx context.Context, req *Request, candidates int) ([]Item, error) {
	l := m.Pipeline.Layout
	u := &pipe.User{History: req.History, Tokens: req.SearchTokens}
	for _, c := range l.Spec.Watches.UserFeatures {
		v := req.Attributes[c.Column] // absent: 0, the OOV ID or the value 0
		u.Feats = append(u.Feats, ingest.Feat{ID: int64(v), Num: v})
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
		ids[i], feats[i], score[r.ID] = r.ID, l.RankExample(u, r.ID, l.End), r.Score
	}
	return m.rankTop(ctx, ids, feats, score, req.N)
}
