package export

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/ranking"
	"github.com/ytdnn/ytdnn/train"
)

// onnxSpec has every kind of feature: a bag, IDs of two spaces, a
// continuous feature with ties, a value.
func onnxSpec() feature.Spec {
	return feature.Spec{
		Spaces: []feature.Space{{Name: "video"}, {Name: "region"}},
		Features: []feature.Feature{
			{Name: "watches", Kind: feature.Bag, Space: "video", MaxLen: 6},
			{Name: "last", Kind: feature.ID, Space: "video"},
			{Name: "region", Kind: feature.ID, Space: "region"},
			{Name: "age", Kind: feature.Continuous},
			{Name: "logged_in", Kind: feature.Value},
		},
	}
}

// onnxExample draws an example: IDs partly outside the vocabularies, bags
// empty to longer than MaxLen, ages with ties (integers) and outside the
// fitted range.
func onnxExample(rng *rand.Rand, wide bool) feature.Example {
	hist := make([]int64, rng.IntN(9))
	for i := range hist {
		hist[i] = 1 + rng.Int64N(60)
	}
	var last []int64
	if len(hist) > 0 {
		last = hist[len(hist)-1:]
	}
	age := float64(rng.IntN(6)) // ties
	if rng.IntN(3) == 0 {
		age = rng.Float64() * 5
	}
	if wide && rng.IntN(4) == 0 {
		age = rng.Float64()*40 - 20 // below and above the fitted range
	}
	var region []int64
	if rng.IntN(5) > 0 {
		region = []int64{rng.Int64N(12)}
	}
	return feature.Example{IDs: [][]int64{hist, last, region, nil, nil}, Nums: []float64{0, 0, 0, age, float64(rng.IntN(2))}}
}

// onnxInputs turns examples into the exported model's inputs (skipping
// the features after n), in the JSON onnx_run.cjs reads.
func onnxInputs(spec feature.Spec, exs []feature.Example) map[string]any {
	out := map[string]any{}
	n := len(exs)
	for i, f := range spec.Features {
		switch f.Kind {
		case feature.Bag:
			l := 1
			for _, e := range exs {
				l = max(l, min(len(e.IDs[i]), f.MaxLen))
			}
			ids, mask := make([]string, n*l), make([]float32, n*l)
			for r, e := range exs {
				h := e.IDs[i]
				if len(h) > f.MaxLen {
					h = h[len(h)-f.MaxLen:]
				}
				for j := range l {
					ids[r*l+j] = "-7" // padding: any ID
					if j < len(h) {
						ids[r*l+j], mask[r*l+j] = strconv.FormatInt(h[j], 10), 1
					}
				}
			}
			out[f.Name] = map[string]any{"dtype": "int64", "dims": []int{n, l}, "data": ids}
			out[f.Name+"_mask"] = map[string]any{"dtype": "float32", "dims": []int{n, l}, "data": mask}
		case feature.ID:
			ids := make([]string, n)
			for r, e := range exs {
				ids[r] = "-9223372036854775808" // absent: outside the vocabulary
				if len(e.IDs[i]) == 1 {
					ids[r] = strconv.FormatInt(e.IDs[i][0], 10)
				}
			}
			out[f.Name] = map[string]any{"dtype": "int64", "dims": []int{n, 1}, "data": ids}
		case feature.Continuous, feature.Value:
			v := make([]float64, n)
			for r, e := range exs {
				v[r] = e.Nums[i]
			}
			dt := "float64"
			if f.Kind == feature.Value {
				dt = "float32"
			}
			out[f.Name] = map[string]any{"dtype": dt, "dims": []int{n, 1}, "data": v}
		}
	}
	return out
}

// runONNX runs model on inputs in ONNX Runtime (onnx_run.cjs), or skips
// the test when the runtime is not installed.
func runONNX(t *testing.T, model []byte, inputs map[string]any) map[string][]float64 {
	t.Helper()
	dir := os.Getenv("YTDNN_ONNXRUNTIME_NODE")
	node, err := exec.LookPath("node")
	if dir == "" || err != nil {
		t.Skip("ONNX Runtime absent: set YTDNN_ONNXRUNTIME_NODE to a node_modules folder holding onnxruntime-node (npm install --ignore-scripts onnxruntime-node; .ci/run does) and put node on PATH")
	}
	tmp := t.TempDir()
	mp, ip := filepath.Join(tmp, "model.onnx"), filepath.Join(tmp, "inputs.json")
	require.NoError(t, os.WriteFile(mp, model, 0o644))
	raw, err := json.Marshal(inputs)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(ip, raw, 0o644))
	script, err := filepath.Abs(filepath.Join("testdata", "onnx_run.cjs"))
	require.NoError(t, err)
	cmd := exec.Command(node, script, mp, ip)
	cmd.Env = append(os.Environ(), "NODE_PATH="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	require.NoError(t, err, "onnxruntime: %s", stderr.String())
	var res map[string]struct {
		Dims []int     `json:"dims"`
		Data []float64 `json:"data"`
	}
	require.NoError(t, json.Unmarshal(stdout, &res))
	out := map[string][]float64{}
	for k, v := range res {
		out[k] = v.Data
	}
	return out
}

