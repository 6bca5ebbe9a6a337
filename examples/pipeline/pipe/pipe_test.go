package pipe

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/events"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/ingest"
	"github.com/ytdnn/ytdnn/layout"
	"github.com/ytdnn/ytdnn/modeldir"
	"github.com/ytdnn/ytdnn/ranking"
	"github.com/ytdnn/ytdnn/train"
)

func smallRun(t *testing.T, data, out string, mutate func(*Options)) (map[string]any, error) {
	t.Helper()
	spec := GenSpec()
	o := Options{Data: data, Out: out, Spec: &spec, Epochs: 3, Holdout: Holdout{Last: true}, TempDir: t.TempDir(), Seed: 1}
	o.Candgen = train.CandgenConfig{Tower: []int{32, 16}, Negatives: 200, Options: train.Options{Batch: 256, LR: 0.01}}
	o.Ranking = DefaultRanking()
	o.Ranking.Tower = []int{16}
	if mutate != nil {
		mutate(&o)
	}
	return Run(context.Background(), o)
}

// TestTrainFromGeneratedParquet: gen's Parquet log (compressed, dictionary
// pages, several row groups) trains both stages into a model directory
// that loads and serves; the held-out metrics beat most-popular.
func TestTrainFromGeneratedParquet(t *testing.T) {
	data := t.TempDir()
	_, err := Generate(data, GenOptions{Users: 600, Videos: 400, Events: 12_000, Seed: 3, RowGroup: 1000})
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "models")
	m, err := smallRun(t, data, out, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(12_000+600*20+400), m["events_read"], "watches, impressions (2 pages of 10 per user) and catalogue rows")
	assert.Equal(t, int64(0), m["rows_rejected"])
	assert.Equal(t, 600, m["test_requests"])
	assert.Greater(t, m["hr@50_all"].(float64), m["mostpop_hr@50_all"].(float64)+0.05)
	assert.Greater(t, m["hr@50_filtered"].(float64), m["mostpop_hr@50_filtered"].(float64))
	for _, k := range []string{"examples_per_sec", "peak_rss_mib", "hr@10_all", "hr@100_filtered", "ndcg@10_all"} {
		assert.Contains(t, m, k)
	}

	md, err := modeldir.Load(out)
	require.NoError(t, err)
	require.NotNil(t, md.Ranking)
	assert.Len(t, md.Layout.Catalogue.Items, 400)
	u := &layout.User{History: []int64{1, 2, 3}, Tokens: []int64{5}, Feats: []events.Feat{{ID: 1}, {ID: 2}, {Num: 30}}}
	recs, err := md.Candgen.Recommend(context.Background(), md.Layout.UserExample(u), 20, u.History)
	require.NoError(t, err)
	require.Len(t, recs, 20)
	ids := make([]int64, len(recs))
	feats := make([]feature.Example, len(recs))
	for i, r := range recs {
		ids[i], feats[i] = r.ID, md.Layout.RankExample(u, r.ID, md.Layout.End, float64(r.Score))
	}
	ranked, err := md.Ranking.Rank(ids, feats)
	require.NoError(t, err)
	assert.Len(t, ranked, 20)

	_, err = smallRun(t, data, out, nil)
	assert.ErrorContains(t, err, "exists", "an existing model directory is never overwritten")
}

