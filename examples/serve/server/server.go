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
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/ytdnn/ytdnn/retrieval/weaviate"
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
	MaxAttributeName  = 128 // bytes of an attribute's name
	MaxAttributeText  = 256 // bytes of a text attribute value
	// MaxEcho is the most bytes of any one value from the request that an
	// error message repeats (quoted, cut at a character boundary, "…" after
	// the quote when cut).
	MaxEcho = 64
)

// StatusClientClosedRequest is the status recorded (in the metrics and
// the response, which nobody reads) when the client went away before its
// answer: it closed the connection while sending the body or while its
// request was being worked on. It is nginx's 499, so that client
// disconnects are never counted as the server's 503 or 400.
const StatusClientClosedRequest = 499

// GenerationHeader names the response header that carries the generation
// of the model set that served a request (1 for the models the server
// started with, +1 for every successful reload).
const GenerationHeader = "X-Model-Generation"

// Request is the body of POST /v1/recommend.
type Request struct {
	// History is the user's watched video IDs, oldest first.
	History []ID `json:"history"`
	// SearchTokens are the user's search query tokens.
	SearchTokens []ID `json:"search_tokens"`
	// Attributes are the user's attributes by the column names the model
	// directory's layout maps, at most MaxAttributes (see Attr for the
	// values). A name the layout does not map is an error naming it; an
	// absent one (or null) reads as unknown, as the layout reads a missing
	// attribute.
	Attributes map[string]Attr `json:"attributes"`
	// UserID identifies the user in the model's user table (its
	// attributes join the request's; an integer or a text ID, as the log
	// had it). Absent: the table's attributes read as unknown.
	UserID *ID `json:"user_id"`
	// Events, instead of History and SearchTokens, are the user's recent
	// events with their times, oldest first, at most MaxRequestHistory:
	// the ranking signals of the model's layout (channel and topic
	// history, videos shown before, the last search) are computed from
	// them by the code that computed them at training. Watches make the
	// history.
	Events []Event `json:"events"`
	// Context is the context of this showing by the columns of the
	// layout's impression features (the app surface or tab, say), valued
	// as Attributes are; an unknown name is an error naming it, an absent
	// one reads as unknown.
	Context map[string]Attr `json:"context"`
	// Time is the moment of the request (Unix ms), later than every event
	// [the end of the model's training window, or 1 ms after the last
	// event if that is later]: ranking features that count time (days
	// since, hour, weekday) are read at it.
	Time int64 `json:"time"`
	// N is the number of recommendations, 1..MaxN.
	N int `json:"n"`
}

// Event is one of the user's events in a request.
type Event struct {
	// Video is the video's ID; Time the event's time (Unix ms).
	Video ID    `json:"video"`
	Time  int64 `json:"time"`
	// Kind is "watch" or "impression" (a video shown).
	Kind string `json:"kind"`
	// Clicked and WatchSeconds are an impression's outcome.
	Clicked      bool    `json:"clicked"`
	WatchSeconds float64 `json:"watch_seconds"`
	// SearchTokens are the tokens of the search that led to a watch.
	SearchTokens []ID `json:"search_tokens"`
}

// ID is a video or search-token ID as a request gives it: a JSON integer
// (exact over the whole int64 range), or a JSON string, a text ID of a
// model trained on a log with text IDs (the model directory's dictionary
// maps it; text it does not hold reads as unknown). A model of integer IDs
// refuses a string, and a model of text IDs a number.
type ID struct {
	Int    int64
	Text   string
	IsText bool
}

// errBadID is an ID that is neither a string nor an integer in the int64
// range (1.5, 1e3, null, 2^63): encoding/json hands it back as is, with
// no field.
var errBadID = errors.New("an ID (history, search_tokens, user_id, an event's video) must be an integer from -2^63 to 2^63-1 or a string")

// UnmarshalJSON reads an integer or a string.
func (x *ID) UnmarshalJSON(b []byte) error {
	*x = ID{}
	if len(b) > 0 && b[0] == '"' {
		x.IsText = true
		return json.Unmarshal(b, &x.Text)
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return errBadID
	}
	x.Int = v
	return nil
}

