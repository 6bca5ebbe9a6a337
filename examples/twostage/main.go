package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/eval"
	"github.com/ytdnn/ytdnn/examples/world"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/internal/progress"
	"github.com/ytdnn/ytdnn/ranking"
	"github.com/ytdnn/ytdnn/retrieval"
	"github.com/ytdnn/ytdnn/train"
)

type options struct {
	users, videos, topics, watches int
	cgEpochs, rkEpochs             int
	batch, neg                     int
	tower, rankTower               string
	lr                             float64
	evalUsers, candidates          int
	index                          string
	seed                           uint64
	quiet                          bool
	out                            io.Writer
	progress                       io.Writer
}

func parseTower(s string) ([]int, error) {
	if s == "" || s == "none" {
		return []int{}, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad tower %q", s)
		}
		out = append(out, n)
	}
	return out, nil
}

func main() {
	var o options
	flag.IntVar(&o.users, "users", 10000, "users in the generated world")
	flag.IntVar(&o.videos, "videos", 5000, "videos in the generated world")
	flag.IntVar(&o.topics, "topics", 20, "topics in the generated world")
	flag.IntVar(&o.watches, "watches", 30, "watches per user")
	flag.IntVar(&o.cgEpochs, "epochs", 4, "candidate generation epochs")
	flag.IntVar(&o.rkEpochs, "rank-epochs", 3, "ranking epochs")
	flag.IntVar(&o.batch, "batch", 512, "minibatch size")
	flag.IntVar(&o.neg, "neg", 500, "sampled negatives per batch")
	flag.StringVar(&o.tower, "tower", "256,128,64", "candidate generation tower (last = D)")
	flag.StringVar(&o.rankTower, "rank-tower", "128,64", "ranking hidden layers")
	flag.Float64Var(&o.lr, "lr", 0.002, "Adam learning rate")
	flag.IntVar(&o.evalUsers, "eval-users", 500, "users for the end-to-end evaluation")
	flag.IntVar(&o.candidates, "candidates", 200, "candidates retrieved per user for ranking")
	flag.StringVar(&o.index, "index", "exact", "retrieval index: exact or hnsw")
	flag.Uint64Var(&o.seed, "seed", 1, "random seed")
	flag.BoolVar(&o.quiet, "quiet", false, "no progress bars or commentary; only the JSON line")
	flag.Parse()
	o.out, o.progress = os.Stdout, os.Stderr
	if o.quiet {
		o.out, o.progress = io.Discard, nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	metrics, err := run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "twostage:", err)
		os.Exit(1)
	}
	line, nonFinite, err := eval.MarshalJSON(metrics)
	if err != nil {
		fmt.Fprintln(os.Stderr, "twostage: metrics:", err)
		os.Exit(1)
	}
	if len(nonFinite) > 0 {
		fmt.Fprintln(os.Stderr, "twostage: non-finite metrics (written as null):", strings.Join(nonFinite, ", "))
	}
	fmt.Println(string(line))
}

// demo is one run of the example: the world, both stages and what the
// steps hand each other.
type demo struct {
	o       options
	metrics map[string]any
	w       *world.World
	rng     *rand.Rand
	t0      time.Time
	cgData  []candgen.Example
	cg      *candgen.Model
	rk      *ranking.Model
	// perm splits the users: the ranker trains on perm[:cut]; evaluation
	// users come from the rest, so the end-to-end metric never scores a
	// user whose impressions the ranker saw.
	perm      []int
	cut       int
	evalUsers []int
	exs       []feature.Example // each evaluation user before the held-out last watch
	watched   [][]int64
	pop       []int64 // most popular videos of the training examples
	recs      [][]candgen.Scored
}

func (d *demo) say(format string, a ...any) { fmt.Fprintf(d.o.out, format+"\n", a...) }

