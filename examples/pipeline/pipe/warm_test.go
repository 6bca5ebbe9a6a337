package pipe

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/embedding"
	"github.com/ytdnn/ytdnn/events"
	"github.com/ytdnn/ytdnn/ingest"
	"github.com/ytdnn/ytdnn/layout"
	"github.com/ytdnn/ytdnn/modeldir"
)

// dayView makes a folder holding the daily partitions of data up to and
// including day last (0-based from GenStart), as the log stands that
// evening: links to the partitions, the catalogue.
func dayView(t *testing.T, data string, last int) string {
	t.Helper()
	v := t.TempDir()
	for _, sub := range []string{"watches", "impressions"} {
		require.NoError(t, os.MkdirAll(filepath.Join(v, sub), 0o755))
		parts, err := filepath.Glob(filepath.Join(data, sub, "dt=*"))
		require.NoError(t, err)
		for _, p := range parts {
			d, err := time.Parse(time.DateOnly, strings.TrimPrefix(filepath.Base(p), "dt="))
			require.NoError(t, err)
			if d.Before(GenStart.AddDate(0, 0, last+1)) {
				require.NoError(t, os.Symlink(p, filepath.Join(v, sub, filepath.Base(p))))
			}
		}
	}
	require.NoError(t, os.Symlink(filepath.Join(data, "catalogue"), filepath.Join(v, "catalogue")))
	return v
}

// dailyLog generates a small log of days days.
func dailyLog(t *testing.T, days int) string {
	t.Helper()
	data := t.TempDir()
	_, err := Generate(data, GenOptions{Users: 300, Videos: 300, Events: 9_000, Seed: 5, Days: days})
	require.NoError(t, err)
	return data
}

func warmRun(t *testing.T, data, out, prev string) (map[string]any, error) {
	t.Helper()
	return smallRun(t, data, out, func(o *Options) { o.Holdout, o.Epochs, o.WarmStart = Holdout{}, 2, prev })
}

// TestDailyLoop: gen -days writes daily partitions; a model trained on
// days 0-3 is continued on day 4 (warm start): its examples start where
// the first window ended, the videos first seen on day 4 join the
// vocabulary, the states are written, and the evening's model evaluates
// on day 5 beside yesterday's.
func TestDailyLoop(t *testing.T) {
	data := dailyLog(t, 6)
	for _, sub := range []string{"watches", "impressions"} {
		parts, err := filepath.Glob(filepath.Join(data, sub, "dt=*"))
		require.NoError(t, err)
		assert.Len(t, parts, 6, "%s: one partition a day", sub)
	}
	dir := t.TempDir()
	m3, m4 := filepath.Join(dir, "day3"), filepath.Join(dir, "day4")
	first, err := warmRun(t, dayView(t, data, 3), m3, "")
	require.NoError(t, err)
	second, err := warmRun(t, dayView(t, data, 4), m4, m3)
	require.NoError(t, err)
	assert.Equal(t, m3, second["warm_start"])
	assert.Equal(t, first["trained_before_unix_ms"], second["since_unix_ms"], "examples start where the first window ended")
	assert.Less(t, second["train_examples"].(int), first["train_examples"].(int)/2, "one day's examples, not four")

	a, err := modeldir.Load(m3)
	require.NoError(t, err)
	b, err := modeldir.Load(m4)
	require.NoError(t, err)
	assert.Equal(t, a.Candgen.Encoder().Width(), b.Candgen.Encoder().Width())
	// Videos whose first watch is on day 4 are in the new vocabulary.
	newVideos := 0
	for i := int32(1); i < int32(b.Candgen.VideoVocab().Size()); i++ {
		id, _ := b.Candgen.VideoVocab().ID(i)
		if a.Candgen.VideoVocab().Index(id) == embedding.OOV {
			newVideos++
		}
	}
	assert.Greater(t, newVideos, 0, "videos entered the vocabulary")
	for _, f := range []string{modeldir.CandgenStateFile, modeldir.RankingStateFile} {
		_, err := os.Stat(filepath.Join(m4, f))
		assert.NoError(t, err, f)
	}

	// A new day with watches but no impression keeps the ranker as it was
	// (and its state, for the day after).
	v := dayView(t, data, 4)
	require.NoError(t, os.Remove(filepath.Join(v, "impressions", "dt="+GenStart.AddDate(0, 0, 4).Format(time.DateOnly))))
	m4b := filepath.Join(dir, "day4-noimp")
	noimp, err := warmRun(t, v, m4b, m3)
	require.NoError(t, err)
	assert.Equal(t, true, noimp["ranking_carried_over"])
	c4, err := modeldir.Load(m4b)
	require.NoError(t, err)
	require.NotNil(t, c4.Ranking)
	assert.Equal(t, a.Ranking.Tower().W, c4.Ranking.Tower().W)
	_, err = os.Stat(filepath.Join(m4b, modeldir.RankingStateFile))
	assert.NoError(t, err)
	spec := GenSpec()
	day5 := GenStart.AddDate(0, 0, 5).Format(time.DateOnly)
	v5 := dayView(t, data, 5)
	h, err := ParseHoldout("after=" + day5)
	require.NoError(t, err)
	c, err := Compare(context.Background(), CompareOptions{A: m3, B: m4, Metric: "hr@100_all", EvalOptions: EvalOptions{Data: v5, Spec: &spec, After: h.After, TempDir: t.TempDir()}})
	require.NoError(t, err)
	bm := c.Metrics["b"].(map[string]any)
	assert.Greater(t, bm["new_video_requests"], 0, "day 5 watches videos first seen on day 4")
	assert.Greater(t, bm["new_videos_hr@100_all"], c.Metrics["a"].(map[string]any)["new_videos_hr@100_all"], "yesterday's model cannot retrieve them")
}

