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
	say := func(format string, a ...any) { fmt.Fprintf(o.out, format+"\n", a...) }
	metrics := map[string]any{}
	t0 := time.Now()
	w, err := world.New(world.Config{Users: o.users, Videos: o.videos, Topics: o.topics, Watches: o.watches, Seed: o.seed})
	if err != nil {
		return nil, err
	}
	say("world: %d users, %d videos, %d topics, %d watches/user (%.1fs)", o.users, o.videos, o.topics, o.watches, time.Since(t0).Seconds())
	rng := rand.New(rand.NewPCG(o.seed, 77))

	// Stage 1: candidate generation.
	cgData := w.CandgenData(0, rng)
	cfg := train.CandgenConfig{Spec: world.CandgenSpec(), ExampleAge: true, Tower: cgTower, Negatives: o.neg, Options: train.Options{Batch: o.batch, Epochs: o.cgEpochs, LR: float32(o.lr), Seed: o.seed, Progress: o.progress}}
	cg, st, err := train.Candgen(ctx, cfg, cgData)
	if err != nil {
		return nil, err
	}
	say("candgen: %d examples × %d epochs, %.0f examples/s, final loss %.3f", st.Examples, st.Epochs, st.ExamplesPerSec, st.Loss)
	metrics["candgen_train_examples"] = st.Examples
	metrics["candgen_examples_per_sec"] = round(st.ExamplesPerSec)

	// The ranker trains on 80% of the users' impressions; the evaluation
	// users are drawn from the other 20%, so the end-to-end metric never
	// scores a user whose impressions the ranker saw.
	perm := rng.Perm(len(w.Users))
	cut := len(perm) * 8 / 10
	// Held-out last watch of evaluation users, history filtered: HR@K
	// against most popular.
	nEval := min(o.evalUsers, len(perm)-cut)
	evalUsers := perm[cut : cut+nEval]
	pop := eval.MostPopular(eval.CountLabels(cgData, func(e candgen.Example) int64 { return e.Label }))
	exs := make([]feature.Example, nEval)
	watched := make([][]int64, nEval)
	for i, ui := range evalUsers {
		u := &w.Users[ui]
		exs[i] = w.UserFeatures(u, len(u.Watches)-1)
		for _, wt := range u.Watches[:len(u.Watches)-1] {
			watched[i] = append(watched[i], wt.Video)
		}
	}
	t1 := time.Now()
	recs, err := cg.RecommendBatch(ctx, exs, o.candidates, watched)
	if err != nil {
		return nil, err
	}
	say("retrieval: exact top-%d for %d users in %.2fs", o.candidates, nEval, time.Since(t1).Seconds())
	switch o.index {
	case "", "exact":
	case "hnsw":
		exact := recs
		bar := progress.New(o.progress, "hnsw build", cg.VideoVocab().Size()-1)
		t2 := time.Now()
		idx, err := cg.BuildHNSW(ctx, retrieval.HNSWConfig{Seed: o.seed, Progress: func(done, _ int) { bar.Set(done, "") }})
		if err != nil {
			return nil, err
		}
		_, ids := idx.Items()
		bar.Done("")
		if recs, err = cg.RecommendBatch(ctx, exs, o.candidates, watched); err != nil {
			return nil, err
		}
		// Recall of HNSW's top candidates against the exact top (several
		// relevant items per request).
		var vsExact eval.Tally
		for i := range recs {
			got, want := make([]int64, len(recs[i])), make([]int64, len(exact[i]))
			for j, r := range recs[i] {
				got[j] = r.ID
			}
			for j, r := range exact[i] {
				want[j] = r.ID
			}
			vsExact.AddRelevant(got, want)
		}
		rec := vsExact.Recall(o.candidates)
		metrics["hnsw_"+eval.MetricRecall.At(o.candidates, "")] = round(rec)
		metrics["hnsw_build_seconds"] = round(time.Since(t2).Seconds())
		say("retrieval: HNSW over %d videos built in %.1fs; recall@%d against exact %.3f", len(ids), time.Since(t2).Seconds(), o.candidates, rec)
	default:
		return nil, fmt.Errorf("unknown -index %q (exact or hnsw)", o.index)
	}
	var cgTally, popTally eval.Tally
	for i, ui := range evalUsers {
		u := &w.Users[ui]
		label := u.Watches[len(u.Watches)-1].Video
		ids := make([]int64, len(recs[i]))
		for j, r := range recs[i] {
			ids[j] = r.ID
		}
		cgTally.Add(ids, label)
		popTally.Add(eval.TopExcluding(pop, watched[i], 100), label)
	}
	eval.Put(metrics, "candgen_", cgTally.Metrics(eval.HistoryFiltered))
	eval.Put(metrics, "mostpop_", popTally.Metrics(eval.HistoryFiltered))
	for _, k := range eval.DefaultKs() {
		say("candgen HR@%-3d %.3f   most-popular %.3f (history filtered)", k, cgTally.HR(k), popTally.HR(k))
	}

	// Stage 2: ranking, trained on 80% of users' impressions.
	trImps, _ := w.RankingData(perm[:cut])
	teImps, teRaw := w.RankingData(perm[cut:])
	rcfg := train.RankingConfig{Spec: world.RankingSpec(), Tower: rkTower, Options: train.Options{Batch: o.batch, Epochs: o.rkEpochs, LR: float32(o.lr), Seed: o.seed, Progress: o.progress}}
	rk, rst, err := train.Ranking(ctx, rcfg, trImps)
	if err != nil {
		return nil, err
	}
	say("ranking: %d impressions × %d epochs, %.0f examples/s", rst.Examples, rst.Epochs, rst.ExamplesPerSec)
	metrics["ranking_examples_per_sec"] = round(rst.ExamplesPerSec)
	teEx := make([]feature.Example, len(teImps))
	for i := range teImps {
		teEx[i] = teImps[i].Features
	}
	pred, err := rk.ExpectedWatchTime(teEx)
	if err != nil {
		return nil, err
	}
	var groups [][]eval.Scored
	items := make([]eval.Scored, len(teImps))
	truth := make([]eval.Scored, len(teImps))
	for i := range teImps {
		items[i] = eval.Scored{Score: pred[i], Clicked: teImps[i].Clicked, WatchTime: teImps[i].WatchTime}
		truth[i] = eval.Scored{Score: pred[i], Clicked: true, WatchTime: teRaw[i].Expected}
		if i == 0 || teRaw[i].Page != teRaw[i-1].Page {
			groups = append(groups, nil)
		}
		groups[len(groups)-1] = append(groups[len(groups)-1], items[i])
	}
	wpl, auc := eval.WeightedPerUserLoss(groups), eval.AUC(items)
	say("ranking: weighted per-user loss %.3f, click AUC %.3f (held-out users)", wpl, auc)
	metrics["ranking_"+eval.MetricWeightedPerUserLoss.String()] = round(wpl)
	metrics["ranking_"+eval.MetricAUC.String()] = round(auc)
	// Weighted logistic regression learns the odds Σ watch time over clicks
	// / number of non-clicks = E[T]/(1-P), which the paper approximates by
	// E[T]·(1+P) ≈ E[T] for small click probabilities P. The last column is
	// that target from the ground truth, so both approximations show.
	say("calibration by decile of predicted watch time (predicted | observed | ground truth E[T] | ground truth E[T]/(1-P)):")
	odds := make([]eval.Scored, len(teImps))
	for i := range teImps {
		odds[i] = eval.Scored{Score: pred[i], Clicked: true, WatchTime: teRaw[i].Expected / (1 - teRaw[i].ClickProb)}
	}
	obs := eval.Calibration(items, 10)
	gt := eval.Calibration(truth, 10)
	gtOdds := eval.Calibration(odds, 10)
	// Summaries: the largest relative error of one decile (dominated by the
	// smallest deciles, where a few hundredths of a minute are many percent)
	// and the total absolute error over the total target (L1).
	var calErr, absErr, absOdds, sumGT, sumOdds float64
	for i := range obs {
		say("  %6.3f | %6.3f | %6.3f | %6.3f", obs[i].Predicted, obs[i].Observed, gt[i].Observed, gtOdds[i].Observed)
		calErr = max(calErr, math.Abs(obs[i].Predicted-gt[i].Observed)/math.Max(gt[i].Observed, 1e-9))
		absErr += math.Abs(obs[i].Predicted - gt[i].Observed)
		absOdds += math.Abs(obs[i].Predicted - gtOdds[i].Observed)
		sumGT += gt[i].Observed
		sumOdds += gtOdds[i].Observed
	}
	say("calibration error, total over deciles: %.1f%% against E[T], %.1f%% against E[T]/(1-P)", 100*absErr/sumGT, 100*absOdds/sumOdds)
	metrics["ranking_calibration_max_rel_err"] = round(calErr)
	metrics["ranking_calibration_l1_rel_err"] = round(absErr / sumGT)
	metrics["ranking_odds_calibration_l1_rel_err"] = round(absOdds / sumOdds)

	// End to end: candgen → ranking → top 10, scored by ground truth.
	var e2e, cgOnly, popOnly, oracle float64
	for i, ui := range evalUsers {
		u := &w.Users[ui]
		ctxU := w.NewRankContext(u)
		ids := make([]int64, len(recs[i]))
		cands := make([]feature.Example, len(recs[i]))
		for j, r := range recs[i] {
			ids[j], cands[j] = r.ID, w.Features(ctxU, r.ID)
		}
		ranked, err := rk.Rank(ids, cands)
		if err != nil {
			return nil, err
		}
		for j := 0; j < 10 && j < len(ranked); j++ {
			e2e += w.ExpectedWatch(u, ranked[j].ID)
			cgOnly += w.ExpectedWatch(u, recs[i][j].ID)
		}
		for _, id := range eval.TopExcluding(pop, watched[i], 10) {
			popOnly += w.ExpectedWatch(u, id)
		}
		oracle += oracleTop10(w, u, watched[i])
		if i < 3 && !isDiscard(o.out) {
			say("user %d (topics %v): top 5 after ranking:", u.ID, u.Topics)
			for _, r := range ranked[:min(5, len(ranked))] {
				v := w.Video(r.ID)
				say("    video %-6d topic %-3d expected watch %.2f (truth %.2f)", r.ID, v.Topic, r.ExpectedWatchTime, w.ExpectedWatch(u, r.ID))
			}
		}
	}
	n := float64(nEval * 10)
	metrics["e2e_top10_true_watch"] = round(e2e / n)
	metrics["candgen_top10_true_watch"] = round(cgOnly / n)
	metrics["mostpop_top10_true_watch"] = round(popOnly / n)
	metrics["oracle_top10_true_watch"] = round(oracle / n)
	say("end-to-end top-10 mean true expected watch: two-stage %.3f, candgen only %.3f, most-popular %.3f, oracle %.3f",
		e2e/n, cgOnly/n, popOnly/n, oracle/n)
	metrics["seconds"] = round(time.Since(t0).Seconds())
	return metrics, nil
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