func run(ctx context.Context, o options) (map[string]any, error) {
	cgTower, err := parseTower(o.tower)
	if err != nil {
		return nil, err
	}
	rkTower, err := parseTower(o.rankTower)
	if err != nil {
		return nil, err
	}
	if len(cgTower) == 0 {
		return nil, fmt.Errorf("the candidate generation tower needs at least one layer")
	}
	d := &demo{o: o, metrics: map[string]any{}, t0: time.Now()}
	if d.w, err = world.New(world.Config{Users: o.users, Videos: o.videos, Topics: o.topics, Watches: o.watches, Seed: o.seed}); err != nil {
		return nil, err
	}
	d.say("world: %d users, %d videos, %d topics, %d watches/user (%.1fs)", o.users, o.videos, o.topics, o.watches, time.Since(d.t0).Seconds())
	d.rng = rand.New(rand.NewPCG(o.seed, 77))
	for _, step := range []func(context.Context) error{
		func(ctx context.Context) error { return d.trainCandgen(ctx, cgTower) },
		d.retrieve,
		func(ctx context.Context) error { return d.trainRanking(ctx, rkTower) },
		d.endToEnd,
	} {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	d.metrics["seconds"] = round(time.Since(d.t0).Seconds())
	return d.metrics, nil
}

// trainCandgen trains stage 1 on every user's next-watch examples and
// picks the evaluation users.
func (d *demo) trainCandgen(ctx context.Context, tower []int) error {
	o := d.o
	d.cgData = d.w.CandgenData(0, d.rng)
	cfg := train.CandgenConfig{Spec: world.CandgenSpec(), ExampleAge: true, Tower: tower, Negatives: o.neg, Options: train.Options{Batch: o.batch, Epochs: o.cgEpochs, LR: float32(o.lr), Seed: o.seed, Progress: o.progress}}
	cg, st, err := train.Candgen(ctx, cfg, d.cgData)
	if err != nil {
		return err
	}
	d.cg = cg
	d.say("candgen: %d examples × %d epochs, %.0f examples/s, final loss %.3f", st.Examples, st.Epochs, st.ExamplesPerSec, st.Loss)
	d.metrics["candgen_train_examples"] = st.Examples
	d.metrics["candgen_examples_per_sec"] = round(st.ExamplesPerSec)
	d.perm = d.rng.Perm(len(d.w.Users))
	d.cut = len(d.perm) * 8 / 10
	nEval := min(o.evalUsers, len(d.perm)-d.cut)
	d.evalUsers = d.perm[d.cut : d.cut+nEval]
	d.pop = eval.MostPopular(eval.CountLabels(d.cgData, func(e candgen.Example) int64 { return e.Label }))
	d.exs = make([]feature.Example, nEval)
	d.watched = make([][]int64, nEval)
	for i, ui := range d.evalUsers {
		u := &d.w.Users[ui]
		d.exs[i] = d.w.UserFeatures(u, len(u.Watches)-1)
		for _, wt := range u.Watches[:len(u.Watches)-1] {
			d.watched[i] = append(d.watched[i], wt.Video)
		}
	}
	return nil
}

// retrieve retrieves the evaluation users' candidates (exact, or HNSW
// measured against exact) and scores the held-out last watch, history
// filtered, against most popular.
func (d *demo) retrieve(ctx context.Context) error {
	o := d.o
	t1 := time.Now()
	recs, err := d.cg.RecommendBatch(ctx, d.exs, o.candidates, d.watched)
	if err != nil {
		return err
	}
	d.say("retrieval: exact top-%d for %d users in %.2fs", o.candidates, len(d.exs), time.Since(t1).Seconds())
	switch o.index {
	case "", "exact":
	case "hnsw":
		if recs, err = d.hnsw(ctx, recs); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown -index %q (exact or hnsw)", o.index)
	}
	d.recs = recs
	var cgTally, popTally eval.Tally
	for i, ui := range d.evalUsers {
		u := &d.w.Users[ui]
		label := u.Watches[len(u.Watches)-1].Video
		cgTally.Add(scoredIDs(recs[i]), label)
		popTally.Add(eval.TopExcluding(d.pop, d.watched[i], 100), label)
	}
	eval.Put(d.metrics, "candgen_", cgTally.Metrics(eval.HistoryFiltered))
	eval.Put(d.metrics, "mostpop_", popTally.Metrics(eval.HistoryFiltered))
	for _, k := range eval.DefaultKs() {
		d.say("candgen HR@%-3d %.3f   most-popular %.3f (history filtered)", k, cgTally.HR(k), popTally.HR(k))
	}
	return nil
}

// hnsw builds the HNSW index, retrieves through it and measures its
// recall against the exact top (several relevant items per request).
func (d *demo) hnsw(ctx context.Context, exact [][]candgen.Scored) ([][]candgen.Scored, error) {
	o := d.o
	bar := progress.New(o.progress, "hnsw build", d.cg.VideoVocab().Size()-1)
	t2 := time.Now()
	idx, err := d.cg.BuildHNSW(ctx, retrieval.HNSWConfig{Seed: o.seed, Progress: func(done, _ int) { bar.Set(done, "") }})
	if err != nil {
		return nil, err
	}
	_, ids := idx.Items()
	bar.Done("")
	recs, err := d.cg.RecommendBatch(ctx, d.exs, o.candidates, d.watched)
	if err != nil {
		return nil, err
	}
	var vsExact eval.Tally
	for i := range recs {
		vsExact.AddRelevant(scoredIDs(recs[i]), scoredIDs(exact[i]))
	}
	rec := vsExact.Recall(o.candidates)
	d.metrics["hnsw_"+eval.MetricRecall.At(o.candidates, "")] = round(rec)
	d.metrics["hnsw_build_seconds"] = round(time.Since(t2).Seconds())
	d.say("retrieval: HNSW over %d videos built in %.1fs; recall@%d against exact %.3f", len(ids), time.Since(t2).Seconds(), o.candidates, rec)
	return recs, nil
}

func scoredIDs(recs []candgen.Scored) []int64 {
	ids := make([]int64, len(recs))
	for j, r := range recs {
		ids[j] = r.ID
	}
	return ids
}

// trainRanking trains stage 2 on 80% of the users' impressions and scores
// it on the others' (weighted per-user loss, click AUC, calibration).
func (d *demo) trainRanking(ctx context.Context, tower []int) error {
	o := d.o
	trImps, _ := d.w.RankingData(d.perm[:d.cut])
	teImps, teRaw := d.w.RankingData(d.perm[d.cut:])
	rcfg := train.RankingConfig{Spec: world.RankingSpec(), Tower: tower, Options: train.Options{Batch: o.batch, Epochs: o.rkEpochs, LR: float32(o.lr), Seed: o.seed, Progress: o.progress}}
	rk, rst, err := train.Ranking(ctx, rcfg, trImps)
	if err != nil {
		return err
	}
	d.rk = rk
	d.say("ranking: %d impressions × %d epochs, %.0f examples/s", rst.Examples, rst.Epochs, rst.ExamplesPerSec)
	d.metrics["ranking_examples_per_sec"] = round(rst.ExamplesPerSec)
	teEx := make([]feature.Example, len(teImps))
	for i := range teImps {
		teEx[i] = teImps[i].Features
	}
	pred, err := rk.ExpectedWatchTime(teEx)
	if err != nil {
		return err
	}
	var groups [][]eval.Scored
	items := make([]eval.Scored, len(teImps))
	for i := range teImps {
		items[i] = eval.Scored{Score: pred[i], Clicked: teImps[i].Clicked, WatchTime: teImps[i].WatchTime}
		if i == 0 || teRaw[i].Page != teRaw[i-1].Page {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], items[i])
	}
	wpl, auc := eval.WeightedPerUserLoss(groups), eval.AUC(items)
	d.say("ranking: weighted per-user loss %.3f, click AUC %.3f (held-out users)", wpl, auc)
	d.metrics["ranking_"+eval.MetricWeightedPerUserLoss.String()] = round(wpl)
	d.metrics["ranking_"+eval.MetricAUC.String()] = round(auc)
	d.calibration(items, pred, teRaw)
	return nil
}

