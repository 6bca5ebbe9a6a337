package pipe

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/ytdnn/ytdnn/ingest"
	"github.com/ytdnn/ytdnn/internal/binfmt"
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
	// Scores, when set, is a CSV file to write with one row per evaluated
	// impression: user_id, item_id, time_ms, score (exp(logit), the
	// expected watch time in seconds).
	Scores string
	// MaxTests caps the watches and impressions evaluated [50,000].
	MaxTests int
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
	spec := ingest.DefaultSpec()
	if o.Spec != nil {
		spec = *o.Spec
	}
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	lg, err := ingest.Build(ctx, o.Data, spec, ingest.Options{TempDir: o.TempDir, Strict: o.Strict})
	if err != nil {
		return nil, err
	}
	defer lg.Close()
	out := map[string]any{"model_window_end": time.UnixMilli(md.Layout.End).UTC().Format(time.RFC3339)}
	h := Holdout{After: o.After}
	tests, pop, err := collectTests(ctx, md.Layout, lg, h, o.MaxTests)
	if err != nil {
		return nil, err
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
	}
	if md.Ranking == nil || lg.Impressions == 0 {
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
	scores, err := evaluateRankingScores(rtests, md.Ranking, nil, out, say)
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