// Attr is one user attribute's value as the request had it: a JSON number
// or a JSON string. JSON null is the same as leaving the attribute out.
//
// An ID attribute takes an integer (exact over the whole int64 range when
// written as an integer; a number with an exponent or a fraction only when
// it is an integer of magnitude at most 2^53) or a string, a text ID
// looked up in the model's ID dictionary. Until that dictionary is wired
// into model directories, every text ID reads as unknown, exactly as an
// absent attribute. A continuous attribute takes a finite number only.
type Attr struct {
	// Text is the value of a JSON string, when IsText.
	Text   string
	IsText bool
	// Number is the literal of a JSON number (empty otherwise).
	Number json.Number
	// other names the JSON kind of any other value ("a boolean", "an
	// array", "an object"): DecodeRequest refuses it.
	other string
}

// UnmarshalJSON keeps any JSON value; DecodeRequest checks it, knowing
// the attribute's name.
func (a *Attr) UnmarshalJSON(b []byte) error {
	*a = Attr{}
	if len(b) == 0 {
		return nil
	}
	switch b[0] {
	case '"':
		a.IsText = true
		return json.Unmarshal(b, &a.Text)
	case 'n': // null: absent
	case 't', 'f':
		a.other = "a boolean"
	case '[':
		a.other = "an array"
	case '{':
		a.other = "an object"
	default:
		a.Number = json.Number(b)
	}
	return nil
}

// null reports whether the value was JSON null.
func (a Attr) null() bool { return !a.IsText && a.Number == "" && a.other == "" }

// id returns the value as an exact int64 ID: an integer literal in int64
// range, or a number whose value is an integer of magnitude at most 2^53.
func (a Attr) id() (int64, bool) {
	if v, err := strconv.ParseInt(string(a.Number), 10, 64); err == nil {
		return v, true
	}
	f, err := strconv.ParseFloat(string(a.Number), 64)
	if err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, false
	}
	return int64(f), true
}

// num returns the value as a finite float64.
func (a Attr) num() (float64, bool) {
	f, err := strconv.ParseFloat(string(a.Number), 64)
	return f, err == nil && !math.IsInf(f, 0) && !math.IsNaN(f)
}

// Item is one recommended video.
type Item struct {
	// Video is the video's ID as a JSON number. It is exact as written,
	// but clients that parse JSON numbers as float64 (JavaScript, jq) round
	// IDs above 2^53: read VideoID instead.
	Video int64 `json:"video"`
	// VideoID is the same ID as a JSON string, exact in every client.
	// (Once the ID dictionary is wired, the text the log had.)
	VideoID           string  `json:"video_id"`
	ExpectedWatchTime float64 `json:"expected_watch_time"`
	CandidateScore    float32 `json:"candidate_score"`
}

// newItem is the item of video id.
func newItem(id int64, expectedWatchTime float64, candidateScore float32) Item {
	return Item{Video: id, VideoID: strconv.FormatInt(id, 10), ExpectedWatchTime: expectedWatchTime, CandidateScore: candidateScore}
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
// what was wrong with the request, never anything about the server, and
// repeats at most MaxEcho bytes of any value from the request. Cause, when
// set, is what went wrong underneath (a read error of the body, with its
// socket addresses): for the server's log, never for the client.
type RequestError struct {
	Status int
	Msg    string
	Cause  error
}

func (e *RequestError) Error() string { return e.Msg }

// Unwrap returns the cause.
func (e *RequestError) Unwrap() error { return e.Cause }

func badRequest(format string, a ...any) *RequestError {
	return &RequestError{Status: http.StatusBadRequest, Msg: fmt.Sprintf(format, a...)}
}

// echo quotes a value from the request for an error message: at most
// MaxEcho bytes of it, cut at a character boundary, "…" after the quote
// when cut.
func echo(s string) string {
	if len(s) <= MaxEcho {
		return strconv.Quote(s)
	}
	n := MaxEcho
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strconv.Quote(s[:n]) + "…"
}

// bodyReader remembers the first error reading the body other than EOF,
// so that a read error is never taken for a JSON error.
type bodyReader struct {
	r   io.Reader
	err error
}

func (b *bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF && b.err == nil {
		b.err = err
	}
	return n, err
}

// decodeJSON reads exactly one JSON object into v: no unknown fields, no
// trailing data, at most the reader's byte limit. Its errors are
// RequestErrors: a read error of the body gets a generic message (its
// details in Cause), a JSON error names the field and kinds involved in
// JSON's terms, never a Go type.
func decodeJSON(r io.Reader, v any) error {
	br := &bodyReader{r: r}
	dec := json.NewDecoder(br)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if br.err != nil {
			return readError(br.err)
		}
		return jsonError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if br.err != nil {
			return readError(br.err)
		}
		return badRequest("trailing data after the JSON object")
	}
	return nil
}