// TestCompareGate: B worse than A beyond the tolerance is Worse (the
// gate's non-zero exit), within it is not; a loss is worse higher.
func TestCompareGate(t *testing.T) {
	data := dailyLog(t, 4)
	dir := t.TempDir()
	good, weak := filepath.Join(dir, "good"), filepath.Join(dir, "weak")
	v2 := dayView(t, data, 2)
	_, err := smallRun(t, v2, good, func(o *Options) { o.Holdout, o.Epochs = Holdout{}, 3 })
	require.NoError(t, err)
	_, err = smallRun(t, v2, weak, func(o *Options) { // trained on the last day only
		o.Holdout, o.Epochs, o.Since = Holdout{}, 1, GenStart.AddDate(0, 0, 2).UnixMilli()
	})
	require.NoError(t, err)
	spec := GenSpec()
	eo := EvalOptions{Data: dayView(t, data, 3), Spec: &spec, After: GenStart.AddDate(0, 0, 3).UnixMilli(), TempDir: t.TempDir()}
	c, err := Compare(context.Background(), CompareOptions{A: good, B: weak, Tolerance: 0.001, EvalOptions: eo})
	require.NoError(t, err)
	require.Greater(t, c.A, c.B+0.001, "the setup: the weak model is worse on HR@50")
	assert.True(t, c.Worse, "B worse: the gate fails")
	c, err = Compare(context.Background(), CompareOptions{A: weak, B: good, Tolerance: 0.001, EvalOptions: eo})
	require.NoError(t, err)
	assert.False(t, c.Worse, "B better: the gate passes")
	c, err = Compare(context.Background(), CompareOptions{A: good, B: weak, Tolerance: 1, EvalOptions: eo})
	require.NoError(t, err)
	assert.False(t, c.Worse, "within the tolerance")
	_, err = Compare(context.Background(), CompareOptions{A: good, B: good, EvalOptions: eo})
	assert.ErrorContains(t, err, "-a and -b are the same model directory")
	early := eo
	early.After = GenStart.AddDate(0, 0, 2).UnixMilli()
	_, err = Compare(context.Background(), CompareOptions{A: weak, B: good, EvalOptions: early})
	assert.ErrorContains(t, err, "trained on events up to", "B's window overlaps: refused before any evaluation")
	_, err = Compare(context.Background(), CompareOptions{A: good, B: weak, Metric: "hr@7_all", EvalOptions: eo})
	assert.ErrorContains(t, err, `no value of "hr@7_all" on this window; it has `)
	assert.ErrorContains(t, err, "hr@50_all", "what it has")
}

// TestWorse: higher is better but for a loss; the tolerance is in the
// metric's units, 0 allowing nothing.
func TestWorse(t *testing.T) {
	for _, c := range []struct {
		metric    string
		a, b, tol float64
		want      bool
	}{
		{"hr@50_all", 0.5, 0.48, 0.01, true}, {"hr@50_all", 0.5, 0.495, 0.01, false}, {"hr@50_all", 0.5, 0.6, 0, false},
		{"hr@50_all", 0.5, 0.4999, 0, true}, {"ranking_auc", 0.7, 0.69, 0.001, true},
		{"ranking_weighted_per_user_loss", 0.18, 0.19, 0.001, true}, {"ranking_weighted_per_user_loss", 0.18, 0.17, 0, false},
		{"ranking_weighted_per_user_loss", 0.18, 0.1805, 0.001, false},
	} {
		assert.Equal(t, c.want, Worse(c.metric, c.a, c.b, c.tol), "%+v", c)
	}
}

// editManifest rewrites a model directory's manifest with edit.
func editManifest(t *testing.T, dir string, edit func(map[string]any)) {
	t.Helper()
	p := filepath.Join(dir, modeldir.ManifestFile)
	raw, err := os.ReadFile(p)
	require.NoError(t, err)
	var man map[string]any
	require.NoError(t, json.Unmarshal(raw, &man))
	edit(man)
	raw, err = json.Marshal(man)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, raw, 0o644))
}

