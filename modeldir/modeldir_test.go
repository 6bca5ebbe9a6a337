package modeldir_test

import (
	"bytes"
	"context"
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
	rng := rand.New(rand.NewPCG(1, 1))
	cat := &events.Catalogue{Features: testConfig().VideoFeatures, Items: map[int64][]events.Feat{}}
	for v := int64(0); v < 40; v++ {
		cat.Items[v] = []events.Feat{{ID: v % 5}, {Num: float64(v * 1000)}}
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
		Spec: l.CandgenSpec(), ExampleAge: true, Tower: []int{8}, Negatives: 5, Options: train.Options{Batch: 64, Seed: 1},
	}, cgEx)
	require.NoError(t, err)
	rk, _, err := train.Ranking(ctx, train.RankingConfig{Spec: l.RankingSpec(), Tower: []int{8}, Options: train.Options{Batch: 64, Seed: 1}}, imps)
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "v1")
	require.NoError(t, modeldir.Write(dir, &modeldir.Model{
		Manifest: modeldir.Manifest{Layout: l.Config(), End: l.End, Ranking: true}, Layout: l, Candgen: cg, Ranking: rk,
	}, nil))
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
		breakIt func(d string)
		want    string
	}{
		{"old format", func(d string) { editManifest(t, d, `"format": 2`, `"format": 1`) }, "format 1, this build reads 2"},
		{"manifest is a link", func(d string) {
			p := filepath.Join(d, modeldir.ManifestFile)
			require.NoError(t, os.Rename(p, p+".real"))
			require.NoError(t, os.Symlink(p+".real", p))
		}, "not a regular file"},
		{"oversize manifest", func(d string) {
			p := filepath.Join(d, modeldir.ManifestFile)
			require.NoError(t, os.Truncate(p, 2<<20))
		}, "more than"},
		{"catalogue column renamed", func(d string) { editManifest(t, d, `"column": "channel"`, `"column": "chanel"`) }, `"channel"`},
		{"truncated model", func(d string) {
			p := filepath.Join(d, modeldir.CandgenFile)
			raw, err := os.ReadFile(p)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(p, raw[:len(raw)/2], 0o644))
		}, modeldir.CandgenFile},
		{"missing ranker", func(d string) { require.NoError(t, os.Remove(filepath.Join(d, modeldir.RankingFile))) }, modeldir.RankingFile},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := copyDir(t, dir)
			c.breakIt(d)
			_, err := modeldir.Load(d)
			require.Error(t, err)
			assert.True(t, strings.Contains(err.Error(), c.want), "%v does not say %q", err, c.want)
		})
	}
}