// readError is the client's answer to an error reading the body: the body
// too large (413), a stall past the server's read timeout (408), a body
// cut short by a client that went away (499), or any other read error
// (400); never the error's text.
func readError(err error) *RequestError {
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &mbe):
		return &RequestError{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("body larger than %d bytes", mbe.Limit)}
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return &RequestError{Status: http.StatusRequestTimeout, Msg: "request body not received in time", Cause: err}
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, net.ErrClosed):
		return &RequestError{Status: StatusClientClosedRequest, Msg: "request body cut short", Cause: err}
	}
	return &RequestError{Status: http.StatusBadRequest, Msg: "could not read the request body", Cause: err}
}

// jsonError is the client's answer to a JSON decoding error, in JSON's
// terms, with every echoed value bounded.
func jsonError(err error) *RequestError {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te) && te.Field == "":
		return badRequest("the body must be a JSON object")
	case errors.As(err, &te):
		return badRequest("field %s: want %s, got %s", echo(te.Field), wantJSON(te.Type), gotJSON(te.Value))
	case errors.As(err, &se):
		return badRequest("malformed JSON at byte %d: %s", se.Offset, se.Error())
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed JSON: the body ends inside a value")
	case errors.Is(err, io.EOF):
		return badRequest("empty body")
	case errors.Is(err, errBadID):
		return badRequest("%s", errBadID.Error())
	}
	// encoding/json reports an unknown field only in its message:
	// `json: unknown field "<name>"` (the name quoted by strconv.Quote).
	if q, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		if name, err := strconv.Unquote(q); err == nil {
			return badRequest("unknown field %s", echo(name))
		}
		return badRequest("unknown field")
	}
	return &RequestError{Status: http.StatusBadRequest, Msg: "malformed JSON", Cause: err}
}

// wantJSON names what a Go type takes in JSON's terms.
func wantJSON(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "another value"
}

// gotJSON names what encoding/json's UnmarshalTypeError.Value describes:
// a kind ("string", "array", …) or "number <literal>".
func gotJSON(v string) string {
	if lit, ok := strings.CutPrefix(v, "number "); ok {
		return "the number " + echo(lit)
	}
	switch v {
	case "string":
		return "a string"
	case "number":
		return "a number"
	case "array":
		return "an array"
	case "object":
		return "an object"
	case "bool":
		return "a boolean"
	}
	return "another value"
}

