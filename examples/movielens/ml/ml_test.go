package ml

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/candgen"
)

// writeFixture writes a small synthetic MovieLens folder in either layout:
// users like one of 5 genres and rate movies of it in order.
func writeFixture(t *testing.T, layout string) string {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	genres := []string{"Action", "Comedy", "Drama", "Horror", "Romance"}
	var ratings, users, movies strings.Builder
	if layout == "csv" {
		ratings.WriteString("userId,movieId,rating,timestamp\n")
		movies.WriteString("movieId,title,genres\n")
	}
	for m := 1; m <= 100; m++ {
		g := genres[m%5]
		if layout == "csv" {
			fmt.Fprintf(&movies, "%d,\"Movie %d, The (1999)\",%s|Drama\n", m, m, g)
		} else if layout == "1m" {
			fmt.Fprintf(&movies, "%d::Movie %d (1999)::%s\n", m, m, g)
		} else {
			flags := make([]string, 19)
			for i := range flags {
				flags[i] = "0"
			}
			flags[1+m%5] = "1"
			fmt.Fprintf(&movies, "%d|Movie %d|01-Jan-1999||http://x|%s\n", m, m, strings.Join(flags, "|"))
		}
	}
	for u := 1; u <= 120; u++ {
		g := rng.IntN(5)
		sex := "M"
		if u%2 == 0 {
			sex = "F"
		}
		if layout == "1m" {
			fmt.Fprintf(&users, "%d::%s::25::%d::%05d\n", u, sex, u%20, 10000+u)
		} else {
			fmt.Fprintf(&users, "%d|%d|%s|student|%05d\n", u, 20+u%30, sex, 10000+u)
		}
		for k := 0; k < 12; k++ {
			m := 5*rng.IntN(20) + g
			if m == 0 {
				m = 5
			}
			if layout == "csv" {
				fmt.Fprintf(&ratings, "%d,%d,4.5,%d\n", u, m, 1000+k)
			} else if layout == "1m" {
				fmt.Fprintf(&ratings, "%d::%d::4::%d\n", u, m, 1000+k)
			} else {
				fmt.Fprintf(&ratings, "%d\t%d\t4\t%d\n", u, m, 1000+k)
			}
		}
	}
	names := map[string][3]string{"100k": {"u.data", "u.user", "u.item"}, "1m": {"ratings.dat", "users.dat", "movies.dat"}, "csv": {"ratings.csv", "", "movies.csv"}}[layout]
	for i, s := range []string{ratings.String(), users.String(), movies.String()} {
		if names[i] == "" {
			continue
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, names[i]), []byte(s), 0o644))
	}
	return dir
}

func tinyOptions(dir string) Options {
	return Options{Dir: dir, Epochs: 3, Batch: 64, Neg: 20, Dim: 8, Tower: []int{16, 8}, Hist: 10, LR: 0.01, Seed: 1, Out: io.Discard}
}

func TestBothLayoutsEndToEnd(t *testing.T) {
	for _, layout := range []string{"100k", "1m", "csv"} {
		t.Run(layout, func(t *testing.T) {
			dir := writeFixture(t, layout)
			d, err := Load(dir)
			require.NoError(t, err)
			assert.Equal(t, layout, d.Layout)
			assert.Equal(t, layout != "csv", d.Users != nil, "only the CSV layout has no user file")
			require.NotNil(t, d.Genres)
			assert.Len(t, d.Ratings, 120*12)
			if layout == "csv" {
				assert.Equal(t, []string{"Action", "Drama"}, d.Genres[5], "a quoted title with a comma")
			}
			m, err := Run(context.Background(), tinyOptions(dir))
			require.NoError(t, err)
			for _, k := range []string{"hr@10_all", "hr@50_all", "hr@100_all", "ndcg@10_all", "hr@50_filtered", "mostpop_hr@50_all", "train_examples_per_sec", "train_examples", "epochs"} {
				assert.Contains(t, m, k)
			}
			assert.Equal(t, 120*10, m["train_examples"])
		})
	}
}

func TestOptionalFilesDropped(t *testing.T) {
	dir := writeFixture(t, "100k")
	require.NoError(t, os.Remove(filepath.Join(dir, "u.user")))
	require.NoError(t, os.Remove(filepath.Join(dir, "u.item")))
	d, err := Load(dir)
	require.NoError(t, err)
	assert.Nil(t, d.Users)
	s := BuildSplit(d, 10)
	assert.Len(t, s.Spec.Features, 2)
	o := tinyOptions(dir)
	o.MaxTrain = 300
	m, err := Run(context.Background(), o)
	require.NoError(t, err)
	assert.Equal(t, 300, m["train_examples"])
}

