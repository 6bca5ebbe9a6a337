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
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/examples/world"
)

var (
	buildOnce sync.Once
	modelDirA string
	modelDirB string
	buildErr  error
)

// dirs trains two tiny model sets once per test binary (B has an HNSW index).
func dirs(t testing.TB) (string, string) {
	buildOnce.Do(func() {
		root, err := os.MkdirTemp("", "ytdnn-serve-test")
		if err != nil {
			buildErr = err
			return
		}
		modelDirA, modelDirB = filepath.Join(root, "a"), filepath.Join(root, "b")
		cfg := world.Config{Users: 400, Videos: 500, Topics: 8, Watches: 12, Seed: 1}
		if buildErr = Build(context.Background(), modelDirA, cfg, 2, false); buildErr != nil {
			return
		}
		cfg.Seed = 2
		buildErr = Build(context.Background(), modelDirB, cfg, 2, true)
	})
	require.NoError(t, buildErr)
	return modelDirA, modelDirB
}

func newTestServer(t testing.TB) *Server {
	a, _ := dirs(t)
	m, err := Load(a)
	require.NoError(t, err)
	return New(m)
}

func post(t testing.TB, h http.Handler, path, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestRecommendOK(t *testing.T) {
	s := newTestServer(t)
	h := s.Handler()
	rec := post(t, h, "/v1/recommend", `{"history":[1,2,3,999999],"search_tokens":[4],"region":2,"device":1,"gender":1,"logged_in":1,"age":30,"n":7}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var resp Response
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp))
	require.Len(t, resp.Items, 7)
	for i, it := range resp.Items {
		assert.NotContains(t, []int64{1, 2, 3}, it.Video, "watched videos are excluded")
		if i > 0 {
			assert.GreaterOrEqual(t, resp.Items[i-1].ExpectedWatchTime, it.ExpectedWatchTime)
		}
	}
	// Empty history works too.
	rec = post(t, h, "/v1/recommend", `{"n":3}`)
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
		"gender":        {`{"n":3,"gender":0.5}`, 400},
		"age":           {`{"n":3,"age":-1}`, 400},
		"trailing":      {`{"n":3} {"n":4}`, 400},
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
	req := httptest.NewRequest(http.MethodPost, "/v1/recommend", strings.NewReader(`{"n":1}`))
	req.Header.Set("Content-Type", "text/plain")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusUnsupportedMediaType, rec.Code)
	req = httptest.NewRequest(http.MethodGet, "/v1/recommend", nil)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
}

func TestReloadRejectsBrokenDirectory(t *testing.T) {
	s := newTestServer(t)
	a, b := dirs(t)
	h := s.Handler()
	broken := t.TempDir()
	for _, f := range []string{WorldFile, CandgenFile, RankingFile} {
		raw, err := os.ReadFile(filepath.Join(a, f))
		require.NoError(t, err)
		if f == CandgenFile {
			raw = raw[:len(raw)/2] // truncated
		}
		require.NoError(t, os.WriteFile(filepath.Join(broken, f), raw, 0o644))
	}
	rec := post(t, h, "/admin/reload", fmt.Sprintf(`{"dir":%q}`, broken))
	assert.Equal(t, http.StatusUnprocessableEntity, rec.Code, rec.Body.String())
	assert.Equal(t, a, s.Models().Dir, "old models keep serving")
	assert.Equal(t, http.StatusOK, post(t, h, "/v1/recommend", `{"n":2}`).Code)

	rec = post(t, h, "/admin/reload", fmt.Sprintf(`{"dir":%q}`, b))
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	assert.Equal(t, b, s.Models().Dir)
	_, isHNSW := s.Models().Candgen.Index().(interface{ Overhead() int })
	assert.True(t, isHNSW, "directory b serves through its HNSW index")
}

func TestHealthAndMetrics(t *testing.T) {
	s := newTestServer(t)
	h := s.Handler()
	post(t, h, "/v1/recommend", `{"n":2}`)
	post(t, h, "/v1/recommend", `{"n":0}`)
	for _, path := range []string{"/healthz", "/metrics"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		require.Equal(t, http.StatusOK, rec.Code)
		if path == "/metrics" {
			body := rec.Body.String()
			assert.Contains(t, body, `ytdnn_requests_total{code="200"} 1`)
			assert.Contains(t, body, `ytdnn_requests_total{code="400"} 1`)
			assert.Contains(t, body, `ytdnn_request_seconds_count 2`)
		}
	}
}

// TestLoadWithReload drives the server over loopback with concurrent
// clients while models are reloaded: no request may fail. Bounded in time
// and count; reports p50/p99 and requests/s.
func TestLoadWithReload(t *testing.T) {
	s := newTestServer(t)
	a, b := dirs(t)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	const clients, perClient = 4, 60
	deadline := time.Now().Add(60 * time.Second)
	var failed atomic.Int64
	lat := make([][]time.Duration, clients)
	var wg sync.WaitGroup
	start := time.Now()
	stopReload := make(chan struct{})
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stopReload:
				return
			case <-time.After(50 * time.Millisecond):
			}
			dir := a
			if i%2 == 0 {
				dir = b
			}
			if err := s.Reload(dir); err != nil {
				failed.Add(1)
			}
		}
	}()
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := ts.Client()
			for k := 0; k < perClient && time.Now().Before(deadline); k++ {
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
				lat[c] = append(lat[c], time.Since(t0))
			}
		}()
	}
	wg.Wait()
	close(stopReload)
	el := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	require.NotEmpty(t, all)
	t.Logf("%d requests in %.2fs: %.0f req/s, p50 %v, p99 %v", len(all), el.Seconds(), float64(len(all))/el.Seconds(),
		all[len(all)/2], all[len(all)*99/100])
	assert.Zero(t, failed.Load(), "no request or reload may fail")
}

func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{`{"n":3}`, `{"history":[1,2],"n":1,"age":20}`, `{"n":`, `[]`, `{"n":1e400}`, `{"gender":1,"n":5,"region":-3}`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req, err := DecodeRequest(strings.NewReader(body))
		if err != nil {
			return
		}
		if req.N < 1 || req.N > MaxN || (req.Gender != 0 && req.Gender != 1) || req.Age < 0 || req.Age > 150 {
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
