package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ytdnn/ytdnn/eval"
	"github.com/ytdnn/ytdnn/examples/pipeline/pipe"
	"github.com/ytdnn/ytdnn/export"
	"github.com/ytdnn/ytdnn/ingest"
	"github.com/ytdnn/ytdnn/internal/binfmt"
	"github.com/ytdnn/ytdnn/modeldir"
	"github.com/ytdnn/ytdnn/retrieval/weaviate"
	"github.com/ytdnn/ytdnn/train"
)

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	ctx, stop := signal.NotifyContext(context.Background(), stopSignals...)
	defer stop()
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "train":
		err = trainCmd(ctx, os.Args[2:])
	case "export":
		err = exportItems(os.Args[2:])
	case "eval":
		err = evalCmd(ctx, os.Args[2:])
	case "compare":
		var worse bool
		if worse, err = compareCmd(ctx, os.Args[2:]); err == nil && worse {
			os.Exit(ExitWorse)
		}
	case "metrics":
		err = metricsCmd(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "pipeline:", err)
		os.Exit(1)
	}
}

// stopSignals cancel a run: its spill files and any half-written model
// directory are removed before the process exits (SIGINT from a terminal,
// SIGTERM from a scheduler, systemd or a container runtime).
var stopSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

func usage() {
	fmt.Fprintln(os.Stderr, `usage: pipeline gen -out DIR [-users U -videos V -events N -seed S -days D]
       pipeline train -data DIR -out MODELDIR [-spec FILE] [-epochs N] [-holdout last|after=TIME] [-quiet] [-strict] [-max-rejected SHARE] [-max-time TIME]
                      [-warm-start PREV_MODELDIR [-decay 0.5]] [-since TIME] [-until TIME] [-lookback 720h]
       pipeline eval -model MODELDIR -data DIR -after TIME [-until TIME] [-spec FILE] [-scores FILE] [-frozen-stats]
       pipeline compare -a MODELDIR_A -b MODELDIR_B -data DIR -after TIME [-until TIME] [-metric hr@50_all] [-tolerance 0.01] [-spec FILE] [-frozen-stats]
       pipeline metrics -scores FILE
       pipeline export -model MODELDIR -format npy|parquet|onnx -out PATH
       pipeline export -model MODELDIR -format weaviate -url weaviate://HOST:PORT -collection NAME`)
	os.Exit(2)
}

func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	out := fs.String("out", "", "output folder (required)")
	users := fs.Int("users", 10_000, "users")
	videos := fs.Int("videos", 10_000, "videos")
	events := fs.Int("events", 300_000, "watch events (about events/users per user)")
	seed := fs.Uint64("seed", 1, "seed")
	days := fs.Int("days", 0, "write a log of this many days as daily partitions (dt=YYYY-MM-DD/), videos uploaded every day, popularity fading (0: a 100-day log, impressions after it)")
	fs.Parse(args)
	if *out == "" {
		return errors.New("gen: -out is required")
	}
	t0 := time.Now()
	w, err := pipe.Generate(*out, pipe.GenOptions{Users: *users, Videos: *videos, Events: *events, Seed: *seed, Days: *days})
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %d users' watches, impressions and a %d-video catalogue to %s in %.1fs\n", len(w.Users), len(w.Videos), *out, time.Since(t0).Seconds())
	fmt.Fprintf(os.Stderr, "next: go run ./examples/pipeline train -data %s -spec %s/spec.json -out MODELDIR -holdout last\n", *out, *out)
	return nil
}

func trainCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("train", flag.ExitOnError)
	data := fs.String("data", "", "data folder (required)")
	out := fs.String("out", "", "model directory to write (must not exist; empty: evaluate only)")
	specFile := fs.String("spec", "", "column mapping (JSON); default: user_id, item_id, timestamp, clicked, watch_seconds")
	epochs := fs.Int("epochs", 0, "epochs of both stages (0: chosen by early stopping on the last eighth of the training window)")
	maxEpochs := fs.Int("max-epochs", 20, "with -epochs 0: the most epochs tried")
	patience := fs.Int("patience", 3, "with -epochs 0: epochs without a better validation score before stopping")
	holdout := fs.String("holdout", "", `"last": hold out each user's last watch; "after=TIME" (a date or RFC 3339): train on the events before TIME, evaluate both stages on those after it`)
	quiet := fs.Bool("quiet", false, "no progress or stage lines (the JSON line only)")
	strict := fs.Bool("strict", false, "the first rejected row is an error")
	maxRejected := fs.Float64("max-rejected", ingest.DefaultMaxRejected, "share of any one file's rows that may be rejected before the run fails (1: never)")
	maxTime := fs.String("max-time", "", "latest time a row may carry, RFC 3339 or 2006-01-02 (default: now + 24h); later rows are rejected")
	fromMemory := fs.Bool("from-memory", false, "build all examples in memory first (to compare with streaming)")
	tableOpt := fs.String("table-optimizer", "adam", "embedding/softmax table optimizer: adam or rowwise-adagrad")
	hnsw := fs.Bool("hnsw", false, "also build an HNSW index into the model directory")
	tmp := fs.String("tmp", "", "folder for the spill files (default: the system's)")
	seed := fs.Uint64("seed", 1, "seed")
	warm := fs.String("warm-start", "", "previous model directory to continue from (its models, optimizer states and vocabularies); training examples start where its window ended")
	decay := fs.Float64("decay", train.DefaultDecay, "with -warm-start: the weight of the previous model's counts and normalizers")
	since := fs.String("since", "", "draw training examples from this time on (a date or RFC 3339); earlier events build users' state only (default with -warm-start: the previous window's end)")
	lookback := fs.Duration("lookback", pipe.DefaultLookback, "with -since or -warm-start: how far before the first training example the log is read")
	untilFlag := fs.String("until", "", "read the log as it stood at this time (a date or RFC 3339): later events are skipped")
	fs.Parse(args)
	if *data == "" {
		return errors.New("train: -data is required")
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["decay"] && *warm == "" {
		return errors.New("train: -decay weighs a previous model's counts: it needs -warm-start")
	}
	if set["lookback"] && *warm == "" && *since == "" {
		return errors.New("train: -lookback bounds the read before the first training example: it needs -since or -warm-start")
	}
	sinceMs, err := parseTime("since", *since)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	untilMs, err := parseTime("until", *untilFlag)
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if !(*decay > 0 && *decay <= 1) {
		return fmt.Errorf("train: -decay %v must lie in (0, 1]", *decay)
	}
	if *lookback <= 0 {
		return fmt.Errorf("train: -lookback %v must be positive", *lookback)
	}
	h, err := pipe.ParseHoldout(*holdout)
	if err != nil {
		return fmt.Errorf("train: -%w", err)
	}
	if *maxRejected <= 0 || *maxRejected > 1 {
		return fmt.Errorf("train: -max-rejected %v must lie in (0, 1] (use -strict to reject nothing)", *maxRejected)
	}
	var until time.Time
	if *maxTime != "" {
		var err error
		if until, err = time.Parse(time.RFC3339, *maxTime); err != nil {
			if until, err = time.Parse(time.DateOnly, *maxTime); err != nil {
				return fmt.Errorf("train: -max-time %q: want RFC 3339 (2026-01-02T15:04:05Z) or a date (2026-01-02)", *maxTime)
			}
		}
	}
	o := pipe.Options{Data: *data, Out: *out, Epochs: *epochs, MaxEpochs: *maxEpochs, Patience: *patience, Holdout: h, Strict: *strict, MaxRejected: *maxRejected, MaxTime: until,
		FromMemory: *fromMemory, HNSW: *hnsw, TempDir: *tmp, Seed: *seed, Candgen: pipe.DefaultCandgen(),
		WarmStart: *warm, Decay: *decay, Since: sinceMs, Until: untilMs, Lookback: *lookback}
	switch train.TableOptimizer(*tableOpt) {
	case train.TableAdam:
	case train.TableRowAdagrad:
		o.Candgen.TableOptimizer, o.Candgen.EmbeddingLR = train.TableRowAdagrad, 0.1
	default:
		return fmt.Errorf("train: -table-optimizer %q: adam or rowwise-adagrad", *tableOpt)
	}
	if *specFile != "" {
		s, err := ingest.ReadSpec(*specFile)
		if err != nil {
			return err
		}
		o.Spec = &s
	}
	if !*quiet {
		o.Progress, o.Log = os.Stderr, os.Stderr
	}
	m, err := pipe.Run(ctx, o)
	if err != nil {
		return err
	}
	return writeJSON(os.Stdout, m)
}

