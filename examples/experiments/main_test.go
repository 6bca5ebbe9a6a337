package main

import (
	"context"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTinyExperiments(t *testing.T) {
	dir := t.TempDir()
	o := options{users: 200, videos: 300, watches: 10, epochs: 1, evalUsers: 100, rankEpochs: 1, maxDepth: 1, dim: 8, seed: 1, out: dir, log: io.Discard}
	require.NoError(t, run(context.Background(), o))
	md, err := os.ReadFile(filepath.Join(dir, "results.md"))
	require.NoError(t, err)
	for _, s := range []string{"+ example age", "with logQ correction", "1024→512→256", "depth 1"} {
		assert.Contains(t, string(md), s)
	}
	assert.Equal(t, 4, strings.Count(string(md), "\n| watches |")+strings.Count(string(md), "\n| + "), "one row per feature set")
	for _, f := range []string{"figure6.png", "ranking.png"} {
		fh, err := os.Open(filepath.Join(dir, f))
		require.NoError(t, err)
		img, err := png.Decode(fh)
		fh.Close()
		require.NoError(t, err, f)
		assert.Greater(t, img.Bounds().Dx(), 100)
	}
	assert.Error(t, run(context.Background(), options{maxDepth: 9, out: dir}))
}
