package weaviate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/go-openapi/strfmt"
	"github.com/google/uuid"
	wv "github.com/weaviate/weaviate-go-client/v5/weaviate"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/fault"
	"github.com/weaviate/weaviate-go-client/v5/weaviate/graphql"
	"github.com/weaviate/weaviate/entities/models"

	"github.com/ytdnn/ytdnn/retrieval"
)

// ErrUnavailable is wrapped by every error that comes from the engine or
// the way to it (down, slow, refusing a query): a service answers it
// with 503, as it does a request deadline.
var ErrUnavailable = errors.New("weaviate: unavailable")

// ErrMismatch is wrapped by the error of a collection that does not hold
// the model's items: another dimension, another model version, another
// number of items, or no collection at all.
var ErrMismatch = errors.New("weaviate: the collection does not hold the model's items")

// ModelPlaceholder in a collection name stands for the model's version, so
// that one -retrieval URL follows reloads: each version has its own
// collection.
const ModelPlaceholder = "{model}"

// Target is where a collection lives: parsed from
// weaviate://HOST:PORT/COLLECTION (or http:// for the same).
type Target struct {
	Host       string // host:port
	Collection string // may hold ModelPlaceholder
}

var className = regexp.MustCompile(`^[A-Z][A-Za-z0-9_]{0,199}$`)

// ParseURL reads weaviate://HOST:PORT/COLLECTION. The collection must be
// a Weaviate class name (a capital letter, then letters, digits and
// underscores) once ModelPlaceholder is replaced.
func ParseURL(raw string) (Target, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "weaviate" && u.Scheme != "http") || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return Target{}, fmt.Errorf("weaviate: %q: want weaviate://HOST:PORT/COLLECTION", raw)
	}
	if _, _, err := net.SplitHostPort(u.Host); err != nil {
		return Target{}, fmt.Errorf("weaviate: %q: the host needs a port", raw)
	}
	t := Target{Host: u.Host, Collection: strings.TrimPrefix(u.Path, "/")}
	// The version is lower-case hex: it may not start the name.
	if !className.MatchString(strings.ReplaceAll(t.Collection, ModelPlaceholder, "0")) {
		return Target{}, fmt.Errorf("weaviate: collection %q: a class name starts with a capital letter and holds letters, digits and underscores (%s for the model version)", t.Collection, ModelPlaceholder)
	}
	return t, nil
}

// Name is the collection of a model version.
func (t Target) Name(version string) string {
	return strings.ReplaceAll(t.Collection, ModelPlaceholder, version)
}

// client connects to the engine, every call bounded by timeout.
func client(host string, timeout time.Duration) (*wv.Client, error) {
	// Every HTTP exchange is bounded by the http.Client's own timeout as
	// well as by the callers' contexts: a hung engine never hangs a call.
	// An answer's body is read up to MaxAnswerBytes: an engine that
	// streams more gets an error, not the process's memory.
	hc := &http.Client{Timeout: timeout, Transport: capped{http.DefaultTransport}}
	c, err := wv.NewClient(wv.Config{Host: host, Scheme: "http", Timeout: timeout, ConnectionClient: hc})
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return c, nil
}

// MaxAnswerBytes bounds the body of one answer from the engine (a top-10,000
// answer with its rows and distances is a few MiB).
const MaxAnswerBytes = 64 << 20

// capped is a transport whose answers' bodies end with an error past
// MaxAnswerBytes.
type capped struct{ rt http.RoundTripper }

func (c capped) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := c.rt.RoundTrip(r)
	if err == nil {
		resp.Body = &cappedBody{rc: resp.Body, left: MaxAnswerBytes}
	}
	return resp, err
}

type cappedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, fmt.Errorf("%w: an answer of more than %d bytes", ErrUnavailable, MaxAnswerBytes)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }

// describe is the collection's description: what Open checks.
func describe(version string, dim, n int) string {
	return fmt.Sprintf("ytdnn items; model %s; dim %d; items %d", version, dim, n)
}