// TestFailedRunWritesNothing: a run that fails (a malformed row under
// -strict, a missing column) leaves no model directory and no temporary
// one.
func TestFailedRunWritesNothing(t *testing.T) {
	data := t.TempDir()
	_, err := Generate(data, GenOptions{Users: 100, Videos: 80, Events: 1000, Seed: 4})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(data, "watches", "extra.csv"),
		[]byte("user_id,item_id,timestamp,search_tokens,region,device,age\n7,3,not-a-time,,1,1,30\n"), 0o644))
	parent := t.TempDir()
	out := filepath.Join(parent, "models")
	_, err = smallRun(t, data, out, func(o *Options) { o.Strict = true })
	require.Error(t, err)
	assert.ErrorContains(t, err, "extra.csv")
	entries, err := os.ReadDir(parent)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing written")

	_, err = smallRun(t, data, out, nil)
	require.ErrorIs(t, err, ingest.ErrTooManyRejected, "by default a file with every row rejected fails the run")
	assert.ErrorContains(t, err, "extra.csv")
	assert.ErrorContains(t, err, string(ingest.ReasonTimeSyntax))
	entries, err = os.ReadDir(parent)
	require.NoError(t, err)
	assert.Empty(t, entries, "nothing written")

	m, err := smallRun(t, data, out, func(o *Options) { o.MaxRejected = 1 })
	require.NoError(t, err, "with -max-rejected 1 and without -strict the row is counted and skipped")
	assert.Equal(t, int64(1), m["rows_rejected"])

	spec := GenSpec()
	spec.Watches.UserFeatures = append(spec.Watches.UserFeatures, events.Column{Column: "language", Kind: events.KindID})
	out2 := filepath.Join(parent, "models2")
	_, err = smallRun(t, data, out2, func(o *Options) { o.Spec = &spec })
	require.ErrorIs(t, err, ingest.ErrMissingColumn)
	_, err = os.Stat(out2)
	assert.True(t, os.IsNotExist(err))
}

// TestStreamingMatchesMemory: the same examples trained from the stream
// and from a slice in memory give models of the same quality.
func TestStreamingMatchesMemory(t *testing.T) {
	data := t.TempDir()
	_, err := Generate(data, GenOptions{Users: 600, Videos: 400, Events: 12_000, Seed: 3})
	require.NoError(t, err)
	str, err := smallRun(t, data, "", func(o *Options) { o.Candgen.ShuffleBuffer = 2000 })
	require.NoError(t, err)
	mem, err := smallRun(t, data, "", func(o *Options) { o.FromMemory = true; o.Candgen.ShuffleBuffer = 2000 })
	require.NoError(t, err)
	assert.Equal(t, str["train_examples"], mem["train_examples"])
	assert.InDelta(t, mem["hr@50_all"].(float64), str["hr@50_all"].(float64), 0.05)
}

// TestHoldoutDropsLastWatch: the held-out run trains on every event but
// each user's last watch.
func TestHoldoutDropsLastWatch(t *testing.T) {
	evs := []events.Event{
		{Kind: events.Watch, Item: 1, Time: 10},
		{Kind: events.Impression, Item: 9, Time: 15},
		{Kind: events.Watch, Item: 2, Time: 20},
		{Kind: events.Impression, Item: 8, Time: 25},
	}
	assert.Equal(t, []events.Event{evs[0], evs[1], evs[3]}, trainEvents(evs, Holdout{Last: true}), "holdout drops the last watch")
	assert.Equal(t, []events.Event{evs[0], evs[1]}, trainEvents(evs, Holdout{Last: true, After: 25}), "the last watch of the whole sequence, then the cut")
	assert.Equal(t, evs, trainEvents(evs, Holdout{}))
	assert.Equal(t, evs[:2], trainEvents(evs, Holdout{After: 20}), "no event at or after the time")
	assert.Equal(t, evs[:3], trainEvents(evs, Holdout{After: 21}))
}

// TestSettingsCheckedBeforeReading: a typo in a stage's settings fails the
// run before any file is read (the data folder does not even exist).
func TestSettingsCheckedBeforeReading(t *testing.T) {
	for name, mutate := range map[string]func(*Options){
		"candgen optimizer": func(o *Options) { o.Candgen.Optimizer = "adamw" },
		"ranking dropout":   func(o *Options) { o.Ranking.Dropout = 1.5 },
	} {
		t.Run(name, func(t *testing.T) {
			o := Options{Data: filepath.Join(t.TempDir(), "no-such-folder"), Candgen: DefaultCandgen(), Ranking: DefaultRanking()}
			mutate(&o)
			_, err := Run(context.Background(), o)
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "no-such-folder", "the settings were checked before the logs")
			assert.Regexp(t, "Optimizer|Dropout", err.Error())
		})
	}
}