func assertClose(t *testing.T, want []float32, got []float64, what string) {
	t.Helper()
	require.Len(t, got, len(want), what)
	worst := 0.0
	for i, w := range want {
		d := math.Abs(float64(w)-got[i]) / (1 + math.Abs(float64(w)))
		worst = max(worst, d)
		if d > 1e-5 {
			t.Fatalf("%s[%d]: ONNX Runtime %v, the Go forward pass %v", what, i, got[i], w)
		}
	}
	t.Logf("%s: %d values, largest difference %.2g", what, len(want), worst)
}

func onnxTrainingExamples(n int, rng *rand.Rand) []feature.Example {
	exs := make([]feature.Example, n)
	for i := range exs {
		exs[i] = onnxExample(rng, false)
	}
	return exs
}

func TestUserTowerONNXMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var data []candgen.Example
	for i, ex := range onnxTrainingExamples(600, rng) {
		// Ages around 0, so that serving's age 0 is inside the fitted range.
		data = append(data, candgen.Example{Features: ex, Label: 1 + int64(i%50), Age: rng.Float64()*30 - 10})
	}
	m, _, err := train.Candgen(context.Background(), train.CandgenConfig{Spec: onnxSpec(), ExampleAge: true, Tower: []int{16, 8}, Negatives: 10,
		Options: train.Options{Batch: 64, Epochs: 2, Seed: 1}}, data)
	require.NoError(t, err)
	var buf bytes.Buffer
	sig, err := UserTowerONNX(&buf, m, nil)
	require.NoError(t, err)
	var names []string
	for _, in := range sig.Inputs {
		names = append(names, in.Name)
	}
	assert.Equal(t, []string{"watches", "watches_mask", "last", "region", "age", "logged_in"}, names, "example age is not an input")
	assert.Equal(t, "user_vector", sig.Outputs[0].Name)

	exs := make([]feature.Example, 64)
	for i := range exs {
		exs[i] = onnxExample(rng, true)
	}
	exs[0].IDs = [][]int64{nil, nil, nil, nil, nil} // nothing known
	D := m.D()
	u := make([]float32, len(exs)*D)
	require.NoError(t, m.UserVectors(u, exs))
	want := make([]float32, 0, len(exs)*(D+1))
	for r := range exs {
		want = append(append(want, u[r*D:(r+1)*D]...), 1)
	}
	got := runONNX(t, buf.Bytes(), onnxInputs(onnxSpec(), exs))
	assertClose(t, want, got["user_vector"], "user_vector")
}

func TestRankerONNXMatchesGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var imps []ranking.Impression
	for _, ex := range onnxTrainingExamples(800, rng) {
		clicked := rng.IntN(3) == 0
		imps = append(imps, ranking.Impression{Features: ex, Clicked: clicked, WatchTime: rng.Float64() * 100})
	}
	m, _, err := train.Ranking(context.Background(), train.RankingConfig{Spec: onnxSpec(), Tower: []int{16}, Options: train.Options{Batch: 64, Epochs: 2, Seed: 1}}, imps)
	require.NoError(t, err)
	var buf bytes.Buffer
	_, err = RankerONNX(&buf, m, nil)
	require.NoError(t, err)
	exs := make([]feature.Example, 64)
	for i := range exs {
		exs[i] = onnxExample(rng, true)
	}
	logits := make([]float32, len(exs))
	require.NoError(t, m.Logits(logits, exs))
	ewt, err := m.ExpectedWatchTime(exs)
	require.NoError(t, err)
	got := runONNX(t, buf.Bytes(), onnxInputs(onnxSpec(), exs))
	assertClose(t, logits, got["logit"], "logit")
	want := make([]float32, len(ewt))
	for i, v := range ewt {
		want[i] = float32(v)
	}
	assertClose(t, want, got["expected_watch_time"], "expected_watch_time")
}

// TestONNXRefusesTextIDs: a space of text IDs cannot be fed as int64: an
// error naming the feature, nothing written.
func TestONNXRefusesTextIDs(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	var imps []ranking.Impression
	for _, ex := range onnxTrainingExamples(200, rng) {
		imps = append(imps, ranking.Impression{Features: ex, Clicked: rng.IntN(2) == 0, WatchTime: 3})
	}
	m, _, err := train.Ranking(context.Background(), train.RankingConfig{Spec: onnxSpec(), Tower: []int{4}, Options: train.Options{Batch: 32, Seed: 1}}, imps)
	require.NoError(t, err)
	var buf bytes.Buffer
	_, err = RankerONNX(&buf, m, map[string]bool{"region": true})
	assert.True(t, errors.Is(err, ErrONNXFeature))
	assert.ErrorContains(t, err, `feature "region": its space "region" has text IDs`)
	assert.Zero(t, buf.Len(), "nothing written")
}
