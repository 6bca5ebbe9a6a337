package modeldir_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/events"
	"github.com/ytdnn/ytdnn/layout"
	"github.com/ytdnn/ytdnn/modeldir"
	"github.com/ytdnn/ytdnn/ranking"
	"github.com/ytdnn/ytdnn/retrieval"
	"github.com/ytdnn/ytdnn/train"
)

// testConfig maps two user attributes, search tokens and two catalogue
// columns.
func testConfig() layout.Config {
	return layout.Config{
		SearchTokens: true,
		UserFeatures: []events.Column{{Column: "region", Kind: events.KindID}, {Column: "age", Kind: events.KindContinuous}},
		VideoFeatures: []events.Column{
			{Column: "channel", Kind: events.KindID}, {Column: "upload_time", Kind: events.KindTime},
		},
	}
}

// writeDir trains tiny models on generated events through the layout of
// testConfig and writes them as a model directory; it returns the
// directory.
func writeDir(t *testing.T) string {
	t.Helper()
	return writeRun(t, 1, false)
}

// writeRun is writeDir for one training run: seed seeds training and shifts
// the catalogue's upload times (so every file of two runs differs), and
// hnsw adds an index.
func writeRun(t *testing.T, seed uint64, hnsw bool) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 1))
	cat := &events.Catalogue{Features: testConfig().VideoFeatures, Items: map[int64][]events.Feat{}}
	for v := int64(0); v < 40; v++ {
		cat.Items[v] = []events.Feat{{ID: v % 5}, {Num: float64(v*1000) + float64(seed)}}
	}
	l, err := layout.New(testConfig(), 100_000, cat)
	require.NoError(t, err)
	var cgEx []candgen.Example
	var imps []ranking.Impression
	for u := 0; u < 60; u++ {
		var evs []events.Event
		for k := 0; k < 8; k++ {
			at := int64(10_000 * (k + 1))
			v := int64(rng.IntN(40))
			evs = append(evs,
				events.Event{Kind: events.Impression, Item: v, Time: at, Clicked: k%2 == 0, WatchTime: float32(k)},
				events.Event{Kind: events.Watch, Item: v, Time: at, Tokens: []int64{v % 7}, Feats: []events.Feat{{ID: int64(u % 3)}, {Num: float64(u)}}},
			)
		}
		l.Walk(evs, func(u *layout.User, video, at int64) { cgEx = append(cgEx, l.CandgenExample(u, video, at)) },
			func(u *layout.User, e *events.Event) {
				imps = append(imps, ranking.Impression{Features: l.RankExample(u, e.Item, e.Time, 0), Clicked: e.Clicked, WatchTime: float64(e.WatchTime)})
			})
	}
	ctx := context.Background()
	cg, _, err := train.Candgen(ctx, train.CandgenConfig{
		Spec: l.CandgenSpec(), ExampleAge: true, Tower: []int{8}, Negatives: 5, Options: train.Options{Batch: 64, Seed: seed},
	}, cgEx)
	require.NoError(t, err)
	rk, _, err := train.Ranking(ctx, train.RankingConfig{Spec: l.RankingSpec(), Tower: []int{8}, Options: train.Options{Batch: 64, Seed: seed}}, imps)
	require.NoError(t, err)
	var idx *retrieval.HNSW
	if hnsw {
		idx, err = cg.BuildHNSW(ctx, retrieval.HNSWConfig{Seed: seed, Workers: 1})
		require.NoError(t, err)
	}
	dir := filepath.Join(t.TempDir(), "v1")
	require.NoError(t, modeldir.Write(dir, &modeldir.Model{
		Manifest: modeldir.Manifest{Layout: l.Config(), End: l.End, Ranking: true}, Layout: l, Candgen: cg, Ranking: rk,
	}, idx))
	return dir
}

// editManifest replaces old by new in dir's manifest (old must be there).
func editManifest(t *testing.T, dir, old, new string) {
	t.Helper()
	path := filepath.Join(dir, modeldir.ManifestFile)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(raw), old)
	require.NoError(t, os.WriteFile(path, bytes.Replace(raw, []byte(old), []byte(new), 1), 0o644))
}

// copyDir copies a model directory's files into a new directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "v")
	require.NoError(t, os.CopyFS(dst, os.DirFS(src)))
	return dst
}