// parseTime reads a time flag (a date, midnight UTC, or RFC 3339) as Unix
// ms; "" is 0.
func parseTime(name, v string) (int64, error) {
	if v == "" {
		return 0, nil
	}
	ms, err := pipe.ParseTime(v)
	if err != nil {
		return 0, fmt.Errorf("-%s: %w", name, err)
	}
	return ms, nil
}

// writeJSON writes the run's metrics as one JSON line (a non-finite
// metric as null, named on stderr).
func writeJSON(w io.Writer, m map[string]any) error {
	raw, nonFinite, err := eval.MarshalJSON(m)
	if err != nil {
		return err
	}
	if len(nonFinite) > 0 {
		fmt.Fprintln(os.Stderr, "pipeline: non-finite metrics (written as null):", strings.Join(nonFinite, ", "))
	}
	_, err = fmt.Fprintln(w, string(raw))
	return err
}

func evalCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("eval", flag.ExitOnError)
	model := fs.String("model", "", "model directory (required)")
	data := fs.String("data", "", "log folder (required)")
	after := fs.String("after", "", "start of the evaluation window: a date (2022-04-29) or RFC 3339 (required)")
	specFile := fs.String("spec", "", "column mapping (JSON; default: the default mapping)")
	scores := fs.String("scores", "", "write one CSV row per evaluated impression: user_id, item_id, time_ms, score (expected watch time, s), clicked, watch_seconds")
	quiet := fs.Bool("quiet", false, "no stage lines (the JSON line only)")
	tmp := fs.String("tmp", "", "folder for the spill files (default: the system's)")
	frozen := fs.Bool("frozen-stats", false, "score with the running video statistics frozen at the model's window end, as the server holds them (default: updated by the later log)")
	until := fs.String("until", "", "end of the evaluation window (default: the end of the log)")
	fs.Parse(args)
	if *model == "" || *data == "" || *after == "" {
		return errors.New("eval: -model, -data and -after are required")
	}
	untilMs, err := parseTime("until", *until)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	afterMs, err := parseTime("after", *after)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	o := pipe.EvalOptions{Model: *model, Data: *data, After: afterMs, Until: untilMs, Scores: *scores, TempDir: *tmp, FrozenStats: *frozen}
	if *specFile != "" {
		s, err := ingest.ReadSpec(*specFile)
		if err != nil {
			return err
		}
		o.Spec = &s
	}
	if !*quiet {
		o.Log = os.Stderr
	}
	m, err := pipe.Eval(ctx, o)
	if err != nil {
		return err
	}
	return writeJSON(os.Stdout, m)
}

// ExitWorse is compare's exit status when model B is worse than model A
// beyond the tolerance (0: B no worse; 1: an error; 2: bad flags).
const ExitWorse = 3

