package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"mime"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// Limits on requests.
const (
	MaxBody           = 1 << 20 // bytes of a recommendation request
	MaxAdminBody      = 4 << 10 // bytes of a reload request
	MaxN              = 100
	MaxRequestHistory = 1000
	MaxVersionLen     = 128
	MaxAttributes     = 64
)

// GenerationHeader names the response header that carries the generation
// of the model set that served a request (1 for the models the server
// started with, +1 for every successful reload).
const GenerationHeader = "X-Model-Generation"

// Request is the body of POST /v1/recommend.
type Request struct {
	// History is the user's watched video IDs, oldest first.
	History []int64 `json:"history"`
	// SearchTokens are the user's search query tokens.
	SearchTokens []int64 `json:"search_tokens"`
	// Attributes are the user's attributes by the column names the model
	// directory's layout maps (IDs as integers), at most MaxAttributes,
	// finite; a name the layout does not map is an error naming it, an
	// absent one reads as unknown (the OOV ID, or the value 0).
	Attributes map[string]float64 `json:"attributes"`
	// N is the number of recommendations, 1..MaxN.
	N int `json:"n"`
}

// Item is one recommended video.
type Item struct {
	Video             int64   `json:"video"`
	ExpectedWatchTime float64 `json:"expected_watch_time"`
	CandidateScore    float32 `json:"candidate_score"`
}

// Response is the body of a successful recommendation.
type Response struct {
	Items []Item `json:"items"`
	// Model is the model set's version (its directory's name, never a path)
	// and Generation its generation (also in the GenerationHeader).
	Model      string `json:"model"`
	Generation uint64 `json:"generation"`
}

// RequestError is a client error with its HTTP status. Its message says
// what was wrong with the request, never anything about the server.
type RequestError struct {
	Status int
	Msg    string
}

func (e *RequestError) Error() string { return e.Msg }

func badRequest(format string, a ...any) error {
	return &RequestError{http.StatusBadRequest, fmt.Sprintf(format, a...)}
}

// decodeJSON reads exactly one JSON object into v: no unknown fields, no
// trailing data, at most the reader's byte limit.
func decodeJSON(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	tooLarge := func(err error) error {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return &RequestError{http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", mbe.Limit)}
		}
		return nil
	}
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case tooLarge(err) != nil:
			return tooLarge(err)
		case errors.As(err, &te):
			return badRequest("field %q: want %s, got JSON %s", te.Field, te.Type, te.Value)
		case errors.Is(err, io.EOF):
			return badRequest("empty body")
		}
		return badRequest("malformed JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if e := tooLarge(err); e != nil {
			return e
		}
		return badRequest("trailing data after the JSON object")
	}
	return nil
}

// DecodeRequest reads and validates one request body: one JSON object, no
// unknown fields, right types, values in range.
func DecodeRequest(r io.Reader) (*Request, error) {
	var req Request
	if err := decodeJSON(r, &req); err != nil {
		return nil, err
	}
	switch {
	case req.N < 1 || req.N > MaxN:
		return nil, badRequest("n must be in 1..%d, got %d", MaxN, req.N)
	case len(req.History) > MaxRequestHistory || len(req.SearchTokens) > MaxRequestHistory:
		return nil, badRequest("history and search_tokens hold at most %d entries", MaxRequestHistory)
	case len(req.Attributes) > MaxAttributes:
		return nil, badRequest("attributes hold at most %d entries", MaxAttributes)
	}
	for k, v := range req.Attributes {
		if len(k) > 128 || math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v) > 1<<53 {
			return nil, badRequest("attribute names are at most 128 bytes, values finite numbers below 2^53")
		}
	}
	return &req, nil
}

// ReloadRequest is the body of POST /admin/reload: empty (or {}) reloads
// the current model directory; Version names a directory under the
// server's ModelRoot.
type ReloadRequest struct {
	Version string `json:"version"`
}

var versionName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// Errors of Reload a caller can tell apart.
var (
	// ErrReloadBusy: another reload is running; this one was not started.
	ErrReloadBusy = errors.New("a reload is already running")
	// ErrBadVersion: the version name is not allowed, or no ModelRoot is
	// configured to look it up in.
	ErrBadVersion = errors.New("bad model version")
)

