package weaviate

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ytdnn/ytdnn/retrieval"
)

// engine returns the address of the Weaviate the tests run against, or
// skips: .ci/run builds and starts one and sets YTDNN_WEAVIATE_ADDR.
func engine(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("YTDNN_WEAVIATE_ADDR")
	if addr == "" {
		t.Skip("no Weaviate: set YTDNN_WEAVIATE_ADDR=HOST:PORT of a running weaviate-server (.ci/run builds one with go install github.com/weaviate/weaviate/cmd/weaviate-server@v1.35.2 and starts it on loopback)")
	}
	return addr
}

// collection returns a target of a fresh collection name, deleted after
// the test.
func collection(t *testing.T, addr, version string) Target {
	t.Helper()
	tg := Target{Host: addr, Collection: fmt.Sprintf("Ytdnntest_%d_{model}", rand.Uint32())}
	t.Cleanup(func() { _ = Delete(context.Background(), tg, version) })
	return tg
}

func gaussianItems(n, dim int, seed uint64) ([]Item, []float32) {
	rng := rand.New(rand.NewPCG(seed, 1))
	vecs := make([]float32, n*dim)
	items := make([]Item, n)
	for i := range items {
		for j := range dim {
			vecs[i*dim+j] = float32(rng.NormFloat64())
		}
		items[i] = Item{Row: int32(i + 1), VideoID: strconv.Itoa(1000 + i), Vector: vecs[i*dim : (i+1)*dim]}
	}
	return items, vecs
}

// TestSearchMatchesExact: a collection Export wrote answers top-n
// inner-product queries as exact search does (Weaviate's HNSW on 2,000
// items), scores are the inner products, filtered rows never come back and
// still n are returned.
func TestSearchMatchesExact(t *testing.T) {
	addr := engine(t)
	ctx := context.Background()
	const n, dim, k = 2000, 17, 10
	items, vecs := gaussianItems(n, dim, 1)
	tg := collection(t, addr, "v1")
	name, err := Export(ctx, tg, "v1", items, nil)
	require.NoError(t, err)
	assert.Equal(t, tg.Name("v1"), name, "the version's collection")
	assert.Contains(t, name, "_v1")
	ix, err := Open(ctx, tg, "v1", dim, n, 5*time.Second)
	require.NoError(t, err)
	rows := make([]int32, n)
	for i := range rows {
		rows[i] = int32(i + 1)
	}
	exact, err := retrieval.NewExact(vecs, dim, rows)
	require.NoError(t, err)
	qs, _ := gaussianItems(50, dim, 2)
	found, total := 0, 0
	for q, it := range qs {
		excluded := map[int32]bool{}
		filter := func(_ int, id int32) bool { return excluded[id] }
		want, err := exact.Search(ctx, it.Vector, k+5, nil)
		require.NoError(t, err)
		for _, h := range want[0][:5] { // leave out the best five
			excluded[h.ID] = true
		}
		got, err := ix.Search(ctx, it.Vector, k, filter)
		require.NoError(t, err)
		require.Len(t, got[0], k, "query %d", q)
		best := map[int32]bool{}
		for _, h := range want[0][5:] {
			best[h.ID] = true
		}
		for _, h := range got[0] {
			assert.False(t, excluded[h.ID], "query %d: row %d was filtered out", q, h.ID)
			var dot float32
			for j, x := range items[h.ID-1].Vector {
				dot += x * it.Vector[j]
			}
			assert.InDelta(t, dot, h.Score, 1e-3, "query %d: the score is the inner product", q)
			if best[h.ID] {
				found++
			}
		}
		total += k
	}
	recall := float64(found) / float64(total)
	t.Logf("recall@%d against exact search: %.4f", k, recall)
	assert.GreaterOrEqual(t, recall, 0.95)

	_, err = Export(ctx, tg, "v1", items, nil)
	assert.ErrorContains(t, err, "exists: a version's collection is written once")
}