// compareCmd runs the promotion gate: both models on the same window; it
// reports whether B is worse.
func compareCmd(ctx context.Context, args []string) (bool, error) {
	fs := flag.NewFlagSet("compare", flag.ExitOnError)
	a := fs.String("a", "", "model directory A, the one serving now (required)")
	b := fs.String("b", "", "model directory B, the candidate (required)")
	data := fs.String("data", "", "log folder (required)")
	after := fs.String("after", "", "start of the evaluation window, after both models' training windows: a date or RFC 3339 (required)")
	metric := fs.String("metric", "hr@50_all", "the gating metric (any metric eval prints; a name with \"loss\" is better lower)")
	tol := fs.Float64("tolerance", 0.01, "how much worse B may be on the metric, in its units")
	specFile := fs.String("spec", "", "column mapping (JSON; default: the default mapping)")
	frozen := fs.Bool("frozen-stats", false, "score with the running statistics frozen at each model's window end")
	tmp := fs.String("tmp", "", "folder for the spill files (default: the system's)")
	quiet := fs.Bool("quiet", false, "no stage lines (the JSON line only)")
	until := fs.String("until", "", "end of the evaluation window (default: the end of the log)")
	fs.Parse(args)
	if *a == "" || *b == "" || *data == "" || *after == "" || *metric == "" {
		return false, errors.New("compare: -a, -b, -data, -after and -metric are required")
	}
	if fs.NArg() > 0 {
		return false, fmt.Errorf("compare: unexpected arguments %q (flags come before them?)", fs.Args())
	}
	untilMs, err := parseTime("until", *until)
	if err != nil {
		return false, fmt.Errorf("compare: %w", err)
	}
	afterMs, err := parseTime("after", *after)
	if err != nil {
		return false, fmt.Errorf("compare: %w", err)
	}
	o := pipe.CompareOptions{A: *a, B: *b, Metric: *metric, Tolerance: *tol,
		EvalOptions: pipe.EvalOptions{Data: *data, After: afterMs, Until: untilMs, TempDir: *tmp, FrozenStats: *frozen}}
	if *specFile != "" {
		s, err := ingest.ReadSpec(*specFile)
		if err != nil {
			return false, err
		}
		o.Spec = &s
	}
	if !*quiet {
		o.Log = os.Stderr
	}
	c, err := pipe.Compare(ctx, o)
	if err != nil {
		return false, err
	}
	verdict := "B is not worse: promote it"
	if c.Worse {
		verdict = "B is worse: keep A"
	}
	fmt.Fprintf(os.Stderr, "compare: %s A %.4f, B %.4f (tolerance %g): %s\n", c.Metric, c.A, c.B, c.Tolerance, verdict)
	return c.Worse, writeJSON(os.Stdout, c.Metrics)
}

// metricsCmd measures a scores file (eval's -scores format, written by
// ytdnn or any other tool for the same rows) with the ranking metrics.
func metricsCmd(args []string) error {
	fs := flag.NewFlagSet("metrics", flag.ExitOnError)
	scores := fs.String("scores", "", "CSV: user_id,item_id,time_ms,score,clicked,watch_seconds (required)")
	fs.Parse(args)
	if *scores == "" {
		return errors.New("metrics: -scores is required")
	}
	m, err := pipe.ScoreFile(*scores)
	if err != nil {
		return err
	}
	return writeJSON(os.Stdout, m)
}

func exportItems(args []string) error {
	fs := flag.NewFlagSet("export", flag.ExitOnError)
	model := fs.String("model", "", "model directory (required)")
	format := fs.String("format", "npy", "npy (PATH is a folder: items.npy, ids.npy), parquet (PATH is a file) or onnx (PATH is a folder: user_tower.onnx, ranker.onnx, signature.json)")
	out := fs.String("out", "", "output path (required, but for -format weaviate)")
	wurl := fs.String("url", "", "with -format weaviate: the engine, weaviate://HOST:PORT or http://HOST:PORT")
	collection := fs.String("collection", "", "with -format weaviate: the collection to create ({model}: the model's version)")
	fs.Parse(args)
	if *format == "weaviate" {
		if *model == "" || *wurl == "" || *collection == "" {
			return errors.New("export: -format weaviate needs -model, -url and -collection")
		}
		return exportWeaviate(*model, *wurl, *collection)
	}
	if *model == "" || *out == "" {
		return errors.New("export: -model and -out are required")
	}
	m, err := modeldir.Load(*model)
	if err != nil {
		return err
	}
	if *format == "onnx" {
		return exportONNX(m, *out)
	}
	ids, vecs, dim := export.ModelItems(m.Candgen)
	switch *format {
	case "npy":
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return err
		}
		if err := binfmt.WriteFileAtomic(filepath.Join(*out, "items.npy"), func(w io.Writer) error {
			return export.WriteNPYFloat32(w, vecs, len(ids), dim)
		}); err != nil {
			return err
		}
		if err := binfmt.WriteFileAtomic(filepath.Join(*out, "ids.npy"), func(w io.Writer) error {
			return export.WriteNPYInt64(w, ids, len(ids))
		}); err != nil {
			return err
		}
	case "parquet":
		if err := binfmt.WriteFileAtomic(*out, func(w io.Writer) error { return export.WriteParquet(w, ids, vecs, dim) }); err != nil {
			return err
		}
	default:
		return fmt.Errorf("export: -format %q: npy, parquet, onnx or weaviate", *format)
	}
	fmt.Fprintf(os.Stderr, "exported %d items of dimension %d (queries are [u, 1]) to %s\n", len(ids), dim, *out)
	return nil
}

