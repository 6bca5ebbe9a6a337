package ml

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/eval"
	"github.com/ytdnn/ytdnn/train"
)

// Options are the example's knobs.
type Options struct {
	Dir string
	// Epochs is the number of epochs, or with Patience the most.
	Epochs, Batch, Neg, Dim int
	Tower                   []int
	Hist                    int
	LR, L2, Dropout         float64
	// Patience > 0 chooses the number of epochs on the validation split:
	// a model trained on Split.Fit stops after Patience epochs without a
	// better validation score, and the final model trains on Split.Train
	// for its best epoch count. 0 trains Epochs epochs and still reports
	// the validation numbers of the same configuration.
	Patience     int
	Seed         uint64
	MaxTrain     int
	Tie          bool
	LinearTop    bool
	NoExampleAge bool
	ServeAtEnd   bool
	// Tune searches Grid (TuneGrid when nil) on the validation split, each
	// point with early stopping (Patience, or 2 when 0) and trained with
	// TuneSeeds seeds (Seed, Seed+1, …; at least 1): a point scores the mean
	// of its seeds' validation scores and its epoch count is the mean of
	// their best epochs. The final model trains with Seed and the best
	// point, and is scored once on test.
	Tune      bool
	TuneSeeds int
	Grid      []Setting
	// ValOnly stops after validation: no final model, no test numbers.
	ValOnly       bool
	Out, Progress io.Writer
}

// Setting is one point of the tuning grid.
type Setting struct {
	LR, L2, Dropout float64
	Neg             int
}

func (s Setting) String() string {
	return fmt.Sprintf("lr %g, negatives %d, L2 %g, dropout %g", s.LR, s.Neg, s.L2, s.Dropout)
}

// DefaultPatience is the shipped early-stopping patience in epochs: the
// validation HR@50 is noisy from epoch to epoch, so a short patience stops
// at a dip.
const DefaultPatience = 5

// Defaults are the shipped hyperparameters, chosen by -tune on
// MovieLens-100K's validation split (README).
var Defaults = Setting{LR: 0.005, Neg: 1000, L2: 0, Dropout: 0.2}

// The default tuning grid, as ParseGrid's lists: learning rate ×
// negatives × tower L2 × input dropout (epochs by early stopping at each
// point).
const (
	DefaultTuneLR      = "0.002,0.005,0.01"
	DefaultTuneNeg     = "300,1000"
	DefaultTuneL2      = "0,1e-4"
	DefaultTuneDropout = "0,0.2,0.4"
)

// TuneGrid is what Tune searches when Options.Grid is nil: the default
// grid.
var TuneGrid = mustGrid(ParseGrid(DefaultTuneLR, DefaultTuneNeg, DefaultTuneL2, DefaultTuneDropout))

// mustGrid panics on a default grid that does not parse (a programmer
// error, caught by every test run).
func mustGrid(g []Setting, err error) []Setting {
	if err != nil {
		panic("ml: the default tuning grid: " + err.Error())
	}
	return g
}

// ValScore is what tuning and early stopping maximise: the mean of
// validation HR@50 unfiltered and history-filtered.
func ValScore(all, filtered eval.Tally) float64 { return (all.HR(50) + filtered.HR(50)) / 2 }

