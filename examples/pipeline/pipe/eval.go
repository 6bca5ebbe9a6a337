package pipe

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/ytdnn/ytdnn/eval"
	"github.com/ytdnn/ytdnn/ingest"
	"github.com/ytdnn/ytdnn/internal/binfmt"
	"github.com/ytdnn/ytdnn/layout"
	"github.com/ytdnn/ytdnn/modeldir"
)

// EvalOptions configure Eval.
type EvalOptions struct {
	// Model is the model directory to evaluate; Data the log folder and
	// Spec its column mapping [ingest.DefaultSpec()].
	Model, Data string
	Spec        *ingest.Spec
	// After (Unix ms) starts the evaluation window: the watches and
	// impressions at or after it are scored, each user's state replayed
	// through every earlier event of Data.
	After int64
	// Until (Unix ms), when set, ends the evaluation window: the log's
	// events at or after it are not read.
	Until int64
	// Scores, when set, is a CSV file to write with one row per evaluated
	// impression: user_id, item_id, time_ms, score (exp(logit), the
	// expected watch time in seconds).
	Scores string
	// MaxTests caps the watches and impressions evaluated [50,000].
	MaxTests int
	// FrozenStats scores with the running statistics (item_stats,
	// attribute_stats) as a server holds them: frozen at the model's window
	// end (stats.bin), never updated by the later log. Default: the
	// model's counts plus the later log's up to each impression, as a
	// pipeline that refreshes them would serve.
	FrozenStats bool
	// TempDir holds the spill files; Strict makes the first malformed row an
	// error; Log receives a line per stage (may be nil).
	TempDir string
	Strict  bool
	Log     io.Writer
}

