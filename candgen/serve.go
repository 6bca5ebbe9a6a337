package candgen

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/ytdnn/ytdnn/embedding"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/internal/vec"
	"github.com/ytdnn/ytdnn/retrieval"
)

// Scored is one recommended video: its raw ID and its softmax logit v·u + b.
type Scored struct {
	ID    int64
	Score float32
}

func (m *Model) buildExact() error {
	vecs, ids := m.indexItems()
	e, err := retrieval.NewExact(vecs, m.D()+1, ids)
	if err != nil {
		return err
	}
	m.exact, m.index = e, e
	return nil
}

// Items returns the model's videos as a vector engine indexes them: every
// in-vocabulary video's raw ID and its vector [v_j, b_j] (D+1 floats,
// row-major, in the same order). A user's query is [u, 1], so the inner
// product is the logit v_j·u + b_j. The vectors alias the model: do not
// modify them.
func (m *Model) Items() (vectors []float32, ids []int64) {
	vecs, rows := m.indexItems()
	vocab := m.VideoVocab()
	ids = make([]int64, len(rows))
	for i, r := range rows {
		ids[i], _ = vocab.ID(r) // rows are 1..Size()-1: every one has an ID
	}
	return vecs, ids
}

// indexItems is Items under the IDs the model's retrieval index uses: the
// rows of the softmax table (vocabulary indices 1..), which never leave
// the model except inside an index.
func (m *Model) indexItems() (vectors []float32, rows []int32) {
	n := m.soft.Rows - 1
	rows = make([]int32, n)
	for i := range rows {
		rows[i] = int32(i + 1)
	}
	return m.soft.Data[m.soft.Dim:], rows
}

// BuildHNSW builds an approximate index (retrieval.HNSW) over the model's
// items and serves through it; it returns the index, to save with the
// model (HNSW.Save) and restore with SetIndex.
func (m *Model) BuildHNSW(ctx context.Context, cfg retrieval.HNSWConfig) (*retrieval.HNSW, error) {
	vecs, rows := m.indexItems()
	idx, err := retrieval.NewHNSW(ctx, vecs, m.D()+1, rows, cfg)
	if err != nil {
		return nil, fmt.Errorf("candgen: %w", err)
	}
	m.index = idx
	return idx, nil
}

// SetIndex replaces the retrieval index with one built by BuildHNSW for
// this model (saved and read back, say). nil restores exact search. An
// index that does not hold exactly the model's items (ids and vectors, bit
// for bit: a stale index of another model) is an error.
func (m *Model) SetIndex(idx retrieval.Index) error {
	if idx == nil {
		m.index = m.exact
		return nil
	}
	if idx.Dim() != m.D()+1 {
		return fmt.Errorf("candgen: index has dim %d, model needs %d", idx.Dim(), m.D()+1)
	}
	// The index must hold exactly this model's items, in any order: the
	// same ids with the same vectors, or it would serve another model's
	// (a stale index file with the same dimension).
	vecs, ids := idx.Items()
	own, ownIDs := m.indexItems()
	if len(ids) != len(ownIDs) || len(vecs) != len(own) {
		return fmt.Errorf("candgen: index holds %d items, the model %d", len(ids), len(ownIDs))
	}
	D1 := m.D() + 1
	seen := make([]bool, len(ownIDs)+1)
	for k, id := range ids {
		if id < 1 || int(id) > len(ownIDs) || seen[id] {
			return fmt.Errorf("candgen: index item %d is not one of the model's videos (or repeats)", id)
		}
		seen[id] = true
		got, want := vecs[k*D1:(k+1)*D1], own[int(id-1)*D1:int(id)*D1]
		for j := range got {
			if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
				return fmt.Errorf("candgen: index vector of video index %d differs from the model's: the index was built for another model", id)
			}
		}
	}
	m.index = idx
	return nil
}

// SetRemoteIndex serves retrieval through an index that holds its vectors
// elsewhere (a vector database: package retrieval/weaviate), whose hits are
// the model's index rows as BuildHNSW numbers them (1..videos). Its
// dimension and item count must be the model's (D+1, the videos); that it
// holds this model's vectors is for the caller to check (weaviate.Open
// checks the version the collection records).
func (m *Model) SetRemoteIndex(idx retrieval.Index) error {
	if idx == nil {
		return errors.New("candgen: SetRemoteIndex: no index")
	}
	if idx.Dim() != m.D()+1 || idx.Len() != m.VideoVocab().Size()-1 {
		return fmt.Errorf("candgen: the remote index holds %d items of dimension %d, the model %d of %d", idx.Len(), idx.Dim(), m.VideoVocab().Size()-1, m.D()+1)
	}
	m.index = idx
	return nil
}

// Scores writes into dst the logit v_j·u + b_j of each video of ids (raw
// IDs) for one user vector u (D floats, from UserVectors): the score
// retrieval ranks by. A video outside the vocabulary scores 0. dst and ids
// of different lengths, or u not of D floats, are an error.
func (m *Model) Scores(dst []float32, u []float32, ids []int64) error {
	D := m.D()
	if len(u) != D || len(dst) != len(ids) {
		return fmt.Errorf("candgen: Scores: u has %d floats for D=%d, dst %d entries for %d IDs", len(u), D, len(dst), len(ids))
	}
	vocab := m.VideoVocab()
	for i, id := range ids {
		j := vocab.Index(id)
		if j == embedding.OOV {
			dst[i] = 0
			continue
		}
		row := m.soft.Row(j)
		dst[i] = vec.Dot(row[:D], u) + row[D]
	}
	return nil
}