// DecodeRequest reads and validates one request body: one JSON object, no
// unknown fields, right types, values in range. Attribute names are
// checked against a model's layout later (Models.Recommend).
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
	case len(req.Attributes) > MaxAttributes || len(req.Context) > MaxAttributes:
		return nil, badRequest("attributes and context hold at most %d entries each", MaxAttributes)
	case len(req.Events) > MaxRequestHistory:
		return nil, badRequest("events hold at most %d entries", MaxRequestHistory)
	case len(req.Events) > 0 && (len(req.History) > 0 || len(req.SearchTokens) > 0):
		return nil, badRequest("give either events or history and search_tokens, not both")
	}
	for _, ids := range [][]ID{req.History, req.SearchTokens} {
		for _, x := range ids {
			if len(x.Text) > MaxAttributeText {
				return nil, badRequest("text IDs are at most %d bytes", MaxAttributeText)
			}
		}
	}
	tokens := 0
	for i, e := range req.Events {
		if len(e.Video.Text) > MaxAttributeText {
			return nil, badRequest("text IDs are at most %d bytes", MaxAttributeText)
		}
		tokens += len(e.SearchTokens)
		switch {
		case e.Kind != "watch" && e.Kind != "impression":
			return nil, badRequest("events[%d].kind must be \"watch\" or \"impression\"", i)
		case e.Time <= 0:
			return nil, badRequest("events[%d].time must be a Unix time in milliseconds", i)
		case i > 0 && e.Time < req.Events[i-1].Time:
			return nil, badRequest("events[%d] is older than the event before it: events go oldest first", i)
		case req.Time != 0 && e.Time >= req.Time:
			return nil, badRequest("events[%d] is not before the request's time: the features are read at time, after every event (as training reads an impression's after every earlier event)", i)
		case math.IsNaN(e.WatchSeconds) || e.WatchSeconds < 0 || e.WatchSeconds > math.MaxFloat32:
			return nil, badRequest("events[%d].watch_seconds must be a non-negative number", i)
		case tokens > MaxRequestHistory:
			return nil, badRequest("the events' search_tokens hold at most %d entries", MaxRequestHistory)
		}
	}
	for k, v := range req.Context {
		if len(k) > MaxAttributeName || (v.IsText && len(v.Text) > MaxAttributeText) || v.other != "" {
			return nil, badRequest("context %s: names are at most %d bytes, values numbers or strings of at most %d bytes", echo(k), MaxAttributeName, MaxAttributeText)
		}
	}
	for k, v := range req.Attributes {
		if len(k) > MaxAttributeName {
			return nil, badRequest("attribute names are at most %d bytes", MaxAttributeName)
		}
		switch {
		case v.other != "":
			return nil, badRequest("attribute %s: want a number or a string, got %s", echo(k), v.other)
		case v.IsText && len(v.Text) > MaxAttributeText:
			return nil, badRequest("attribute %s: text longer than %d bytes", echo(k), MaxAttributeText)
		case v.Number != "":
			if _, ok := v.num(); !ok {
				return nil, badRequest("attribute %s: want a finite number", echo(k))
			}
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
	// ErrBadVersion: the version name is not allowed, no ModelRoot is
	// configured to look it up in, or it resolves outside ModelRoot.
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
	// digits, '.', '_' and '-'; never a path. A version may be a link
	// (current -> v7) if it resolves inside ModelRoot (both resolved with
	// filepath.EvalSymlinks); the set is then loaded from, and named after,
	// the directory it resolves to. Empty: a reload reloads the current
	// directory only.
	ModelRoot string
	// LoadOptions are what every reload loads with (where retrieval
	// runs).
	LoadOptions LoadOptions

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
		if dir, err = resolveVersion(s.ModelRoot, version); err != nil {
			return err
		}
	}
	m, err := LoadWith(dir, s.LoadOptions)
	if err != nil {
		return err
	}
	s.swap(m)
	s.m.reloads.WithLabelValues("ok").Inc()
	s.logf("reloaded models from %s (generation %d)", dir, m.Generation)
	return nil
}

// resolveVersion returns the absolute directory root/version resolves to,
// with every link followed; one that resolves outside root (or to root
// itself) is ErrBadVersion.
func resolveVersion(root, version string) (string, error) {
	r, err := filepath.Abs(root) // a link's absolute target compares with an absolute root
	if err == nil {
		r, err = filepath.EvalSymlinks(r)
	}
	if err != nil {
		return "", fmt.Errorf("model root: %w", err)
	}
	dir, err := filepath.EvalSymlinks(filepath.Join(r, version))
	if err != nil {
		return "", err
	}
	rel, err := filepath.Rel(r, dir)
	if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "", fmt.Errorf("%w: %q resolves to %s, outside the model root %s", ErrBadVersion, version, dir, r)
	}
	return dir, nil
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
//
// Every response of every handler, errors and unknown routes included,
// carries the GenerationHeader: the generation that served the request,
// or for a request no model set served, the one in use when it came.
func (s *Server) Handler() http.Handler {
	mux := s.publicMux()
	if s.AdminToken != "" {
		s.adminRoutes(mux)
	}
	return s.withGeneration(mux)
}

