package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/events"
	"github.com/ytdnn/ytdnn/examples/pipeline/pipe"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/ingest"
	"github.com/ytdnn/ytdnn/internal/binfmt"
	"github.com/ytdnn/ytdnn/modeldir"
	"github.com/ytdnn/ytdnn/retrieval"
	"github.com/ytdnn/ytdnn/train"
)

var (
	buildOnce sync.Once
	modelRoot string
	modelDirA string
	modelDirB string
	buildErr  error
)

// dirs trains two tiny model directories once per test binary through the
// log pipeline (generated logs of 400 users and 500 videos; B has an HNSW
// index and another seed).
func dirs(t testing.TB) (string, string) {
	t.Helper()
	buildOnce.Do(func() {
		root, err := os.MkdirTemp("", "ytdnn-serve-test")
		if err != nil {
			buildErr = err
			return
		}
		modelRoot = root
		modelDirA, modelDirB = filepath.Join(root, "a"), filepath.Join(root, "b")
		if buildErr = buildModelDir(root, modelDirA, 1, false); buildErr != nil {
			return
		}
		buildErr = buildModelDir(root, modelDirB, 2, true)
	})
	require.NoError(t, buildErr)
	return modelDirA, modelDirB
}

// buildModelDir generates a small log under root and trains a model
// directory at out from it (2 epochs, small towers).
func buildModelDir(root, out string, seed uint64, hnsw bool) error {
	data := filepath.Join(root, fmt.Sprintf("data-%d", seed))
	if _, err := pipe.Generate(data, pipe.GenOptions{Users: 400, Videos: 500, Events: 400 * 12, Seed: seed}); err != nil {
		return err
	}
	spec := pipe.GenSpec()
	tmp, err := os.MkdirTemp(root, "spill")
	if err != nil {
		return err
	}
	o := pipe.Options{Data: data, Out: out, Spec: &spec, TempDir: tmp, Seed: seed, Epochs: 2, HNSW: hnsw,
		Candgen: train.CandgenConfig{Tower: []int{32, 16}, Negatives: 100, Options: train.Options{Batch: 256, LR: 0.01}},
		Ranking: train.RankingConfig{Tower: []int{16}, Options: train.Options{Batch: 256, LR: 0.01}}}
	_, err = pipe.Run(context.Background(), o)
	return err
}

func newTestServer(t testing.TB) *Server {
	t.Helper()
	a, _ := dirs(t)
	m, err := Load(a)
	require.NoError(t, err)
	return New(m)
}

const testToken = "0123456789abcdef-test-token"

// newAdminServer is newTestServer with the admin routes on (testToken) and
// the test model root as its ModelRoot.
func newAdminServer(t testing.TB) *Server {
	t.Helper()
	s := newTestServer(t)
	s.AdminToken, s.ModelRoot = testToken, modelRoot
	return s
}

func post(t testing.TB, h http.Handler, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	return postAs(t, h, path, body, "application/json", testToken)
}

func postAs(t testing.TB, h http.Handler, path, body, contentType, token string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func get(h http.Handler, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec
}

// scrape parses /metrics with Prometheus's own exposition parser.
func scrape(t testing.TB, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	rec := get(h, "/metrics")
	require.Equal(t, http.StatusOK, rec.Code)
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(rec.Body)
	require.NoError(t, err)
	return fams
}

// metric returns the value of the counter or gauge sample of family name
// whose labels include want (0 when there is none).
func metric(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
next:
	for _, m := range f.Metric {
		have := map[string]string{}
		for _, l := range m.Label {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue()
		case m.Gauge != nil:
			return m.Gauge.GetValue()
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount())
		}
	}
	return 0
}

// copyDir copies a model directory (flat) into a new temporary one.
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := t.TempDir()
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, e.Name()), raw, 0o644))
	}
	return dst
}