func TestWriteLoadRoundTrip(t *testing.T) {
	dir := writeDir(t)
	m, err := modeldir.Load(dir)
	require.NoError(t, err)
	assert.Equal(t, testConfig().UserFeatures, m.Layout.Config().UserFeatures)
	assert.Equal(t, layout.DefaultRankHistory, m.Layout.Config().RankHistory, "defaults are stored, not implied")
	assert.Len(t, m.Layout.Catalogue.Items, 40)
	require.NotNil(t, m.Ranking)
	u := &layout.User{History: []int64{1, 2}, Tokens: []int64{3}, Feats: []events.Feat{{ID: 1}, {Num: 30}}}
	recs, err := m.Candgen.Recommend(context.Background(), m.Layout.UserExample(u), 5, u.History)
	require.NoError(t, err)
	assert.Len(t, recs, 5)
	assert.ErrorContains(t, modeldir.Write(dir, m, nil), "exists", "an existing directory is never overwritten")
}

// TestLoadRefusesLayoutMismatch: a directory whose stored layout differs
// from what its models were trained on — a renamed or reordered feature, a
// changed length — is refused with an error naming the feature.
func TestLoadRefusesLayoutMismatch(t *testing.T) {
	dir := writeDir(t)
	for _, c := range []struct {
		name, old, new, want string
	}{
		{"renamed user attribute", `"column": "region"`, `"column": "regoin"`, `"user_region"`},
		{"reordered user attributes", `"column": "region",
        "kind": "id"
      },
      {
        "column": "age",
        "kind": "continuous"`, `"column": "age",
        "kind": "continuous"
      },
      {
        "column": "region",
        "kind": "id"`, `"user_region"`},
		{"history length", `"max_history": 50`, `"max_history": 49`, `"watches" keeps 50 IDs, expected 49`},
		{"ranker history length", `"rank_history": 20`, `"rank_history": 21`, `"last_watches" keeps 20 IDs, expected 21`},
		{"tokens dropped", `"search_tokens": true`, `"search_tokens": false`, `"searches"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := copyDir(t, dir)
			editManifest(t, d, c.old, c.new)
			_, err := modeldir.Load(d)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

// TestLoadRefusesBadFiles: every file must be a regular file within its
// bound and of this format version; the catalogue must map the layout's
// columns.
func TestLoadRefusesBadFiles(t *testing.T) {
	dir := writeDir(t)
	for _, c := range []struct {
		name    string
		breakIt func(t *testing.T, d string)
		want    string
	}{
		{"old format", func(t *testing.T, d string) { editManifest(t, d, `"format": 3`, `"format": 1`) }, "format 1, this build reads 3"},
		{"format 2 directory, files unbound", func(t *testing.T, d string) {
			// What the previous build wrote: format 2, no "files".
			p := filepath.Join(d, modeldir.ManifestFile)
			raw, err := os.ReadFile(p)
			require.NoError(t, err)
			var man map[string]any
			require.NoError(t, json.Unmarshal(raw, &man))
			delete(man, "files")
			man["format"] = 2
			raw, err = json.Marshal(man)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(p, raw, 0o644))
		}, "format 2, this build reads 3"},
		{"newer format with fields this build does not know", func(t *testing.T, d string) {
			editManifest(t, d, `"format": 3,`, `"format": 4, "signature": "x",`)
		}, "format 4, this build reads 3"},
		{"manifest is a link to /dev/zero", func(t *testing.T, d string) {
			p := filepath.Join(d, modeldir.ManifestFile)
			require.NoError(t, os.Remove(p))
			require.NoError(t, os.Symlink("/dev/zero", p))
		}, "not a regular file"},
		{"catalogue is a link to /dev/zero", func(t *testing.T, d string) {
			p := filepath.Join(d, modeldir.CatalogueFile)
			require.NoError(t, os.Remove(p))
			require.NoError(t, os.Symlink("/dev/zero", p))
		}, modeldir.CatalogueFile + " is not a regular file"},
		{"ranker is a folder", func(t *testing.T, d string) {
			p := filepath.Join(d, modeldir.RankingFile)
			require.NoError(t, os.Remove(p))
			require.NoError(t, os.Mkdir(p, 0o755))
		}, modeldir.RankingFile + " is not a regular file"},
		{"index is a dangling link", func(t *testing.T, d string) {
			require.NoError(t, os.Symlink(filepath.Join(d, "nowhere"), filepath.Join(d, modeldir.IndexFile)))
		}, modeldir.IndexFile},
		{"ranker one byte longer", func(t *testing.T, d string) {
			f, err := os.OpenFile(filepath.Join(d, modeldir.RankingFile), os.O_APPEND|os.O_WRONLY, 0)
			require.NoError(t, err)
			_, err = f.Write([]byte{0})
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}, modeldir.RankingFile},
		{"one byte of the ranker changed", func(t *testing.T, d string) {
			p := filepath.Join(d, modeldir.RankingFile)
			raw, err := os.ReadFile(p)
			require.NoError(t, err)
			raw[len(raw)/2] ^= 1
			require.NoError(t, os.WriteFile(p, raw, 0o644))
		}, modeldir.RankingFile + ": its SHA-256 differs"},
		{"manifest lists an unknown file", func(t *testing.T, d string) {
			editManifest(t, d, `"files": {`, `"files": {"world.json": {"size": 1, "sha256": "00"},`)
		}, `"world.json"`},
		{"manifest does not list the candgen model", func(t *testing.T, d string) {
			p := filepath.Join(d, modeldir.ManifestFile)
			raw, err := os.ReadFile(p)
			require.NoError(t, err)
			var man map[string]any
			require.NoError(t, json.Unmarshal(raw, &man))
			delete(man["files"].(map[string]any), modeldir.CandgenFile)
			raw, err = json.Marshal(man)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(p, raw, 0o644))
		}, "does not list " + modeldir.CandgenFile},
		{"manifest is a link", func(t *testing.T, d string) {
			p := filepath.Join(d, modeldir.ManifestFile)
			require.NoError(t, os.Rename(p, p+".real"))
			require.NoError(t, os.Symlink(p+".real", p))
		}, "not a regular file"},
		{"oversize manifest", func(t *testing.T, d string) {
			p := filepath.Join(d, modeldir.ManifestFile)
			require.NoError(t, os.Truncate(p, 2<<20))
		}, "more than"},
		{"catalogue column renamed", func(t *testing.T, d string) { editManifest(t, d, `"column": "channel"`, `"column": "chanel"`) }, `"channel"`},
		{"truncated model", func(t *testing.T, d string) {
			p := filepath.Join(d, modeldir.CandgenFile)
			raw, err := os.ReadFile(p)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(p, raw[:len(raw)/2], 0o644))
		}, modeldir.CandgenFile},
		{"missing ranker", func(t *testing.T, d string) { require.NoError(t, os.Remove(filepath.Join(d, modeldir.RankingFile))) }, modeldir.RankingFile},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := copyDir(t, dir)
			c.breakIt(t, d)
			_, err := modeldir.Load(d)
			require.Error(t, err)
			assert.True(t, strings.Contains(err.Error(), c.want), "%v does not say %q", err, c.want)
		})
	}
}

// TestLoadRefusesFilesOfAnotherRun: the manifest binds every file of its
// directory (size and SHA-256): a file from another training run, or a
// manifest from another run over this run's files, is refused, naming the
// file; so is a known file the manifest does not list.
func TestLoadRefusesFilesOfAnotherRun(t *testing.T) {
	a, b := writeRun(t, 1, true), writeRun(t, 2, true)
	_, err := modeldir.Load(a)
	require.NoError(t, err)
	for _, name := range []string{modeldir.CandgenFile, modeldir.RankingFile, modeldir.CatalogueFile, modeldir.IndexFile, modeldir.ManifestFile} {
		t.Run(name+" from another run", func(t *testing.T) {
			other, err := os.ReadFile(filepath.Join(b, name))
			require.NoError(t, err)
			mine, err := os.ReadFile(filepath.Join(a, name))
			require.NoError(t, err)
			require.NotEqual(t, mine, other, "the two runs wrote different %s", name)
			d := copyDir(t, a)
			require.NoError(t, os.WriteFile(filepath.Join(d, name), other, 0o644))
			_, err = modeldir.Load(d)
			require.Error(t, err)
			if name != modeldir.ManifestFile {
				assert.ErrorContains(t, err, name)
			}
			assert.ErrorContains(t, err, "manifest")
		})
	}
	t.Run("index the manifest does not list", func(t *testing.T) {
		d := copyDir(t, writeDir(t))
		raw, err := os.ReadFile(filepath.Join(b, modeldir.IndexFile))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(d, modeldir.IndexFile), raw, 0o644))
		_, err = modeldir.Load(d)
		assert.ErrorContains(t, err, modeldir.IndexFile)
	})
}

// TestWriteNonFiniteStats: a run's NaN metric (a held-out window with no
// click has no AUC) is recorded as null; the directory is still written.
func TestWriteNonFiniteStats(t *testing.T) {
	m, err := modeldir.Load(writeDir(t))
	require.NoError(t, err)
	m.Manifest.Stats = map[string]any{"ranking_auc": math.NaN(), "hr@50_all": 0.25}
	dir := filepath.Join(t.TempDir(), "v2")
	require.NoError(t, modeldir.Write(dir, m, nil))
	back, err := modeldir.Load(dir)
	require.NoError(t, err)
	assert.Nil(t, back.Manifest.Stats["ranking_auc"])
	assert.Equal(t, 0.25, back.Manifest.Stats["hr@50_all"])
	assert.True(t, math.IsNaN(m.Manifest.Stats["ranking_auc"].(float64)), "the caller's map is left as it was")
}
