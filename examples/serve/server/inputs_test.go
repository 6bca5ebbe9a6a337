package server

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newLogger(w io.Writer) *log.Logger { return log.New(w, "", 0) }

// maxErrorLen bounds every error message a client gets: values echoed from
// the request are cut to 64 bytes.
const maxErrorLen = 256

// errorOf checks that rec is a JSON error of the given status, bounded and
// free of Go type names, and returns its message.
func errorOf(t *testing.T, rec *httptest.ResponseRecorder, status int) string {
	t.Helper()
	require.Equal(t, status, rec.Code, rec.Body.String())
	var e map[string]string
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &e), "errors are JSON: %s", rec.Body.String())
	msg := e["error"]
	require.NotEmpty(t, msg)
	assert.LessOrEqual(t, len(msg), maxErrorLen, "bounded: %.300s", msg)
	for _, goName := range []string{"server.", "int64", "float64", "map[", "[]", "json:", "Request"} {
		assert.NotContains(t, msg, goName, "no Go type or package names: %s", msg)
	}
	return msg
}

// TestRequestErrorsBounded: every value a request error echoes is quoted
// and cut to 64 bytes, whatever its kind (a field name, an attribute name,
// a number literal), and no message names a Go type.
func TestRequestErrorsBounded(t *testing.T) {
	h := newTestServer(t).Handler()
	big := strings.Repeat("z", 1_000_000)
	for _, c := range []struct {
		name, body string
		status     int
		want       string
	}{
		{"1 MB unknown field name", `{"n":3,"` + big + `":1}`, 400, `unknown field "zzzz`},
		{"unknown field name with quotes and controls", `{"n":3,"a\"b\u0001":1}`, 400, `unknown field "a\"b\x01"`},
		{"misspelled attribute", `{"n":3,"attributes":{"regoin":4}}`, 400, `unknown attribute "regoin"`},
		{"several misspelled attributes", `{"n":3,"attributes":{"regoin":4,"agee":3}}`, 400, `unknown attributes "agee", "regoin"`},
		{"128-byte unknown attribute", `{"n":3,"attributes":{"` + strings.Repeat("é", 64) + `":4}}`, 400, `unknown attribute "éé`},
		{"1 MB attribute name", `{"n":3,"attributes":{"` + big + `":4}}`, 400, "attribute names"},
		{"body is an array", `[]`, 400, "the body must be a JSON object"},
		{"body is an array of objects", `[{"n":3}]`, 400, "the body must be a JSON object"},
		{"body is a string", `"hello"`, 400, "the body must be a JSON object"},
		{"body is a number", `7`, 400, "the body must be a JSON object"},
		{"n is a string", `{"n":"three"}`, 400, `field "n": want an integer, got a string`},
		{"n is a 1 MB number", `{"n":1` + strings.Repeat("0", 1_000_000) + `}`, 400, `field "n": want an integer, got the number "1000`},
		{"n is a fraction", `{"n":2.5}`, 400, `field "n": want an integer`},
		{"history holds a string", `{"n":3,"history":["a"]}`, 400, `history: this model's IDs are integers, got a string`},
		{"history is an object", `{"n":3,"history":{}}`, 400, `field "history": want an array, got an object`},
		{"attributes is an array", `{"n":3,"attributes":[]}`, 400, `field "attributes": want an object, got an array`},
		{"syntax error", `{"n":3,}`, 400, "malformed JSON"},
		{"fractional ID", `{"history":[1.5],"n":1}`, 400, "an ID (history, search_tokens, user_id, an event's video) must be an integer from -2^63 to 2^63-1 or a string"},
		{"ID past int64", `{"history":[9223372036854775808],"n":1}`, 400, "must be an integer from -2^63 to 2^63-1 or a string"},
		{"null ID", `{"history":[null],"n":1}`, 400, "must be an integer from -2^63 to 2^63-1 or a string"},
		{"cut short", `{"n":`, 400, "malformed JSON"},
	} {
		t.Run(c.name, func(t *testing.T) {
			msg := errorOf(t, post(t, h, "/v1/recommend", c.body), c.status)
			assert.Contains(t, msg, c.want)
		})
	}
}