// exportONNX writes the user tower and the ranker as ONNX models into
// the folder out, with signature.json documenting their inputs; a model
// ONNX cannot express is an error naming the feature, and out is then not
// created.
func exportONNX(m *modeldir.Model, out string) error {
	text := m.Layout.TextSpaces(m.Dicts)
	files := map[string][]byte{}
	sigs := map[string]export.ONNXSignature{}
	var buf bytes.Buffer
	sig, err := export.UserTowerONNX(&buf, m.Candgen, text)
	if err != nil {
		return fmt.Errorf("export: user tower: %w", err)
	}
	files["user_tower.onnx"], sigs["user_tower.onnx"] = bytes.Clone(buf.Bytes()), sig
	if m.Ranking != nil {
		buf.Reset()
		if sig, err = export.RankerONNX(&buf, m.Ranking, text); err != nil {
			return fmt.Errorf("export: ranker: %w", err)
		}
		files["ranker.onnx"], sigs["ranker.onnx"] = bytes.Clone(buf.Bytes()), sig
	}
	raw, err := json.MarshalIndent(sigs, "", "  ")
	if err != nil {
		return err
	}
	files["signature.json"] = append(raw, '\n')
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if m.Ranking == nil { // a ranker of an earlier export does not stay beside this one
		if err := os.Remove(filepath.Join(out, "ranker.onnx")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	for _, name := range []string{"user_tower.onnx", "ranker.onnx", "signature.json"} {
		if b, ok := files[name]; ok {
			if err := binfmt.WriteFileAtomic(filepath.Join(out, name), func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(os.Stderr, "exported the user tower (output user_vector = [u, 1])%s as ONNX (opset %d, ai.onnx.ml %d) to %s; inputs in signature.json\n",
		map[bool]string{true: " and the ranker (logit, expected_watch_time)", false: ""}[m.Ranking != nil], export.ONNXOpset, export.ONNXMLOpset, out)
	return nil
}

// exportWeaviate writes the model's items into a Weaviate collection of
// their own (see package retrieval/weaviate).
func exportWeaviate(dir, rawURL, collection string) error {
	t, err := weaviate.ParseURL(strings.TrimSuffix(rawURL, "/") + "/" + collection)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	m, err := modeldir.Load(dir)
	if err != nil {
		return err
	}
	vecs, ids := m.Candgen.Items()
	d1 := m.Candgen.D() + 1
	items := make([]weaviate.Item, len(ids))
	for i, id := range ids {
		text := strconv.FormatInt(id, 10)
		if m.Dicts != nil && m.Dicts.Videos != nil {
			if t, ok := m.Dicts.Videos.Text(id); ok {
				text = t
			}
		}
		items[i] = weaviate.Item{Row: int32(i + 1), VideoID: text, Vector: vecs[i*d1 : (i+1)*d1]}
	}
	version := weaviate.Version(m.Manifest.Files[modeldir.CandgenFile].SHA256)
	t0 := time.Now()
	name, err := weaviate.Export(context.Background(), t, version, items, nil)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	fmt.Fprintf(os.Stderr, "exported %d items of dimension %d (model %s) to the collection %s in %.1fs; serve with -retrieval weaviate://%s/%s\n",
		len(items), d1, version, name, time.Since(t0).Seconds(), t.Host, t.Collection)
	return nil
}
