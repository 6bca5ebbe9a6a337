package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/examples/movielens/ml"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/train"
)

// mlSets are the feature families MovieLens has, added one at a time: the
// indices into ml.BuildSplit's spec (0 history, 1 genres, 2 gender, 3 age,
// 4 occupation, 5 zip region). MovieLens has no searches.
var mlSets = []struct {
	name string
	keep []int
	age  bool
}{
	{"watches", []int{0}, false},
	{"+ demographics", []int{0, 2, 3, 4, 5}, false},
	{"+ example age", []int{0, 2, 3, 4, 5}, true},
}

func projectCases(c *ml.Cases, keep []int) *ml.Cases {
	out := *c
	out.Requests = make([]feature.Example, len(c.Requests))
	for i, ex := range c.Requests {
		out.Requests[i] = project(ex, keep)
	}
	return &out
}

// runMovieLens is the features × depth ablation and the logQ ablation on a
// MovieLens folder with demographics, under the movielens example's
// protocol: each model trains on the ratings before the validation targets
// with early stopping on validation HR@50, and is scored once on the test
// targets (each user's last rating).
func runMovieLens(ctx context.Context, o options) error {
	if err := o.check(); err != nil {
		return err
	}
	d, err := ml.Load(o.data)
	if err != nil {
		return err
	}
	if d.Users == nil {
		return errors.New("the MovieLens ablation needs the user file (u.user or users.dat) for its demographics")
	}
	s := ml.BuildSplit(d, 50)
	for i := range s.Spec.Spaces {
		if s.Spec.Spaces[i].Name == "movie" {
			s.Spec.Spaces[i].Dim = o.dim
		}
	}
	set := ml.Defaults
	depths := o.maxDepth + 1
	depthQ := min(2, o.maxDepth)
	all, filt, atEnd := grid{}, grid{}, grid{}
	var withQ, noQ samples
	// The data of each feature set, projected once for all its cells.
	type projection struct {
		fit       []candgen.Example
		val, test *ml.Cases
	}
	projected := map[string]projection{}
	// cell trains one model and returns its test tallies, served at each
	// request's own time and at age 0.
	cell := func(keep []int, age bool, depth int, noLogQ bool, seed uint64) (res, end [2]float64, epochs int, err error) {
		key := fmt.Sprint(keep)
		if _, ok := projected[key]; !ok {
			fit := make([]candgen.Example, len(s.Fit))
			for i, e := range s.Fit {
				fit[i] = candgen.Example{Features: project(e.Features, keep), Label: e.Label, Age: e.Age}
			}
			projected[key] = projection{fit, projectCases(&s.Val, keep), projectCases(&s.Test, keep)}
		}
		pr := projected[key]
		fit, val, test := pr.fit, pr.val, pr.test
		m, st, err := train.Candgen(ctx, train.CandgenConfig{
			Spec: projectSpec(s.Spec, keep), VideoSpace: "movie", ExampleAge: age, Tower: tower(depth, o.dim), Negatives: set.Neg,
			NoLogQ: noLogQ, LinearTop: true,
			Options: train.Options{
				Batch: 512, LR: float32(set.LR), L2: float32(set.L2), Dropout: set.Dropout, Epochs: o.maxEpochs,
				Patience: ml.DefaultPatience, Seed: seed,
			},
			Validation: func(ctx context.Context, _ int, m *candgen.Model) (float64, error) {
				t, err := ml.Evaluate(ctx, m, val, false)
				return ml.ValScore(t[0], t[1]), err
			},
		}, fit)
		if err != nil {
			return res, end, 0, err
		}
		t, err := ml.Evaluate(ctx, m, test, false)
		if err != nil {
			return res, end, 0, err
		}
		e, err := ml.Evaluate(ctx, m, test, true)
		return [2]float64{t[0].HR(50), t[1].HR(50)}, [2]float64{e[0].HR(50), e[1].HR(50)}, st.BestEpoch, err
	}
	for k := 0; k < o.seeds; k++ {
		seed := o.seed + uint64(k)
		for _, fs := range mlSets {
			for dp := 0; dp < depths; dp++ {
				r, e, ep, err := cell(fs.keep, fs.age, dp, false, seed)
				if err != nil {
					return err
				}
				o.say("seed %d %-15s depth %d: test HR@50 all %.3f filtered %.3f (at age 0: %.3f / %.3f), %d epochs", seed, fs.name, dp, r[0], r[1], e[0], e[1], ep)
				all.add(fs.name, dp, r[0], depths)
				filt.add(fs.name, dp, r[1], depths)
				if fs.age {
					atEnd.add(fs.name+", served at age 0", dp, e[0], depths)
				}
			}
		}
		best := mlSets[len(mlSets)-1]
		withQ = append(withQ, all[best.name][depthQ][k])
		r, _, _, err := cell(best.keep, best.age, depthQ, true, seed)
		if err != nil {
			return err
		}
		noQ = append(noQ, r[0])
		o.say("seed %d logQ correction on %.3f, off %.3f (test HR@50 all, depth %d)", seed, withQ[k], r[0], depthQ)
	}

	var md strings.Builder
	fmt.Fprintf(&md, "# ytdnn ablations on MovieLens-%s\n\n%d ratings, %d users. Protocol of `examples/movielens`: each user's last rating is the test target and "+
		"the one before it the validation target; every model trains on the %d next-rating examples before the validation targets "+
		"(history: the 50 ratings before) with early stopping on validation HR@50 (patience %d, at most %d epochs), then is scored once on the test targets "+
		"by exact search over all movies. Hyperparameters: the example's defaults (%s), batch 512, D=%d, movie embeddings of %d. "+
		"Seeds %s; cells are mean ± standard error over the seeds (one HR over %d users has a sampling standard error of at most %.3f).\n\n"+
		"Features: the watch history (the ratings, as a mean embedding), demographics (gender, age, occupation, zip region: "+
		"the first two digits of the zip code) and example age. MovieLens has no searches, so the paper's \"+ searches\" row is absent; "+
		"the movies' genres are not used here.\n\n",
		d.Layout, len(d.Ratings), len(s.Test.Labels), len(s.Fit), ml.DefaultPatience, o.maxEpochs, set, o.dim, o.dim, seedRange(o), len(s.Test.Labels), math.Sqrt(0.25/float64(len(s.Test.Labels))))
	var order []string
	for _, fs := range mlSets {
		order = append(order, fs.name)
	}
	md.WriteString("## Candidate generation: test HR@50 unfiltered by features and depth (paper Figure 6)\n\n" +
		"Each request is served at its own time (example age: that of the user's last rating before it).\n\n")
	all.table(&md, order, depths)
	md.WriteString("\nThe same models served as the paper serves, at example age 0 (the end of the training window):\n\n")
	atEnd.table(&md, []string{order[len(order)-1] + ", served at age 0"}, depths)
	md.WriteString("\n## Test HR@50 with the user's history filtered out\n\n")
	filt.table(&md, order, depths)
	md.WriteString("\nTowers: depth 0 is a linear map to D; depth d has d ReLU layers D·2^d … D·2 below it.\n\n")
	fmt.Fprintf(&md, "## Importance weighting\n\n| sampled softmax (all features, depth %d) | test HR@50 unfiltered |\n|---|---|\n| with logQ correction | %s |\n| without | %s |\n\n", depthQ, withQ, noQ)
	md.WriteString("Plot: `figure6-movielens.png` (test HR@50 unfiltered by depth, ± one standard error).\n")
	if err := os.WriteFile(filepath.Join(o.out, "results-movielens.md"), []byte(md.String()), 0o644); err != nil {
		return err
	}
	if err := all.plot(filepath.Join(o.out, "figure6-movielens.png"), "Candidate generation, MovieLens-"+d.Layout, "test HR@50", order); err != nil {
		return err
	}
	o.say("wrote %s", filepath.Join(o.out, "results-movielens.md"))
	return nil
}