// Index returns the retrieval index in use.
func (m *Model) Index() retrieval.Index { return m.index }

// UserVectors computes the user vectors of exs into dst (len(exs)·D floats),
// with example age set to 0, as at serving. Unknown IDs read as OOV; empty
// histories are zero vectors; NaN or Inf features are an error.
func (m *Model) UserVectors(dst []float32, exs []feature.Example) error {
	return m.UserVectorsAt(dst, exs, nil)
}

// UserVectorsAt is UserVectors with an explicit example age per user (nil:
// all 0), for offline replays that serve each request at its own time (its
// age relative to the end of the training window) rather than at the end.
func (m *Model) UserVectorsAt(dst []float32, exs []feature.Example, ages []float64) error {
	if ages != nil && len(ages) != len(exs) {
		return fmt.Errorf("candgen: %d ages for %d users", len(ages), len(exs))
	}
	D, W := m.D(), m.enc.Width()
	if len(dst) != len(exs)*D {
		return fmt.Errorf("candgen: dst has %d floats, need %d", len(dst), len(exs)*D)
	}
	x := make([]float32, len(exs)*W)
	var enc feature.Encoded
	for i := range exs {
		age := 0.0
		if ages != nil {
			age = ages[i]
		}
		ex, err := m.withAge(&exs[i], age)
		if err != nil {
			return fmt.Errorf("candgen: example %d: %w", i, err)
		}
		if err := m.enc.EncodeTo(&enc, &ex); err != nil {
			return fmt.Errorf("candgen: example %d: %w", i, err)
		}
		if err := m.enc.Assemble(x[i*W:(i+1)*W], &enc, m.emb); err != nil {
			return fmt.Errorf("candgen: example %d: %w", i, err)
		}
	}
	m.mlp.Forward(dst, x, len(exs))
	return nil
}

// UserVector computes one user vector (D floats), with example age 0.
func (m *Model) UserVector(ex feature.Example) ([]float32, error) {
	dst := make([]float32, m.D())
	return dst, m.UserVectors(dst, []feature.Example{ex})
}

// Recommend returns the top n videos for one user, best first, leaving out
// the raw IDs in exclude (already watched, say). Retrieval stops with ctx's
// error once ctx is done.
func (m *Model) Recommend(ctx context.Context, ex feature.Example, n int, exclude []int64) ([]Scored, error) {
	var ex2 [][]int64
	if exclude != nil {
		ex2 = [][]int64{exclude}
	}
	out, err := m.RecommendBatch(ctx, []feature.Example{ex}, n, ex2)
	if err != nil {
		return nil, err
	}
	return out[0], nil
}

// RecommendBatch recommends for many users at once (one matrix product per
// block of items). exclude, if not nil, has one list per user.
func (m *Model) RecommendBatch(ctx context.Context, exs []feature.Example, n int, exclude [][]int64) ([][]Scored, error) {
	return m.RecommendBatchAt(ctx, exs, nil, n, exclude)
}

// RecommendBatchAt is RecommendBatch with an explicit example age per user
// (see UserVectorsAt); nil ages serve at age 0.
func (m *Model) RecommendBatchAt(ctx context.Context, exs []feature.Example, ages []float64, n int, exclude [][]int64) ([][]Scored, error) {
	if len(exs) == 0 {
		return nil, errors.New("candgen: no users")
	}
	if exclude != nil && len(exclude) != len(exs) {
		return nil, fmt.Errorf("candgen: %d exclusion lists for %d users", len(exclude), len(exs))
	}
	if n < 1 {
		return nil, fmt.Errorf("candgen: n must be positive, got %d", n)
	}
	D := m.D()
	u := make([]float32, len(exs)*D)
	if err := m.UserVectorsAt(u, exs, ages); err != nil {
		return nil, err
	}
	q := make([]float32, len(exs)*(D+1))
	for i := range exs {
		copy(q[i*(D+1):], u[i*D:(i+1)*D])
		q[i*(D+1)+D] = 1
	}
	var filter retrieval.Filter
	if exclude != nil {
		vocab := m.VideoVocab()
		sets := make([]map[int32]bool, len(exs))
		for i, ids := range exclude {
			if len(ids) == 0 {
				continue
			}
			sets[i] = make(map[int32]bool, len(ids))
			for _, id := range ids {
				if j := vocab.Index(id); j != embedding.OOV {
					sets[i][j] = true
				}
			}
		}
		filter = func(q int, id int32) bool { return sets[q][id] }
	}
	hits, err := m.index.Search(ctx, q, n, filter)
	if err != nil {
		return nil, err
	}
	vocab := m.VideoVocab()
	out := make([][]Scored, len(exs))
	for i, hs := range hits {
		out[i] = make([]Scored, len(hs))
		for j, h := range hs {
			id, ok := vocab.ID(h.ID)
			if !ok {
				return nil, fmt.Errorf("candgen: the index returned item %d, not one of the model's", h.ID)
			}
			out[i][j] = Scored{ID: id, Score: h.Score}
		}
	}
	return out, nil
}