// TestBodyReadErrors: an error reading the body (a stall past the server's
// read timeout, a reset, a client gone) is answered with a generic
// message; the details (socket addresses) go to the log only.
func TestBodyReadErrors(t *testing.T) {
	t.Run("reader error", func(t *testing.T) {
		_, err := DecodeRequest(iotest.ErrReader(errors.New("read tcp 10.1.2.3:8080->10.9.8.7:4242: connection reset by peer")))
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "10.1.2.3")
		assert.NotContains(t, err.Error(), "tcp")
		var re *RequestError
		require.ErrorAs(t, err, &re)
		assert.ErrorContains(t, re.Cause, "10.1.2.3", "the details stay for the log")
	})
	// Raw requests over loopback to a server with a short read timeout.
	s := newTestServer(t)
	var logged syncBuffer
	s.Log = newLogger(&logged)
	srv := &http.Server{Handler: s.Handler(), ReadTimeout: 300 * time.Millisecond}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	go srv.Serve(ln)
	defer srv.Close()
	raw := func(t *testing.T, partial string, closeWrite bool) (int, string) {
		t.Helper()
		conn, err := net.Dial("tcp", ln.Addr().String())
		require.NoError(t, err)
		defer conn.Close()
		require.NoError(t, conn.SetDeadline(time.Now().Add(10*time.Second)))
		fmt.Fprintf(conn, "POST /v1/recommend HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n%s", partial)
		if closeWrite {
			require.NoError(t, conn.(*net.TCPConn).CloseWrite())
		}
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		return resp.StatusCode, string(body)
	}
	t.Run("stalled body", func(t *testing.T) {
		code, body := raw(t, `{"n":`, false)
		assert.Equal(t, http.StatusRequestTimeout, code, body)
		assert.JSONEq(t, `{"error":"request body not received in time"}`, body)
		assert.NotContains(t, body, "127.0.0.1")
		assert.Contains(t, logged.String(), "127.0.0.1", "the details are logged")
	})
	t.Run("body cut short by the client", func(t *testing.T) {
		before := metric(scrape(t, s.Handler()), "ytdnn_http_requests_total", map[string]string{"handler": "recommend", "code": "499"})
		code, body := raw(t, `{"n":`, true)
		assert.Equal(t, StatusClientClosedRequest, code, body)
		assert.NotContains(t, body, "127.0.0.1")
		fams := scrape(t, s.Handler())
		assert.Equal(t, before+1, metric(fams, "ytdnn_http_requests_total", map[string]string{"handler": "recommend", "code": "499"}))
		assert.Zero(t, metric(fams, "ytdnn_http_requests_total", map[string]string{"handler": "recommend", "code": "400"}))
	})
}

// TestClientGoneNot503: a client that goes away while its request is being
// worked on is counted as 499, not as the 503 of a deadline.
func TestClientGoneNot503(t *testing.T) {
	s := newTestServer(t)
	a, _ := dirs(t)
	m, err := Load(a)
	require.NoError(t, err)
	require.NoError(t, m.Candgen.SetIndex(blockingIndex{m.Candgen.Index()}))
	s.swap(m)
	h := s.Handler()
	ctx, cancel := context.WithCancel(context.Background())
	req := httptest.NewRequest(http.MethodPost, "/v1/recommend", strings.NewReader(`{"n":2}`)).WithContext(ctx)
	req.Header.Set("Content-Type", "application/json")
	time.AfterFunc(50*time.Millisecond, cancel)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	assert.Equal(t, StatusClientClosedRequest, rec.Code)
	fams := scrape(t, h)
	assert.Equal(t, 1.0, metric(fams, "ytdnn_http_requests_total", map[string]string{"handler": "recommend", "code": "499"}))
	assert.Zero(t, metric(fams, "ytdnn_http_requests_total", map[string]string{"handler": "recommend", "code": "503"}))
}