// TestHoldoutAfter: with -holdout after=T both stages train on the events
// before T only (the sources hold none at or after it), the model's window
// ends at T, and both are evaluated on the events after it beside their
// baselines.
func TestHoldoutAfter(t *testing.T) {
	data := t.TempDir()
	_, err := Generate(data, GenOptions{Users: 500, Videos: 300, Events: 10_000, Seed: 4})
	require.NoError(t, err)
	after := GenStart.Add(70 * 24 * time.Hour) // the generated window is 100 days
	h, err := ParseHoldout("after=" + after.Format("2006-01-02"))
	require.NoError(t, err)
	require.Equal(t, after.UnixMilli(), h.After)

	// The sources hold only events before T.
	spec := GenSpec()
	lg, err := ingest.Build(context.Background(), data, spec, ingest.Options{TempDir: t.TempDir()})
	require.NoError(t, err)
	defer lg.Close()
	lc, err := LayoutConfig(spec)
	require.NoError(t, err)
	l, err := layout.New(lc, h.After, nil)
	require.NoError(t, err)
	var before, beforeImps, all int
	require.NoError(t, lg.EachUser(context.Background(), func(evs []events.Event) error {
		nw := 0
		for _, e := range evs {
			all++
			if e.Time < h.After {
				if e.Kind == events.Watch {
					if nw > 0 {
						before++ // a next-watch example: a watch after an earlier one
					}
					nw++
				} else {
					beforeImps++
				}
			}
		}
		return nil
	}))
	exs, err := collect(context.Background(), feature.Source[candgen.Example](&exampleSource{l: l, lg: lg, holdout: h}))
	require.NoError(t, err)
	imps, err := collect(context.Background(), feature.Source[ranking.Impression](&impressionSource{l: l, lg: lg, holdout: h}))
	require.NoError(t, err)
	assert.Equal(t, before, len(exs), "next-watch examples: the watches before T")
	assert.Equal(t, beforeImps, len(imps), "impressions: those before T")
	assert.Less(t, before+beforeImps, all, "the log has events after T")
	for _, e := range exs {
		assert.GreaterOrEqual(t, e.Age, 0.0, "ages count from T")
	}

	// The generated watches span 100 days and the impressions come after
	// them (two pages an hour apart): at day 70 only candidate generation
	// has a test window, at day 100 + 30 min only the ranker.
	out := filepath.Join(t.TempDir(), "models")
	m, err := smallRun(t, data, out, func(o *Options) { o.Holdout = h })
	require.NoError(t, err)
	for _, k := range []string{"hr@50_all", "hr@50_filtered", "mostpop_hr@50_all", "mostpop_lastday_hr@50_all", "ndcg@10_all"} {
		assert.Contains(t, m, k)
	}
	assert.Greater(t, m["test_requests"].(int), 100)
	assert.Greater(t, m["hr@50_all"].(float64), m["mostpop_hr@50_all"].(float64), "candidate generation beats most popular")
	assert.NotContains(t, m, "ranking_examples", "no impression before T: no ranker")
	md, err := modeldir.Load(out)
	require.NoError(t, err)
	assert.Equal(t, h.After, md.Layout.End, "the model's window ends at T")
	assert.Nil(t, md.Ranking)

	h2 := Holdout{After: GenStart.Add(100*24*time.Hour + 30*time.Minute).UnixMilli()}
	m, err = smallRun(t, data, "", func(o *Options) { o.Holdout, o.Epochs, o.Ranking.LR = h2, 10, 0.01 })
	require.NoError(t, err)
	for _, k := range []string{"ranking_auc", "ranking_weighted_per_user_loss", "ranking_watch_ndcg@10", "ctr_auc",
		"ctr_weighted_per_user_loss", "unweighted_auc", "unweighted_weighted_per_user_loss", "ranking_calibration"} {
		assert.Contains(t, m, k)
	}
	assert.Equal(t, 0, m["test_requests"])
	assert.Greater(t, m["ranking_test_impressions"].(int), 100)
	t.Logf("%v %v %v %v", m["ranking_auc"], m["ctr_auc"], m["unweighted_auc"], m["ranking_examples"])
	assert.Greater(t, m["ranking_auc"].(float64), 0.55, "the ranker learned clicks")

	for _, bad := range []string{"after=", "after=tomorrow", "first", "after=2022-13-01"} {
		t.Run("bad holdout "+bad, func(t *testing.T) {
			_, err := ParseHoldout(bad)
			assert.Error(t, err)
		})
	}
	for name, at := range map[string]time.Time{"after the log's end": GenStart.AddDate(1, 0, 0), "at the log's start": GenStart.AddDate(-1, 0, 0)} {
		t.Run("holdout "+name, func(t *testing.T) {
			_, err := smallRun(t, data, "", func(o *Options) { o.Holdout = Holdout{After: at.UnixMilli()} })
			assert.ErrorContains(t, err, "the log's events run from")
		})
	}
}

