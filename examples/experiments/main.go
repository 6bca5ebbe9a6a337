package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/examples/world"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/ranking"
)

type options struct {
	users, videos, watches int
	epochs, rankEpochs     int
	evalUsers              int
	maxDepth               int
	dim                    int
	seed                   uint64
	out                    string
	log                    io.Writer
}

func main() {
	var o options
	flag.IntVar(&o.users, "users", 6000, "users in the generated world")
	flag.IntVar(&o.videos, "videos", 4000, "videos in the generated world")
	flag.IntVar(&o.watches, "watches", 25, "watches per user")
	flag.IntVar(&o.epochs, "epochs", 3, "candidate generation epochs per model")
	flag.IntVar(&o.rankEpochs, "rank-epochs", 2, "ranking epochs per model")
	flag.IntVar(&o.evalUsers, "eval-users", 2000, "held-out users scored for recall")
	flag.IntVar(&o.maxDepth, "max-depth", 4, "deepest candgen tower (0..4)")
	flag.IntVar(&o.dim, "dim", 64, "user-vector dimension D")
	flag.Uint64Var(&o.seed, "seed", 1, "random seed")
	flag.StringVar(&o.out, "out", "experiments-out", "output folder for results.md and the PNG plots")
	quiet := flag.Bool("quiet", false, "no commentary")
	flag.Parse()
	o.log = os.Stderr
	if *quiet {
		o.log = io.Discard
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "experiments:", err)
		os.Exit(1)
	}
}

// featureSets are the paper's feature families, added one at a time: the
// indices into world.CandgenSpec().Features, and whether example age is on.
var featureSets = []struct {
	name string
	keep []int
	age  bool
}{
	{"watches", []int{0}, false},
	{"+ searches", []int{0, 1}, false},
	{"+ demographics", []int{0, 1, 2, 3, 4, 5, 6}, false},
	{"+ example age", []int{0, 1, 2, 3, 4, 5, 6}, true},
}

// tower returns the candgen tower of a depth: depth 0 is a linear map to D,
// depth d adds d ReLU layers, widest at the bottom (D·2^d … D·2), under the
// linear output layer (the runs set LinearTop).
func tower(depth, dim int) []int {
	var t []int
	for l := depth; l >= 1; l-- {
		t = append(t, dim<<l)
	}
	return append(t, dim)
}

func project(ex feature.Example, keep []int) feature.Example {
	out := feature.Example{IDs: make([][]int64, len(keep)), Nums: make([]float64, len(keep))}
	for i, k := range keep {
		out.IDs[i], out.Nums[i] = ex.IDs[k], ex.Nums[k]
	}
	return out
}

type cgResult struct {
	set    string
	depth  int
	recall float64
	secs   float64
}