// calibration reports exp(logit) by decile of prediction against the
// observed watch time and the ground truth. Weighted logistic regression
// learns the odds Σ watch time over clicks / number of non-clicks =
// E[T]/(1-P), which the paper approximates by E[T]·(1+P) ≈ E[T] for small
// click probabilities P. The last column is that target from the ground
// truth, so both approximations show.
func (d *demo) calibration(items []eval.Scored, pred []float64, raw []world.Impression) {
	d.say("calibration by decile of predicted watch time (predicted | observed | ground truth E[T] | ground truth E[T]/(1-P)):")
	truth := make([]eval.Scored, len(items))
	odds := make([]eval.Scored, len(items))
	for i := range items {
		truth[i] = eval.Scored{Score: pred[i], Clicked: true, WatchTime: raw[i].Expected}
		odds[i] = eval.Scored{Score: pred[i], Clicked: true, WatchTime: raw[i].Expected / (1 - raw[i].ClickProb)}
	}
	obs := eval.Calibration(items, 10)
	gt := eval.Calibration(truth, 10)
	gtOdds := eval.Calibration(odds, 10)
	// Summaries: the largest relative error of one decile (dominated by the
	// smallest deciles, where a few hundredths of a minute are many percent)
	// and the total absolute error over the total target (L1).
	var calErr, absErr, absOdds, sumGT, sumOdds float64
	for i := range obs {
		d.say("  %6.3f | %6.3f | %6.3f | %6.3f", obs[i].Predicted, obs[i].Observed, gt[i].Observed, gtOdds[i].Observed)
		calErr = max(calErr, math.Abs(obs[i].Predicted-gt[i].Observed)/math.Max(gt[i].Observed, 1e-9))
		absErr += math.Abs(obs[i].Predicted - gt[i].Observed)
		absOdds += math.Abs(obs[i].Predicted - gtOdds[i].Observed)
		sumGT += gt[i].Observed
		sumOdds += gtOdds[i].Observed
	}
	d.say("calibration error, total over deciles: %.1f%% against E[T], %.1f%% against E[T]/(1-P)", 100*absErr/sumGT, 100*absOdds/sumOdds)
	d.metrics["ranking_calibration_max_rel_err"] = round(calErr)
	d.metrics["ranking_calibration_l1_rel_err"] = round(absErr / sumGT)
	d.metrics["ranking_odds_calibration_l1_rel_err"] = round(absOdds / sumOdds)
}