// TestWarmStartRefused: a previous model that is missing, corrupt, of
// another format version or another spec, and a log that does not run
// past its window, are errors before any training; nothing is written.
func TestWarmStartRefused(t *testing.T) {
	data := dailyLog(t, 4)
	dir := t.TempDir()
	prev := filepath.Join(dir, "prev")
	_, err := warmRun(t, dayView(t, data, 2), prev, "")
	require.NoError(t, err)
	copyDir := func(t *testing.T, edit func(d string)) string {
		t.Helper()
		d := filepath.Join(t.TempDir(), "copy")
		require.NoError(t, os.CopyFS(d, os.DirFS(prev)))
		edit(d)
		return d
	}
	later := dayView(t, data, 3)
	cases := []struct {
		name string
		prev func(t *testing.T) string
		data string
		spec func(o *Options)
		want string
	}{
		{"missing", func(*testing.T) string { return filepath.Join(dir, "nope") }, later, nil, "nope"},
		{"corrupt_state", func(t *testing.T) string {
			return copyDir(t, func(d string) {
				p := filepath.Join(d, modeldir.CandgenStateFile)
				raw, err := os.ReadFile(p)
				require.NoError(t, err)
				raw[len(raw)/2] ^= 1
				require.NoError(t, os.WriteFile(p, raw, 0o644))
			})
		}, later, nil, "candgen.state: its SHA-256 differs"},
		{"no_state", func(t *testing.T) string {
			return copyDir(t, func(d string) {
				p := filepath.Join(d, modeldir.ManifestFile)
				raw, err := os.ReadFile(p)
				require.NoError(t, err)
				var man map[string]any
				require.NoError(t, json.Unmarshal(raw, &man))
				delete(man["files"].(map[string]any), modeldir.CandgenStateFile)
				raw, err = json.Marshal(man)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(p, raw, 0o644))
				require.NoError(t, os.Remove(filepath.Join(d, modeldir.CandgenStateFile)))
			})
		}, later, nil, "lists no candgen.state"},
		{"other_format", func(t *testing.T) string {
			return copyDir(t, func(d string) {
				p := filepath.Join(d, modeldir.ManifestFile)
				raw, err := os.ReadFile(p)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(p, []byte(strings.Replace(string(raw), `"format": 3`, `"format": 2`, 1)), 0o644))
			})
		}, later, nil, "format 2, this build reads 3"},
		{"other_spec", func(*testing.T) string { return prev }, later, func(o *Options) { o.Spec.MaxHistory = 20 }, `"max_history" is 50 in the previous model, 20 in this spec`},
		{"time_runs_backward", func(*testing.T) string { return prev }, dayView(t, data, 1), nil, "time runs forward"},
		{"holdout", func(*testing.T) string { return prev }, later, func(o *Options) { o.Holdout = Holdout{Last: true} }, "-holdout with a warm start"},
		{"ids_now_text", func(*testing.T) string { return prev }, later, func(o *Options) {
			o.Spec.Watches.ItemIDType, o.Spec.Impressions.ItemIDType, o.Spec.Catalogue.ItemIDType = "text", "text", "text"
		}, "video IDs were integers for the previous model and are text in this log: set item_id_type as it was"},
		{"manifest_without_ranking", func(t *testing.T) string {
			return copyDir(t, func(d string) { editManifest(t, d, func(m map[string]any) { m["ranking"] = false }) })
		}, later, nil, `says "ranking": false but lists ranking.model`},
		{"manifest_without_end", func(t *testing.T) string {
			return copyDir(t, func(d string) { editManifest(t, d, func(m map[string]any) { m["end_unix_ms"] = 0 }) })
		}, later, nil, "records no training window end"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "new")
			_, err := smallRun(t, tc.data, out, func(o *Options) {
				o.Holdout, o.Epochs, o.WarmStart = Holdout{}, 2, tc.prev(t)
				if tc.spec != nil {
					tc.spec(o)
				}
			})
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			_, statErr := os.Stat(out)
			assert.True(t, os.IsNotExist(statErr), "nothing written")
		})
	}
}

// TestFirstSeen: the pass that collects the tests records each video's
// first event in the log, of any kind (what new_videos_hr@100_all calls
// new the day before the window).
func TestFirstSeen(t *testing.T) {
	data := dailyLog(t, 4)
	spec := GenSpec()
	lg, err := ingest.Build(context.Background(), data, spec, ingest.Options{TempDir: t.TempDir()})
	require.NoError(t, err)
	defer lg.Close()
	want := map[int64]int64{}
	require.NoError(t, lg.EachUser(context.Background(), func(evs []events.Event) error {
		for _, e := range evs {
			if t, ok := want[e.Item]; !ok || e.Time < t {
				want[e.Item] = e.Time
			}
		}
		return nil
	}))
	lc, err := LayoutConfig(spec)
	require.NoError(t, err)
	after := GenStart.AddDate(0, 0, 3).UnixMilli()
	l, err := layout.New(lc, after, lg.Catalogue)
	require.NoError(t, err)
	_, pop, err := collectTests(context.Background(), l, lg, Holdout{After: after}, 1000)
	require.NoError(t, err)
	assert.Equal(t, want, pop.first)
}