func TestRecommendOK(t *testing.T) {
	s := newTestServer(t)
	h := s.Handler()
	rec := post(t, h, "/v1/recommend", `{"history":[1,2,3,999999],"search_tokens":[4],"attributes":{"region":2,"device":1,"age":30},"n":7}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, "1", rec.Header().Get(GenerationHeader))
	var resp Response
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp))
	require.Len(t, resp.Items, 7)
	assert.Equal(t, "a", resp.Model, "the model's name, not its path")
	assert.Equal(t, uint64(1), resp.Generation)
	for i, it := range resp.Items {
		assert.NotContains(t, []int64{1, 2, 3}, it.Video, "watched videos are excluded")
		if i > 0 {
			assert.GreaterOrEqual(t, resp.Items[i-1].ExpectedWatchTime, it.ExpectedWatchTime)
		}
	}
	// Empty history works too; so does a charset parameter.
	rec = postAs(t, h, "/v1/recommend", `{"n":3}`, "application/json; charset=utf-8", "")
	assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
}

func TestBadRequests(t *testing.T) {
	h := newTestServer(t).Handler()
	cases := map[string]struct {
		body   string
		status int
	}{
		"malformed":     {`{"n":`, 400},
		"not an object": {`[1,2]`, 400},
		"unknown field": {`{"n":3,"bogus":1}`, 400},
		"wrong type":    {`{"n":"three"}`, 400},
		"history type":  {`{"n":3,"history":["a"]}`, 400},
		"n zero":        {`{"n":0}`, 400},
		"n too big":     {`{"n":101}`, 400},
		"demo field":    {`{"n":3,"gender":1}`, 400},
		"attribute NaN": {`{"n":3,"attributes":{"age":1e400}}`, 400},
		"unknown attr":  {`{"n":3,"attributes":{"regoin":4}}`, 400},
		"trailing":      {`{"n":3} {"n":4}`, 400},
		"garbage":       {`{"n":3}garbage`, 400},
		"empty":         {``, 400},
		"oversize":      {`{"n":3,"history":[` + strings.Repeat("1,", MaxBody/2) + `1]}`, 413},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			rec := post(t, h, "/v1/recommend", c.body)
			assert.Equal(t, c.status, rec.Code, rec.Body.String())
			var e map[string]string
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), "errors are JSON")
			assert.NotEmpty(t, e["error"])
		})
	}
	for _, ct := range []string{"text/plain", "application/jsonp", "application/json-seq", ""} {
		rec := postAs(t, h, "/v1/recommend", `{"n":1}`, ct, "")
		assert.Equal(t, http.StatusUnsupportedMediaType, rec.Code, "Content-Type %q", ct)
	}
	req := httptest.NewRequest(http.MethodGet, "/v1/recommend", nil)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
}

// TestAdminOffWithoutToken: with no admin token configured the reload
// route does not exist, whatever the request carries.
func TestAdminOffWithoutToken(t *testing.T) {
	s := newTestServer(t)
	for _, h := range []http.Handler{s.Handler(), s.AdminHandler()} {
		rec := post(t, h, "/admin/reload", `{}`)
		assert.Equal(t, http.StatusNotFound, rec.Code)
	}
	assert.Equal(t, uint64(1), s.Models().Generation)
}

// TestAdminAuth: a missing, malformed or wrong token is 401 with no detail;
// the right one reloads. A separate admin handler has the route; the
// public-only handler does not.
func TestAdminAuth(t *testing.T) {
	s := newAdminServer(t)
	h := s.Handler()
	for name, tok := range map[string]string{"missing": "", "wrong": "0123456789abcdef-test-tokem", "prefix": testToken[:8], "longer": testToken + "x"} {
		rec := postAs(t, h, "/admin/reload", `{}`, "application/json", tok)
		assert.Equal(t, http.StatusUnauthorized, rec.Code, name)
		assert.JSONEq(t, `{"error":"unauthorized"}`, rec.Body.String(), name)
	}
	req := httptest.NewRequest(http.MethodPost, "/admin/reload", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Basic "+testToken)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusUnauthorized, rec.Code, "another scheme")
	assert.Equal(t, uint64(1), s.Models().Generation, "no reload happened")

	rec = post(t, h, "/admin/reload", `{}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, uint64(2), s.Models().Generation)
	assert.Equal(t, http.StatusOK, post(t, s.AdminHandler(), "/admin/reload", ``).Code)
	assert.Equal(t, http.StatusNotFound, post(t, s.PublicHandler(), "/admin/reload", `{}`).Code)
}

// TestReloadOnlyNamedVersions: a reload never loads a path from the
// request: the old "dir" field is unknown, names with separators or dots
// are refused, and a version is looked up under ModelRoot only.
func TestReloadOnlyNamedVersions(t *testing.T) {
	s := newAdminServer(t)
	_, b := dirs(t)
	h := s.Handler()
	for _, body := range []string{
		`{"dir":"../../../../root"}`, `{"version":"../a"}`, `{"version":".."}`, `{"version":"/etc"}`,
		`{"version":"a/../b"}`, `{"version":".hidden"}`, `{"version":"` + strings.Repeat("v", MaxVersionLen+1) + `"}`,
		`{"version":"b"} trailing`, `{"version":"b"}{"version":"a"}`, `{"version":1}`,
	} {
		rec := post(t, h, "/admin/reload", body)
		assert.Equal(t, http.StatusBadRequest, rec.Code, "%s: %s", body, rec.Body.String())
	}
	assert.Equal(t, http.StatusUnsupportedMediaType, postAs(t, h, "/admin/reload", `{"version":"b"}`, "application/jsonp", testToken).Code)
	assert.Equal(t, uint64(1), s.Models().Generation, "nothing was loaded")

	rec := post(t, h, "/admin/reload", `{"version":"b"}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	resolved, err := filepath.EvalSymlinks(b)
	require.NoError(t, err)
	assert.Equal(t, resolved, s.Models().Dir, "the version's directory, links resolved")
	_, isHNSW := s.Models().Candgen.Index().(interface{ Overhead() int })
	assert.True(t, isHNSW, "directory b serves through its HNSW index")

	s.ModelRoot = ""
	rec = post(t, h, "/admin/reload", `{"version":"a"}`)
	assert.Equal(t, http.StatusBadRequest, rec.Code, "no model root: versions are refused")
}

// TestReloadRejectsBrokenDirectory: truncated model files, a manifest that
// does not parse or maps a layout the models were not trained on, and a
// missing file are rejected, counted, reported without server details, and
// the old models keep serving.
func TestReloadRejectsBrokenDirectory(t *testing.T) {
	s := newAdminServer(t)
	a, _ := dirs(t)
	h := s.Handler()
	broken := map[string]func(dir string){
		"truncated": func(dir string) {
			raw, err := os.ReadFile(filepath.Join(dir, modeldir.CandgenFile))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, modeldir.CandgenFile), raw[:len(raw)/2], 0o644))
		},
		"manifest not JSON": func(dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, modeldir.ManifestFile), []byte(`{"format":2,`), 0o644))
		},
		"renamed attribute": func(dir string) { editManifest(t, dir, `"column": "region"`, `"column": "regoin"`) },
		"negative history":  func(dir string) { editManifest(t, dir, `"max_history": 50`, `"max_history": -5`) },
		"missing":           func(dir string) { require.NoError(t, os.Remove(filepath.Join(dir, modeldir.ManifestFile))) },
	}
	rejected := 0
	for name, breakIt := range broken {
		t.Run(name, func(t *testing.T) {
			root := t.TempDir()
			dir := copyDir(t, a)
			require.NoError(t, os.Rename(dir, filepath.Join(root, "v")))
			breakIt(filepath.Join(root, "v"))
			s.ModelRoot = root
			rec := post(t, h, "/admin/reload", `{"version":"v"}`)
			rejected++
			assert.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
			assert.NotContains(t, rec.Body.String(), root, "no server path in the response")
			assert.NotContains(t, rec.Body.String(), ".json", "no file names in the response")
			assert.Equal(t, a, s.Models().Dir, "old models keep serving")
			assert.Equal(t, http.StatusOK, post(t, h, "/v1/recommend", `{"n":2}`).Code)
			assert.Equal(t, float64(rejected), metric(scrape(t, h), "ytdnn_reloads_total", map[string]string{"result": "rejected"}))
		})
	}
}

// TestNothingRevealsPaths: health, responses and errors name the model by
// its version, never by a server path.
func TestNothingRevealsPaths(t *testing.T) {
	s := newAdminServer(t)
	h := s.Handler()
	for _, rec := range []*httptest.ResponseRecorder{
		get(h, "/healthz"), post(t, h, "/v1/recommend", `{"n":2}`), post(t, h, "/v1/recommend", `{"n":`),
		post(t, h, "/admin/reload", `{"version":"nope"}`),
	} {
		assert.NotContains(t, rec.Body.String(), modelRoot, rec.Body.String())
		assert.NotContains(t, rec.Body.String(), "/", "no path separators: %s", rec.Body.String())
	}
	var health map[string]any
	require.NoError(t, json.Unmarshal(get(h, "/healthz").Body.Bytes(), &health))
	assert.Equal(t, "a", health["model"])
}

// brokenModels is a model set whose layout is missing: serving it panics.
func brokenModels(m *Models) *Models {
	c := *m
	c.Layout = nil
	return &c
}

// TestPanicCountedAs500: a panic while serving answers 500 without detail,
// and the metrics count it as 500 (the status is recorded outside the
// recoverer), plus one recovered panic.
func TestPanicCountedAs500(t *testing.T) {
	s := newTestServer(t)
	h := s.Handler()
	s.swap(brokenModels(s.Models()))
	rec := post(t, h, "/v1/recommend", `{"n":2}`)
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.JSONEq(t, `{"error":"internal error"}`, rec.Body.String())
	fams := scrape(t, h)
	assert.Equal(t, 1.0, metric(fams, "ytdnn_http_requests_total", map[string]string{"handler": "recommend", "code": "500"}))
	assert.Equal(t, 0.0, metric(fams, "ytdnn_http_requests_total", map[string]string{"handler": "recommend", "code": "200"}))
	assert.Equal(t, 1.0, metric(fams, "ytdnn_panics_total", nil))
}

func TestHealthAndMetrics(t *testing.T) {
	s := newTestServer(t)
	h := s.Handler()
	post(t, h, "/v1/recommend", `{"n":2}`)
	post(t, h, "/v1/recommend", `{"n":0}`)
	require.Equal(t, http.StatusOK, get(h, "/healthz").Code)
	fams := scrape(t, h)
	assert.Equal(t, 1.0, metric(fams, "ytdnn_http_requests_total", map[string]string{"handler": "recommend", "code": "200"}))
	assert.Equal(t, 1.0, metric(fams, "ytdnn_http_requests_total", map[string]string{"handler": "recommend", "code": "400"}))
	assert.Equal(t, 2.0, metric(fams, "ytdnn_http_request_duration_seconds", map[string]string{"handler": "recommend"}))
	assert.Equal(t, 1.0, metric(fams, "ytdnn_model_generation", nil))
	require.Contains(t, fams, "go_goroutines", "runtime metrics are exported too")
}

// blockingIndex stands in for a slow index: its searches wait until their
// context is done (or 20 s pass).
type blockingIndex struct{ retrieval.Index }

func (b blockingIndex) Search(ctx context.Context, q []float32, n int, f retrieval.Filter) ([][]retrieval.Hit, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(20 * time.Second):
		return b.Index.Search(context.Background(), q, n, f)
	}
}

// TestTimeoutStopsWork: when the request's time is up, the work in flight
// (here a retrieval that would take 20 s) stops and the client gets 503.
func TestTimeoutStopsWork(t *testing.T) {
	s := newTestServer(t)
	a, _ := dirs(t)
	m, err := Load(a)
	require.NoError(t, err)
	require.NoError(t, m.Candgen.SetIndex(blockingIndex{m.Candgen.Index()}))
	s.swap(m)
	s.Timeout = 100 * time.Millisecond
	t0 := time.Now()
	rec := post(t, s.Handler(), "/v1/recommend", `{"n":2}`)
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code, rec.Body.String())
	assert.Less(t, time.Since(t0), 5*time.Second, "the search stopped at the deadline")
}

// TestLoadWithReload drives the server over loopback with concurrent
// clients while models are reloaded over HTTP (with the admin token): no
// request may fail, and the generation headers prove that several model
// sets served. Bounded in time and count; reports p50/p99 and requests/s.
func TestLoadWithReload(t *testing.T) {
	s := newAdminServer(t)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	const clients, perClient = 4, 60
	deadline := time.Now().Add(60 * time.Second)
	var failed, reloads atomic.Int64
	lat := make([][]time.Duration, clients)
	gens := make([]map[string]int, clients)
	var wg sync.WaitGroup
	start := time.Now()
	stopReload := make(chan struct{})
	reloaded := make(chan struct{})
	go func() {
		defer close(reloaded)
		client := ts.Client()
		for i := 0; ; i++ {
			select {
			case <-stopReload:
				return
			case <-time.After(10 * time.Millisecond):
			}
			req, _ := http.NewRequest(http.MethodPost, ts.URL+"/admin/reload", strings.NewReader(fmt.Sprintf(`{"version":%q}`, []string{"a", "b"}[i%2])))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+testToken)
			resp, err := client.Do(req)
			if err != nil {
				failed.Add(1)
				continue
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				failed.Add(1)
				continue
			}
			reloads.Add(1)
		}
	}()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		gens[c] = map[string]int{}
		go func() {
			defer wg.Done()
			client := ts.Client()
			// At least perClient requests each, and on until four reloads
			// have gone through.
			for k := 0; (k < perClient || reloads.Load() < 4) && time.Now().Before(deadline); k++ {
				body := fmt.Sprintf(`{"history":[%d,%d],"n":10}`, 1+(c*perClient+k)%400, 2+k%300)
				t0 := time.Now()
				resp, err := client.Post(ts.URL+"/v1/recommend", "application/json", bytes.NewBufferString(body))
				if err != nil {
					failed.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failed.Add(1)
				}
				gens[c][resp.Header.Get(GenerationHeader)]++
				lat[c] = append(lat[c], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	close(stopReload)
	<-reloaded
	el := time.Since(start)
	var all []time.Duration
	seen := map[string]int{}
	for c, l := range lat {
		all = append(all, l...)
		for g, n := range gens[c] {
			seen[g] += n
		}
	}
	slices.Sort(all)
	require.NotEmpty(t, all)
	t.Logf("%d requests in %.2fs: %.0f req/s, p50 %v, p99 %v; %d reloads; requests by generation %v", len(all), el.Seconds(),
		float64(len(all))/el.Seconds(), all[len(all)/2], all[len(all)*99/100], reloads.Load(), seen)
	assert.Zero(t, failed.Load(), "no request or reload may fail")
	assert.NotContains(t, seen, "", "every response names its generation")
	assert.GreaterOrEqual(t, len(seen), 3, "requests were served by several model generations")
	assert.GreaterOrEqual(t, reloads.Load(), int64(4))
}

// TestSIGHUPReload: SIGHUP with a broken model directory (a manifest whose
// layout the models were not trained on) leaves the process up and the old models
// serving, counts the rejection, and a later SIGHUP with the directory
// mended loads it.
func TestSIGHUPReload(t *testing.T) {
	a, _ := dirs(t)
	dir := copyDir(t, a)
	m, err := Load(dir)
	require.NoError(t, err)
	s := New(m)
	h := s.Handler()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	go s.ReloadOnSignal(ctx, hup)
	good, err := os.ReadFile(filepath.Join(dir, modeldir.ManifestFile))
	require.NoError(t, err)
	editManifest(t, dir, `"max_history": 50`, `"max_history": 51`)
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	require.Eventually(t, func() bool {
		return metric(scrape(t, h), "ytdnn_reloads_total", map[string]string{"result": "rejected"}) == 1
	}, 10*time.Second, 10*time.Millisecond)
	assert.Equal(t, uint64(1), s.Models().Generation)
	assert.Equal(t, http.StatusOK, post(t, h, "/v1/recommend", `{"n":2}`).Code)

	require.NoError(t, os.WriteFile(filepath.Join(dir, modeldir.ManifestFile), good, 0o644))
	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	require.Eventually(t, func() bool { return s.Models().Generation == 2 }, 10*time.Second, 10*time.Millisecond)
}

// TestKilledSaveKeepsOldModel: a child process saving over a model file is
// killed with SIGKILL half-way through the write; the old file is intact
// and loads, and the next save goes through.
func TestKilledSaveKeepsOldModel(t *testing.T) {
	if path := os.Getenv("YTDNN_SLOW_SAVE"); path != "" {
		slowSave(path) // the child: never returns
	}
	a, _ := dirs(t)
	dir := t.TempDir()
	path := filepath.Join(dir, modeldir.CandgenFile)
	orig, err := os.ReadFile(filepath.Join(a, modeldir.CandgenFile))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, orig, 0o644))
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledSaveKeepsOldModel$")
	cmd.Env = append(os.Environ(), "YTDNN_SLOW_SAVE="+path)
	require.NoError(t, cmd.Start())
	// Wait until the temporary file has some bytes: the save is under way.
	require.Eventually(t, func() bool {
		tmps, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-*"))
		if len(tmps) == 0 {
			return false
		}
		st, err := os.Stat(tmps[0])
		return err == nil && st.Size() > 0
	}, 30*time.Second, 5*time.Millisecond)
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	require.Error(t, cmd.Wait(), "the child was killed")
	now, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, orig, now, "the old model file is intact")
	_, err = candgen.Load(path)
	assert.NoError(t, err, "and loads")
}

// slowSave overwrites path with the model it holds, a few bytes at a time,
// so the parent can kill it mid-save.
func slowSave(path string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		os.Exit(3)
	}
	err = binfmt.WriteFileAtomic(path, func(w io.Writer) error {
		for i := 0; i < len(raw); i += 64 {
			if _, err := w.Write(raw[i:min(i+64, len(raw))]); err != nil {
				return err
			}
			if f, ok := w.(interface{ Flush() error }); ok {
				f.Flush()
			}
			time.Sleep(time.Millisecond)
		}
		return nil
	})
	if err != nil {
		os.Exit(4)
	}
	os.Exit(0)
}

// TestFileModes: every file of a model directory is written with one
// documented mode, binfmt.FileMode.
func TestFileModes(t *testing.T) {
	_, b := dirs(t)
	for _, f := range []string{modeldir.ManifestFile, modeldir.CatalogueFile, modeldir.CandgenFile, modeldir.RankingFile, modeldir.IndexFile} {
		st, err := os.Stat(filepath.Join(b, f))
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(binfmt.FileMode), st.Mode().Perm(), f)
	}
}

func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{`{"n":3}`, `{"history":[1,2],"n":1,"attributes":{"age":20}}`, `{"n":`, `[]`, `{"n":1e400}`, `{"attributes":{"region":-3},"n":5}`, ``,
		`{"attributes":{"region":"US","age":null},"n":2}`, `{"attributes":{"region":[1]},"n":2}`, `{"n":2,"x":1}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req, err := DecodeRequest(strings.NewReader(body))
		if err != nil {
			return
		}
		if req.N < 1 || req.N > MaxN || len(req.Attributes) > MaxAttributes || len(req.History) > MaxRequestHistory {
			t.Fatalf("invalid request accepted: %+v", req)
		}
	})
}

// TestGracefulShutdown: requests in flight when shutdown starts finish with
// 200, and Serve returns once they are done.
func TestGracefulShutdown(t *testing.T) {
	s := newTestServer(t)
	var started sync.WaitGroup
	const inflight = 6
	started.Add(inflight)
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started.Done()
		time.Sleep(300 * time.Millisecond) // still working when shutdown begins
		s.Handler().ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, ln, slow, 10*time.Second, 10*time.Second) }()
	url := "http://" + ln.Addr().String() + "/v1/recommend"
	codes := make(chan int, inflight)
	for i := 0; i < inflight; i++ {
		go func() {
			resp, err := http.Post(url, "application/json", strings.NewReader(`{"n":3}`))
			if err != nil {
				codes <- -1
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	started.Wait()
	cancel()
	for i := 0; i < inflight; i++ {
		assert.Equal(t, http.StatusOK, <-codes)
	}
	require.NoError(t, <-served)
	_, err = http.Post(url, "application/json", strings.NewReader(`{"n":3}`))
	assert.Error(t, err, "no new connections after shutdown")
}

// TestAttributesByName: user attributes come by the layout's column names
// and reach the models (another region, another answer); videos served
// are catalogue videos, in order of expected watch time.
func TestAttributesByName(t *testing.T) {
	s := newTestServer(t)
	h := s.Handler()
	items := func(body string) []Item {
		rec := post(t, h, "/v1/recommend", body)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		var resp Response
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp))
		return resp.Items
	}
	a := items(`{"history":[3,8,12],"search_tokens":[41],"attributes":{"region":4,"device":1,"age":33},"n":5}`)
	require.Len(t, a, 5)
	for i, it := range a {
		assert.NotContains(t, []int64{3, 8, 12}, it.Video)
		assert.Contains(t, s.Models().Layout.Catalogue.Items, it.Video, "a catalogue video")
		if i > 0 {
			assert.GreaterOrEqual(t, a[i-1].ExpectedWatchTime, it.ExpectedWatchTime)
		}
	}
	b := items(`{"history":[3,8,12],"search_tokens":[41],"attributes":{"region":1,"device":1,"age":33},"n":5}`)
	assert.NotEqual(t, a, b, "the region attribute reaches the models")
	rec := post(t, h, "/v1/recommend", `{"n":2,"attributes":{"region":1e300}}`)
	assert.Equal(t, http.StatusBadRequest, rec.Code)
}

// editManifest replaces old by new in a model directory's manifest (the
// test fails if old is not there).
func editManifest(t *testing.T, dir, old, new string) {
	t.Helper()
	path := filepath.Join(dir, modeldir.ManifestFile)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Contains(t, string(raw), old)
	require.NoError(t, os.WriteFile(path, bytes.Replace(raw, []byte(old), []byte(new), 1), 0o644))
}

// TestRequestEventsMatchTraining: a request carrying a user's events with
// their times yields, for every recommended video, the expected watch time
// the ranker gives the features training's walk builds from the same
// events at that moment, the ranking signals included (train/serve
// parity).
func TestRequestEventsMatchTraining(t *testing.T) {
	a, _ := dirs(t)
	m, err := Load(a)
	require.NoError(t, err)
	require.True(t, m.Layout.Config().Signals.CandidateScore, "the generated spec declares the signals")
	day := int64(86_400_000)
	end := m.Layout.End
	reqEvents := []Event{
		{Video: ID{Int: 3}, Time: end - 5*day, Kind: "watch", SearchTokens: []ID{{Int: 41}}},
		{Video: ID{Int: 8}, Time: end - 4*day, Kind: "impression"},
		{Video: ID{Int: 8}, Time: end - 3*day, Kind: "impression", Clicked: true, WatchSeconds: 40},
		{Video: ID{Int: 8}, Time: end - 3*day, Kind: "watch"},
		{Video: ID{Int: 12}, Time: end - 2*day, Kind: "watch"},
	}
	at := end - day/2
	req := &Request{Events: reqEvents, Time: at, N: 10, Attributes: map[string]Attr{"region": {Number: "4"}}}
	items, err := m.Recommend(context.Background(), req, 50)
	require.NoError(t, err)
	require.NotEmpty(t, items)

	// Training's side: the same events walked by the layout, the region in
	// the watches' user features as ingest reads it.
	feats := []events.Feat{{ID: 4}, {ID: events.NullID}, {}} // device absent: unknown; age absent: 0
	var evs []events.Event
	for _, e := range reqEvents {
		ev := events.Event{Item: e.Video.Int, Time: e.Time, Kind: events.Impression, Clicked: e.Clicked, WatchTime: float32(e.WatchSeconds)}
		if e.Kind == "watch" {
			ev.Kind, ev.Feats = events.Watch, feats
			for _, tok := range e.SearchTokens {
				ev.Tokens = append(ev.Tokens, tok.Int)
			}
		}
		evs = append(evs, ev)
	}
	u := m.Layout.Walk(evs, nil, nil)
	for _, it := range items {
		ex := m.Layout.RankExample(&u, it.Video, at, float64(it.CandidateScore))
		want, err := m.Ranking.ExpectedWatchTime([]feature.Example{ex})
		require.NoError(t, err)
		// The ranker scores the candidates as one batch here and one by one
		// there: float32 sums may round differently (relative 1e-6).
		assert.InEpsilon(t, want[0], it.ExpectedWatchTime, 1e-5, "video %d", it.Video)
	}
	for _, bad := range []struct{ name, body, want string }{
		{"events and history", `{"n":2,"history":[1],"events":[{"video":1,"time":5,"kind":"watch"}]}`, "not both"},
		{"unknown kind", `{"n":2,"events":[{"video":1,"time":5,"kind":"click"}]}`, `events[0].kind`},
		{"out of order", `{"n":2,"events":[{"video":1,"time":5,"kind":"watch"},{"video":2,"time":4,"kind":"watch"}]}`, "events[1] is older"},
		{"event after the request's time", `{"n":2,"time":4,"events":[{"video":1,"time":3,"kind":"watch"},{"video":2,"time":5,"kind":"watch"}]}`, "events[1] is not before the request's time"},
		{"event without a time", `{"n":2,"events":[{"video":1,"kind":"watch"}]}`, "events[0].time must be a Unix time in milliseconds"},
		{"event at the request's time", `{"n":2,"time":4,"events":[{"video":1,"time":4,"kind":"impression"}]}`, "events[0] is not before the request's time"},
		{"negative watch", `{"n":2,"events":[{"video":1,"time":5,"kind":"impression","watch_seconds":-1}]}`, "events[0].watch_seconds"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			_, err := DecodeRequest(strings.NewReader(bad.body))
			assert.ErrorContains(t, err, bad.want)
		})
	}
}

// TestTextIDsEndToEnd: a log with text user, video and attribute IDs
// trains a model directory holding the ID dictionary (bound by the
// manifest); the service takes the texts in requests and answers with the
// videos' texts, exact.
func TestTextIDsEndToEnd(t *testing.T) {
	data := t.TempDir()
	var b strings.Builder
	b.WriteString("user_id,item_id,timestamp,region\n")
	regions := []string{"US", "FR", "JP"}
	for u := 0; u < 60; u++ {
		for k := 0; k < 8; k++ {
			v := (u%3)*10 + (u+k)%7
			fmt.Fprintf(&b, "user-%d,clip/%03d,%d,%s\n", u, v, 1_767_225_600+u*1000+k*60, regions[u%3])
		}
	}
	require.NoError(t, os.MkdirAll(filepath.Join(data, "watches"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(data, "watches", "w.csv"), []byte(b.String()), 0o644))
	var users strings.Builder
	users.WriteString("user_id,activity,days\n")
	for u := 0; u < 60; u++ {
		fmt.Fprintf(&users, "user-%d,%s,%d\n", u, []string{"high", "low"}[u%2], 100+u)
	}
	require.NoError(t, os.WriteFile(filepath.Join(data, "users.csv"), []byte(users.String()), 0o644))
	spec := ingest.DefaultSpec()
	spec.Watches.UserIDType, spec.Watches.ItemIDType = "text", "text"
	spec.Watches.UserFeatures = []events.Column{{Column: "region", Kind: events.KindID, IDType: "text"}}
	spec.Users = ingest.UserColumns{Path: "users.csv", User: "user_id", Features: []events.Column{
		{Column: "activity", Kind: events.KindID, IDType: "text"}, {Column: "days", Kind: events.KindContinuous}}}
	out := filepath.Join(t.TempDir(), "v1")
	_, err := pipe.Run(context.Background(), pipe.Options{Data: data, Out: out, Spec: &spec, TempDir: t.TempDir(), Seed: 1, Epochs: 2,
		Candgen: train.CandgenConfig{Tower: []int{8}, Negatives: 5, Options: train.Options{Batch: 32, LR: 0.01}}})
	require.NoError(t, err)
	man, err := os.ReadFile(filepath.Join(out, modeldir.ManifestFile))
	require.NoError(t, err)
	assert.Contains(t, string(man), `"`+modeldir.DictsFile+`"`, "the manifest binds the dictionary")

	m, err := Load(out)
	require.NoError(t, err)
	h := New(m).Handler()
	rec := post(t, h, "/v1/recommend", `{"history":["clip/010","clip/011"],"attributes":{"region":"FR"},"n":5}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var resp Response
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp))
	require.Len(t, resp.Items, 5)
	for _, it := range resp.Items {
		assert.Regexp(t, `^clip/\d{3}$`, it.VideoID, "the video's text as the log had it")
		assert.NotContains(t, []string{"clip/010", "clip/011"}, it.VideoID, "watched videos are excluded")
	}
	for _, c := range []struct{ name, body, want string }{
		{"number for text videos", `{"history":[10],"n":2}`, "history: this model's IDs are text, got a number"},
		{"number for a text attribute", `{"attributes":{"region":3},"n":2}`, `attribute "region": this model's IDs are text, got a number`},
	} {
		t.Run(c.name, func(t *testing.T) {
			assert.Contains(t, errorOf(t, post(t, h, "/v1/recommend", c.body), 400), c.want)
		})
	}
	// Unknown text reads as unknown: served, like an absent value.
	rec = post(t, h, "/v1/recommend", `{"history":["clip/999"],"attributes":{"region":"XX"},"n":3}`)
	assert.Equal(t, http.StatusOK, rec.Code, rec.Body.String())

	// The user table joins by the user's text ID: its attributes reach the
	// user's features; an unknown user's read as unknown.
	assert.Contains(t, string(man), `"`+modeldir.UsersFile+`"`, "the manifest binds the user table")
	spec2 := m.Layout.CandgenSpec()
	act, days := spec2.Index("user_activity"), spec2.Index("user_days")
	for _, c := range []struct {
		id       string
		known    bool
		wantDays float64
	}{{"user-7", true, 107}, {"user-unknown", false, 0}} {
		req, err := DecodeRequest(strings.NewReader(`{"user_id":"` + c.id + `","history":["clip/010"],"n":3}`))
		require.NoError(t, err)
		u, err := m.user(req)
		require.NoError(t, err)
		ex := m.Layout.UserExample(u)
		assert.Equal(t, c.wantDays, ex.Nums[days], c.id)
		assert.Equal(t, c.known, len(ex.IDs[act]) == 1, c.id)
	}
	assert.Contains(t, errorOf(t, post(t, h, "/v1/recommend", `{"user_id":7,"n":2}`), 400), "user_id: this model's IDs are text, got a number")
}

// TestContextByName: the showing's context goes by the layout's impression
// columns; this model maps none, so any name is a 400 naming it.
func TestContextByName(t *testing.T) {
	h := newTestServer(t).Handler()
	assert.Contains(t, errorOf(t, post(t, h, "/v1/recommend", `{"n":2,"context":{"tab":3}}`), 400), `unknown context "tab"`)
	assert.Equal(t, http.StatusOK, post(t, h, "/v1/recommend", `{"n":2,"context":{}}`).Code)
}
