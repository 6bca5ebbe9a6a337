package pipe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
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
	// Epochs of both stages [0: chosen by early stopping on a validation
	// window, the last ValidationShare of the training window: each stage
	// trains on the events before the window, scoring each epoch on it
	// (candidate generation: mean of HR@50 all and history filtered; the
	// ranker: minus the weighted per-user loss), stopping after Patience
	// epochs without a better score (at most MaxEpochs); then it trains on
	// the whole training window for the best epoch count].
	Epochs int
	// MaxEpochs [20], Patience [3] and ValidationShare [0.125] set the
	// early stopping of Epochs 0.
	MaxEpochs, Patience int
	ValidationShare     float64
	// Holdout holds out events to evaluate on (see Holdout): candidate
	// generation's HR@10/50/100 and NDCG@10 at example age 0 beside most
	// popular, and with Holdout.After the ranker's click AUC, weighted
	// per-user loss, watch-time NDCG@10 and calibration beside the video's
	// click-through rate so far and the same ranker trained unweighted.
	Holdout Holdout
	// MaxTests caps the held-out watches evaluated (a reservoir sample)
	// and the held-out impressions [50,000].
	MaxTests int
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
	// WarmStart is a previous model directory to continue from (see
	// train.Warm): both stages start from its models and training states
	// (the files candgen.state and ranking.state every run writes), its
	// layout must be the spec's, and the new log must end after its
	// window. Since defaults to the end of its training window.
	WarmStart string
	// Decay weighs the previous model's vocabulary counts and normalizers
	// in a warm start [train.DefaultDecay, 0.5].
	Decay float64
	// Since (Unix ms), when set, is the first moment training examples are
	// drawn from: earlier events only build the users' histories, ranking
	// signals and running statistics (a look-back window).
	Since int64
	// Until (Unix ms), when set, ends the log read there: the run sees the
	// log as it stood then (events at or after it are skipped), as the
	// run of a past day would have.
	Until int64
	// Lookback bounds how far before Since the log is read (ingest's
	// MinTime: earlier rows are skipped and earlier daily partitions not
	// opened) [DefaultLookback]; it has no effect without Since.
	Lookback time.Duration
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
	warm, err := o.loadWarm(spec)
	if err != nil {
		return nil, err
	}
	cc, rc, err := o.configs(spec)
	if err != nil {
		return nil, err
	}
	if warm != nil {
		if err := warm.apply(&cc, &rc); err != nil {
			return nil, err
		}
	}
	if o.Out != "" {
		if _, err := os.Stat(o.Out); err == nil {
			return nil, fmt.Errorf("pipe: %s exists; write new models to a new directory", o.Out)
		}
	}
	var dicts *events.Dicts // a warm start continues the previous run's text IDs
	if warm != nil {
		dicts = warm.md.Dicts
	}
	in, out, err := o.read(ctx, spec, start, dicts)
	if err != nil {
		return nil, err
	}
	defer in.lg.Close()
	if err := o.checkWindow(warm, in.lg, out); err != nil {
		return nil, err
	}
	if a := o.Holdout.After; a != 0 && (a <= in.lg.Start || a > in.lg.End) {
		return nil, fmt.Errorf("pipe: -holdout %s leaves nothing to train on or nothing to evaluate: the log's events run from %s to %s",
			o.Holdout, time.UnixMilli(in.lg.Start).UTC().Format(time.RFC3339), time.UnixMilli(in.lg.End).UTC().Format(time.RFC3339))
	}
	// The first moment training saw nothing of: the holdout time, else
	// just after the last event (pipeline eval starts no earlier).
	out["trained_before_unix_ms"] = in.l.End + 1
	if o.Holdout.After != 0 && in.l.End == o.Holdout.After {
		out["trained_before_unix_ms"] = o.Holdout.After
	}
	if o.Epochs == 0 {
		if err := o.chooseEpochs(ctx, &cc, &rc, in, out); err != nil {
			return nil, err
		}
	}
	cg, err := o.trainCandgen(ctx, cc, in, out)
	if err != nil {
		return nil, err
	}
	if o.Holdout.Active() {
		if err := o.evaluate(ctx, cg, in, out); err != nil {
			return nil, err
		}
	}
	var rk *ranking.Model
	has, err := anyTrainingImpression(ctx, in.lg, o.Holdout, o.Since)
	if err != nil {
		return nil, err
	}
	switch {
	case !has && warm != nil && warm.md.Ranking != nil:
		// Nothing new to rank: the previous ranker and its state go on.
		rk, in.rkState = warm.md.Ranking, warm.rkState
		out["ranking_carried_over"] = true
		o.say("ranking: no impression in the new window; the previous ranker is kept as it was")
	case in.lg.Impressions > 0 && !has:
		o.say("ranking: no impression in the training window; no ranker trained")
	}
	if has {
		cf, err := o.crossFit(ctx, cc, in.l, in.lg, o.Holdout)
		if err != nil {
			return nil, err
		}
		if rk, err = o.trainRanking(ctx, rc, cf, in, out); err != nil {
			return nil, err
		}
		if o.Holdout.After != 0 {
			if err := o.evaluateRanking(ctx, rc, cg, cf, rk, in, out); err != nil {
				return nil, err
			}
		}
	}
	out["peak_rss_mib"] = PeakRSSMiB()
	out["seconds"] = round1(time.Since(start).Seconds())
	if o.Out != "" {
		if err := o.write(ctx, in, cg, rk, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// DefaultLookback is how far before Options.Since a run reads the log by
// default: 30 days of history and signals, as the spec's max_history of
// watches rarely reaches further back.
const DefaultLookback = 30 * 24 * time.Hour

func (o *Options) defaults() {
	if o.Lookback == 0 {
		o.Lookback = DefaultLookback
	}
	if o.MaxEpochs == 0 {
		o.MaxEpochs = 20
	}
	if o.Patience == 0 {
		o.Patience = 3
	}
	if o.ValidationShare == 0 {
		o.ValidationShare = 0.125
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.MaxTests == 0 {
		o.MaxTests = 50_000
	}
}

// configs returns both stages' settings for the layout spec declares,
// validated.
func (o *Options) configs(spec ingest.Spec) (train.CandgenConfig, train.RankingConfig, error) {
	lc, err := LayoutConfig(spec)
	if err != nil {
		return train.CandgenConfig{}, train.RankingConfig{}, err
	}
	l, err := layout.New(lc, 0, nil)
	if err != nil {
		return train.CandgenConfig{}, train.RankingConfig{}, err
	}
	cc := o.Candgen
	if cc.Tower == nil {
		cc = DefaultCandgen()
	}
	cc.Spec, cc.VideoSpace, cc.ExampleAge, cc.Epochs, cc.Seed, cc.Progress = l.CandgenSpec(), layout.VideoSpace, true, max(o.Epochs, 1), o.Seed, o.Progress
	rc := o.Ranking
	if rc.Tower == nil {
		rc = DefaultRanking()
	}
	rc.Spec, rc.Epochs, rc.Seed, rc.Progress = l.RankingSpec(), max(o.Epochs, 1), o.Seed, o.Progress
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
	// the stages' training states, written beside the models
	cgState, rkState *train.State
}

// read reads the logs and the catalogue and reports what it read.
func (o *Options) read(ctx context.Context, spec ingest.Spec, start time.Time, dicts *events.Dicts) (*logs, map[string]any, error) {
	opt := ingest.Options{TempDir: o.TempDir, Strict: o.Strict, MaxRejected: o.MaxRejected, MaxTime: o.MaxTime, Dicts: dicts}
	if o.Since != 0 {
		opt.MinTime = time.UnixMilli(o.Since).Add(-o.Lookback)
	}
	if o.Until != 0 {
		opt.Until = time.UnixMilli(o.Until)
	}
	lg, err := ingest.Build(ctx, o.Data, spec, opt)
	if err != nil {
		return nil, nil, err
	}
	rep := lg.WatchReport
	rep.Add(lg.ImpressionReport)
	rep.Add(lg.CatalogueReport)
	rep.Add(lg.UsersReport)
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
	end := lg.End // the training window's end: ages count from it, serving happens at it
	if o.Holdout.After != 0 {
		end = min(end, o.Holdout.After)
	}
	lc, err := LayoutConfig(spec)
	if err != nil {
		lg.Close()
		return nil, nil, err
	}
	l, err := layout.New(lc, end, cat)
	if err != nil {
		lg.Close()
		return nil, nil, err
	}
	l.Users = lg.UserTable
	byReason := map[string]int64{}
	for r, n := range rep.ByReason {
		byReason[string(r)] = n
	}
	if l.WantsStats() {
		if l.Stats, err = runningStats(ctx, l, lg, math.MinInt64, end); err != nil {
			lg.Close()
			return nil, nil, err
		}
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
	src := &exampleSource{l: in.l, lg: in.lg, holdout: o.Holdout, since: o.Since}
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
	in.cgState = st.State
	o.say("candidate generation: %d examples × %d epochs at %.0f examples/s (%.1fs), %d videos", st.Examples, st.Epochs, st.ExamplesPerSec, st.Seconds, cg.VideoVocab().Size()-1)
	out["train_examples"], out["examples_per_sec"], out["candgen_seconds"], out["candgen_epochs"] = st.Examples, math.Round(st.ExamplesPerSec), round1(st.Seconds), st.Epochs
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
	tests, pop, err := collectTests(ctx, in.l, in.lg, o.Holdout, o.MaxTests)
	if err != nil {
		return err
	}
	if len(tests) == 0 && o.Holdout.After != 0 {
		out["test_requests"] = 0
		o.say("candidate generation: no watch after %s by a user with an earlier one; not evaluated", o.Holdout)
		return nil
	}
	m, err := evaluateCandgen(ctx, cg, in.l, tests, pop)
	if err != nil {
		return err
	}
	for k, v := range m {
		out[k] = v
	}
	o.say("held-out watches (%s) of %d requests: HR@10 %.4f HR@50 %.4f HR@100 %.4f NDCG@10 %.4f (filtered: HR@50 %.4f); most popular HR@50 %.4f (last day's %.4f)",
		o.Holdout, len(tests), m["hr@10_all"], m["hr@50_all"], m["hr@100_all"], m["ndcg@10_all"], m["hr@50_filtered"], m["mostpop_hr@50_all"], m["mostpop_lastday_hr@50_all"])
	return nil
}

// anyTrainingImpression says whether training may see an impression under
// h, reading users only until it finds one.
func anyTrainingImpression(ctx context.Context, lg *ingest.Log, h Holdout, since int64) (bool, error) {
	if h.After == 0 && since == 0 {
		return lg.Impressions > 0, nil
	}
	found := errors.New("found")
	err := lg.EachUser(ctx, func(evs []events.Event) error {
		for _, e := range trainEvents(evs, h) {
			if e.Kind == events.Impression && e.Time >= since {
				return found
			}
		}
		return nil
	})
	if errors.Is(err, found) {
		return true, nil
	}
	return false, err
}

// evaluateRanking scores the ranker on the impressions after the holdout
// time, beside the video's click-through rate so far and the same ranker
// trained unweighted (trained here, on the same impressions).
func (o *Options) evaluateRanking(ctx context.Context, rc train.RankingConfig, cg *candgen.Model, cf *crossFit, rk *ranking.Model, in *logs, out map[string]any) error {
	rates, err := readClickRates(ctx, in.lg, o.Holdout.After)
	if err != nil {
		return err
	}
	tests, err := collectRankTests(ctx, in.l, in.lg, rates, Holdout{}, o.Holdout.After, o.MaxTests, scoring(in.l, cg))
	if err != nil {
		return err
	}
	rc.Unweighted, rc.WarmStart = true, nil // the paper's baseline, trained afresh on the same impressions
	unweighted, _, err := train.RankingSource(ctx, rc, &impressionSource{l: in.l, lg: in.lg, holdout: o.Holdout, cf: cf, since: o.Since})
	if err != nil {
		return fmt.Errorf("pipe: the unweighted ranker: %w", err)
	}
	_, err = evaluateRanking(tests, rk, unweighted, out, o.say)
	return err
}

// trainRanking trains the ranker from the log's impressions, streamed.
func (o *Options) trainRanking(ctx context.Context, rc train.RankingConfig, cf *crossFit, in *logs, out map[string]any) (*ranking.Model, error) {
	rk, st, err := train.RankingSource(ctx, rc, &impressionSource{l: in.l, lg: in.lg, holdout: o.Holdout, cf: cf, since: o.Since})
	if err != nil {
		return nil, err
	}
	in.rkState = st.State
	o.say("ranking: %d impressions × %d epochs at %.0f examples/s (%.1fs)", st.Examples, st.Epochs, st.ExamplesPerSec, st.Seconds)
	out["ranking_examples"], out["ranking_examples_per_sec"] = st.Examples, math.Round(st.ExamplesPerSec)
	return rk, nil
}

// write writes the model directory (with an HNSW index when asked).
func (o *Options) write(ctx context.Context, in *logs, cg *candgen.Model, rk *ranking.Model, out map[string]any) error {
	l := in.l
	var idx *retrieval.HNSW
	if o.HNSW {
		var err error
		if idx, err = cg.BuildHNSW(ctx, retrieval.HNSWConfig{Seed: o.Seed}); err != nil {
			return err
		}
	}
	m := &modeldir.Model{Manifest: modeldir.Manifest{Layout: l.Config(), End: l.End, Ranking: rk != nil, Stats: out}, Layout: l, Candgen: cg, Ranking: rk, Dicts: in.lg.Dicts, Users: l.Users}
	if rs, ok := l.Stats.(*layout.RunningStats); ok {
		m.Stats = rs.Snapshot(l.End)
	}
	if in.cgState != nil {
		m.CandgenState = in.cgState
	}
	if in.rkState != nil {
		m.RankingState = in.rkState
	}
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

// LayoutConfig is the feature layout a column mapping declares; its
// ranking_signals object must be a layout.Signals (unknown fields are an
// error).
func LayoutConfig(s ingest.Spec) (layout.Config, error) {
	c := layout.Config{
		MaxVideos: s.MaxVideos, MaxHistory: s.MaxHistory, RankHistory: s.RankHistory, MaxTokens: s.MaxTokens,
		SearchTokens: s.Watches.SearchTokens != "", UserFeatures: s.Watches.UserFeatures, VideoFeatures: s.Catalogue.Features,
		ImpressionFeatures: s.Impressions.Features, UserTableFeatures: s.Users.Features,
	}
	if len(s.RankingSignals) > 0 {
		dec := json.NewDecoder(bytes.NewReader(s.RankingSignals))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&c.Signals); err != nil {
			return c, fmt.Errorf("pipe: spec ranking_signals: %w", err)
		}
	}
	return c, nil
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

// exampleSource streams the next-watch examples of a Log (a candgen
// Source): users one at a time, each user's examples in order.
type exampleSource struct {
	l       *layout.Layout
	lg      *ingest.Log
	holdout Holdout
	fold    int   // 1 or 2: only the users of fold 0 or 1 (userFold); 0: every user
	since   int64 // examples before it are not drawn (their events build state only)
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
		if it.s.fold != 0 && len(evs) > 0 && userFold(evs[0].User) != it.s.fold-1 {
			continue
		}
		it.s.l.Walk(trainEvents(evs, it.s.holdout), func(u *layout.User, video, at int64) {
			if at >= it.s.since {
				it.queue = append(it.queue, it.s.l.CandgenExample(u, video, at))
			}
		}, nil)
	}
	e := it.queue[0]
	it.queue = it.queue[1:]
	return e, nil
}

func (it *exampleIter) Close() error { return it.users.Close() }

// impressionSource streams a Log's impressions as ranking examples (those
// training may see under holdout).
type impressionSource struct {
	l       *layout.Layout
	lg      *ingest.Log
	holdout Holdout
	cf      *crossFit // scores the candidates when the layout feeds candgen_score (else nil)
	since   int64     // impressions before it are not drawn (they build state only)
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
		var cg *candgen.Model // scores this user's candidates (nil: no candidate score)
		if it.s.cf != nil && len(evs) > 0 {
			cg = it.s.cf.scorer(evs[0].User)
		}
		var sc scorer
		it.s.l.Walk(trainEvents(evs, it.s.holdout), nil, func(u *layout.User, e *events.Event) {
			if e.Time < it.s.since {
				return
			}
			it.queue = append(it.queue, ranking.Impression{
				Features: it.s.l.RankExample(u, e.Item, e.Time, 0), Clicked: e.Clicked, WatchTime: float64(e.WatchTime),
			})
			if cg != nil {
				sc.add(it.s.l, u, e.Item)
			}
		})
		if cg != nil {
			scores, err := sc.scores(cg)
			if err != nil {
				return ranking.Impression{}, err
			}
			for i := range it.queue {
				it.s.l.SetCandidateScore(&it.queue[i].Features, scores[i])
			}
		}
	}
	e := it.queue[0]
	it.queue = it.queue[1:]
	return e, nil
}

func (it *impressionIter) Close() error { return it.users.Close() }

// evaluateCandgen serves every test at example age 0 (the paper's
// protocol) and returns HR@10/50/100 and NDCG@10 over all videos and with
// the user's history filtered out, beside the most-popular baselines' (the
// training window's and its last day's).
func evaluateCandgen(ctx context.Context, cg *candgen.Model, l *layout.Layout, tests []Test, pop *popularity) (map[string]any, error) {
	if len(tests) == 0 {
		return nil, errors.New("pipe: no held-out watch to test (with -holdout last, no user has three watches)")
	}
	popular, lastDay := eval.MostPopular(pop.all), eval.MostPopular(pop.lastDay)
	const top, batch = 100, 1024
	out := map[string]any{"test_requests": len(tests)}
	for _, mode := range []eval.History{eval.HistoryAll, eval.HistoryFiltered} {
		var model, mostPop, mostPopDay eval.Tally
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
				mostPopDay.Add(eval.TopExcluding(lastDay, seen, top), label)
			}
		}
		eval.Put(out, "", model.Metrics(mode))
		eval.Put(out, "mostpop_", mostPop.Metrics(mode))
		eval.Put(out, "mostpop_lastday_", mostPopDay.Metrics(mode))
	}
	return out, nil
}

// chooseEpochs sets each stage's epoch count by early stopping on the
// validation window (see Options.Epochs): it trains on the events before
// the window, scores every epoch on the window, and keeps the best count.
func (o *Options) chooseEpochs(ctx context.Context, cc *train.CandgenConfig, rc *train.RankingConfig, in *logs, out map[string]any) error {
	end, start := in.l.End, max(in.lg.Start, o.Since) // the window training draws examples from
	from := end - int64(float64(end-start)*o.ValidationShare)
	vl, err := layout.New(in.l.Config(), from, in.l.Catalogue)
	if err != nil {
		return err
	}
	vl.Users = in.l.Users
	if vl.WantsStats() {
		if vl.Stats, err = runningStats(ctx, vl, in.lg, math.MinInt64, from); err != nil {
			return err
		}
	}
	fit := o.Holdout
	fit.After = from // the events training sees before the window
	const maxVal = 10_000
	vtests, err := collectWindow(ctx, vl, in.lg, o.Holdout, from, maxVal)
	if err != nil {
		return err
	}
	out["validation_from_unix_ms"], out["validation_requests"] = from, len(vtests)
	var vcg *candgen.Model // candidate generation of the validation fit, for candgen_score
	c := *cc
	c.Epochs, c.Patience = o.MaxEpochs, o.Patience
	c.Validation = func(ctx context.Context, _ int, m *candgen.Model) (float64, error) {
		r, err := evaluateCandgen(ctx, m, vl, vtests, &popularity{all: map[int64]int{}, lastDay: map[int64]int{}})
		if err != nil {
			return 0, err
		}
		return (r["hr@50_all"].(float64) + r["hr@50_filtered"].(float64)) / 2, nil
	}
	if len(vtests) == 0 {
		o.say("early stopping: the validation window holds no request; candidate generation trains 1 epoch")
	} else {
		m, st, err := train.CandgenSource(ctx, c, &exampleSource{l: vl, lg: in.lg, holdout: fit, since: o.Since})
		vcg = m
		if err != nil {
			return fmt.Errorf("pipe: choosing candidate generation's epochs: %w", err)
		}
		cc.Epochs = st.BestEpoch
		out["candgen_epochs_chosen"], out["candgen_val_hr@50"] = st.BestEpoch, round4(st.BestScore)
		o.say("early stopping: candidate generation %d epochs (validation mean HR@50 %.4f on %d requests after %s)",
			st.BestEpoch, st.BestScore, len(vtests), time.UnixMilli(from).UTC().Format(time.RFC3339))
	}
	if has, err := anyTrainingImpression(ctx, in.lg, fit, o.Since); err != nil || !has {
		if err == nil && in.lg.Impressions > 0 {
			o.say("early stopping: no impression before the validation window (%s); the ranker trains 1 epoch", time.UnixMilli(from).UTC().Format(time.RFC3339))
		}
		return err
	}
	rtests, err := collectRankTests(ctx, vl, in.lg, nil, o.Holdout, from, 50_000, scoring(vl, vcg))
	if err != nil || len(rtests) == 0 {
		if err == nil {
			o.say("early stopping: the validation window holds no impression; the ranker trains 1 epoch")
		}
		return err
	}
	var cf *crossFit // with no validation model the window's impressions score 0, and so do the fit's
	if vcg != nil {
		if cf, err = o.crossFit(ctx, *cc, vl, in.lg, fit); err != nil {
			return err
		}
	}
	r := *rc
	r.Epochs, r.Patience = o.MaxEpochs, o.Patience
	exs := make([]feature.Example, len(rtests))
	for i := range rtests {
		exs[i] = rtests[i].ex
	}
	r.Validation = func(ctx context.Context, _ int, m *ranking.Model) (float64, error) {
		pred, err := m.ExpectedWatchTime(exs)
		if err != nil {
			return 0, err
		}
		loss := rankMetrics(rtests, pred)[eval.MetricWeightedPerUserLoss.String()]
		if math.IsNaN(loss) {
			return 0, errors.New("the validation window has no pair of a clicked and an unclicked impression of one user-day")
		}
		return -loss, nil
	}
	_, st, err := train.RankingSource(ctx, r, &impressionSource{l: vl, lg: in.lg, holdout: fit, cf: cf, since: o.Since})
	if err != nil {
		return fmt.Errorf("pipe: choosing the ranker's epochs: %w", err)
	}
	rc.Epochs = st.BestEpoch
	out["ranking_epochs_chosen"], out["ranking_val_weighted_per_user_loss"] = st.BestEpoch, round4(-st.BestScore)
	o.say("early stopping: ranking %d epochs (validation weighted per-user loss %.4f on %d impressions)", st.BestEpoch, -st.BestScore, len(rtests))
	return nil
}

// scorer collects the candidates of one user's walk to score them with
// candidate generation in one batch: the user as known at each
// impression, and the video.
type scorer struct {
	users  []feature.Example
	videos []int64
}

func (s *scorer) add(l *layout.Layout, u *layout.User, video int64) {
	s.users = append(s.users, l.UserExample(u))
	s.videos = append(s.videos, video)
}

// scores returns candidate generation's logit v·u + b of each candidate,
// the user vector served at example age 0 as at serving.
func (s *scorer) scores(cg *candgen.Model) ([]float64, error) {
	D := cg.D()
	u := make([]float32, len(s.users)*D)
	if err := cg.UserVectors(u, s.users); err != nil {
		return nil, err
	}
	out := make([]float64, len(s.videos))
	one := make([]float32, 1)
	for i, v := range s.videos {
		if err := cg.Scores(one, u[i*D:(i+1)*D], []int64{v}); err != nil {
			return nil, err
		}
		out[i] = float64(one[0])
	}
	return out, nil
}

// crossFit is candidate generation cross-fitted for the candidate score of
// the ranker's training impressions (Signals.CandidateScore): two models,
// each trained on the next-watch examples of one half of the users
// (userFold), and a user's impressions scored by the model trained on the
// other half. The model trained on every user has learnt each training
// impression's own click (a clicked impression's watch is one of its
// examples), so its score would be in-sample at training and out of
// sample at evaluation and serving, where the model scores events it was
// not trained on; the cross-fitted score is out of sample at training too.
type crossFit [2]*candgen.Model

// scorer is the model that never saw user's watches (nil when the other
// half had no example: the score stays 0).
func (cf *crossFit) scorer(user int64) *candgen.Model { return cf[1-userFold(user)] }

// userFold is user's half of the users (0 or 1), by a hash of the ID.
func userFold(user int64) int {
	x := uint64(user) + 0x9e3779b97f4a7c15 // splitmix64's finaliser
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return int((x ^ x>>31) & 1)
}

// crossFit trains the two halves' models with cc's settings on the
// examples h lets training see; nil when the layout feeds no candidate
// score. When one half has no example, or too few to train on, the other
// half's impressions keep a score of 0, as a model scores a video it does
// not know (and the log says so).
func (o *Options) crossFit(ctx context.Context, cc train.CandgenConfig, l *layout.Layout, lg *ingest.Log, h Holdout) (*crossFit, error) {
	if !l.Config().Signals.CandidateScore {
		return nil, nil
	}
	cc.Validation, cc.Patience = nil, 0
	var cf crossFit
	for f := range cf {
		src := &exampleSource{l: l, lg: lg, holdout: h, fold: f + 1, since: o.Since}
		empty, err := isEmpty(ctx, src)
		if err != nil {
			return nil, err
		}
		if empty {
			o.say("candidate score: half %d of the users has no next-watch example; the other half's impressions score 0", f+1)
			continue
		}
		m, st, err := train.CandgenSource(ctx, cc, src)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			// Too little for a model of its own (a handful of users
			// watching one video, say): like an empty half.
			o.say("candidate score: half %d of the users could not be trained (%v); the other half's impressions score 0", f+1, err)
			continue
		}
		cf[f] = m
		o.say("candidate score: half %d of the users, %d examples × %d epochs (%.1fs)", f+1, st.Examples, st.Epochs, st.Seconds)
	}
	return &cf, nil
}

// isEmpty says whether src yields no example.
func isEmpty[T any](ctx context.Context, src feature.Source[T]) (bool, error) {
	it, err := src.Open(ctx)
	if err != nil {
		return false, err
	}
	defer it.Close()
	_, err = it.Next()
	if errors.Is(err, io.EOF) {
		return true, nil
	}
	return false, err
}

// scoring returns cg when the layout feeds candidate generation's score to
// the ranker, nil otherwise.
func scoring(l *layout.Layout, cg *candgen.Model) *candgen.Model {
	if l.Config().Signals.CandidateScore {
		return cg
	}
	return nil
}

// runningStats indexes the impressions of the log at or after from by time
// for the layout's running statistics; the prior counts those before until.
func runningStats(ctx context.Context, l *layout.Layout, lg *ingest.Log, from, until int64) (*layout.RunningStats, error) {
	rs := layout.NewRunningStats(l, until)
	err := lg.EachUser(ctx, func(evs []events.Event) error {
		for i := range evs {
			if evs[i].Kind == events.Impression && evs[i].Time >= from {
				rs.Add(&evs[i])
			}
		}
		return nil
	})
	rs.Seal()
	return rs, err
}