// TestEpochsChosenOnValidation: with Epochs 0 candidate generation's epoch
// count comes from early stopping on the last eighth of the training
// window, and the final model trains that many epochs on the whole window.
func TestEpochsChosenOnValidation(t *testing.T) {
	data := t.TempDir()
	_, err := Generate(data, GenOptions{Users: 500, Videos: 300, Events: 10_000, Seed: 6})
	require.NoError(t, err)
	m, err := smallRun(t, data, "", func(o *Options) { o.Epochs, o.MaxEpochs, o.Patience = 0, 6, 2 })
	require.NoError(t, err)
	chosen := m["candgen_epochs_chosen"].(int)
	assert.GreaterOrEqual(t, chosen, 1)
	assert.LessOrEqual(t, chosen, 6)
	assert.Equal(t, chosen, m["candgen_epochs"], "the final model trains the chosen count")
	assert.Greater(t, m["validation_requests"].(int), 100)
	assert.Greater(t, m["candgen_val_hr@50"].(float64), 0.0)
	assert.Greater(t, m["hr@50_all"].(float64), m["mostpop_hr@50_all"].(float64))
}

// TestEvalOnALaterLog: eval scores a trained model directory on a later
// window with train's metrics, and writes one score row per impression.
func TestEvalOnALaterLog(t *testing.T) {
	data := t.TempDir()
	_, err := Generate(data, GenOptions{Users: 400, Videos: 300, Events: 8_000, Seed: 7})
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "models")
	after := GenStart.Add(100*24*time.Hour + 30*time.Minute).UnixMilli()
	_, err = smallRun(t, data, out, func(o *Options) { o.Holdout = Holdout{After: after} })
	require.NoError(t, err)
	spec := GenSpec()
	scores := filepath.Join(t.TempDir(), "scores.csv")
	m, err := Eval(context.Background(), EvalOptions{Model: out, Data: data, Spec: &spec, After: after, Scores: scores, TempDir: t.TempDir()})
	require.NoError(t, err)
	n := m["ranking_test_impressions"].(int)
	assert.Greater(t, n, 100)
	for _, k := range []string{"ranking_auc", "ranking_weighted_per_user_loss", "ctr_auc", "ranking_calibration"} {
		assert.Contains(t, m, k)
	}
	raw, err := os.ReadFile(scores)
	require.NoError(t, err)
	rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, n+1)
	assert.Equal(t, []string{"user_id", "item_id", "time_ms", "score", "clicked", "watch_seconds"}, rows[0])
	for _, r := range rows[1:] {
		at, err := strconv.ParseInt(r[2], 10, 64)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, at, after, "only the evaluation window")
		s, err := strconv.ParseFloat(r[3], 64)
		require.NoError(t, err)
		assert.Greater(t, s, 0.0, "exp(logit)")
	}
	_, err = Eval(context.Background(), EvalOptions{Model: out, Data: data, Spec: &spec})
	assert.ErrorContains(t, err, "start of the evaluation window")
	_, err = Eval(context.Background(), EvalOptions{Model: out, Data: data, Spec: &spec, After: after - 1})
	assert.ErrorContains(t, err, "before the end of the model's training window", "a window the model trained on")

	// The scores file measured by ScoreFile gives eval's numbers.
	sm, err := ScoreFile(scores)
	require.NoError(t, err)
	assert.Equal(t, n, sm["rows"])
	for _, k := range []string{"auc", "weighted_per_user_loss", "watch_ndcg@10"} {
		assert.Equal(t, m["ranking_"+k], sm[k], k)
	}
	dir := t.TempDir()
	for _, c := range []struct{ name, body, want string }{
		{"wrong header", "user,item\n", "want the columns"},
		{"renamed column", "user_id,item_id,time_ms,logit,clicked,watch_seconds\n", `column 4 is "logit", want "score"`},
		{"NaN score", "user_id,item_id,time_ms,score,clicked,watch_seconds\n1,2,3,NaN,0,0\n", "line 2: column score"},
		{"clicked 2", "user_id,item_id,time_ms,score,clicked,watch_seconds\n1,2,3,0.5,2,0\n", "line 2: column clicked: 2 is not 0 or 1"},
		{"negative watch", "user_id,item_id,time_ms,score,clicked,watch_seconds\n1,2,3,0.5,1,-4\n", "line 2: column watch_seconds: -4 is negative"},
		{"no rows", "user_id,item_id,time_ms,score,clicked,watch_seconds\n", "no rows"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.name+".csv")
			require.NoError(t, os.WriteFile(p, []byte(c.body), 0o644))
			_, err := ScoreFile(p)
			assert.ErrorContains(t, err, c.want)
			assert.ErrorContains(t, err, p, "the error names the file")
		})
	}
}

