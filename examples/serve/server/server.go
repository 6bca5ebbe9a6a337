package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ytdnn/ytdnn/examples/world"
)

func bytesReader(b []byte) io.Reader { return bytes.NewReader(b) }

// Limits on requests.
const (
	MaxBody    = 1 << 20 // bytes
	MaxN       = 100
	MaxHistory = 1000
)

// Request is the body of POST /v1/recommend.
type Request struct {
	// History is the user's watched video IDs, oldest first.
	History []int64 `json:"history"`
	// SearchTokens are the user's search query tokens.
	SearchTokens []int64 `json:"search_tokens"`
	Region       int64   `json:"region"`
	Device       int64   `json:"device"`
	// Gender and LoggedIn are 0 or 1.
	Gender   float64 `json:"gender"`
	LoggedIn float64 `json:"logged_in"`
	// Age in years, 0..150.
	Age float64 `json:"age"`
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
	Model string `json:"model"`
}

// RequestError is a client error with its HTTP status.
type RequestError struct {
	Status int
	Msg    string
}

func (e *RequestError) Error() string { return e.Msg }

func badRequest(format string, a ...any) error {
	return &RequestError{http.StatusBadRequest, fmt.Sprintf(format, a...)}
}

// DecodeRequest reads and validates one request body: one JSON object, no
// unknown fields, right types, values in range.
func DecodeRequest(r io.Reader) (*Request, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var req Request
	if err := dec.Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &mbe):
			return nil, &RequestError{http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", mbe.Limit)}
		case errors.As(err, &te):
			return nil, badRequest("field %q: want %s, got JSON %s", te.Field, te.Type, te.Value)
		case errors.Is(err, io.EOF):
			return nil, badRequest("empty body")
		}
		return nil, badRequest("malformed JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &RequestError{http.StatusRequestEntityTooLarge, fmt.Sprintf("body larger than %d bytes", mbe.Limit)}
		}
		return nil, badRequest("trailing data after the JSON object")
	}
	switch {
	case req.N < 1 || req.N > MaxN:
		return nil, badRequest("n must be in 1..%d, got %d", MaxN, req.N)
	case len(req.History) > MaxHistory || len(req.SearchTokens) > MaxHistory:
		return nil, badRequest("history and search_tokens hold at most %d entries", MaxHistory)
	case req.Gender != 0 && req.Gender != 1:
		return nil, badRequest("gender must be 0 or 1")
	case req.LoggedIn != 0 && req.LoggedIn != 1:
		return nil, badRequest("logged_in must be 0 or 1")
	case math.IsNaN(req.Age) || req.Age < 0 || req.Age > 150:
		return nil, badRequest("age must be in 0..150")
	}
	return &req, nil
}

// user turns a request into a world user: every watch at the end of the
// window, searches before it.
func (r *Request) user(horizon float64) *world.User {
	u := &world.User{Region: r.Region, Device: r.Device, Gender: r.Gender, LoggedIn: r.LoggedIn, Age: r.Age}
	for _, id := range r.History {
		u.Watches = append(u.Watches, world.Watch{Video: id, Time: horizon})
	}
	if len(r.SearchTokens) > 0 {
		u.Searches = []world.Search{{Tokens: r.SearchTokens, Time: 0}}
	}
	return u
}

// Server serves recommendations from the current model set. Reload swaps
// the set atomically; requests in flight finish on the set they started
// with.
type Server struct {
	// Candidates is how many videos candidate generation retrieves [300].
	Candidates int
	// Timeout bounds each request's work [2s].
	Timeout time.Duration
	// Log receives reload and panic messages (nil: silent).
	Log *log.Logger

	models   atomic.Pointer[Models]
	reloadMu sync.Mutex
	metrics  metrics
}

// New returns a server over m.
func New(m *Models) *Server {
	s := &Server{Candidates: 300, Timeout: 2 * time.Second}
	s.models.Store(m)
	return s
}

// Models returns the model set in use.
func (s *Server) Models() *Models { return s.models.Load() }

// Reload loads dir (the current directory when empty) and swaps it in. A
// broken directory is an error and the old models keep serving.
func (s *Server) Reload(dir string) error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	if dir == "" {
		dir = s.models.Load().Dir
	}
	m, err := Load(dir)
	if err != nil {
		s.metrics.reloadFail.Add(1)
		s.logf("reload of %s rejected: %v", dir, err)
		return err
	}
	s.models.Store(m)
	s.metrics.reloadOK.Add(1)
	s.logf("reloaded models from %s", dir)
	return nil
}