// PublicHandler returns the public routes without any admin route.
func (s *Server) PublicHandler() http.Handler { return s.withGeneration(s.publicMux()) }

// AdminHandler returns the admin routes alone (POST /admin/reload), for a
// separate listener; without an AdminToken every request gets 404.
func (s *Server) AdminHandler() http.Handler {
	mux := http.NewServeMux()
	if s.AdminToken != "" {
		s.adminRoutes(mux)
	}
	return s.withGeneration(mux)
}

// withGeneration sets the GenerationHeader to the generation in use before
// h runs; a handler that serves from a model set sets its own.
func (s *Server) withGeneration(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		setGeneration(w, s.models.Load())
		h.ServeHTTP(w, r)
	})
}

func setGeneration(w http.ResponseWriter, m *Models) {
	w.Header().Set(GenerationHeader, strconv.FormatUint(m.Generation, 10))
}

func (s *Server) publicMux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("POST /v1/recommend", s.instrument("recommend", http.HandlerFunc(s.recommend)))
	mux.Handle("GET /healthz", s.instrument("healthz", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := s.models.Load()
		setGeneration(w, m)
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
		tok, ok := bearer(r.Header.Get("Authorization"))
		got := sha256.Sum256([]byte(tok))
		if !ok || subtle.ConstantTimeCompare(want[:], got[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="ytdnn admin"`)
			writeError(w, http.StatusUnauthorized, "unauthorized")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// bearer returns the token of an Authorization header of the Bearer
// scheme: the scheme's name in any case (RFC 7235), then one or more
// spaces, then the token. A bare token, another scheme or an empty token
// is not one.
func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimLeft(tok, " ")
	return tok, tok != ""
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
		s.writeRequestError(w, r, err)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), s.Timeout)
	defer cancel()
	m := s.models.Load()
	setGeneration(w, m)
	items, err := m.Recommend(ctx, req, s.Candidates)
	if err != nil {
		var re *RequestError
		if errors.As(err, &re) {
			s.writeRequestError(w, r, re)
			return
		}
		if r.Context().Err() != nil {
			// The client went away: not the server's 503.
			writeError(w, StatusClientClosedRequest, "client closed the request")
			return
		}
		if ctx.Err() != nil {
			writeError(w, http.StatusServiceUnavailable, "request deadline exceeded")
			return
		}
		if errors.Is(err, weaviate.ErrUnavailable) {
			s.logf("retrieval unavailable (generation %d): %v", m.Generation, err)
			writeError(w, http.StatusServiceUnavailable, "retrieval unavailable")
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
			s.writeRequestError(w, r, err)
			return
		}
	}
	err := s.Reload(body.Version)
	switch {
	case errors.Is(err, ErrReloadBusy):
		writeError(w, http.StatusConflict, "a reload is already running")
	case errors.Is(err, ErrBadVersion):
		writeError(w, http.StatusBadRequest, "version must be a model name under the configured model root")
	case errors.Is(err, weaviate.ErrUnavailable):
		writeError(w, http.StatusServiceUnavailable, "retrieval unavailable; the old models keep serving")
	case err != nil:
		writeError(w, http.StatusUnprocessableEntity, "reload rejected; the old models keep serving")
	default:
		m := s.models.Load()
		setGeneration(w, m)
		writeJSON(w, http.StatusOK, map[string]any{"status": "reloaded", "model": m.Version(), "generation": m.Generation})
	}
}

// writeRequestError answers a request error with its status and message;
// its cause, if any, goes to the log with the client's address.
func (s *Server) writeRequestError(w http.ResponseWriter, r *http.Request, err error) {
	var re *RequestError
	if !errors.As(err, &re) {
		re = &RequestError{Status: http.StatusBadRequest, Msg: "bad request", Cause: err}
	}
	if re.Cause != nil {
		s.logf("%s %s from %s: %s (%d): %v", r.Method, r.URL.Path, r.RemoteAddr, re.Msg, re.Status, re.Cause)
	}
	writeError(w, re.Status, re.Msg)
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
			Name: "ytdnn_http_requests_total", Help: "HTTP requests by handler and status code (499: the client went away before its answer).",
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
