package pipe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/eval"
	"github.com/ytdnn/ytdnn/events"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/ingest"
	"github.com/ytdnn/ytdnn/layout"
	"github.com/ytdnn/ytdnn/modeldir"
	"github.com/ytdnn/ytdnn/ranking"
	"github.com/ytdnn/ytdnn/retrieval"
	"github.com/ytdnn/ytdnn/train"
)

// Options configure a training run. Zero values take the defaults in
// brackets.
type Options struct {
	// Data is the folder holding watches/, impressions/ and catalogue/ (or
	// the folders the spec names).
	Data string
	// Out is the model directory to write (it must not exist). Empty: train
	// and evaluate only.
	Out string
	// Spec is the column mapping [ingest.DefaultSpec()].
	Spec *ingest.Spec
	// Epochs of both stages [1].
	Epochs int
	// Holdout holds out each user's last watch and reports HR@10/50/100
	// and NDCG@10 on those users, served at example age 0.
	Holdout bool
	// MaxTestUsers caps the held-out users evaluated [50,000].
	MaxTestUsers int
	// FromMemory builds every next-watch example into memory first and
	// trains from that slice (for comparison with streaming).
	FromMemory bool
	// Strict makes the first rejected row an error.
	Strict bool
	// MaxRejected is the share of any one file's rows that may be
	// rejected before the run fails, naming the file and the top reason
	// [ingest.DefaultMaxRejected, 1%]; 1 never fails.
	MaxRejected float64
	// MaxTime is the latest time a row may carry; later rows are rejected
	// [the wall clock at the start of the run + ingest.DefaultFutureSlack].
	MaxTime time.Time
	// TempDir holds the spill files [os.TempDir()].
	TempDir string
	// Candgen and Ranking carry the stages' settings (Spec, ExampleAge,
	// Epochs, Progress and Seed are set by the run). Zero: the defaults
	// below.
	Candgen train.CandgenConfig
	Ranking train.RankingConfig
	// HNSW also builds an HNSW index into the model directory.
	HNSW bool
	// Seed seeds every random choice [1].
	Seed uint64
	// Progress receives progress bars (only drawn on a terminal); Log
	// receives a line per stage. Either may be nil.
	Progress, Log io.Writer
}

// DefaultCandgen is the candidate-generation setting of a run.
func DefaultCandgen() train.CandgenConfig {
	return train.CandgenConfig{Tower: train.SmallTower(), Negatives: 1000, Options: train.Options{Batch: 512, LR: 0.005}}
}

// DefaultRanking is the ranking setting of a run.
func DefaultRanking() train.RankingConfig {
	return train.RankingConfig{Tower: []int{256, 128}, Options: train.Options{Batch: 512, LR: 0.002}}
}

func (o *Options) say(format string, a ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", a...)
	}
}

