package main

import (
	"context"
	"fmt"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func checkPNG(t *testing.T, path string) {
	t.Helper()
	fh, err := os.Open(path)
	require.NoError(t, err)
	defer fh.Close()
	img, err := png.Decode(fh)
	require.NoError(t, err, path)
	assert.Greater(t, img.Bounds().Dx(), 100)
}

func TestTinyExperiments(t *testing.T) {
	dir := t.TempDir()
	o := options{users: 200, videos: 300, watches: 10, epochs: 1, evalUsers: 100, rankEpochs: 1, maxDepth: 1, dim: 8, seed: 1, seeds: 2, out: dir, log: io.Discard}
	require.NoError(t, runWorld(context.Background(), o))
	md, err := os.ReadFile(filepath.Join(dir, "results.md"))
	require.NoError(t, err)
	for _, s := range []string{"+ example age", "with logQ correction", "1024→512→256", "depth 1", "seeds 1-2"} {
		assert.Contains(t, string(md), s)
	}
	assert.Equal(t, 4, strings.Count(string(md), "\n| watches |")+strings.Count(string(md), "\n| + "), "one row per feature set")
	assert.Regexp(t, `\| watches \| 0\.\d{3} ± 0\.\d{3} \| 0\.\d{3} ± 0\.\d{3} \|`, string(md), "mean ± standard error per cell")
	for _, f := range []string{"figure6.png", "ranking.png"} {
		checkPNG(t, filepath.Join(dir, f))
	}
	assert.Error(t, runWorld(context.Background(), options{maxDepth: 9, seeds: 1, out: dir}))
	assert.Error(t, runWorld(context.Background(), options{maxDepth: 1, seeds: 0, out: dir}))
}

// TestSamplesString: mean ± standard error (eval.MeanSE), the mean alone
// for one seed.
func TestSamplesString(t *testing.T) {
	assert.Equal(t, "3.000 ± 1.080", samples{1, 2, 3, 6}.String()) // sd √(14/3) over √4
	assert.Equal(t, "0.250", samples{0.25}.String())
}

// writeMovieLens writes a small MovieLens-100K folder whose users prefer a
// genre tied to their occupation.
func writeMovieLens(t *testing.T, withUsers bool) string {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(4, 4))
	var ratings, users, items strings.Builder
	for m := 1; m <= 60; m++ {
		flags := strings.Repeat("0|", 18) + "0"
		fmt.Fprintf(&items, "%d|Movie %d|01-Jan-1999||http://x|%s\n", m, m, flags)
	}
	for u := 1; u <= 80; u++ {
		g := u % 4
		fmt.Fprintf(&users, "%d|%d|%s|occ%d|%05d\n", u, 20+u%30, []string{"M", "F"}[u%2], g, 10000+u)
		for k := 0; k < 12; k++ {
			fmt.Fprintf(&ratings, "%d\t%d\t4\t%d\n", u, 1+4*rng.IntN(15)+g, 1000+u*20+k)
		}
	}
	files := map[string]string{"u.data": ratings.String(), "u.item": items.String()}
	if withUsers {
		files["u.user"] = users.String()
	}
	for name, s := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644))
	}
	return dir
}

func TestTinyMovieLensAblation(t *testing.T) {
	dir := t.TempDir()
	o := options{maxEpochs: 2, maxDepth: 1, dim: 8, seed: 1, seeds: 2, data: writeMovieLens(t, true), out: dir, log: io.Discard}
	require.NoError(t, runMovieLens(context.Background(), o))
	md, err := os.ReadFile(filepath.Join(dir, "results-movielens.md"))
	require.NoError(t, err)
	for _, s := range []string{"| watches |", "| + demographics |", "| + example age |", "+ example age, served at age 0", "with logQ correction", "no searches", "Seeds 1-2"} {
		assert.Contains(t, string(md), s)
	}
	assert.NotContains(t, string(md), "| + searches |")
	checkPNG(t, filepath.Join(dir, "figure6-movielens.png"))
	o.data = writeMovieLens(t, false)
	assert.ErrorContains(t, runMovieLens(context.Background(), o), "demographics")
}