// TestGenerationHeaderOnEveryResponse: X-Model-Generation is on every
// response: successes, errors of every kind, health, metrics and admin.
func TestGenerationHeaderOnEveryResponse(t *testing.T) {
	s := newAdminServer(t)
	h := s.Handler()
	req := func(method, path, body, ct, auth string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	for _, c := range []struct {
		name   string
		rec    func() *httptest.ResponseRecorder
		status int
	}{
		{"recommend", func() *httptest.ResponseRecorder {
			return req("POST", "/v1/recommend", `{"n":2}`, "application/json", "")
		}, 200},
		{"malformed request", func() *httptest.ResponseRecorder {
			return req("POST", "/v1/recommend", `{"n":`, "application/json", "")
		}, 400},
		{"invalid request", func() *httptest.ResponseRecorder {
			return req("POST", "/v1/recommend", `{"n":0}`, "application/json", "")
		}, 400},
		{"unknown attribute", func() *httptest.ResponseRecorder {
			return req("POST", "/v1/recommend", `{"n":2,"attributes":{"regoin":1}}`, "application/json", "")
		}, 400},
		{"oversize body", func() *httptest.ResponseRecorder {
			return req("POST", "/v1/recommend", `{"history":[`+strings.Repeat("1,", MaxBody/2)+`1]}`, "application/json", "")
		}, 413},
		{"wrong content type", func() *httptest.ResponseRecorder { return req("POST", "/v1/recommend", `{"n":2}`, "text/plain", "") }, 415},
		{"wrong method", func() *httptest.ResponseRecorder { return req("GET", "/v1/recommend", ``, "", "") }, 405},
		{"unknown path", func() *httptest.ResponseRecorder { return req("GET", "/nope", ``, "", "") }, 404},
		{"healthz", func() *httptest.ResponseRecorder { return req("GET", "/healthz", ``, "", "") }, 200},
		{"metrics", func() *httptest.ResponseRecorder { return req("GET", "/metrics", ``, "", "") }, 200},
		{"admin unauthorized", func() *httptest.ResponseRecorder { return req("POST", "/admin/reload", `{}`, "application/json", "") }, 401},
		{"admin bad version", func() *httptest.ResponseRecorder {
			return req("POST", "/admin/reload", `{"version":"../x"}`, "application/json", "Bearer "+testToken)
		}, 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			rec := c.rec()
			assert.Equal(t, c.status, rec.Code, rec.Body.String())
			assert.Equal(t, "1", rec.Header().Get(GenerationHeader))
		})
	}
	t.Run("reload answers with the new generation", func(t *testing.T) {
		rec := req("POST", "/admin/reload", `{}`, "application/json", "Bearer "+testToken)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.Equal(t, "2", rec.Header().Get(GenerationHeader))
	})
	t.Run("admin handler alone", func(t *testing.T) {
		rec := httptest.NewRecorder()
		s.AdminHandler().ServeHTTP(rec, httptest.NewRequest("POST", "/admin/reload", nil))
		assert.Equal(t, http.StatusUnauthorized, rec.Code)
		assert.Equal(t, "2", rec.Header().Get(GenerationHeader))
	})
}

// TestAdminAuthScheme: the Authorization scheme is case-insensitive (RFC
// 7235) and required: a bare token is refused.
func TestAdminAuthScheme(t *testing.T) {
	s := newAdminServer(t)
	h := s.Handler()
	gen := uint64(1)
	for _, c := range []struct {
		name, auth string
		status     int
	}{
		{"bare token", testToken, 401},
		{"scheme without token", "Bearer", 401},
		{"scheme and space only", "Bearer ", 401},
		{"scheme glued to token", "Bearer" + testToken, 401},
		{"another scheme", "Basic " + testToken, 401},
		{"token then scheme", testToken + " Bearer", 401},
		{"lower-case scheme", "bearer " + testToken, 200},
		{"upper-case scheme", "BEARER " + testToken, 200},
		{"mixed-case scheme", "bEaReR " + testToken, 200},
		{"two spaces", "Bearer  " + testToken, 200},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/admin/reload", strings.NewReader(`{}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", c.auth)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, c.status, rec.Code, rec.Body.String())
			if c.status == 200 {
				gen++
			} else {
				assert.JSONEq(t, `{"error":"unauthorized"}`, rec.Body.String())
			}
			assert.Equal(t, gen, s.Models().Generation)
		})
	}
}