// Run reads the logs, trains both stages from streams, evaluates on the
// held-out watches (with Holdout) and writes the model directory. It
// returns the run's metrics (examples_per_sec, peak_rss_mib, events_read,
// rows_rejected, hr@K_all/filtered, ...). The column mapping and both
// stages' settings are validated before any file is read.
func Run(ctx context.Context, o Options) (map[string]any, error) {
	start := time.Now()
	o.defaults()
	spec := ingest.DefaultSpec()
	if o.Spec != nil {
		spec = *o.Spec
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	cc, rc, err := o.configs(spec)
	if err != nil {
		return nil, err
	}
	if o.Out != "" {
		if _, err := os.Stat(o.Out); err == nil {
			return nil, fmt.Errorf("pipe: %s exists; write new models to a new directory", o.Out)
		}
	}
	in, out, err := o.read(ctx, spec, start)
	if err != nil {
		return nil, err
	}
	defer in.lg.Close()
	cg, err := o.trainCandgen(ctx, cc, in, out)
	if err != nil {
		return nil, err
	}
	if o.Holdout {
		if err := o.evaluate(ctx, cg, in, out); err != nil {
			return nil, err
		}
	}
	var rk *ranking.Model
	if in.lg.Impressions > 0 {
		if rk, err = o.trainRanking(ctx, rc, in, out); err != nil {
			return nil, err
		}
	}
	out["peak_rss_mib"] = PeakRSSMiB()
	out["seconds"] = round1(time.Since(start).Seconds())
	if o.Out != "" {
		if err := o.write(ctx, in.l, cg, rk, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (o *Options) defaults() {
	if o.Epochs == 0 {
		o.Epochs = 1
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.MaxTestUsers == 0 {
		o.MaxTestUsers = 50_000
	}
}

// configs returns both stages' settings for the layout spec declares,
// validated.
func (o *Options) configs(spec ingest.Spec) (train.CandgenConfig, train.RankingConfig, error) {
	l, err := layout.New(LayoutConfig(spec), 0, nil)
	if err != nil {
		return train.CandgenConfig{}, train.RankingConfig{}, err
	}
	cc := o.Candgen
	if cc.Tower == nil {
		cc = DefaultCandgen()
	}
	cc.Spec, cc.VideoSpace, cc.ExampleAge, cc.Epochs, cc.Seed, cc.Progress = l.CandgenSpec(), layout.VideoSpace, true, o.Epochs, o.Seed, o.Progress
	rc := o.Ranking
	if rc.Tower == nil {
		rc = DefaultRanking()
	}
	rc.Spec, rc.Epochs, rc.Seed, rc.Progress = l.RankingSpec(), o.Epochs, o.Seed, o.Progress
	if err := errors.Join(cc.Validate(), rc.Validate()); err != nil {
		return cc, rc, fmt.Errorf("pipe: %w", err)
	}
	return cc, rc, nil
}

// logs is what a run read: the user-grouped log, the catalogue and the
// layout over them.
type logs struct {
	lg *ingest.Log
	l  *layout.Layout
}

// read reads the logs and the catalogue and reports what it read.
func (o *Options) read(ctx context.Context, spec ingest.Spec, start time.Time) (*logs, map[string]any, error) {
	lg, err := ingest.Build(ctx, o.Data, spec, ingest.Options{TempDir: o.TempDir, Strict: o.Strict, MaxRejected: o.MaxRejected, MaxTime: o.MaxTime})
	if err != nil {
		return nil, nil, err
	}
	rep := lg.WatchReport
	rep.Add(lg.ImpressionReport)
	rep.Add(lg.CatalogueReport)
	cat := lg.Catalogue
	o.say("read %d watches and %d impressions from %d files (%d rows rejected) in %.1fs; %d catalogue videos; spill %.0f MiB",
		lg.Watches, lg.Impressions, rep.Files, rep.Rejected, time.Since(start).Seconds(), len(cat.Items), float64(lg.SpillBytes)/(1<<20))
	for _, r := range rep.Reasons() {
		o.say("  rejected: %d rows: %s", rep.ByReason[r], r)
	}
	for _, e := range rep.First {
		o.say("  rejected: %v", &e)
	}
	for _, f := range rep.EmptyFiles {
		o.say("  skipped: %s (0 bytes)", f)
	}
	if d := lg.Dicts; !d.Empty() {
		o.say("text IDs kept exact through dictionaries: %s", dictSizes(d))
	}
	l, err := layout.New(LayoutConfig(spec), lg.End, cat)
	if err != nil {
		lg.Close()
		return nil, nil, err
	}
	byReason := map[string]int64{}
	for r, n := range rep.ByReason {
		byReason[string(r)] = n
	}
	out := map[string]any{
		"events_read": rep.Rows, "rows_rejected": rep.Rejected, "rejected_by_reason": byReason, "empty_files_skipped": rep.Empty,
		"watches": lg.Watches, "impressions": lg.Impressions,
		"catalogue_videos": len(cat.Items), "spill_mib": round1(float64(lg.SpillBytes) / (1 << 20)),
	}
	return &logs{lg: lg, l: l}, out, nil
}

// trainCandgen trains candidate generation from the log's next-watch
// examples, streamed (or, with FromMemory, built into memory first).
func (o *Options) trainCandgen(ctx context.Context, cc train.CandgenConfig, in *logs, out map[string]any) (*candgen.Model, error) {
	src := &exampleSource{l: in.l, lg: in.lg, holdout: o.Holdout}
	var cg *candgen.Model
	var st train.Stats
	var err error
	if o.FromMemory {
		var all []candgen.Example
		if all, err = collect(ctx, src); err != nil {
			return nil, err
		}
		o.say("built %d next-watch examples in memory", len(all))
		cg, st, err = train.Candgen(ctx, cc, all)
	} else {
		cg, st, err = train.CandgenSource(ctx, cc, src)
	}
	if err != nil {
		return nil, err
	}
	o.say("candidate generation: %d examples × %d epochs at %.0f examples/s (%.1fs), %d videos", st.Examples, st.Epochs, st.ExamplesPerSec, st.Seconds, cg.VideoVocab().Size()-1)
	out["train_examples"], out["examples_per_sec"], out["candgen_seconds"] = st.Examples, math.Round(st.ExamplesPerSec), round1(st.Seconds)
	out["videos"] = cg.VideoVocab().Size() - 1
	return cg, nil
}

// collect reads one pass of a source into memory.
func collect[T any](ctx context.Context, src feature.Source[T]) ([]T, error) {
	it, err := src.Open(ctx)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var all []T
	for {
		e, err := it.Next()
		if errors.Is(err, io.EOF) {
			return all, nil
		}
		if err != nil {
			return nil, err
		}
		all = append(all, e)
	}
}

// evaluate scores candidate generation on each user's held-out last watch.
func (o *Options) evaluate(ctx context.Context, cg *candgen.Model, in *logs, out map[string]any) error {
	tests, pop, err := collectTests(ctx, in.l, in.lg, o.MaxTestUsers)
	if err != nil {
		return err
	}
	m, err := Evaluate(ctx, cg, in.l, tests, pop)
	if err != nil {
		return err
	}
	for k, v := range m {
		out[k] = v
	}
	o.say("held-out last watch of %d users: HR@10 %.4f HR@50 %.4f HR@100 %.4f NDCG@10 %.4f (filtered: HR@50 %.4f); most popular HR@50 %.4f",
		len(tests), m["hr@10_all"], m["hr@50_all"], m["hr@100_all"], m["ndcg@10_all"], m["hr@50_filtered"], m["mostpop_hr@50_all"])
	return nil
}

// trainRanking trains the ranker from the log's impressions, streamed.
func (o *Options) trainRanking(ctx context.Context, rc train.RankingConfig, in *logs, out map[string]any) (*ranking.Model, error) {
	rk, st, err := train.RankingSource(ctx, rc, &impressionSource{l: in.l, lg: in.lg})
	if err != nil {
		return nil, err
	}
	o.say("ranking: %d impressions × %d epochs at %.0f examples/s (%.1fs)", st.Examples, st.Epochs, st.ExamplesPerSec, st.Seconds)
	out["ranking_examples"], out["ranking_examples_per_sec"] = st.Examples, math.Round(st.ExamplesPerSec)
	return rk, nil
}

// write writes the model directory (with an HNSW index when asked).
func (o *Options) write(ctx context.Context, l *layout.Layout, cg *candgen.Model, rk *ranking.Model, out map[string]any) error {
	var idx *retrieval.HNSW
	if o.HNSW {
		var err error
		if idx, err = cg.BuildHNSW(ctx, retrieval.HNSWConfig{Seed: o.Seed}); err != nil {
			return err
		}
	}
	m := &modeldir.Model{Manifest: modeldir.Manifest{Layout: l.Config(), End: l.End, Ranking: rk != nil, Stats: out}, Layout: l, Candgen: cg, Ranking: rk}
	if err := modeldir.Write(o.Out, m, idx); err != nil {
		return err
	}
	o.say("wrote %s", o.Out)
	return nil
}

// dictSizes names each text space and its distinct IDs.
func dictSizes(d *events.Dicts) string {
	var parts []string
	for _, s := range []struct {
		name string
		d    *events.Dict
	}{{"users", d.Users}, {"videos", d.Videos}, {"search tokens", d.Tokens}} {
		if s.d != nil {
			parts = append(parts, fmt.Sprintf("%s %d", s.name, s.d.Len()))
		}
	}
	cols := make([]string, 0, len(d.Features))
	for c := range d.Features {
		cols = append(cols, c)
	}
	slices.Sort(cols)
	for _, c := range cols {
		parts = append(parts, fmt.Sprintf("%s %d", c, d.Features[c].Len()))
	}
	return strings.Join(parts, ", ")
}

// LayoutConfig is the feature layout a column mapping declares.
func LayoutConfig(s ingest.Spec) layout.Config {
	return layout.Config{
		MaxVideos: s.MaxVideos, MaxHistory: s.MaxHistory, RankHistory: s.RankHistory, MaxTokens: s.MaxTokens,
		SearchTokens: s.Watches.SearchTokens != "", UserFeatures: s.Watches.UserFeatures, VideoFeatures: s.Catalogue.Features,
	}
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }
func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// PeakRSSMiB is the process's peak resident set (VmHWM), in MiB, or -1
// where /proc does not say.
func PeakRSSMiB() float64 {
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				return -1
			}
			return round1(kb / 1024)
		}
	}
	return -1
}

// trainEvents returns a user's events less the held-out last watch.
func trainEvents(evs []events.Event, holdout bool) []events.Event {
	if !holdout {
		return evs
	}
	for i := len(evs) - 1; i >= 0; i-- {
		if evs[i].Kind == events.Watch {
			return append(evs[:i:i], evs[i+1:]...)
		}
	}
	return evs
}

// exampleSource streams the next-watch examples of a Log (a candgen
// Source): users one at a time, each user's examples in order.
type exampleSource struct {
	l       *layout.Layout
	lg      *ingest.Log
	holdout bool
}

func (s *exampleSource) Open(ctx context.Context) (feature.Iterator[candgen.Example], error) {
	return &exampleIter{s: s, users: s.lg.Users()}, nil
}

type exampleIter struct {
	s     *exampleSource
	users *ingest.UserIter
	queue []candgen.Example
}

func (it *exampleIter) Next() (candgen.Example, error) {
	for len(it.queue) == 0 {
		evs, err := it.users.Next()
		if err != nil {
			return candgen.Example{}, err
		}
		it.queue = it.queue[:0]
		it.s.l.Walk(trainEvents(evs, it.s.holdout), func(u *layout.User, video, at int64) {
			it.queue = append(it.queue, it.s.l.CandgenExample(u, video, at))
		}, nil)
	}
	e := it.queue[0]
	it.queue = it.queue[1:]
	return e, nil
}

func (it *exampleIter) Close() error { return it.users.Close() }

// impressionSource streams a Log's impressions as ranking examples.
type impressionSource struct {
	l  *layout.Layout
	lg *ingest.Log
}

func (s *impressionSource) Open(ctx context.Context) (feature.Iterator[ranking.Impression], error) {
	return &impressionIter{s: s, users: s.lg.Users()}, nil
}

type impressionIter struct {
	s     *impressionSource
	users *ingest.UserIter
	queue []ranking.Impression
}

func (it *impressionIter) Next() (ranking.Impression, error) {
	for len(it.queue) == 0 {
		evs, err := it.users.Next()
		if err != nil {
			return ranking.Impression{}, err
		}
		it.queue = it.queue[:0]
		it.s.l.Walk(evs, nil, func(u *layout.User, e *events.Event) {
			it.queue = append(it.queue, ranking.Impression{
				Features: it.s.l.RankExample(u, e.Item, e.Time), Clicked: e.Clicked, WatchTime: float64(e.WatchTime),
			})
		})
	}
	e := it.queue[0]
	it.queue = it.queue[1:]
	return e, nil
}

func (it *impressionIter) Close() error { return it.users.Close() }

// Test is one held-out request: the user before their last watch, and
// that watch.
type Test struct {
	User  layout.User
	Label int64
}

// collectTests holds out each user's last watch (users with at least
// three watches, so at least one training example remains), keeping at
// most max users (a deterministic sample by user hash), and counts the
// training labels for the most-popular baseline.
func collectTests(ctx context.Context, l *layout.Layout, lg *ingest.Log, max int) ([]Test, map[int64]int, error) {
	var tests []Test
	pop := map[int64]int{}
	rng := rand.New(rand.NewPCG(7, 7))
	seen := 0
	err := lg.EachUser(ctx, func(evs []events.Event) error {
		nw := 0
		var last events.Event
		for _, e := range evs {
			if e.Kind == events.Watch {
				nw++
				last = e
			}
		}
		train := trainEvents(evs, true)
		l.Walk(train, func(u *layout.User, video, at int64) { pop[video]++ }, nil)
		if nw < 3 {
			return nil
		}
		u := l.Walk(train, nil, nil)
		t := Test{User: u, Label: last.Item}
		seen++
		if len(tests) < max {
			tests = append(tests, t)
		} else if j := rng.IntN(seen); j < max { // reservoir sample
			tests[j] = t
		}
		return nil
	})
	return tests, pop, err
}

// Evaluate serves every test at example age 0 (the paper's protocol) and
// returns HR@10/50/100 and NDCG@10 over all videos and with the user's
// history filtered out, beside the most-popular baseline's.
func Evaluate(ctx context.Context, cg *candgen.Model, l *layout.Layout, tests []Test, pop map[int64]int) (map[string]any, error) {
	if len(tests) == 0 {
		return nil, errors.New("pipe: no user has three watches to hold one out")
	}
	popular := eval.MostPopular(pop)
	const top, batch = 100, 1024
	out := map[string]any{"test_users": len(tests)}
	for _, mode := range []eval.History{eval.HistoryAll, eval.HistoryFiltered} {
		var model, mostPop eval.Tally
		for lo := 0; lo < len(tests); lo += batch {
			hi := min(lo+batch, len(tests))
			exs := make([]feature.Example, hi-lo)
			var excl [][]int64
			for i := range exs {
				exs[i] = l.UserExample(&tests[lo+i].User)
				if mode == eval.HistoryFiltered {
					excl = append(excl, tests[lo+i].User.History)
				}
			}
			recs, err := cg.RecommendBatch(ctx, exs, top, excl)
			if err != nil {
				return nil, err
			}
			for i, r := range recs {
				ids := make([]int64, len(r))
				for j := range r {
					ids[j] = r[j].ID
				}
				var seen []int64
				if excl != nil {
					seen = excl[i]
				}
				label := tests[lo+i].Label
				model.Add(ids, label)
				mostPop.Add(eval.TopExcluding(popular, seen, top), label)
			}
		}
		eval.Put(out, "", model.Metrics(mode))
		eval.Put(out, "mostpop_", mostPop.Metrics(mode))
	}
	return out, nil
}