// Run loads the data, trains candidate generation and evaluates it: on the
// validation split (the model trained on Split.Fit) and once on the test
// split (the model trained on Split.Train).
func Run(ctx context.Context, o Options) (map[string]any, error) {
	d, err := Load(o.Dir)
	if err != nil {
		return nil, err
	}
	say := func(format string, a ...any) {
		if o.Out != nil {
			fmt.Fprintf(o.Out, format+"\n", a...)
		}
	}
	s := BuildSplit(d, o.Hist)
	for _, p := range []*[]candgen.Example{&s.Train, &s.Fit} {
		rand.New(rand.NewPCG(o.Seed, 1)).Shuffle(len(*p), func(i, j int) { (*p)[i], (*p)[j] = (*p)[j], (*p)[i] })
		if o.MaxTrain > 0 && len(*p) > o.MaxTrain {
			*p = (*p)[:o.MaxTrain]
		}
	}
	say("MovieLens-%s: %d ratings, %d training examples (%d before the validation targets), %d validation and %d test users",
		d.Layout, len(d.Ratings), len(s.Train), len(s.Fit), len(s.Val.Labels), len(s.Test.Labels))
	for i := range s.Spec.Spaces {
		if s.Spec.Spaces[i].Name == "movie" {
			s.Spec.Spaces[i].Dim = o.Dim
		}
	}
	out := map[string]any{}
	set := Setting{LR: o.LR, L2: o.L2, Dropout: o.Dropout, Neg: o.Neg}
	patience := o.Patience
	if o.Tune && patience == 0 {
		patience = 2
	}
	// validate trains on Fit with early stopping (or o.Epochs when patience
	// is 0) and returns the epoch count of the model it keeps and that
	// model's validation tallies.
	ran := 0 // epochs the last validation run trained
	validate := func(set Setting, seed uint64) (int, [2]eval.Tally, error) {
		cfg := o.config(s, set, o.Epochs)
		cfg.Seed = seed
		if patience > 0 {
			cfg.Patience = patience
			cfg.Validation = func(ctx context.Context, epoch int, m *candgen.Model) (float64, error) {
				t, err := Evaluate(ctx, m, &s.Val, o.ServeAtEnd)
				if err == nil && !o.Tune {
					say("epoch %2d  validation HR@50 all %.4f filtered %.4f", epoch+1, t[0].HR(50), t[1].HR(50))
				}
				return ValScore(t[0], t[1]), err
			}
		}
		m, st, err := train.Candgen(ctx, cfg, s.Fit)
		if err != nil {
			return 0, [2]eval.Tally{}, err
		}
		epochs := st.Epochs
		ran = st.Epochs
		if patience > 0 {
			epochs = st.BestEpoch
		}
		t, err := Evaluate(ctx, m, &s.Val, o.ServeAtEnd)
		return epochs, t, err
	}
	var epochs int
	var val [2]eval.Tally
	if o.Tune {
		grid := o.Grid
		if grid == nil {
			grid = TuneGrid
		}
		seeds := max(o.TuneSeeds, 1)
		var bestScore float64
		for i, g := range grid {
			var t [2]eval.Tally
			var eps []int
			for k := 0; k < seeds; k++ {
				ep, tk, err := validate(g, o.Seed+uint64(k))
				if err != nil {
					return nil, err
				}
				t[0].Merge(&tk[0])
				t[1].Merge(&tk[1])
				eps = append(eps, ep)
			}
			ep := meanEpochs(eps)
			v := ValScore(t[0], t[1])
			say("tune %2d/%d  %-45s  best epochs %v  validation HR@50 all %.4f filtered %.4f", i+1, len(grid), g, eps, t[0].HR(50), t[1].HR(50))
			if i == 0 || v > bestScore {
				bestScore, set, epochs, val = v, g, ep, t
			}
		}
		say("chosen on validation: %s, %d epochs", set, epochs)
		out["tuned_lr"], out["tuned_negatives"], out["tuned_l2"], out["tuned_dropout"] = set.LR, set.Neg, set.L2, set.Dropout
	} else {
		if epochs, val, err = validate(set, o.Seed); err != nil {
			return nil, err
		}
		out["val_epochs_run"] = ran
	}
	eval.Put(out, "val_", val[0].Metrics(eval.HistoryAll))
	eval.Put(out, "val_", val[1].Metrics(eval.HistoryFiltered))
	say("validation HR@50 all %.4f filtered %.4f (model trained on the ratings before the validation targets, %d epochs)", val[0].HR(50), val[1].HR(50), epochs)
	out["val_epochs"] = epochs
	if o.ValOnly {
		return out, nil
	}

	m, st, err := train.Candgen(ctx, o.config(s, set, epochs), s.Train)
	if err != nil {
		return nil, err
	}
	say("trained %d examples × %d epochs at %.0f examples/s (%.1fs)", st.Examples, st.Epochs, st.ExamplesPerSec, st.Seconds)
	out["train_examples"], out["epochs"] = len(s.Train), st.Epochs
	out["train_examples_per_sec"], out["train_seconds"] = math.Round(st.ExamplesPerSec), math.Round(st.Seconds*10)/10
	test, err := Evaluate(ctx, m, &s.Test, o.ServeAtEnd)
	if err != nil {
		return nil, err
	}
	pop := mostPopular(s.Train, &s.Test)
	for k, mode := range []eval.History{eval.HistoryAll, eval.HistoryFiltered} {
		eval.Put(out, "", test[k].Metrics(mode))
		eval.Put(out, "mostpop_", pop[k].Metrics(mode))
		say("test %-8s HR@10 %.4f HR@50 %.4f HR@100 %.4f NDCG@10 %.4f | most-popular HR@50 %.4f",
			mode, test[k].HR(10), test[k].HR(50), test[k].HR(100), test[k].NDCG(10), pop[k].HR(50))
	}
	return out, nil
}

// meanEpochs is the rounded mean of epoch counts.
func meanEpochs(eps []int) int {
	sum := 0
	for _, e := range eps {
		sum += e
	}
	return max(1, (2*sum+len(eps))/(2*len(eps)))
}

// ParseGrid builds a grid from comma-separated lists of learning rates,
// negatives, L2 penalties and dropout rates (every combination, in that
// nesting order).
func ParseGrid(lrs, negs, l2s, drops string) ([]Setting, error) {
	floats := func(name, s string) ([]float64, error) {
		var out []float64
		for _, f := range strings.Split(s, ",") {
			x, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || x < 0 || math.IsInf(x, 0) {
				return nil, fmt.Errorf("bad %s %q", name, f)
			}
			out = append(out, x)
		}
		return out, nil
	}
	var lists [4][]float64 // learning rates, negatives, L2s, dropouts
	for i, in := range [4][2]string{{"learning rate", lrs}, {"negatives", negs}, {"L2", l2s}, {"dropout", drops}} {
		var err error
		if lists[i], err = floats(in[0], in[1]); err != nil {
			return nil, err
		}
	}
	lr, neg, l2, dr := lists[0], lists[1], lists[2], lists[3]
	var g []Setting
	for _, a := range lr {
		for _, n := range neg {
			if n < 1 || n != math.Trunc(n) {
				return nil, fmt.Errorf("bad negatives %v", n)
			}
			for _, b := range l2 {
				for _, c := range dr {
					if c >= 1 {
						return nil, fmt.Errorf("bad dropout %v", c)
					}
					g = append(g, Setting{LR: a, Neg: int(n), L2: b, Dropout: c})
				}
			}
		}
	}
	return g, nil
}

// config is the candgen configuration of a setting.
func (o *Options) config(s *Split, set Setting, epochs int) train.CandgenConfig {
	return train.CandgenConfig{
		Spec: s.Spec, VideoSpace: "movie", ExampleAge: !o.NoExampleAge, Tower: o.Tower, Negatives: set.Neg,
		TieEmbeddings: o.Tie, LinearTop: o.LinearTop,
		Options: train.Options{
			Batch: o.Batch, Epochs: epochs, LR: float32(set.LR), L2: float32(set.L2), Dropout: set.Dropout,
			Seed: o.Seed, Progress: o.Progress,
		},
	}
}

// Evaluate ranks every movie for each case and tallies HR@10/50/100 and
// NDCG@10 unfiltered ([0]) and with the user's history excluded ([1]). Each
// request is served at its own time (Cases.Ages: the user's last known
// activity) or, with serveAtEnd, at example age 0 (the paper's serving at
// the end of the training window).
func Evaluate(ctx context.Context, m *candgen.Model, c *Cases, serveAtEnd bool) ([2]eval.Tally, error) {
	const top = 100
	var res [2]eval.Tally
	ages := c.Ages
	if serveAtEnd {
		ages = nil
	}
	for k, excl := range [][][]int64{nil, c.Histories} {
		recs, err := m.RecommendBatchAt(ctx, c.Requests, ages, top, excl)
		if err != nil {
			return res, err
		}
		for i, label := range c.Labels {
			ids := make([]int64, len(recs[i]))
			for j, r := range recs[i] {
				ids[j] = r.ID
			}
			res[k].Add(ids, label)
		}
	}
	return res, nil
}

// mostPopular tallies the most-popular baseline of train on c as Evaluate
// does.
func mostPopular(train []candgen.Example, c *Cases) [2]eval.Tally {
	const top = 100
	var res [2]eval.Tally
	pop := eval.MostPopular(eval.CountLabels(train, func(e candgen.Example) int64 { return e.Label }))
	for i, label := range c.Labels {
		res[0].Add(eval.TopExcluding(pop, nil, top), label)
		res[1].Add(eval.TopExcluding(pop, c.Histories[i], top), label)
	}
	return res
}