// TestRankingSignalsFromTheSpec: the spec's ranking_signals reach the
// ranker (its stored spec has them, in the layout's order), and a spec
// naming an unknown signal field is refused before any file is read.
func TestRankingSignalsFromTheSpec(t *testing.T) {
	data := t.TempDir()
	_, err := Generate(data, GenOptions{Users: 400, Videos: 300, Events: 8_000, Seed: 8})
	require.NoError(t, err)
	out := filepath.Join(t.TempDir(), "models")
	after := GenStart.Add(100*24*time.Hour + 30*time.Minute).UnixMilli()
	m, err := smallRun(t, data, out, func(o *Options) { o.Holdout, o.Epochs, o.Ranking.LR = Holdout{After: after}, 10, 0.01 })
	require.NoError(t, err)
	t.Logf("with signals: ranking AUC %v, weighted per-user loss %v; CTR so far AUC %v", m["ranking_auc"], m["ranking_weighted_per_user_loss"], m["ctr_auc"])
	md, err := modeldir.Load(out)
	require.NoError(t, err)
	spec := md.Ranking.Encoder().Spec
	for _, name := range []string{"same_channel_id_watches", "same_topic_days", layout.FeatureShown, layout.FeatureHour, layout.FeatureLastSearch, layout.FeatureCandidateScore,
		"stats_video_ctr", "stats_channel_id_watch_per_click"} {
		assert.GreaterOrEqual(t, spec.Index(name), 0, name)
	}
	require.NotNil(t, md.Stats, "the running statistics at the window's end are in the directory")
	assert.Same(t, md.Stats, md.Layout.Stats.(*layout.FixedStats))
	assert.NotEmpty(t, md.Stats.Videos)
	assert.Greater(t, m["ranking_auc"].(float64), 0.55)

	bad := GenSpec()
	bad.RankingSignals = json.RawMessage(`{"same_atribute": ["topic"]}`)
	_, err = Run(context.Background(), Options{Data: filepath.Join(t.TempDir(), "none"), Spec: &bad})
	assert.ErrorContains(t, err, `unknown field "same_atribute"`)
}

// cancelOnWrite cancels a run when it writes its first log line (after
// the logs are read and spilled).
type cancelOnWrite struct{ cancel context.CancelFunc }

func (c cancelOnWrite) Write(p []byte) (int, error) { c.cancel(); return len(p), nil }

