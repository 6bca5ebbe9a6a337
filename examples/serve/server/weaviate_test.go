package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/modeldir"
	"github.com/ytdnn/ytdnn/retrieval/weaviate"
)

// engineProxy stands between the service and Weaviate: it passes requests
// through, or (mode 1) answers 502, or (mode 2) never answers until the
// client gives up.
type engineProxy struct {
	mode atomic.Int32
	srv  *httptest.Server
}

func newEngineProxy(t *testing.T, addr string) *engineProxy {
	t.Helper()
	target, err := url.Parse("http://" + addr)
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(target)
	p := &engineProxy{}
	done := make(chan struct{})
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch p.mode.Load() {
		case 1:
			http.Error(w, "engine down", http.StatusBadGateway)
		case 2:
			select {
			case <-r.Context().Done():
			case <-done:
			}
		default:
			rp.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(p.srv.Close)
	t.Cleanup(func() { close(done) }) // runs first: hung handlers return
	return p
}

func (p *engineProxy) host() string { return strings.TrimPrefix(p.srv.URL, "http://") }

// TestWeaviateRetrieval: a service that retrieves from Weaviate answers as
// the in-process one does; an engine that fails or hangs gives 503s within
// the request deadline, never a hang; a model whose collection is missing
// is refused at load and at reload, the old models serving on.
func TestWeaviateRetrieval(t *testing.T) {
	addr := os.Getenv("YTDNN_WEAVIATE_ADDR")
	if addr == "" {
		t.Skip("no Weaviate: set YTDNN_WEAVIATE_ADDR=HOST:PORT of a running weaviate-server (.ci/run starts one)")
	}
	a, _ := dirs(t)
	md, err := modeldir.Load(a)
	require.NoError(t, err)
	version := weaviate.Version(md.Manifest.Files[modeldir.CandgenFile].SHA256)
	tg := weaviate.Target{Host: addr, Collection: fmt.Sprintf("Ytdnnserve_%d_{model}", rand.Uint32())}
	t.Cleanup(func() { _ = weaviate.Delete(context.Background(), tg, version) })
	vecs, ids := md.Candgen.Items()
	d1 := md.Candgen.D() + 1
	items := make([]weaviate.Item, len(ids))
	for i, id := range ids {
		items[i] = weaviate.Item{Row: int32(i + 1), VideoID: strconv.FormatInt(id, 10), Vector: vecs[i*d1 : (i+1)*d1]}
	}
	_, err = weaviate.Export(context.Background(), tg, version, items, nil)
	require.NoError(t, err)

	proxy := newEngineProxy(t, addr)
	remote := weaviate.Target{Host: proxy.host(), Collection: tg.Collection}
	lo := LoadOptions{Retrieval: &remote, RetrievalTimeout: 300 * time.Millisecond}
	m, err := LoadWith(a, lo)
	require.NoError(t, err)
	local, err := Load(a)
	require.NoError(t, err)
	s := New(m)
	s.LoadOptions, s.Timeout, s.ModelRoot, s.AdminToken = lo, time.Second, modelRoot, testToken
	ls := New(local)
	h, lh := s.Handler(), ls.Handler()
	same, total := 0, 0
	for _, body := range []string{`{"history": [1, 2, 3], "n": 10}`, `{"history": [40], "n": 10}`, `{"history": [], "n": 10}`, `{"history": [7, 9, 11, 300], "n": 10}`} {
		got, want := post(t, h, "/v1/recommend", body), post(t, lh, "/v1/recommend", body)
		require.Equal(t, http.StatusOK, got.Code, got.Body.String())
		var g, w Response
		require.NoError(t, json.Unmarshal(got.Body.Bytes(), &g))
		require.NoError(t, json.Unmarshal(want.Body.Bytes(), &w))
		in := map[int64]bool{}
		for _, it := range w.Items {
			in[it.Video] = true
		}
		for _, it := range g.Items {
			if in[it.Video] {
				same++
			}
		}
		total += len(w.Items)
	}
	t.Logf("top-10 overlap with in-process retrieval: %d of %d", same, total)
	assert.GreaterOrEqual(t, float64(same)/float64(total), 0.9)

	for _, mode := range []int32{1, 2} {
		t.Run(map[int32]string{1: "engine_fails", 2: "engine_hangs"}[mode], func(t *testing.T) {
			proxy.mode.Store(mode)
			defer proxy.mode.Store(0)
			start := time.Now()
			res := post(t, h, "/v1/recommend", `{"history": [1, 2], "n": 5}`)
			assert.Equal(t, http.StatusServiceUnavailable, res.Code, res.Body.String())
			assert.NotContains(t, res.Body.String(), proxy.host(), "nothing about the engine")
			assert.Less(t, time.Since(start), 2*time.Second, "within the request deadline")
			_, err := LoadWith(a, lo)
			assert.True(t, errors.Is(err, weaviate.ErrUnavailable), "a load with the engine away is refused: %v", err)
			if mode == 1 {
				res := postAs(t, s.AdminHandler(), "/admin/reload", `{}`, "application/json", testToken)
				assert.Equal(t, http.StatusServiceUnavailable, res.Code, "a reload with the engine away: %s", res.Body.String())
			}
		})
	}
	// Model b has no collection: its reload is refused, a serves on.
	err = s.Reload("b")
	assert.True(t, errors.Is(err, weaviate.ErrMismatch), "%v", err)
	assert.ErrorContains(t, err, "no collection Ytdnnserve_")
	assert.Equal(t, http.StatusOK, post(t, h, "/v1/recommend", `{"history": [1], "n": 3}`).Code)
}