func TestMalformedLineNamesFileAndLine(t *testing.T) {
	dir := writeFixture(t, "100k")
	p := filepath.Join(dir, "u.data")
	raw, _ := os.ReadFile(p)
	lines := strings.Split(string(raw), "\n")
	lines[6] = "12\tnot-a-movie\t4\t99"
	require.NoError(t, os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644))
	_, err := Load(dir)
	var pe *ParseError
	require.True(t, errors.As(err, &pe), "%v", err)
	assert.Equal(t, "u.data", pe.File)
	assert.Equal(t, 7, pe.Line)
	assert.ErrorContains(t, err, "u.data:7")
	_, err = Load(t.TempDir())
	assert.Error(t, err)
	_, err = ParseRatingLine("1\t2\t3")
	assert.Error(t, err)
	r, err := ParseRatingLine("1\t2\t3\t4")
	require.NoError(t, err)
	assert.Equal(t, Rating{User: 1, Movie: 2, Time: 4}, r)
}

func FuzzParseRatingLine(f *testing.F) {
	for _, s := range []string{"196\t242\t3\t881250949", "1 2 3 4", "", "x\ty\tz\tw", "1\t2\t3\t99999999999999999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		r, err := ParseRatingLine(line)
		if err == nil && strings.TrimSpace(line) != "" && r.User == 0 && r.Movie == 0 && r.Time == 0 && !strings.Contains(line, "0") {
			t.Fatalf("parsed %q as zero without error", line)
		}
	})
}

// TestSplitHoldsOutValidationAndTest: per user, the last rating is the test
// target and the one before it the validation target; Fit holds neither,
// Train holds the validation target but never the test target, and every
// request's history is what came strictly before its label.
func TestSplitHoldsOutValidationAndTest(t *testing.T) {
	d, err := Load(writeFixture(t, "100k"))
	require.NoError(t, err)
	s := BuildSplit(d, 4)
	require.Len(t, s.Test.Labels, 120)
	require.Len(t, s.Val.Labels, 120)
	assert.Len(t, s.Train, 120*10)
	assert.Len(t, s.Fit, 120*9)
	byUser := map[int64][]Rating{}
	for _, r := range d.Ratings {
		byUser[r.User] = append(byUser[r.User], r) // the fixture writes each user in time order
	}
	for i := range s.Test.Labels {
		rs := byUser[int64(i+1)]
		n := len(rs)
		assert.Equal(t, rs[n-1].Movie, s.Test.Labels[i])
		assert.Equal(t, rs[n-2].Movie, s.Val.Labels[i])
		assert.Len(t, s.Test.Histories[i], n-1)
		assert.Len(t, s.Val.Histories[i], n-2)
		assert.Equal(t, []int64{rs[n-5].Movie, rs[n-4].Movie, rs[n-3].Movie, rs[n-2].Movie}, s.Test.Requests[i].IDs[0])
		assert.Equal(t, []int64{rs[n-6].Movie, rs[n-5].Movie, rs[n-4].Movie, rs[n-3].Movie}, s.Val.Requests[i].IDs[0])
		assert.Equal(t, float64(1011-rs[n-2].Time), s.Test.Ages[i])
		assert.Equal(t, float64(1011-rs[n-3].Time), s.Val.Ages[i])
	}
	// Examples are told apart by (history, label): the last rating of a
	// user's history is the rating before the label.
	key := func(e candgen.Example) string { return fmt.Sprint(e.Features.IDs[0], e.Label, e.Age) }
	fit := map[string]bool{}
	for _, e := range s.Fit {
		fit[key(e)] = true
		assert.NotEqual(t, 0.0, e.Age, "the validation target (age 1 here) and the test target (age 0) are not in Fit")
		assert.NotEqual(t, 1.0, e.Age)
	}
	valTargets := 0
	for _, e := range s.Train {
		assert.NotEqual(t, 0.0, e.Age, "no test target in Train")
		if !fit[key(e)] {
			valTargets++
			assert.Equal(t, 1.0, e.Age)
		}
	}
	assert.Equal(t, 120, valTargets)
}