func (s *Server) logf(format string, a ...any) {
	if s.Log != nil {
		s.Log.Printf(format, a...)
	}
}

// Handler returns the HTTP routes: POST /v1/recommend, GET /healthz,
// GET /metrics (Prometheus text format) and POST /admin/reload (optional
// JSON body {"dir": "..."}).
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/recommend", s.recommend)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok", "model": s.models.Load().Dir})
	})
	mux.HandleFunc("GET /metrics", s.metrics.serve)
	mux.HandleFunc("POST /admin/reload", s.reload)
	return s.recoverer(mux)
}

func (s *Server) recoverer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.logf("panic serving %s: %v", r.URL.Path, v)
				writeError(w, http.StatusInternalServerError, "internal error")
			}
		}()
		h.ServeHTTP(w, r)
	})
}

func (s *Server) recommend(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	status := http.StatusOK
	defer func() { s.metrics.observe(status, time.Since(start)) }()
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		status = http.StatusUnsupportedMediaType
		writeError(w, status, "Content-Type must be application/json")
		return
	}
	req, err := DecodeRequest(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var re *RequestError
		if errors.As(err, &re) {
			status = re.Status
		} else {
			status = http.StatusBadRequest
		}
		writeError(w, status, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	m := s.models.Load()
	items, err := m.Recommend(ctx, req, s.Candidates)
	if err != nil {
		status = http.StatusInternalServerError
		if ctx.Err() != nil {
			status = http.StatusServiceUnavailable
		}
		writeError(w, status, err.Error())
		return
	}
	writeJSON(w, status, Response{Items: items, Model: m.Dir})
}

func (s *Server) reload(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Dir string `json:"dir"`
	}
	if r.ContentLength != 0 {
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
			writeError(w, http.StatusBadRequest, "malformed JSON: "+err.Error())
			return
		}
	}
	if err := s.Reload(body.Dir); err != nil {
		writeError(w, http.StatusUnprocessableEntity, "reload rejected, old models keep serving: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "reloaded", "model": s.models.Load().Dir})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// latency buckets in seconds
var buckets = []float64{0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5}

type metrics struct {
	mu         sync.Mutex
	byStatus   map[int]uint64
	counts     [13]atomic.Uint64 // one per bucket plus +Inf
	sumMicros  atomic.Uint64
	total      atomic.Uint64
	reloadOK   atomic.Uint64
	reloadFail atomic.Uint64
}

func (m *metrics) observe(status int, d time.Duration) {
	m.mu.Lock()
	if m.byStatus == nil {
		m.byStatus = map[int]uint64{}
	}
	m.byStatus[status]++
	m.mu.Unlock()
	sec := d.Seconds()
	i := sort.SearchFloat64s(buckets, sec)
	m.counts[i].Add(1)
	m.sumMicros.Add(uint64(d.Microseconds()))
	m.total.Add(1)
}

func (m *metrics) serve(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; version=0.0.4")
	m.mu.Lock()
	codes := make([]int, 0, len(m.byStatus))
	for c := range m.byStatus {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	fmt.Fprintln(w, "# HELP ytdnn_requests_total Recommendation requests by HTTP status.")
	fmt.Fprintln(w, "# TYPE ytdnn_requests_total counter")
	for _, c := range codes {
		fmt.Fprintf(w, "ytdnn_requests_total{code=\"%d\"} %d\n", c, m.byStatus[c])
	}
	m.mu.Unlock()
	fmt.Fprintln(w, "# HELP ytdnn_request_seconds Recommendation latency.")
	fmt.Fprintln(w, "# TYPE ytdnn_request_seconds histogram")
	var cum uint64
	for i, b := range buckets {
		cum += m.counts[i].Load()
		fmt.Fprintf(w, "ytdnn_request_seconds_bucket{le=\"%g\"} %d\n", b, cum)
	}
	cum += m.counts[len(buckets)].Load()
	fmt.Fprintf(w, "ytdnn_request_seconds_bucket{le=\"+Inf\"} %d\n", cum)
	fmt.Fprintf(w, "ytdnn_request_seconds_sum %g\n", float64(m.sumMicros.Load())/1e6)
	fmt.Fprintf(w, "ytdnn_request_seconds_count %d\n", m.total.Load())
	fmt.Fprintln(w, "# TYPE ytdnn_reloads_total counter")
	fmt.Fprintf(w, "ytdnn_reloads_total{result=\"ok\"} %d\n", m.reloadOK.Load())
	fmt.Fprintf(w, "ytdnn_reloads_total{result=\"rejected\"} %d\n", m.reloadFail.Load())
}