// endToEnd ranks each evaluation user's candidates and scores the top 10
// by ground truth: two-stage, candidate generation alone, most popular and
// the oracle.
func (d *demo) endToEnd(ctx context.Context) error {
	w := d.w
	var e2e, cgOnly, popOnly, oracle float64
	for i, ui := range d.evalUsers {
		if err := ctx.Err(); err != nil {
			return err
		}
		u := &w.Users[ui]
		ctxU := w.NewRankContext(u)
		recs := d.recs[i]
		cands := make([]feature.Example, len(recs))
		for j, r := range recs {
			cands[j] = w.Features(ctxU, r.ID)
		}
		ranked, err := d.rk.Rank(scoredIDs(recs), cands)
		if err != nil {
			return err
		}
		for j := 0; j < 10 && j < len(ranked); j++ {
			e2e += w.ExpectedWatch(u, ranked[j].ID)
			cgOnly += w.ExpectedWatch(u, recs[j].ID)
		}
		for _, id := range eval.TopExcluding(d.pop, d.watched[i], 10) {
			popOnly += w.ExpectedWatch(u, id)
		}
		oracle += oracleTop10(w, u, d.watched[i])
		if i < 3 && !isDiscard(d.o.out) {
			d.say("user %d (topics %v): top 5 after ranking:", u.ID, u.Topics)
			for _, r := range ranked[:min(5, len(ranked))] {
				v := w.Video(r.ID)
				d.say("    video %-6d topic %-3d expected watch %.2f (truth %.2f)", r.ID, v.Topic, r.ExpectedWatchTime, w.ExpectedWatch(u, r.ID))
			}
		}
	}
	n := float64(len(d.evalUsers) * 10)
	d.metrics["e2e_top10_true_watch"] = round(e2e / n)
	d.metrics["candgen_top10_true_watch"] = round(cgOnly / n)
	d.metrics["mostpop_top10_true_watch"] = round(popOnly / n)
	d.metrics["oracle_top10_true_watch"] = round(oracle / n)
	d.say("end-to-end top-10 mean true expected watch: two-stage %.3f, candgen only %.3f, most-popular %.3f, oracle %.3f",
		e2e/n, cgOnly/n, popOnly/n, oracle/n)
	return nil
}

func isDiscard(w io.Writer) bool { return w == io.Discard }

func round(x float64) float64 { return math.Round(x*1e4) / 1e4 }

func oracleTop10(w *world.World, u *world.User, watched []int64) float64 {
	ex := map[int64]bool{}
	for _, id := range watched {
		ex[id] = true
	}
	var best []float64
	for i := range w.Videos {
		if !ex[w.Videos[i].ID] {
			best = append(best, w.ExpectedWatch(u, w.Videos[i].ID))
		}
	}
	slices.Sort(best)
	s := 0.0
	for _, v := range best[max(0, len(best)-10):] {
		s += v
	}
	return s
}