// TestRunRejections: a run whose input breaks the rules ends with the
// reason, naming the file, and leaves neither a model directory nor spill
// files; a cancelled run (SIGINT, SIGTERM) removes its spill files.
func TestRunRejections(t *testing.T) {
	watches := "user_id,item_id,timestamp\n"
	for u := 1; u <= 3; u++ {
		for k := 1; k <= 4; k++ {
			watches += fmt.Sprintf("%d,%d,%d\n", u, k, 1_767_225_600+u*100+k)
		}
	}
	write := func(t *testing.T, dir, name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(text), 0o644))
		return p
	}
	run := func(t *testing.T, data string, spec ingest.Spec, mutate func(*Options)) (string, string, error) {
		parent, tmp := t.TempDir(), t.TempDir()
		o := Options{Data: data, Out: filepath.Join(parent, "models"), Spec: &spec, TempDir: tmp, Seed: 1,
			Candgen: train.CandgenConfig{Tower: []int{8}, Negatives: 2, Options: train.Options{Batch: 4, LR: 0.01}}, Ranking: DefaultRanking()}
		if mutate != nil {
			mutate(&o)
		}
		_, err := Run(context.Background(), o)
		return parent, tmp, err
	}
	assertNothingLeft := func(t *testing.T, dirs ...string) {
		for _, d := range dirs {
			left, err := os.ReadDir(d)
			require.NoError(t, err)
			assert.Empty(t, left, d)
		}
	}
	t.Run("every watch rejected for one reason: the run ends with it", func(t *testing.T) {
		data := t.TempDir()
		path := write(t, data, "watches/w.csv", strings.ReplaceAll(watches, ",1,", ",1.0,"))
		good := write(t, data, "watches/x.csv", "user_id,item_id,timestamp\n9,9,1767225600\n")
		_, _, err := run(t, data, ingest.DefaultSpec(), nil)
		require.ErrorIs(t, err, ingest.ErrTooManyRejected)
		assert.ErrorContains(t, err, path)
		assert.ErrorContains(t, err, string(ingest.ReasonNotCanonical))
		require.NoError(t, os.Remove(good))
		require.NoError(t, os.WriteFile(path, []byte("user_id,item_id,timestamp\n1,1.0,1767225600\n2,2.0,1767225601\n"), 0o644))
		parent, tmp, err := run(t, data, ingest.DefaultSpec(), func(o *Options) { o.MaxRejected = 1 })
		require.Error(t, err)
		assert.ErrorContains(t, err, "2 "+string(ingest.ReasonNotCanonical), "without -strict, the reason and its count")
		assertNothingLeft(t, parent, tmp)
	})
	t.Run("a whole catalogue rejected fails the run", func(t *testing.T) {
		data := t.TempDir()
		write(t, data, "watches/w.csv", watches)
		path := write(t, data, "catalogue/c.csv", "item_id,uploaded\n1,yesterday\n2,yesterday\n3,yesterday\n4,yesterday\n")
		spec := ingest.DefaultSpec()
		spec.Catalogue.Features = []events.Column{{Column: "uploaded", Kind: events.KindTime}}
		parent, tmp, err := run(t, data, spec, nil)
		require.ErrorIs(t, err, ingest.ErrTooManyRejected)
		assert.ErrorContains(t, err, path)
		assert.ErrorContains(t, err, string(ingest.ReasonTimeSyntax))
		assertNothingLeft(t, parent, tmp)
	})
	t.Run("a cancelled run removes its spill files", func(t *testing.T) {
		data := t.TempDir()
		write(t, data, "watches/w.csv", watches)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		spec := ingest.DefaultSpec()
		parent, tmp := t.TempDir(), t.TempDir()
		o := Options{Data: data, Out: filepath.Join(parent, "models"), Spec: &spec, TempDir: tmp, Log: cancelOnWrite{cancel},
			Candgen: train.CandgenConfig{Tower: []int{8}, Negatives: 2, Options: train.Options{Batch: 4, LR: 0.01}}, Ranking: DefaultRanking()}
		_, err := Run(ctx, o)
		require.ErrorIs(t, err, context.Canceled)
		assertNothingLeft(t, parent, tmp)
	})
}

