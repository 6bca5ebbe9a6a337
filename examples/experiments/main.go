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

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/eval"
	"github.com/ytdnn/ytdnn/examples/world"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/train"
)

type options struct {
	users, videos, watches int
	epochs, rankEpochs     int
	evalUsers              int
	maxDepth               int
	dim                    int
	seed                   uint64
	seeds                  int
	data                   string // a MovieLens folder: run its ablation instead of the world's
	maxEpochs              int    // MovieLens: the most epochs (early stopping on validation)
	out                    string
	log                    io.Writer
}

func main() {
	var o options
	flag.IntVar(&o.users, "users", 6000, "users in the generated world")
	flag.IntVar(&o.videos, "videos", 4000, "videos in the generated world")
	flag.IntVar(&o.watches, "watches", 25, "watches per user")
	flag.IntVar(&o.epochs, "epochs", 3, "candidate generation epochs per model (generated world)")
	flag.IntVar(&o.maxEpochs, "max-epochs", 30, "MovieLens: the most candidate generation epochs (the count is chosen by early stopping on the validation split)")
	flag.IntVar(&o.rankEpochs, "rank-epochs", 2, "ranking epochs per model")
	flag.IntVar(&o.evalUsers, "eval-users", 2000, "held-out users scored for HR@50")
	flag.IntVar(&o.maxDepth, "max-depth", 4, "deepest candgen tower (0..4)")
	flag.IntVar(&o.dim, "dim", 64, "user-vector dimension D")
	flag.Uint64Var(&o.seed, "seed", 1, "first random seed")
	flag.IntVar(&o.seeds, "seeds", 3, "seeds per cell (seed, seed+1, …): tables give mean ± standard error")
	flag.StringVar(&o.data, "data", "", "MovieLens folder (ml-100k layout with u.user for demographics): run the ablation on it")
	flag.StringVar(&o.out, "out", "experiments-out", "output folder for the Markdown results and the PNG plots")
	quiet := flag.Bool("quiet", false, "no commentary")
	flag.Parse()
	o.log = os.Stderr
	if *quiet {
		o.log = io.Discard
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	run := runWorld
	if o.data != "" {
		run = runMovieLens
	}
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "experiments:", err)
		os.Exit(1)
	}
}

func (o *options) check() error {
	if o.maxDepth < 0 || o.maxDepth > 4 {
		return fmt.Errorf("max-depth must be 0..4")
	}
	if o.seeds < 1 {
		return fmt.Errorf("seeds must be at least 1")
	}
	return os.MkdirAll(o.out, 0o755)
}

func (o *options) say(format string, a ...any) { fmt.Fprintf(o.log, format+"\n", a...) }

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

func projectSpec(full feature.Spec, keep []int) feature.Spec {
	spec := feature.Spec{Spaces: full.Spaces}
	for _, k := range keep {
		spec.Features = append(spec.Features, full.Features[k])
	}
	return spec
}

// samples are one cell's results over seeds.
type samples []float64

func (s samples) String() string {
	m, se := eval.MeanSE(s)
	if len(s) < 2 {
		return fmt.Sprintf("%.3f", m)
	}
	return fmt.Sprintf("%.3f ± %.3f", m, se)
}

// grid is a features × depth table of samples.
type grid map[string][]samples

func (g grid) add(set string, depth int, x float64, depths int) {
	if g[set] == nil {
		g[set] = make([]samples, depths)
	}
	g[set][depth] = append(g[set][depth], x)
}

// table writes the features × depth table in Markdown.
func (g grid) table(md *strings.Builder, order []string, depths int) {
	md.WriteString("| features |")
	for d := 0; d < depths; d++ {
		fmt.Fprintf(md, " depth %d |", d)
	}
	md.WriteString("\n|---|" + strings.Repeat("---|", depths) + "\n")
	for _, name := range order {
		fmt.Fprintf(md, "| %s |", name)
		for _, c := range g[name] {
			fmt.Fprintf(md, " %s |", c)
		}
		md.WriteString("\n")
	}
}

// plot draws the table as one curve per feature set with standard-error
// bars.
func (g grid) plot(path, title, yLabel string, order []string) error {
	series, errs := map[string][]float64{}, map[string][]float64{}
	for _, name := range order {
		for _, c := range g[name] {
			m, se := eval.MeanSE(c)
			series[name] = append(series[name], m)
			errs[name] = append(errs[name], se)
		}
	}
	return linePlot(path, title, "tower depth", yLabel, order, series, errs, 0)
}