// TestAttributeValues: attribute values are JSON numbers or strings; this
// model's region IDs are integers, so a string is refused; an integer ID
// is exact across the whole int64 range; null reads as an absent
// attribute; a value the column cannot take is a 400 naming the attribute.
// (Text IDs through the dictionary: TestTextIDsEndToEnd.)
func TestAttributeValues(t *testing.T) {
	h := newTestServer(t).Handler()
	items := func(t *testing.T, body string) []map[string]any {
		t.Helper()
		rec := post(t, h, "/v1/recommend", body)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		var resp struct{ Items []map[string]any }
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp))
		return resp.Items
	}
	const base = `{"history":[3,8,12],"search_tokens":[41],"n":5,"attributes":{"device":1,"age":33`
	absent := items(t, base+`}}`)
	for _, c := range []struct{ name, attr string }{
		{"null region", `"region":null`},
	} {
		t.Run(c.name+" reads as unknown", func(t *testing.T) {
			assert.Equal(t, absent, items(t, base+`,`+c.attr+`}}`))
		})
	}
	for _, c := range []struct{ name, attr string }{
		{"ID above 2^53", `"region":9007199254740993`},
		{"largest int64 ID", `"region":9223372036854775807`},
		{"smallest int64 ID", `"region":-9223372036854775808`},
		{"ID written with an exponent", `"region":4e0`},
	} {
		t.Run(c.name+" accepted", func(t *testing.T) { items(t, base+`,`+c.attr+`}}`) })
	}
	for _, c := range []struct{ name, attr, want string }{
		{"fractional ID", `"region":1.5`, `attribute "region": want an integer ID or a string`},
		{"ID beyond int64", `"region":9223372036854775808`, `attribute "region": want an integer ID or a string`},
		{"huge float ID", `"region":1e300`, `attribute "region": want an integer ID or a string`},
		{"text for a number", `"age":"thirty"`, `attribute "age": want a number`},
		{"boolean", `"region":true`, `attribute "region": want a number or a string, got a boolean`},
		{"array", `"region":[1]`, `attribute "region": want a number or a string, got an array`},
		{"object", `"region":{}`, `attribute "region": want a number or a string, got an object`},
		{"infinite number", `"age":1e400`, `attribute "age": want a finite number`},
		{"1 MB text", `"region":"` + strings.Repeat("x", 1_000_000) + `"`, `attribute "region": text longer than`},
		{"text for integer IDs", `"region":"US"`, `attribute "region": this model's IDs are integers, got a string`},
		{"empty text for integer IDs", `"region":""`, `attribute "region": this model's IDs are integers, got a string`},
	} {
		t.Run(c.name+" refused", func(t *testing.T) {
			msg := errorOf(t, post(t, h, "/v1/recommend", base+`,`+c.attr+`}}`), 400)
			assert.Contains(t, msg, c.want)
		})
	}
}

// TestVideoIDAsString: every item carries its video ID as a JSON string
// too (video_id), exact whatever the client's numbers; video stays the
// number.
func TestVideoIDAsString(t *testing.T) {
	h := newTestServer(t).Handler()
	rec := post(t, h, "/v1/recommend", `{"history":[1,2],"n":5}`)
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var resp struct {
		Items []struct {
			Video   json.Number `json:"video"`
			VideoID *string     `json:"video_id"`
		}
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &resp))
	require.Len(t, resp.Items, 5)
	for _, it := range resp.Items {
		require.NotNil(t, it.VideoID, "video_id is present")
		assert.Equal(t, it.Video.String(), *it.VideoID)
	}
}