// TestCandidateScoreCrossFitted: a training impression's candidate score
// comes from the candidate generation trained on the other half of the
// users, never from one that learnt the user's own watches (and so the
// impression's own click); the two halves partition the examples.
func TestCandidateScoreCrossFitted(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	_, err := Generate(data, GenOptions{Users: 200, Videos: 150, Events: 4_000, Seed: 3})
	require.NoError(t, err)
	spec := GenSpec()
	o := Options{Data: data, Spec: &spec, Epochs: 1, TempDir: t.TempDir(), Seed: 1}
	o.defaults()
	cc, _, err := o.configs(spec)
	require.NoError(t, err)
	cc.Tower, cc.Negatives = []int{16}, 50
	in, _, err := o.read(ctx, spec, time.Now(), nil)
	require.NoError(t, err)
	defer in.lg.Close()
	cf, err := o.crossFit(ctx, cc, in.l, in.lg, Holdout{})
	require.NoError(t, err)
	require.NotNil(t, cf[0])
	require.NotNil(t, cf[1])

	count := func(fold int) int {
		all, err := collect(ctx, &exampleSource{l: in.l, lg: in.lg, fold: fold})
		require.NoError(t, err)
		return len(all)
	}
	half1, half2 := count(1), count(2)
	var byFold [2]int // next-watch examples of each half's users, counted here
	require.NoError(t, in.lg.EachUser(ctx, func(evs []events.Event) error {
		in.l.Walk(evs, func(*layout.User, int64, int64) { byFold[userFold(evs[0].User)]++ }, nil)
		return nil
	}))
	require.NotEqual(t, byFold[0], byFold[1], "the halves must differ in size for this test to tell them apart")
	assert.Equal(t, byFold[0], half1, "model 0 learns the users of half 0 only")
	assert.Equal(t, byFold[1], half2)

	got, err := collect(ctx, &impressionSource{l: in.l, lg: in.lg, cf: cf})
	require.NoError(t, err)
	var want, own []float64
	require.NoError(t, in.lg.EachUser(ctx, func(evs []events.Event) error {
		var sc scorer
		in.l.Walk(evs, nil, func(u *layout.User, e *events.Event) { sc.add(in.l, u, e.Item) })
		if len(sc.videos) == 0 {
			return nil
		}
		f := userFold(evs[0].User)
		other, err := sc.scores(cf[1-f])
		if err != nil {
			return err
		}
		mine, err := sc.scores(cf[f])
		want, own = append(want, other...), append(own, mine...)
		return err
	}))
	require.Len(t, got, len(want))
	rs := in.l.RankingSpec()
	i := rs.Index(layout.FeatureCandidateScore)
	require.GreaterOrEqual(t, i, 0)
	differ := 0
	for k := range got {
		require.InDelta(t, want[k], got[k].Features.Nums[i], 1e-6, "impression %d", k)
		if math.Abs(own[k]-want[k]) > 1e-3 {
			differ++
		}
	}
	assert.Greater(t, differ, len(got)/2, "the two halves' models score differently")
}