func parseDescription(s string) (version string, dim, n int, ok bool) {
	_, err := fmt.Sscanf(s, "ytdnn items; model %s dim %d; items %d", &version, &dim, &n)
	return strings.TrimSuffix(version, ";"), dim, n, err == nil
}

// Item is one vector of a collection: [v_j, b_j] of a video, its index row
// in the model (the retrieval.Hit ID) and its video ID as the log wrote it.
type Item struct {
	Row     int32
	VideoID string
	Vector  []float32
}

// Export creates the collection for a model version and imports its items
// by batches of 500 (the official Go client's batch import): dot-product
// distance, vectors given (no vectorizer), each object's UUID derived from
// its video ID, so that a repeated export writes the same objects. The
// description records the version, the dimension and the item count, which
// Open checks. A collection of that name that exists is an error: a
// version's collection is written once (delete it with Delete to write it
// again). progress, if set, is called after each batch.
func Export(ctx context.Context, t Target, version string, items []Item, progress func(done int)) (string, error) {
	if len(items) == 0 {
		return "", errors.New("weaviate: no items to export")
	}
	dim := len(items[0].Vector)
	for _, it := range items {
		if len(it.Vector) != dim {
			return "", fmt.Errorf("weaviate: item %s has %d floats, the first %d", it.VideoID, len(it.Vector), dim)
		}
	}
	name := t.Name(version)
	c, err := client(t.Host, time.Minute)
	if err != nil {
		return name, err
	}
	if exists, err := c.Schema().ClassExistenceChecker().WithClassName(name).Do(ctx); err != nil {
		return name, unavailable(err)
	} else if exists {
		return name, fmt.Errorf("weaviate: collection %s exists: a version's collection is written once (Delete it first)", name)
	}
	class := &models.Class{
		Class: name, Description: describe(version, dim, len(items)), Vectorizer: "none", VectorIndexType: "hnsw",
		VectorIndexConfig: map[string]any{"distance": "dot"},
		Properties: []*models.Property{
			{Name: "row", DataType: []string{"int"}, Description: "the item's index row in the ytdnn model"},
			{Name: "video_id", DataType: []string{"text"}, Description: "the video ID as the log wrote it"},
		},
	}
	if err := c.Schema().ClassCreator().WithClass(class).Do(ctx); err != nil {
		return name, unavailable(err)
	}
	ns := uuid.NewSHA1(uuid.NameSpaceOID, []byte("ytdnn"))
	const batch = 500
	for lo := 0; lo < len(items); lo += batch {
		objs := make([]*models.Object, 0, batch)
		for _, it := range items[lo:min(lo+batch, len(items))] {
			objs = append(objs, &models.Object{
				Class: name, ID: strfmt.UUID(uuid.NewSHA1(ns, []byte(it.VideoID)).String()), Vector: it.Vector,
				Properties: map[string]any{"row": it.Row, "video_id": it.VideoID},
			})
		}
		res, err := c.Batch().ObjectsBatcher().WithObjects(objs...).Do(ctx)
		if err != nil {
			return name, unavailable(err)
		}
		for _, r := range res {
			if r.Result != nil && r.Result.Errors != nil && len(r.Result.Errors.Error) > 0 {
				return name, fmt.Errorf("%w: importing into %s: %s", ErrUnavailable, name, r.Result.Errors.Error[0].Message)
			}
		}
		if progress != nil {
			progress(min(lo+batch, len(items)))
		}
	}
	return name, nil
}

// Delete removes a version's collection (retiring it once no service
// reads it). A missing collection is not an error.
func Delete(ctx context.Context, t Target, version string) error {
	c, err := client(t.Host, time.Minute)
	if err != nil {
		return err
	}
	name := t.Name(version)
	exists, err := c.Schema().ClassExistenceChecker().WithClassName(name).Do(ctx)
	if err != nil {
		return unavailable(err)
	}
	if !exists {
		return nil
	}
	return unavailable(c.Schema().ClassDeleter().WithClassName(name).Do(ctx))
}