func run(ctx context.Context, o options) error {
	if o.maxDepth < 0 || o.maxDepth > 4 {
		return fmt.Errorf("max-depth must be 0..4")
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return err
	}
	say := func(format string, a ...any) { fmt.Fprintf(o.log, format+"\n", a...) }
	w, err := world.New(world.Config{Users: o.users, Videos: o.videos, Watches: o.watches, Seed: o.seed})
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(o.seed, 3))
	train := w.CandgenData(0, rng)
	full := world.CandgenSpec()
	evalUsers := rng.Perm(len(w.Users))[:min(max(o.evalUsers, 1), len(w.Users))]

	evalCG := func(m *candgen.Model, keep []int) (float64, error) {
		exs := make([]feature.Example, len(evalUsers))
		excl := make([][]int64, len(evalUsers))
		for i, ui := range evalUsers {
			u := &w.Users[ui]
			exs[i] = project(w.UserFeatures(u, len(u.Watches)-1), keep)
			for _, wt := range u.Watches[:len(u.Watches)-1] {
				excl[i] = append(excl[i], wt.Video)
			}
		}
		recs, err := m.RecommendBatch(ctx, exs, 50, excl)
		if err != nil {
			return 0, err
		}
		hit := 0
		for i, ui := range evalUsers {
			u := &w.Users[ui]
			label := u.Watches[len(u.Watches)-1].Video
			for _, r := range recs[i] {
				if r.ID == label {
					hit++
				}
			}
		}
		return float64(hit) / float64(len(evalUsers)), nil
	}
	trainCG := func(keep []int, age bool, depth int, noLogQ bool) (float64, float64, error) {
		spec := feature.Spec{Spaces: full.Spaces}
		for _, k := range keep {
			spec.Features = append(spec.Features, full.Features[k])
		}
		data := make([]candgen.Example, len(train))
		for i, e := range train {
			data[i] = candgen.Example{Features: project(e.Features, keep), Label: e.Label, Age: e.Age}
		}
		t0 := time.Now()
		m, _, err := candgen.Train(ctx, candgen.Config{
			Spec: spec, ExampleAge: age, Tower: tower(depth, o.dim), Batch: 512, Negatives: 500,
			Epochs: o.epochs, LR: 0.002, Seed: o.seed, NoLogQ: noLogQ,
			LinearTop: true, // depth 0 is a linear map, as the table says (the library's default top is ReLU)
		}, data)
		if err != nil {
			return 0, 0, err
		}
		r, err := evalCG(m, keep)
		return r, time.Since(t0).Seconds(), err
	}

	var cg []cgResult
	for _, fs := range featureSets {
		for d := 0; d <= o.maxDepth; d++ {
			r, secs, err := trainCG(fs.keep, fs.age, d, false)
			if err != nil {
				return err
			}
			say("candgen %-15s depth %d: recall@50 %.3f (%.0fs)", fs.name, d, r, secs)
			cg = append(cg, cgResult{fs.name, d, r, secs})
		}
	}
	best := featureSets[len(featureSets)-1]
	depthQ := min(2, o.maxDepth)
	withQ, _, err := trainCG(best.keep, best.age, depthQ, false)
	if err != nil {
		return err
	}
	noQ, _, err := trainCG(best.keep, best.age, depthQ, true)
	if err != nil {
		return err
	}
	say("logQ correction on %.3f, off %.3f (recall@50, depth %d)", withQ, noQ, depthQ)

	// Ranking.
	perm := rng.Perm(len(w.Users))
	cut := len(perm) * 8 / 10
	trImps, _ := w.RankingData(perm[:cut])
	teImps, teRaw := w.RankingData(perm[cut:])
	teEx := make([]feature.Example, len(teImps))
	for i := range teImps {
		teEx[i] = teImps[i].Features
	}
	rankLoss := func(hidden []int, unweighted bool) (float64, error) {
		m, _, err := ranking.Train(ctx, ranking.Config{Spec: world.RankingSpec(), Tower: hidden, Batch: 512, Epochs: o.rankEpochs, LR: 0.002, Seed: o.seed, Unweighted: unweighted}, trImps)
		if err != nil {
			return 0, err
		}
		pred, err := m.ExpectedWatchTime(teEx)
		if err != nil {
			return 0, err
		}
		var groups [][]ranking.Scored
		for i := range teImps {
			if i == 0 || teRaw[i].Page != teRaw[i-1].Page {
				groups = append(groups, nil)
			}
			groups[len(groups)-1] = append(groups[len(groups)-1], ranking.Scored{Score: pred[i], Clicked: teImps[i].Clicked, WatchTime: teImps[i].WatchTime})
		}
		return ranking.WeightedPerUserLoss(groups), nil
	}
	rankTowers := [][]int{{}, {256}, {512, 256}, {1024, 512, 256}}
	type rkResult struct {
		tower            []int
		weighted, plainL float64
	}
	var rk []rkResult
	for _, tw := range rankTowers {
		lw, err := rankLoss(tw, false)
		if err != nil {
			return err
		}
		lu, err := rankLoss(tw, true)
		if err != nil {
			return err
		}
		say("ranking tower %-14s weighted per-user loss: weighted LR %.3f, unweighted LR %.3f", towerName(tw), lw, lu)
		rk = append(rk, rkResult{tw, lw, lu})
	}

	// Report.
	var md strings.Builder
	fmt.Fprintf(&md, "# ytdnn ablations on a generated world\n\nWorld: %d users, %d videos, %d watches/user, seed %d. "+
		"Candidate generation: D=%d, batch 512, 500 sampled negatives, %d epochs; held-out last watch of %d users, history excluded.\n\n",
		o.users, o.videos, o.watches, o.seed, o.dim, o.epochs, len(evalUsers))
	md.WriteString("## Candidate generation: recall@50 by features and depth (paper Figure 6)\n\n| features |")
	for d := 0; d <= o.maxDepth; d++ {
		fmt.Fprintf(&md, " depth %d |", d)
	}
	md.WriteString("\n|---|" + strings.Repeat("---|", o.maxDepth+1) + "\n")
	for _, fs := range featureSets {
		fmt.Fprintf(&md, "| %s |", fs.name)
		for _, r := range cg {
			if r.set == fs.name {
				fmt.Fprintf(&md, " %.3f |", r.recall)
			}
		}
		md.WriteString("\n")
	}
	md.WriteString("\nTowers: depth 0 is a linear map to D; depth d has d ReLU layers D·2^d … D·2 below it.\n\n")
	fmt.Fprintf(&md, "## Importance weighting\n\n| sampled softmax (all features, depth %d) | recall@50 |\n|---|---|\n| with logQ correction | %.3f |\n| without | %.3f |\n\n", depthQ, withQ, noQ)
	md.WriteString("## Ranking: weighted per-user loss on held-out users (paper Table 1)\n\n| hidden layers | weighted LR | unweighted LR |\n|---|---|---|\n")
	for _, r := range rk {
		fmt.Fprintf(&md, "| %s | %.3f | %.3f |\n", towerName(r.tower), r.weighted, r.plainL)
	}
	md.WriteString("\nPlots: `figure6.png` (candgen recall by depth), `ranking.png` (ranking loss by tower).\n")
	if err := os.WriteFile(filepath.Join(o.out, "results.md"), []byte(md.String()), 0o644); err != nil {
		return err
	}
	series := map[string][]float64{}
	var order []string
	for _, fs := range featureSets {
		order = append(order, fs.name)
		for _, r := range cg {
			if r.set == fs.name {
				series[fs.name] = append(series[fs.name], r.recall)
			}
		}
	}
	if err := linePlot(filepath.Join(o.out, "figure6.png"), "Candidate generation", "tower depth", "held-out recall@50", order, series, 0); err != nil {
		return err
	}
	rs := map[string][]float64{}
	for _, r := range rk {
		rs["weighted LR"] = append(rs["weighted LR"], r.weighted)
		rs["unweighted LR"] = append(rs["unweighted LR"], r.plainL)
	}
	if err := linePlot(filepath.Join(o.out, "ranking.png"), "Ranking (0: none … 3: 1024→512→256)", "hidden layers", "weighted per-user loss", []string{"weighted LR", "unweighted LR"}, rs, 0); err != nil {
		return err
	}
	say("wrote %s", filepath.Join(o.out, "results.md"))
	return nil
}

func towerName(t []int) string {
	if len(t) == 0 {
		return "none"
	}
	s := make([]string, len(t))
	for i, x := range t {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, "→")
}