// TestEvalFrozenStats: on a later window whose impressions span days,
// eval's running statistics (the model's counts plus the later log's up to
// each impression) score differently from the counts frozen at the model's
// window end, which -frozen-stats uses as a server does.
func TestEvalFrozenStats(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(data, "impressions"), 0o755))
	var b strings.Builder
	b.WriteString("user_id,item_id,timestamp,clicked,watch_seconds\n")
	day := int64(86_400_000)
	start := int64(1_700_000_000_000)
	for u := range 60 {
		for k := range 40 {
			item := (u*7 + k*3) % 25
			clicked, watch := 0, 0
			if (item+u)%4 == 0 || (item < 5 && k%3 == 0) {
				clicked, watch = 1, 30+item
			}
			fmt.Fprintf(&b, "%d,%d,%d,%d,%d\n", u, item, start+int64(k)*day/4+int64(u)*1000, clicked, watch)
		}
	}
	require.NoError(t, os.WriteFile(filepath.Join(data, "impressions", "log.csv"), []byte(b.String()), 0o644))
	spec := ingest.DefaultSpec()
	spec.Watches.FromImpressions = true
	spec.RankingSignals = json.RawMessage(`{"item_stats": true}`)
	after := start + 6*day
	out := filepath.Join(t.TempDir(), "models")
	o := Options{Data: data, Out: out, Spec: &spec, Epochs: 2, Holdout: Holdout{After: after}, TempDir: t.TempDir(), Seed: 1}
	o.Candgen = train.CandgenConfig{Tower: []int{16}, Negatives: 10, Options: train.Options{Batch: 64, LR: 0.01}}
	o.Ranking = DefaultRanking()
	o.Ranking.Tower = []int{8}
	_, err := Run(ctx, o)
	require.NoError(t, err)
	read := func(frozen bool) string {
		p := filepath.Join(t.TempDir(), "scores.csv")
		m, err := Eval(ctx, EvalOptions{Model: out, Data: data, Spec: &spec, After: after, Scores: p, FrozenStats: frozen, TempDir: t.TempDir()})
		require.NoError(t, err)
		require.Greater(t, m["ranking_test_impressions"].(int), 100)
		raw, err := os.ReadFile(p)
		require.NoError(t, err)
		return string(raw)
	}
	assert.NotEqual(t, read(false), read(true), "counts updated by the later log score differently from frozen ones")

	// A model trained without a holdout learnt the events at its window's
	// last moment: an evaluation window starting there is refused.
	all := filepath.Join(t.TempDir(), "all")
	o.Out, o.Holdout = all, Holdout{}
	_, err = Run(ctx, o)
	require.NoError(t, err)
	md, err := modeldir.Load(all)
	require.NoError(t, err)
	_, err = Eval(ctx, EvalOptions{Model: all, Data: data, Spec: &spec, After: md.Layout.End, TempDir: t.TempDir()})
	assert.ErrorContains(t, err, "before the end of the model's training window")
}

// TestCrossFitSmallHalf: a half of the users too small to train a model on
// (one user who clicked one video twice) leaves the other half's candidate
// scores at 0 instead of failing the run.
func TestCrossFitSmallHalf(t *testing.T) {
	data := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(data, "impressions"), 0o755))
	var b strings.Builder
	b.WriteString("user_id,item_id,timestamp,clicked,watch_seconds\n")
	start := int64(1_700_000_000_000)
	lone := int64(-1)
	for u := int64(0); u < 200; u++ {
		if userFold(u) == 1 {
			if lone < 0 {
				lone = u
				fmt.Fprintf(&b, "%d,7,%d,1,30\n%d,7,%d,1,30\n%d,8,%d,0,0\n", u, start, u, start+1000, u, start+2000)
			}
			continue
		}
		for k := range 6 {
			fmt.Fprintf(&b, "%d,%d,%d,%d,%d\n", u, (u+int64(k)*5)%30, start+int64(k)*3_600_000+u, (u+int64(k))%2, 20)
		}
	}
	require.NoError(t, os.WriteFile(filepath.Join(data, "impressions", "log.csv"), []byte(b.String()), 0o644))
	spec := ingest.DefaultSpec()
	spec.Watches.FromImpressions = true
	spec.RankingSignals = json.RawMessage(`{"candidate_score": true}`)
	var log bytes.Buffer
	o := Options{Data: data, Spec: &spec, Epochs: 1, TempDir: t.TempDir(), Seed: 1, Log: &log}
	o.Candgen = train.CandgenConfig{Tower: []int{8}, Negatives: 5, Options: train.Options{Batch: 32, LR: 0.01}}
	o.Ranking = DefaultRanking()
	o.Ranking.Tower = []int{8}
	_, err := Run(context.Background(), o)
	require.NoError(t, err)
	assert.Contains(t, log.String(), "half 2 of the users could not be trained")
}