// Server serves recommendations from the current model set. Reload swaps
// the set atomically; requests in flight finish on the set they started
// with. Set the exported fields before serving.
type Server struct {
	// Candidates is how many videos candidate generation retrieves [300].
	Candidates int
	// Timeout bounds each request's work [2s]; the work stops when it
	// passes or the client goes away.
	Timeout time.Duration
	// Log receives reload, error and panic messages (nil: silent). Details
	// go here, never into responses.
	Log *log.Logger
	// AdminToken enables POST /admin/reload for requests that carry
	// "Authorization: Bearer <AdminToken>" (compared in constant time).
	// Empty: the admin routes are not served at all (404).
	AdminToken string
	// ModelRoot, when set, lets a reload name a version: {"version": "v2"}
	// loads ModelRoot/v2. Versions are single path elements of letters,
	// digits, '.', '_' and '-'; never a path. Empty: a reload reloads the
	// current directory only.
	ModelRoot string

	models   atomic.Pointer[Models]
	gen      atomic.Uint64
	reloadMu sync.Mutex
	m        *metrics
}

// New returns a server over m, which becomes generation 1.
func New(m *Models) *Server {
	s := &Server{Candidates: 300, Timeout: 2 * time.Second, m: newMetrics()}
	s.swap(m)
	return s
}

func (s *Server) swap(m *Models) {
	m.Generation = s.gen.Add(1)
	s.models.Store(m)
	s.m.generation.Set(float64(m.Generation))
}

// Models returns the model set in use.
func (s *Server) Models() *Models { return s.models.Load() }

// Reload loads a model set and swaps it in: version "" reloads the current
// directory, another version ModelRoot/version. A broken directory, a panic
// while loading, a bad version name or a reload already running is an error,
// counted in the metrics, and the old models keep serving.
func (s *Server) Reload(version string) (err error) {
	if !s.reloadMu.TryLock() {
		s.m.reloads.WithLabelValues("busy").Inc()
		return ErrReloadBusy
	}
	defer s.reloadMu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic while loading: %v", r)
		}
		if err != nil {
			s.m.reloads.WithLabelValues("rejected").Inc()
			s.logf("reload (version %q) rejected, old models keep serving: %v", version, err)
		}
	}()
	dir := s.models.Load().Dir
	if version != "" {
		if s.ModelRoot == "" || len(version) > MaxVersionLen || !versionName.MatchString(version) || strings.Contains(version, "..") {
			return ErrBadVersion
		}
		dir = filepath.Join(s.ModelRoot, version)
	}
	m, err := Load(dir)
	if err != nil {
		return err
	}
	s.swap(m)
	s.m.reloads.WithLabelValues("ok").Inc()
	s.logf("reloaded models from %s (generation %d)", dir, m.Generation)
	return nil
}

func (s *Server) logf(format string, a ...any) {
	if s.Log != nil {
		s.Log.Printf(format, a...)
	}
}

// Handler returns the public routes: POST /v1/recommend, GET /healthz and
// GET /metrics (Prometheus text format), plus POST /admin/reload when an
// AdminToken is set (see AdminHandler to serve it on its own listener
// instead, and PublicHandler for the public routes alone).
func (s *Server) Handler() http.Handler {
	mux := s.publicMux()
	if s.AdminToken != "" {
		s.adminRoutes(mux)
	}
	return mux
}

// PublicHandler returns the public routes without any admin route.
func (s *Server) PublicHandler() http.Handler { return s.publicMux() }

// AdminHandler returns the admin routes alone (POST /admin/reload), for a
// separate listener; without an AdminToken every request gets 404.
func (s *Server) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	if s.AdminToken != "" {
		s.adminRoutes(mux)
	}
	return mux
}

func (s *Server) publicMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("POST /v1/recommend", s.instrument("recommend", http.HandlerFunc(s.recommend)))
	mux.Handle("GET /healthz", s.instrument("healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := s.models.Load()
		writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "model": m.Version(), "generation": m.Generation})
	})))
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.m.reg, promhttp.HandlerOpts{}))
	return mux
}

func (s *Server) adminRoutes(mux *http.ServeMux) {
	mux.Handle("POST /admin/reload", s.instrument("reload", s.authorized(http.HandlerFunc(s.reload))))
}