// TestOpenRefuses: a collection of another version, dimension or size, a
// missing one, and an engine that is down or never answers.
func TestOpenRefuses(t *testing.T) {
	addr := engine(t)
	ctx := context.Background()
	items, _ := gaussianItems(300, 9, 3)
	tg := collection(t, addr, "abc123")
	_, err := Export(ctx, tg, "abc123", items, nil)
	require.NoError(t, err)
	other := Target{Host: addr, Collection: "Ytdnntest_fixed"} // {model}-less: any version reads this name
	t.Cleanup(func() { _ = Delete(context.Background(), other, "") })
	_, err = Export(ctx, other, "abc123", items, nil)
	require.NoError(t, err)
	cases := []struct {
		name    string
		tg      Target
		version string
		dim, n  int
		want    string
	}{
		{"other_version", other, "def456", 9, 300, "holds model abc123, the service loaded model def456"},
		{"other_dim", tg, "abc123", 17, 300, "dimension 9, the model's are 17"},
		{"other_count", tg, "abc123", 9, 301, "written with 300 items, the model has 301"},
		{"missing", tg, "zzz999", 9, 300, "no collection Ytdnntest_"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Open(ctx, c.tg, c.version, c.dim, c.n, 5*time.Second)
			assert.True(t, errors.Is(err, ErrMismatch), "%v", err)
			assert.ErrorContains(t, err, c.want)
		})
	}
	t.Run("import_cut_short", func(t *testing.T) {
		many, _ := gaussianItems(1200, 9, 4)
		cut := collection(t, addr, "cut")
		cctx, cancel := context.WithCancel(ctx)
		_, err := Export(cctx, cut, "cut", many, func(done int) { cancel() }) // stops after the first batch
		require.Error(t, err)
		_, err = Open(ctx, cut, "cut", 9, 1200, 5*time.Second)
		assert.True(t, errors.Is(err, ErrMismatch), "%v", err)
		assert.ErrorContains(t, err, "holds 500 objects, the model 1200 items (an import cut short?)")
	})
	t.Run("down", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		down := ln.Addr().String()
		ln.Close() // nothing listens there now
		_, err = Open(ctx, Target{Host: down, Collection: "Videos"}, "v", 9, 300, time.Second)
		assert.True(t, errors.Is(err, ErrUnavailable), "%v", err)
	})
	t.Run("never_answers", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		go func() { // accepts and says nothing
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
		start := time.Now()
		_, err = Open(ctx, Target{Host: ln.Addr().String(), Collection: "Videos"}, "v", 9, 300, 500*time.Millisecond)
		assert.True(t, errors.Is(err, ErrUnavailable), "%v", err)
		assert.Less(t, time.Since(start), 3*time.Second, "bounded by the timeout")
	})
}

func TestParseURL(t *testing.T) {
	tg, err := ParseURL("weaviate://127.0.0.1:8080/Videos_{model}")
	require.NoError(t, err)
	assert.Equal(t, Target{Host: "127.0.0.1:8080", Collection: "Videos_{model}"}, tg)
	assert.Equal(t, "Videos_abc", tg.Name("abc"))
	for _, bad := range []string{
		"weaviate://127.0.0.1/Videos", "weaviate://127.0.0.1:8080/videos", "weaviate://127.0.0.1:8080/", "ftp://h:1/Videos",
		"weaviate://u:p@h:1/Videos", "weaviate://h:1/Videos?x=1", "weaviate://h:1/Vid-eos", "weaviate://h:1/Videos/x",
		"weaviate://h:1/{model}", "weaviate://h:1/{model}_Videos", // the version is lower-case hex
	} {
		_, err := ParseURL(bad)
		assert.Error(t, err, bad)
	}
}

// TestAnswerCapped: an engine that streams an answer past MaxAnswerBytes
// gives an error wrapping ErrUnavailable, not the process's memory (no
// Weaviate needed: a fake engine answers every request so).
func TestAnswerCapped(t *testing.T) {
	chunk := bytes.Repeat([]byte(" "), 1<<20)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte("{"))
		for range MaxAnswerBytes/len(chunk) + 8 {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	_, err := Open(context.Background(), Target{Host: host, Collection: "Videos"}, "v", 9, 300, 10*time.Second)
	assert.True(t, errors.Is(err, ErrUnavailable), "%v", err)
	assert.ErrorContains(t, err, "an answer of more than")
}