// Index is a retrieval.Index over a collection Export wrote: a search sends
// the query [u, 1] to the engine (nearVector, dot distance) and reads back
// the items' rows. It holds no vectors (Items returns none): candgen's
// SetRemoteIndex takes it, Open having checked the collection against the
// model. Safe for concurrent searches.
type Index struct {
	c       *wv.Client
	name    string
	dim, n  int
	timeout time.Duration
}

var _ retrieval.Index = (*Index)(nil)

// Open connects to a version's collection and checks it holds the model's
// items: its description names the version, the dimension dim (D+1) and n
// items, and the engine counts n objects. A collection that is missing or
// differs is an error wrapping ErrMismatch and naming both sides; an
// engine that does not answer within timeout one wrapping ErrUnavailable.
// Every search is bounded by timeout too (and by its context).
func Open(ctx context.Context, t Target, version string, dim, n int, timeout time.Duration) (*Index, error) {
	c, err := client(t.Host, timeout)
	if err != nil {
		return nil, err
	}
	name := t.Name(version)
	ix := &Index{c: c, name: name, dim: dim, n: n, timeout: timeout}
	cls, err := c.Schema().ClassGetter().WithClassName(name).Do(ctx)
	if err != nil {
		var fe *fault.WeaviateClientError
		if errors.As(err, &fe) && fe.StatusCode == 404 {
			return nil, fmt.Errorf("%w: no collection %s (export it: pipeline export -format weaviate)", ErrMismatch, name)
		}
		return nil, unavailable(err)
	}
	v, d, m, ok := parseDescription(cls.Description)
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: collection %s was not written by ytdnn (description %q)", ErrMismatch, name, cls.Description)
	case v != version:
		return nil, fmt.Errorf("%w: collection %s holds model %s, the service loaded model %s", ErrMismatch, name, v, version)
	case d != dim:
		return nil, fmt.Errorf("%w: collection %s holds vectors of dimension %d, the model's are %d", ErrMismatch, name, d, dim)
	case m != n:
		return nil, fmt.Errorf("%w: collection %s was written with %d items, the model has %d", ErrMismatch, name, m, n)
	}
	count, err := ix.count(ctx)
	if err != nil {
		return nil, err
	}
	if count != n {
		return nil, fmt.Errorf("%w: collection %s holds %d objects, the model %d items (an import cut short?)", ErrMismatch, name, count, n)
	}
	return ix, nil
}

func (ix *Index) count(ctx context.Context) (int, error) {
	resp, err := ix.c.GraphQL().Aggregate().WithClassName(ix.name).
		WithFields(graphql.Field{Name: "meta", Fields: []graphql.Field{{Name: "count"}}}).Do(ctx)
	if err != nil {
		return 0, unavailable(err)
	}
	if len(resp.Errors) > 0 {
		return 0, fmt.Errorf("%w: counting %s: %s", ErrUnavailable, ix.name, resp.Errors[0].Message)
	}
	agg, _ := resp.Data["Aggregate"].(map[string]any)
	list, _ := agg[ix.name].([]any)
	if len(list) != 1 {
		return 0, fmt.Errorf("%w: counting %s: an answer of %d groups", ErrUnavailable, ix.name, len(list))
	}
	group, _ := list[0].(map[string]any)
	meta, _ := group["meta"].(map[string]any)
	n, ok := meta["count"].(float64)
	if !ok {
		return 0, fmt.Errorf("%w: counting %s: no count", ErrUnavailable, ix.name)
	}
	return int(n), nil
}

// Collection is the collection's name.
func (ix *Index) Collection() string { return ix.name }

// Dim implements retrieval.Index.
func (ix *Index) Dim() int { return ix.dim }

// Len implements retrieval.Index.
func (ix *Index) Len() int { return ix.n }