// TestItemIDsExactAsStrings: IDs beyond 2^53 (and the int64 extremes) come
// out exact in video_id, and as exact literals in video.
func TestItemIDsExactAsStrings(t *testing.T) {
	for _, id := range []int64{1<<53 + 1, math.MaxInt64, math.MinInt64, -1, 0} {
		t.Run(strconv.FormatInt(id, 10), func(t *testing.T) {
			raw, err := json.Marshal(newItem(id, 1.5, 2))
			require.NoError(t, err)
			var got map[string]any
			dec := json.NewDecoder(strings.NewReader(string(raw)))
			dec.UseNumber()
			require.NoError(t, dec.Decode(&got))
			assert.Equal(t, strconv.FormatInt(id, 10), got["video_id"])
			assert.Equal(t, json.Number(strconv.FormatInt(id, 10)), got["video"])
		})
	}
}

// TestReloadVersionResolvesInsideRoot: a version that is a link is followed
// only when it resolves inside the model root.
func TestReloadVersionResolvesInsideRoot(t *testing.T) {
	s := newAdminServer(t)
	a, _ := dirs(t)
	root := t.TempDir()
	s.ModelRoot = root
	outside := copyDir(t, a)
	inside := filepath.Join(root, "v7")
	require.NoError(t, os.CopyFS(inside, os.DirFS(a)))
	require.NoError(t, os.Symlink(outside, filepath.Join(root, "escape")))
	require.Equal(t, filepath.Dir(root), filepath.Dir(outside), "t.TempDir makes siblings")
	require.NoError(t, os.Symlink("../"+filepath.Base(outside), filepath.Join(root, "dotdot")))
	require.NoError(t, os.Symlink(inside, filepath.Join(root, "current")))
	require.NoError(t, os.Symlink("v7", filepath.Join(root, "relative")))
	h := s.Handler()
	for _, v := range []string{"escape", "dotdot"} {
		t.Run("link outside the root: "+v, func(t *testing.T) {
			rec := post(t, h, "/admin/reload", `{"version":"`+v+`"}`)
			assert.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
			assert.Equal(t, uint64(1), s.Models().Generation, "nothing was loaded")
		})
	}
	t.Run("relative root, absolute link inside it", func(t *testing.T) {
		t.Chdir(filepath.Dir(root))
		s.ModelRoot = filepath.Base(root)
		defer func() { s.ModelRoot = root }()
		g := s.Models().Generation
		rec := post(t, h, "/admin/reload", `{"version":"current"}`)
		require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
		assert.Equal(t, g+1, s.Models().Generation)
		rec = post(t, h, "/admin/reload", `{"version":"escape"}`)
		assert.Equal(t, http.StatusBadRequest, rec.Code, rec.Body.String())
	})
	for _, v := range []string{"current", "relative", "v7"} {
		t.Run("inside the root: "+v, func(t *testing.T) {
			g := s.Models().Generation
			rec := post(t, h, "/admin/reload", `{"version":"`+v+`"}`)
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			assert.Equal(t, g+1, s.Models().Generation)
			assert.Equal(t, "v7", s.Models().Version(), "served under the name of the directory it resolves to")
		})
	}
}

// TestReadTokenBounded: the admin token file is read only if it is a
// regular file (a link to one is followed) of at most MaxTokenFile bytes.
func TestReadTokenBounded(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(good, []byte(testToken+"\n"), 0o600))
	link := filepath.Join(dir, "link")
	require.NoError(t, os.Symlink(good, link))
	for _, p := range []string{good, link} {
		tok, err := ReadToken(p)
		require.NoError(t, err)
		assert.Equal(t, testToken, tok)
	}
	sparse := filepath.Join(dir, "sparse")
	f, err := os.Create(sparse)
	require.NoError(t, err)
	require.NoError(t, f.Truncate(64<<20))
	require.NoError(t, f.Close())
	for name, p := range map[string]string{"64 MiB sparse file": sparse, "a folder": dir} {
		t.Run(name, func(t *testing.T) {
			_, err := ReadToken(p)
			assert.Error(t, err)
		})
	}
}