// Eval scores a trained model directory on a later log: candidate
// generation's HR/NDCG beside most popular, and the ranker's click AUC,
// weighted per-user loss, watch-time NDCG@10 and calibration beside the
// video's click-through rate so far (the metrics of train -holdout
// after=TIME, for a model trained before).
func Eval(ctx context.Context, o EvalOptions) (map[string]any, error) {
	if o.MaxTests == 0 {
		o.MaxTests = 50_000
	}
	if o.After == 0 {
		return nil, fmt.Errorf("pipe: eval needs the start of the evaluation window")
	}
	say := func(format string, a ...any) {
		if o.Log != nil {
			fmt.Fprintf(o.Log, format+"\n", a...)
		}
	}
	md, err := modeldir.Load(o.Model)
	if err != nil {
		return nil, err
	}
	if from := trainedBefore(&md.Manifest); o.After < from {
		return nil, fmt.Errorf("pipe: the start of the evaluation window (%s) is before the end of the model's training window (%s): the model learnt the events in between; evaluate from %s or later",
			time.UnixMilli(o.After).UTC().Format(time.RFC3339Nano), time.UnixMilli(from).UTC().Format(time.RFC3339Nano), time.UnixMilli(from).UTC().Format(time.RFC3339Nano))
	}
	spec := ingest.DefaultSpec()
	if o.Spec != nil {
		spec = *o.Spec
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	opt := ingest.Options{TempDir: o.TempDir, Strict: o.Strict, Dicts: md.Dicts} // the model's codes for text IDs
	if o.Until != 0 {
		if o.Until <= o.After {
			return nil, fmt.Errorf("pipe: the evaluation window ends (%s) before it starts (%s)", time.UnixMilli(o.Until).UTC().Format(time.RFC3339), time.UnixMilli(o.After).UTC().Format(time.RFC3339))
		}
		opt.Until = time.UnixMilli(o.Until)
	}
	lg, err := ingest.Build(ctx, o.Data, spec, opt)
	if err != nil {
		return nil, err
	}
	defer lg.Close()
	out := map[string]any{"model_window_end": FormatMs(md.Layout.End)}
	if md.Layout.WantsStats() && !o.FrozenStats {
		// The counts so far: the model's at its window's end plus the later
		// log's from then on, before each impression.
		later, err := runningStats(ctx, md.Layout, lg, md.Layout.End, o.After)
		if err != nil {
			return nil, err
		}
		md.Layout.Stats = layout.SumStats{Base: md.Stats, Later: later}
	}
	h := Holdout{After: o.After}
	tests, pop, err := collectTests(ctx, md.Layout, lg, h, o.MaxTests)
	if err != nil {
		return nil, err
	}
	window := func() string {
		w := "from " + FormatMs(o.After)
		if o.Until != 0 {
			w += " to " + FormatMs(o.Until)
		}
		return w + " (the log's events end at " + FormatMs(lg.End) + ")"
	}
	if len(tests) == 0 {
		out["test_requests"] = 0
		say("candidate generation: no watch %s by a user with an earlier one", window())
	}
	if len(tests) > 0 {
		m, err := evaluateCandgen(ctx, md.Candgen, md.Layout, tests, pop)
		if err != nil {
			return nil, err
		}
		for k, v := range m {
			out[k] = v
		}
		say("candidate generation on %d held-out watches: HR@50 %.4f (filtered %.4f); most popular %.4f", len(tests), m["hr@50_all"], m["hr@50_filtered"], m["mostpop_hr@50_all"])
		if err := evaluateNew(ctx, md, pop.first, tests, o.After, out, say); err != nil {
			return nil, err
		}
	}
	if md.Ranking == nil || lg.Impressions == 0 {
		if len(tests) == 0 {
			return nil, fmt.Errorf("nothing to evaluate %s", window())
		}
		return out, nil
	}
	rates, err := readClickRates(ctx, lg, o.After)
	if err != nil {
		return nil, err
	}
	rtests, err := collectRankTests(ctx, md.Layout, lg, rates, Holdout{}, o.After, o.MaxTests, scoring(md.Layout, md.Candgen))
	if err != nil {
		return nil, err
	}
	if len(rtests) == 0 {
		if len(tests) == 0 {
			return nil, fmt.Errorf("nothing to evaluate %s", window())
		}
		out["ranking_test_impressions"] = 0
		say("ranking: no impression %s", window())
		return out, nil
	}
	scores, err := evaluateRanking(rtests, md.Ranking, nil, out, say)
	if err != nil {
		return nil, err
	}
	if o.Scores != "" {
		if err := writeScores(o.Scores, rtests, scores); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// evaluateNew measures how well candidate generation retrieves the videos
// that are new the day before the evaluation window (first seen in the
// log, in any event, within the 24 hours before after): the share of the
// held-out watches of those videos whose video is in the top 100
// (new_videos_hr@100_all, over new_video_requests watches), the day after
// they appeared.
func evaluateNew(ctx context.Context, md *modeldir.Model, first map[int64]int64, tests []Test, after int64, out map[string]any, say func(string, ...any)) error {
	var sub []Test
	for _, t := range tests {
		if f := first[t.Label]; f >= after-86_400_000 && f < after {
			sub = append(sub, t)
		}
	}
	out["new_video_requests"] = len(sub)
	if len(sub) == 0 {
		return nil
	}
	m, err := evaluateCandgen(ctx, md.Candgen, md.Layout, sub, &popularity{all: map[int64]int{}, lastDay: map[int64]int{}})
	if err != nil {
		return err
	}
	out["new_videos_hr@100_all"] = m["hr@100_all"]
	say("videos new the day before: %d held-out watches, HR@100 %.4f", len(sub), m["hr@100_all"])
	return nil
}

// writeScores writes one CSV row per scored impression, atomically.
func writeScores(path string, tests []rankTest, scores []float64) error {
	return binfmt.WriteFileAtomic(path, func(w io.Writer) error {
		cw := csv.NewWriter(w)
		if err := cw.Write([]string{"user_id", "item_id", "time_ms", "score", "clicked", "watch_seconds"}); err != nil {
			return err
		}
		for i, t := range tests {
			clicked := "0"
			if t.clicked {
				clicked = "1"
			}
			if err := cw.Write([]string{
				strconv.FormatInt(t.user, 10), strconv.FormatInt(t.video, 10), strconv.FormatInt(t.at, 10),
				strconv.FormatFloat(scores[i], 'g', -1, 64), clicked, strconv.FormatFloat(t.watch, 'g', -1, 64),
			}); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	})
}

// maxScoreRows bounds a scores file read by ScoreFile.
const maxScoreRows = 50_000_000

// ScoreFile computes the ranking metrics of a scores file in the format
// eval writes (user_id, item_id, time_ms, score, clicked, watch_seconds;
// a header first), so that the scores of any other tool on the same rows
// are measured by the same code: click AUC, weighted per-user loss and
// watch-time NDCG@10 with impressions grouped by user and day, and
// calibration by decile (score read as expected watch time). Errors name
// the file and line.
func ScoreFile(path string) (map[string]any, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = true
	head, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", path, err)
	}
	want := []string{"user_id", "item_id", "time_ms", "score", "clicked", "watch_seconds"}
	if len(head) < len(want) {
		return nil, fmt.Errorf("%s: header %v, want the columns %v", path, head, want)
	}
	for i, c := range want {
		if head[i] != c {
			return nil, fmt.Errorf("%s: column %d is %q, want %q", path, i+1, head[i], c)
		}
	}
	var tests []rankTest
	var scores []float64
	groups := userDays{}
	for line := 2; ; line++ {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if len(tests) >= maxScoreRows {
			return nil, fmt.Errorf("%s: more than %d rows", path, maxScoreRows)
		}
		var t rankTest
		var s float64
		var clicked int64
		for i, p := range []any{&t.user, &t.video, &t.at, &s, &clicked, &t.watch} {
			var err error
			switch p := p.(type) {
			case *int64:
				*p, err = strconv.ParseInt(rec[i], 10, 64)
			case *float64:
				*p, err = strconv.ParseFloat(rec[i], 64)
				if err == nil && (math.IsNaN(*p) || math.IsInf(*p, 0)) {
					err = fmt.Errorf("not finite")
				}
			}
			if err != nil {
				return nil, fmt.Errorf("%s: line %d: column %s: %q: %v", path, line, want[i], rec[i], err)
			}
		}
		if clicked != 0 && clicked != 1 {
			return nil, fmt.Errorf("%s: line %d: column clicked: %d is not 0 or 1", path, line, clicked)
		}
		if t.watch < 0 {
			return nil, fmt.Errorf("%s: line %d: column watch_seconds: %v is negative", path, line, t.watch)
		}
		t.clicked = clicked == 1
		t.group = groups.of(t.user, t.at)
		tests = append(tests, t)
		scores = append(scores, s)
	}
	if len(tests) == 0 {
		return nil, fmt.Errorf("%s: no rows", path)
	}
	out := map[string]any{"rows": len(tests)}
	eval.Put(out, "", rankMetrics(tests, scores))
	_, out["calibration"] = calibration(tests, scores)
	return out, nil
}
