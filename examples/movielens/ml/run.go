package ml

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/examples/internal/baseline"
	"github.com/ytdnn/ytdnn/feature"
)

// Options are the example's knobs.
type Options struct {
	Dir                     string
	Epochs, Batch, Neg, Dim int
	Tower                   []int
	Hist                    int
	LR                      float64
	Seed                    uint64
	MaxTrain                int
	Tie                     bool
	LinearTop               bool
	NoExampleAge            bool
	ServeAtEnd              bool
	Out, Progress           io.Writer
}

// Split is the protocol's split: training examples and one test case per
// user.
type Split struct {
	Train  []candgen.Example
	Test   []feature.Example
	Labels []int64
	// TestAges is each test user's example age at request time: the age of
	// their last history rating (known before the target, so no leakage).
	TestAges  []float64
	Histories [][]int64
	Spec      feature.Spec
}

// BuildSplit applies the protocol to loaded data.
func BuildSplit(d *Data, hist int) *Split {
	byUser := map[int64][]Rating{}
	var maxTime int64
	for _, r := range d.Ratings {
		byUser[r.User] = append(byUser[r.User], r)
		maxTime = max(maxTime, r.Time)
	}
	users := make([]int64, 0, len(byUser))
	for u := range byUser {
		users = append(users, u)
	}
	slices.Sort(users)
	s := &Split{Spec: feature.Spec{
		Spaces: []feature.Space{{Name: "movie"}, {Name: "genre"}, {Name: "occupation"}, {Name: "zip"}},
		Features: []feature.Feature{
			{Name: "history", Kind: feature.Bag, Space: "movie", MaxLen: hist},
			{Name: "genres", Kind: feature.Bag, Space: "genre"},
		},
	}}
	if d.Users != nil {
		s.Spec.Features = append(s.Spec.Features,
			feature.Feature{Name: "gender", Kind: feature.Value},
			feature.Feature{Name: "age", Kind: feature.Continuous},
			feature.Feature{Name: "occupation", Kind: feature.ID, Space: "occupation"},
			feature.Feature{Name: "zip", Kind: feature.ID, Space: "zip"},
		)
	}
	nf := len(s.Spec.Features)
	build := func(u int64, h []int64) feature.Example {
		ex := feature.Example{IDs: make([][]int64, nf), Nums: make([]float64, nf)}
		ex.IDs[0] = h
		if d.Genres != nil {
			seen := map[string]bool{}
			var g []int64
			for _, m := range h {
				for _, name := range d.Genres[m] {
					if !seen[name] {
						seen[name] = true
						g = append(g, genreID(name))
					}
				}
			}
			ex.IDs[1] = g
		}
		if d.Users != nil {
			du := d.Users[u]
			ex.Nums[2], ex.Nums[3] = du.Gender, du.Age
			ex.IDs[4] = []int64{hashID(du.Occupation)}
			zip := du.Zip
			if len(zip) > 2 {
				zip = zip[:2]
			}
			ex.IDs[5] = []int64{hashID(zip)}
		}
		return ex
	}
	for _, u := range users {
		rs := byUser[u]
		slices.SortFunc(rs, func(a, b Rating) int {
			if a.Time != b.Time {
				return int(a.Time - b.Time)
			}
			return int(a.Movie - b.Movie)
		})
		if len(rs) < 2 {
			continue
		}
		items := make([]int64, len(rs))
		for i, r := range rs {
			items[i] = r.Movie
		}
		for t := 1; t < len(items)-1; t++ {
			h := items[max(0, t-hist):t]
			s.Train = append(s.Train, candgen.Example{Features: build(u, h), Label: items[t], Age: float64(maxTime - rs[t].Time)})
		}
		last := len(items) - 1
		s.Test = append(s.Test, build(u, items[max(0, last-hist):last]))
		s.TestAges = append(s.TestAges, float64(maxTime-rs[last-1].Time))
		s.Labels = append(s.Labels, items[last])
		s.Histories = append(s.Histories, items[:last])
	}
	return s
}

func genreID(name string) int64 { return hashID("genre:" + name) }

// hashID maps a string to a stable int64 ID (FNV-1a).
func hashID(s string) int64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return int64(h >> 1)
}

// Run loads the data, trains candidate generation and evaluates it.
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
	train := s.Train
	rand.New(rand.NewPCG(o.Seed, 1)).Shuffle(len(train), func(i, j int) { train[i], train[j] = train[j], train[i] })
	if o.MaxTrain > 0 && len(train) > o.MaxTrain {
		train = train[:o.MaxTrain]
	}
	say("MovieLens-%s: %d ratings, %d training examples, %d test users", d.Layout, len(d.Ratings), len(train), len(s.Test))
	for i := range s.Spec.Spaces {
		if s.Spec.Spaces[i].Name == "movie" {
			s.Spec.Spaces[i].Dim = o.Dim
		}
	}
	cfg := candgen.Config{
		Spec: s.Spec, VideoSpace: "movie", ExampleAge: !o.NoExampleAge, Tower: o.Tower, Batch: o.Batch, Negatives: o.Neg,
		Epochs: o.Epochs, LR: float32(o.LR), Seed: o.Seed, Progress: o.Progress, TieEmbeddings: o.Tie, LinearTop: o.LinearTop,
	}
	m, st, err := candgen.Train(ctx, cfg, train)
	if err != nil {
		return nil, err
	}
	say("trained %d examples × %d epochs at %.0f examples/s (%.1fs)", st.Examples, st.Epochs, st.ExamplesPerSec, st.Seconds)
	out := map[string]any{
		"train_examples": len(train), "epochs": st.Epochs,
		"train_examples_per_sec": math.Round(st.ExamplesPerSec), "train_seconds": math.Round(st.Seconds*10) / 10,
	}
	const top = 100
	// Each test request is served at its own time (the user's last known
	// activity); the paper's age 0 assumes serving at the end of the window.
	ages := s.TestAges
	if o.ServeAtEnd {
		ages = nil
	}
	all, err := m.RecommendBatchAt(ctx, s.Test, ages, top, nil)
	if err != nil {
		return nil, err
	}
	filt, err := m.RecommendBatchAt(ctx, s.Test, ages, top, s.Histories)
	if err != nil {
		return nil, err
	}
	pop := baseline.MostPopular(train)
	for _, mode := range []string{"all", "filtered"} {
		recs := all
		if mode == "filtered" {
			recs = filt
		}
		var model, popular baseline.Tally
		for i, label := range s.Labels {
			ids := make([]int64, len(recs[i]))
			for j, r := range recs[i] {
				ids[j] = r.ID
			}
			excl := []int64(nil)
			if mode == "filtered" {
				excl = s.Histories[i]
			}
			model.Add(ids, label)
			popular.Add(baseline.TopExcluding(pop, excl, top), label)
		}
		model.Put(out, "", mode)
		popular.Put(out, "mostpop_", mode)
		say("%-8s HR@10 %.4f HR@50 %.4f HR@100 %.4f NDCG@10 %.4f | most-popular HR@50 %.4f",
			mode, model.HR(0), model.HR(1), model.HR(2), model.NDCG(), popular.HR(1))
	}
	return out, nil
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }
