package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"

	"github.com/ytdnn/ytdnn/eval"
	"github.com/ytdnn/ytdnn/examples/movielens/ml"
)

func main() {
	var o ml.Options
	var tower string
	flag.StringVar(&o.Dir, "data", "", "MovieLens folder (ml-100k or ml-1m layout)")
	flag.IntVar(&o.Epochs, "epochs", 30, "training epochs (with -patience, the most)")
	flag.IntVar(&o.Patience, "patience", ml.DefaultPatience, "choose the epoch count on the validation split: stop after this many epochs without a better validation HR@50 (0: train -epochs epochs)")
	flag.Float64Var(&o.L2, "l2", ml.Defaults.L2, "L2 penalty on the tower's weights")
	flag.Float64Var(&o.Dropout, "dropout", ml.Defaults.Dropout, "dropout on the tower's inputs")
	flag.BoolVar(&o.Tune, "tune", false, "search learning rate, negatives, L2 and dropout on the validation split (epochs by early stopping), then report the test split once")
	flag.IntVar(&o.Batch, "batch", 512, "minibatch size")
	flag.IntVar(&o.Neg, "neg", ml.Defaults.Neg, "sampled negatives per batch")
	flag.IntVar(&o.Dim, "dim", 64, "embedding dimension of movies (0: log-cardinality rule)")
	flag.StringVar(&tower, "tower", "256,128,64", "tower sizes; the last is the user-vector dimension")
	flag.IntVar(&o.Hist, "hist", 50, "history length")
	flag.Float64Var(&o.LR, "lr", ml.Defaults.LR, "Adam learning rate")
	flag.Uint64Var(&o.Seed, "seed", 1, "random seed")
	flag.IntVar(&o.MaxTrain, "max-train", 0, "use only the first N training examples (0: all)")
	flag.BoolVar(&o.ServeAtEnd, "serve-at-end", false, "evaluate with example age 0 (serving at the end of the window) instead of at each user's last activity")
	flag.BoolVar(&o.NoExampleAge, "no-example-age", false, "drop the example-age feature")
	flag.BoolVar(&o.LinearTop, "linear-top", true, "leave the tower's last layer linear; -linear-top=false is the paper's ReLU top, which measures lower here (README)")
	flag.BoolVar(&o.Tie, "tie", false, "share the movie embedding table between history and softmax (needs -dim = last tower size)")
	flag.IntVar(&o.TuneSeeds, "tune-seeds", 1, "with -tune: seeds per grid point (their mean validation score decides)")
	flag.BoolVar(&o.ValOnly, "val-only", false, "stop after the validation numbers: no final model, no test numbers")
	gridLR := flag.String("tune-lr", ml.DefaultTuneLR, "with -tune: learning rates to search")
	gridNeg := flag.String("tune-neg", ml.DefaultTuneNeg, "with -tune: negatives to search")
	gridL2 := flag.String("tune-l2", ml.DefaultTuneL2, "with -tune: tower L2 penalties to search")
	gridDrop := flag.String("tune-dropout", ml.DefaultTuneDropout, "with -tune: input dropout rates to search")
	quiet := flag.Bool("quiet", false, "no progress bar or commentary; only the JSON line")
	flag.Parse()
	if o.Dir == "" {
		fmt.Fprintln(os.Stderr, "movielens: -data DIR is required (a MovieLens-100K or -1M folder)")
		os.Exit(2)
	}
	for _, f := range strings.Split(tower, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "movielens: bad -tower %q\n", tower)
			os.Exit(2)
		}
		o.Tower = append(o.Tower, n)
	}
	var err error
	if o.Grid, err = ml.ParseGrid(*gridLR, *gridNeg, *gridL2, *gridDrop); err != nil {
		fmt.Fprintln(os.Stderr, "movielens:", err)
		os.Exit(2)
	}
	o.Out, o.Progress = os.Stdout, os.Stderr
	if *quiet {
		o.Out, o.Progress = io.Discard, nil
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	m, err := ml.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "movielens:", err)
		os.Exit(1)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	m["peak_heap_mib"] = float64(ms.HeapSys) / (1 << 20)
	line, nonFinite, err := eval.MarshalJSON(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "movielens: metrics:", err)
		os.Exit(1)
	}
	if len(nonFinite) > 0 {
		fmt.Fprintln(os.Stderr, "movielens: non-finite metrics (written as null):", strings.Join(nonFinite, ", "))
	}
	fmt.Println(string(line))
}