// authorized lets through requests with the admin bearer token; others get
// 401 with no detail. Both sides are hashed first, so the comparison takes
// the same time whatever the lengths.
func (s *Server) authorized(h http.Handler) http.Handler {
	want := sha256.Sum256([]byte(s.AdminToken))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		got := sha256.Sum256([]byte(tok))
		if !ok || subtle.ConstantTimeCompare(want[:], got[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ytdnn admin"`)
			writeError(w, http.StatusUnauthorized, "unauthorized")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// instrument counts requests by status and times them; the recoverer sits
// inside, so a panic is counted as the 500 it becomes.
func (s *Server) instrument(name string, h http.Handler) http.Handler {
	return promhttp.InstrumentHandlerCounter(s.m.requests.MustCurryWith(prometheus.Labels{"handler": name}),
		promhttp.InstrumentHandlerDuration(s.m.latency.MustCurryWith(prometheus.Labels{"handler": name}),
			s.recoverer(h)))
}

func (s *Server) recoverer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.m.panics.Inc()
				s.logf("panic serving %s: %v", r.URL.Path, v)
				writeError(w, http.StatusInternalServerError, "internal error")
			}
		}()
		h.ServeHTTP(w, r)
	})
}

// isJSON reports whether a Content-Type header is application/json (with
// optional parameters such as charset).
func isJSON(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

func (s *Server) recommend(w http.ResponseWriter, r *http.Request) {
	if !isJSON(r.Header.Get("Content-Type")) {
		writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
		return
	}
	req, err := DecodeRequest(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		writeRequestError(w, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	m := s.models.Load()
	w.Header().Set(GenerationHeader, strconv.FormatUint(m.Generation, 10))
	items, err := m.Recommend(ctx, req, s.Candidates)
	if err != nil {
		var re *RequestError
		if errors.As(err, &re) {
			writeError(w, re.Status, re.Msg)
			return
		}
		if ctx.Err() != nil {
			writeError(w, http.StatusServiceUnavailable, "request deadline exceeded")
			return
		}
		s.logf("recommend failed (generation %d): %v", m.Generation, err)
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	writeJSON(w, http.StatusOK, Response{Items: items, Model: m.Version(), Generation: m.Generation})
}

func (s *Server) reload(w http.ResponseWriter, r *http.Request) {
	var body ReloadRequest
	if r.ContentLength != 0 {
		if !isJSON(r.Header.Get("Content-Type")) {
			writeError(w, http.StatusUnsupportedMediaType, "Content-Type must be application/json")
			return
		}
		if err := decodeJSON(http.MaxBytesReader(w, r.Body, MaxAdminBody), &body); err != nil {
			writeRequestError(w, err)
			return
		}
	}
	err := s.Reload(body.Version)
	switch {
	case errors.Is(err, ErrReloadBusy):
		writeError(w, http.StatusConflict, "a reload is already running")
	case errors.Is(err, ErrBadVersion):
		writeError(w, http.StatusBadRequest, "version must be a model name under the configured model root")
	case err != nil:
		writeError(w, http.StatusUnprocessableEntity, "reload rejected; the old models keep serving")
	default:
		m := s.models.Load()
		writeJSON(w, http.StatusOK, map[string]any{"status": "reloaded", "model": m.Version(), "generation": m.Generation})
	}
}

func writeRequestError(w http.ResponseWriter, err error) {
	var re *RequestError
	if errors.As(err, &re) {
		writeError(w, re.Status, re.Msg)
		return
	}
	writeError(w, http.StatusBadRequest, "bad request")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) // the client may be gone; nothing to do then
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// metrics are the server's Prometheus collectors, on a registry of its own
// (several servers in one process do not collide).
type metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	reloads    *prometheus.CounterVec
	panics     prometheus.Counter
	generation prometheus.Gauge
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ytdnn_http_requests_total", Help: "HTTP requests by handler and status code.",
		}, []string{"handler", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "ytdnn_http_request_duration_seconds", Help: "HTTP request latency by handler.",
			Buckets: []float64{0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5},
		}, []string{"handler"}),
		reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ytdnn_reloads_total", Help: "Model reloads by result (ok, rejected, busy).",
		}, []string{"result"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ytdnn_panics_total", Help: "Panics recovered while serving a request.",
		}),
		generation: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ytdnn_model_generation", Help: "Generation of the model set in use.",
		}),
	}
	for _, r := range []string{"ok", "rejected", "busy"} {
		m.reloads.WithLabelValues(r)
	}
	m.reg.MustRegister(m.requests, m.latency, m.reloads, m.panics, m.generation,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