func TestCSVLayoutErrors(t *testing.T) {
	dir := writeFixture(t, "csv")
	p := filepath.Join(dir, "ratings.csv")
	raw, _ := os.ReadFile(p)
	lines := strings.Split(string(raw), "\n")
	bad := slices.Clone(lines)
	bad[5] = "3,17,4.0"
	require.NoError(t, os.WriteFile(p, []byte(strings.Join(bad, "\n")), 0o644))
	_, err := Load(dir)
	assert.ErrorContains(t, err, "ratings.csv:6")
	bad = slices.Clone(lines)
	bad[9] = "3,17,4.0,yesterday"
	require.NoError(t, os.WriteFile(p, []byte(strings.Join(bad, "\n")), 0o644))
	_, err = Load(dir)
	assert.ErrorContains(t, err, `ratings.csv:10: bad timestamp "yesterday"`)
	bad = slices.Clone(lines)
	bad[0] = "user,movie,rating,timestamp"
	require.NoError(t, os.WriteFile(p, []byte(strings.Join(bad, "\n")), 0o644))
	_, err = Load(dir)
	assert.ErrorContains(t, err, "ratings.csv:1: header")
	require.NoError(t, os.WriteFile(p, nil, 0o644))
	_, err = Load(dir)
	assert.ErrorContains(t, err, "empty file")
	require.NoError(t, os.WriteFile(p, []byte(lines[0]+"\n"), 0o644))
	_, err = Load(dir)
	assert.ErrorContains(t, err, "no ratings")
}

// TestEpochsChosenOnValidation: with Patience the final model trains for
// the epoch count that scored best on validation, and both the validation
// and the test numbers are reported; -tune reports the point it chose.
func TestEpochsChosenOnValidation(t *testing.T) {
	dir := writeFixture(t, "100k")
	o := tinyOptions(dir)
	o.Epochs, o.Patience, o.Dropout = 12, 2, 0.2
	m, err := Run(context.Background(), o)
	require.NoError(t, err)
	ep := m["epochs"].(int)
	assert.True(t, ep >= 1 && ep < 12, "epochs %d: validation stops this run early", ep)
	assert.Equal(t, m["val_epochs"], ep, "the final model trains for the epochs chosen on validation")
	assert.Equal(t, ep+2, m["val_epochs_run"], "the best epoch, then patience epochs without a better one")
	for _, k := range []string{"val_hr@50_all", "val_hr@50_filtered", "hr@50_all", "hr@50_filtered"} {
		assert.Contains(t, m, k)
	}
	grid := TuneGrid
	t.Cleanup(func() { TuneGrid = grid })
	TuneGrid = []Setting{{LR: 0.01, Neg: 20}, {LR: 0.02, Neg: 10, Dropout: 0.1}}
	o.Tune, o.Epochs = true, 3
	m, err = Run(context.Background(), o)
	require.NoError(t, err)
	assert.Contains(t, []float64{0.01, 0.02}, m["tuned_lr"])
	assert.Contains(t, m, "tuned_dropout")
}

func TestParseGrid(t *testing.T) {
	g, err := ParseGrid("0.01, 0.02", "10", "0,1e-4", "0.2")
	require.NoError(t, err)
	assert.Equal(t, []Setting{{LR: 0.01, Neg: 10, Dropout: 0.2}, {LR: 0.01, Neg: 10, L2: 1e-4, Dropout: 0.2}, {LR: 0.02, Neg: 10, Dropout: 0.2}, {LR: 0.02, Neg: 10, L2: 1e-4, Dropout: 0.2}}, g)
	for _, bad := range [][4]string{{"x", "1", "0", "0"}, {"0.1", "1.5", "0", "0"}, {"0.1", "0", "0", "0"}, {"0.1", "1", "-1", "0"}, {"0.1", "1", "0", "1"}, {"0.1", "1", "0", ""}, {"Inf", "1", "0", "0"}} {
		_, err := ParseGrid(bad[0], bad[1], bad[2], bad[3])
		assert.Error(t, err, "%q", bad)
	}
	assert.Equal(t, 3, meanEpochs([]int{2, 3, 4}))
	assert.Equal(t, 4, meanEpochs([]int{3, 4}), "halves round up")
}

func TestDefaultGrid(t *testing.T) {
	assert.Len(t, TuneGrid, 3*2*2*3)
	assert.Contains(t, TuneGrid, Defaults, "the shipped defaults are a point of the grid")
}