// Items implements retrieval.Index: the vectors live in the engine; none
// are held here.
func (ix *Index) Items() ([]float32, []int32) { return nil, nil }

// MaxResults is the most objects one query asks for: Weaviate's
// QUERY_MAXIMUM_RESULTS default.
const MaxResults = 10_000

// Search implements retrieval.Index: one nearVector query per query
// vector, asking for n plus 64 items and, while the filter leaves fewer
// than n and the collection holds more, four times as many again (at most
// MaxResults). A row outside 1..Len in an answer is an error wrapping
// ErrMismatch; a row answered twice counts once.
func (ix *Index) Search(ctx context.Context, queries []float32, n int, filter retrieval.Filter) ([][]retrieval.Hit, error) {
	if len(queries)%ix.dim != 0 {
		return nil, fmt.Errorf("weaviate: queries of %d floats are not rows of dim %d", len(queries), ix.dim)
	}
	if n < 1 {
		return nil, fmt.Errorf("weaviate: n must be positive, got %d", n)
	}
	m := len(queries) / ix.dim
	out := make([][]retrieval.Hit, m)
	for q := range m {
		hits, err := ix.search(ctx, queries[q*ix.dim:(q+1)*ix.dim], q, n, filter)
		if err != nil {
			return nil, err
		}
		out[q] = hits
	}
	return out, nil
}

func (ix *Index) search(ctx context.Context, vec []float32, q, n int, filter retrieval.Filter) ([]retrieval.Hit, error) {
	limit := min(n+64, ix.n, MaxResults)
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ctx, cancel := context.WithTimeout(ctx, ix.timeout)
		resp, err := ix.c.GraphQL().Get().WithClassName(ix.name).
			WithNearVector(ix.c.GraphQL().NearVectorArgBuilder().WithVector(vec)).
			WithLimit(limit).
			WithFields(graphql.Field{Name: "row"}, graphql.Field{Name: "_additional", Fields: []graphql.Field{{Name: "distance"}}}).
			Do(ctx)
		cancel()
		if err != nil {
			return nil, unavailable(err)
		}
		if len(resp.Errors) > 0 {
			return nil, fmt.Errorf("%w: searching %s: %s", ErrUnavailable, ix.name, resp.Errors[0].Message)
		}
		get, _ := resp.Data["Get"].(map[string]any)
		list, _ := get[ix.name].([]any)
		hits := make([]retrieval.Hit, 0, n)
		seen := make(map[int32]bool, len(list))
		for _, o := range list {
			obj, _ := o.(map[string]any)
			row, ok1 := obj["row"].(float64)
			add, _ := obj["_additional"].(map[string]any)
			dist, ok2 := add["distance"].(float64)
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("%w: searching %s: an object without row or distance", ErrUnavailable, ix.name)
			}
			if row != math.Trunc(row) || row < 1 || row > float64(ix.n) {
				return nil, fmt.Errorf("%w: collection %s answered row %v, outside 1..%d", ErrMismatch, ix.name, row, ix.n)
			}
			id := int32(row)
			if seen[id] || (filter != nil && filter(q, id)) {
				continue
			}
			seen[id] = true
			hits = append(hits, retrieval.Hit{ID: id, Score: float32(-dist)}) // dot distance is −u·v
			if len(hits) == n {
				return hits, nil
			}
		}
		if len(list) < limit || limit >= min(ix.n, MaxResults) {
			return hits, nil
		}
		limit = min(4*limit, ix.n, MaxResults)
	}
}

// unavailable wraps an engine error (nil stays nil).
func unavailable(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %v", ErrUnavailable, err)
}

// Version is a model's version for collection names: the first 12 hex
// digits of its candgen.model file's SHA-256 (modeldir's manifest).
func Version(sha256hex string) string {
	if len(sha256hex) > 12 {
		return sha256hex[:12]
	}
	return sha256hex
}