func runWorld(ctx context.Context, o options) error {
	if err := o.check(); err != nil {
		return err
	}
	depths := o.maxDepth + 1
	depthQ := min(2, o.maxDepth)
	cg := grid{}
	var withQ, noQ samples
	rankTowers := [][]int{{}, {256}, {512, 256}, {1024, 512, 256}}
	rankW, rankU := make([]samples, len(rankTowers)), make([]samples, len(rankTowers))
	for k := 0; k < o.seeds; k++ {
		seed := o.seed + uint64(k)
		w, err := world.New(world.Config{Users: o.users, Videos: o.videos, Watches: o.watches, Seed: seed})
		if err != nil {
			return err
		}
		rng := rand.New(rand.NewPCG(seed, 3))
		trainEx := w.CandgenData(0, rng)
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
			var t eval.Tally
			for i, ui := range evalUsers {
				u := &w.Users[ui]
				ids := make([]int64, len(recs[i]))
				for j, r := range recs[i] {
					ids[j] = r.ID
				}
				t.Add(ids, u.Watches[len(u.Watches)-1].Video)
			}
			return t.HR(50), nil
		}
		trainCG := func(keep []int, age bool, depth int, noLogQ bool) (float64, error) {
			data := make([]candgen.Example, len(trainEx))
			for i, e := range trainEx {
				data[i] = candgen.Example{Features: project(e.Features, keep), Label: e.Label, Age: e.Age}
			}
			m, _, err := train.Candgen(ctx, train.CandgenConfig{
				Spec: projectSpec(full, keep), ExampleAge: age, Tower: tower(depth, o.dim), Negatives: 500, NoLogQ: noLogQ,
				LinearTop: true, // depth 0 is a linear map, as the table says (the library's default top is ReLU)
				Options:   train.Options{Batch: 512, Epochs: o.epochs, LR: 0.002, Seed: seed},
			}, data)
			if err != nil {
				return 0, err
			}
			return evalCG(m, keep)
		}
		for _, fs := range featureSets {
			for d := 0; d < depths; d++ {
				r, err := trainCG(fs.keep, fs.age, d, false)
				if err != nil {
					return err
				}
				o.say("seed %d candgen %-15s depth %d: HR@50 filtered %.3f", seed, fs.name, d, r)
				cg.add(fs.name, d, r, depths)
			}
		}
		best := featureSets[len(featureSets)-1]
		withQ = append(withQ, cg[best.name][depthQ][k])
		r, err := trainCG(best.keep, best.age, depthQ, true)
		if err != nil {
			return err
		}
		noQ = append(noQ, r)
		o.say("seed %d logQ correction on %.3f, off %.3f (HR@50 filtered, depth %d)", seed, withQ[k], r, depthQ)

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
			m, _, err := train.Ranking(ctx, train.RankingConfig{Spec: world.RankingSpec(), Tower: hidden, Unweighted: unweighted, Options: train.Options{Batch: 512, Epochs: o.rankEpochs, LR: 0.002, Seed: seed}}, trImps)
			if err != nil {
				return 0, err
			}
			pred, err := m.ExpectedWatchTime(teEx)
			if err != nil {
				return 0, err
			}
			var groups [][]eval.Scored
			for i := range teImps {
				if i == 0 || teRaw[i].Page != teRaw[i-1].Page {
					groups = append(groups, nil)
				}
				groups[len(groups)-1] = append(groups[len(groups)-1], eval.Scored{Score: pred[i], Clicked: teImps[i].Clicked, WatchTime: teImps[i].WatchTime})
			}
			return eval.WeightedPerUserLoss(groups), nil
		}
		for i, tw := range rankTowers {
			lw, err := rankLoss(tw, false)
			if err != nil {
				return err
			}
			lu, err := rankLoss(tw, true)
			if err != nil {
				return err
			}
			o.say("seed %d ranking tower %-14s weighted per-user loss: weighted LR %.3f, unweighted LR %.3f", seed, towerName(tw), lw, lu)
			rankW[i], rankU[i] = append(rankW[i], lw), append(rankU[i], lu)
		}
	}

	// Report.
	var md strings.Builder
	fmt.Fprintf(&md, "# ytdnn ablations on a generated world\n\nWorld: %d users, %d videos, %d watches/user; seeds %s (the world, the split and the models). "+
		"Candidate generation: D=%d, batch 512, 500 sampled negatives, %d epochs; held-out last watch of %d users, history excluded. "+
		"Cells are mean ± standard error over the seeds.\n\n",
		o.users, o.videos, o.watches, seedRange(o), o.dim, o.epochs, min(max(o.evalUsers, 1), o.users))
	md.WriteString("## Candidate generation: HR@50 (history filtered) by features and depth (paper Figure 6)\n\n")
	var order []string
	for _, fs := range featureSets {
		order = append(order, fs.name)
	}
	cg.table(&md, order, depths)
	md.WriteString("\nTowers: depth 0 is a linear map to D; depth d has d ReLU layers D·2^d … D·2 below it.\n\n")
	fmt.Fprintf(&md, "## Importance weighting\n\n| sampled softmax (all features, depth %d) | HR@50 filtered |\n|---|---|\n| with logQ correction | %s |\n| without | %s |\n\n", depthQ, withQ, noQ)
	md.WriteString("## Ranking: weighted per-user loss on held-out users (paper Table 1)\n\n| hidden layers | weighted LR | unweighted LR |\n|---|---|---|\n")
	for i, tw := range rankTowers {
		fmt.Fprintf(&md, "| %s | %s | %s |\n", towerName(tw), rankW[i], rankU[i])
	}
	md.WriteString("\nPlots: `figure6.png` (candgen HR@50 by depth), `ranking.png` (ranking loss by tower); bars are ± one standard error.\n")
	if err := os.WriteFile(filepath.Join(o.out, "results.md"), []byte(md.String()), 0o644); err != nil {
		return err
	}
	if err := cg.plot(filepath.Join(o.out, "figure6.png"), "Candidate generation, generated world", "held-out HR@50, history filtered", order); err != nil {
		return err
	}
	rs, re := map[string][]float64{}, map[string][]float64{}
	for i := range rankTowers {
		for name, s := range map[string]samples{"weighted LR": rankW[i], "unweighted LR": rankU[i]} {
			m, se := eval.MeanSE(s)
			rs[name], re[name] = append(rs[name], m), append(re[name], se)
		}
	}
	if err := linePlot(filepath.Join(o.out, "ranking.png"), "Ranking (0: none … 3: 1024→512→256)", "hidden layers", "weighted per-user loss", []string{"weighted LR", "unweighted LR"}, rs, re, 0); err != nil {
		return err
	}
	o.say("wrote %s", filepath.Join(o.out, "results.md"))
	return nil
}

func seedRange(o options) string {
	if o.seeds == 1 {
		return fmt.Sprint(o.seed)
	}
	return fmt.Sprintf("%d-%d", o.seed, o.seed+uint64(o.seeds)-1)
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
