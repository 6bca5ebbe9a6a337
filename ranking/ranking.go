package ranking

import (
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sync"

	"github.com/ytdnn/ytdnn/embedding"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/internal/binfmt"
	"github.com/ytdnn/ytdnn/tower"
)

// Source is a re-openable stream of impressions (see feature.Source);
// feature.SliceSource adapts a slice.
type Source = feature.Source[Impression]

// Impression is one shown candidate: its features, whether it was clicked
// and, if so, the watch time (the positive's weight).
type Impression struct {
	Features  feature.Example
	Clicked   bool
	WatchTime float64
}

// Model is a trained ranker: the encoder of the impression features, their
// embedding tables and the tower computing one logit; exp(logit) estimates
// the impression's expected watch time (paper §4.2). Scoring is safe for
// concurrent use.
type Model struct {
	enc  *feature.Encoder
	emb  *feature.Params
	mlp  *tower.MLP
	bufs sync.Pool
}

// NewModel assembles a ranker from its parts (aliasing them): the encoder,
// one embedding table per space of its spec (vocabulary size × the space's
// dimension) and a tower from Encoder.Width() inputs to one logit. Parts
// that do not fit together are an error.
func NewModel(enc *feature.Encoder, tables []*embedding.Table, tw *tower.MLP) (*Model, error) {
	if enc == nil || tw == nil {
		return nil, errors.New("ranking: NewModel needs an encoder and a tower")
	}
	m := &Model{enc: enc, emb: &feature.Params{Tables: tables}, mlp: tw}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("ranking: %w", err)
	}
	return m, nil
}

func (m *Model) check() error {
	if m.mlp.In() != m.enc.Width() || m.mlp.Out() != 1 {
		return fmt.Errorf("%w: tower maps %d inputs to %d outputs, want %d to 1", ErrFormat, m.mlp.In(), m.mlp.Out(), m.enc.Width())
	}
	return m.enc.CheckTables(m.emb.Tables)
}

// Encoder returns the fitted feature encoder.
func (m *Model) Encoder() *feature.Encoder { return m.enc }

// Tower returns the tower computing the logit (read-only).
func (m *Model) Tower() *tower.MLP { return m.mlp }

// Tables returns the embedding tables, one per space of the encoder's spec
// (aliased: read them, do not write).
func (m *Model) Tables() []*embedding.Table { return m.emb.Tables }

type scoreBuf struct {
	x      []float32
	enc    feature.Encoded
	shared []float32
	rows   []int // the features that differ between examples
	runs   []tower.Run
	pre    [][]float32 // the candidates' rows of an ItemPart
}

// Logits writes the logit of each example into dst. Unknown IDs read as
// OOV; NaN/Inf or out-of-range features are an error naming the feature.
//
// A batch is usually a slate: one user's candidates, which share the
// user's features. Features with the same value in every example are
// encoded once and their part of the first layer computed once
// (tower.MLP.ForwardShared); the logits equal those of the examples scored
// one by one up to floating-point summation order. Once its buffers have
// grown to a batch's size, Logits allocates nothing.
func (m *Model) Logits(dst []float32, exs []feature.Example) error {
	return m.LogitsWith(dst, nil, exs, nil)
}

// LogitsWith is Logits for the candidates of items ids[i] (exs[i] their
// features), whose item features are taken from part (see ItemPart): the
// part's precomputed first-layer products are added instead of encoding
// and multiplying those features again, and the values exs hold for them
// are not read. A nil part, one built for another model, or an ID the
// part lacks falls back to Logits on exs alone. ids of another length
// than exs (nil with a nil part aside) is an error.
func (m *Model) LogitsWith(dst []float32, ids []int64, exs []feature.Example, part *ItemPart) error {
	if len(dst) != len(exs) {
		return fmt.Errorf("ranking: dst has %d entries for %d examples", len(dst), len(exs))
	}
	if (ids != nil || part != nil) && len(ids) != len(exs) {
		return fmt.Errorf("ranking: %d ids for %d examples", len(ids), len(exs))
	}
	W := m.enc.Width()
	b, _ := m.bufs.Get().(*scoreBuf)
	if b == nil {
		b = &scoreBuf{}
	}
	defer m.bufs.Put(b)
	if part != nil && part.model == m && len(exs) > 0 && part.gather(b, ids) && m.splitShared(b, exs, part.item) {
		return m.logitsShared(dst, exs, b, part.item, b.pre)
	}
	if len(exs) >= minShared && m.splitShared(b, exs, nil) && len(b.rows) > 0 && len(b.rows) < len(m.enc.Spec.Features) {
		return m.logitsShared(dst, exs, b, nil, nil)
	}
	if cap(b.x) < len(exs)*W {
		b.x = make([]float32, len(exs)*W)
	}
	x := b.x[:len(exs)*W]
	for i := range exs {
		if err := m.enc.EncodeTo(&b.enc, &exs[i]); err != nil {
			return fmt.Errorf("ranking: candidate %d: %w", i, err)
		}
		if err := m.enc.Assemble(x[i*W:(i+1)*W], &b.enc, m.emb); err != nil {
			return fmt.Errorf("ranking: candidate %d: %w", i, err)
		}
	}
	m.mlp.Forward(dst, x, len(exs))
	return nil
}

// minShared is the smallest batch whose shared features are looked for.
const minShared = 4

// splitShared finds the features whose value is the same in every example
// (b.rows gets the others, ascending, and b.runs their input columns),
// leaving out those marked in skip (an ItemPart's). It reports false for
// examples of another shape than the spec's, left to the plain path's
// errors.
func (m *Model) splitShared(b *scoreBuf, exs []feature.Example, skip []bool) bool {
	F := len(m.enc.Spec.Features)
	for i := range exs {
		if len(exs[i].IDs) != F || len(exs[i].Nums) != F {
			return false
		}
	}
	b.rows, b.runs = b.rows[:0], b.runs[:0]
	first := &exs[0]
	for i := range F {
		if skip != nil && skip[i] {
			continue
		}
		same := true
		for j := 1; j < len(exs) && same; j++ {
			same = math.Float64bits(exs[j].Nums[i]) == math.Float64bits(first.Nums[i]) && sameIDs(exs[j].IDs[i], first.IDs[i])
		}
		if same {
			continue
		}
		b.rows = append(b.rows, i)
		o, w := m.enc.Columns(i)
		b.runs = addRun(b.runs, o, w)
	}
	return true
}

// addRun appends the columns [o, o+w) to runs, extending the last run when
// they follow it.
func addRun(runs []tower.Run, o, w int) []tower.Run {
	if n := len(runs); n > 0 && runs[n-1].Start+runs[n-1].Len == o {
		runs[n-1].Len += w
		return runs
	}
	return append(runs, tower.Run{Start: o, Len: w})
}

// sameIDs reports whether two ID lists are equal (the same slice, often).
func sameIDs(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 0 || &a[0] == &b[0] {
		return true
	}
	return slices.Equal(a, b)
}

// logitsShared is Logits over a batch split by splitShared, the features
// marked in skip coming from pre (the candidates' ItemPart rows).
func (m *Model) logitsShared(dst []float32, exs []feature.Example, b *scoreBuf, skip []bool, pre [][]float32) error {
	W := m.enc.Width()
	if cap(b.shared) < W {
		b.shared = make([]float32, W)
	}
	shared := b.shared[:W]
	clear(shared) // the skipped features' columns stay 0
	r := 0
	for i := range m.enc.Spec.Features {
		if r < len(b.rows) && b.rows[r] == i {
			r++
			continue
		}
		if skip != nil && skip[i] {
			continue
		}
		o, w := m.enc.Columns(i)
		if err := m.enc.AssembleFeatures(shared[o:o+w], &exs[0], m.emb, []int{i}); err != nil {
			return fmt.Errorf("ranking: candidate 0: %w", err)
		}
	}
	k := 0
	for _, run := range b.runs {
		k += run.Len
	}
	if cap(b.x) < len(exs)*k {
		b.x = make([]float32, len(exs)*k)
	}
	x := b.x[:len(exs)*k]
	for i := range exs {
		if err := m.enc.AssembleFeatures(x[i*k:(i+1)*k], &exs[i], m.emb, b.rows); err != nil {
			return fmt.Errorf("ranking: candidate %d: %w", i, err)
		}
	}
	m.mlp.ForwardShared(dst, shared, x, b.runs, len(exs), pre)
	return nil
}

// ExpectedWatchTime returns exp(logit) for each example: the learned odds,
// which estimate the expected watch time of the impression.
func (m *Model) ExpectedWatchTime(exs []feature.Example) ([]float64, error) {
	z := make([]float32, len(exs))
	if err := m.Logits(z, exs); err != nil {
		return nil, err
	}
	out := make([]float64, len(z))
	for i, v := range z {
		out[i] = math.Exp(float64(v))
	}
	return out, nil
}

// Ranked is one ranked candidate.
type Ranked struct {
	ID int64
	// ExpectedWatchTime is exp(logit).
	ExpectedWatchTime float64
	// Index is the candidate's position in Rank's input.
	Index int
}

// Rank scores the candidates (ids[i] with features cands[i], which carry the
// user's features too) and returns them sorted by expected watch time, best
// first (ties by ascending ID).
func (m *Model) Rank(ids []int64, cands []feature.Example) ([]Ranked, error) {
	return m.RankWith(ids, cands, nil)
}

// RankWith is Rank with the candidates' item features taken from part
// (see LogitsWith; nil: Rank).
func (m *Model) RankWith(ids []int64, cands []feature.Example, part *ItemPart) ([]Ranked, error) {
	return m.RankTopWith(len(cands), ids, cands, part)
}

// RankTopWith is RankWith keeping the n best candidates (a served page):
// the same n, in the same order, without sorting the others. n below 1,
// with candidates to rank, is an error.
func (m *Model) RankTopWith(n int, ids []int64, cands []feature.Example, part *ItemPart) ([]Ranked, error) {
	if len(ids) != len(cands) {
		return nil, fmt.Errorf("ranking: %d ids for %d candidates", len(ids), len(cands))
	}
	if n < 1 && len(cands) > 0 {
		return nil, fmt.Errorf("ranking: keep %d candidates: want at least 1", n)
	}
	if len(cands) == 0 {
		return nil, nil
	}
	z := make([]float32, len(cands))
	if err := m.LogitsWith(z, ids, cands, part); err != nil {
		return nil, err
	}
	out := make([]Ranked, len(ids))
	for i := range ids {
		out[i] = Ranked{ID: ids[i], ExpectedWatchTime: math.Exp(float64(z[i])), Index: i}
	}
	if n < len(out) {
		// The n best by a bounded heap whose root is the worst kept.
		h := make([]Ranked, 0, n)
		for _, r := range out {
			switch {
			case len(h) < n:
				h = append(h, r)
				for i := len(h) - 1; i > 0 && rankedBefore(h[(i-1)/2], h[i]); i = (i - 1) / 2 {
					h[(i-1)/2], h[i] = h[i], h[(i-1)/2]
				}
			case rankedBefore(r, h[0]):
				h[0] = r
				for i := 0; ; {
					w, l, rr := i, 2*i+1, 2*i+2
					if l < n && rankedBefore(h[w], h[l]) {
						w = l
					}
					if rr < n && rankedBefore(h[w], h[rr]) {
						w = rr
					}
					if w == i {
						break
					}
					h[w], h[i] = h[i], h[w]
					i = w
				}
			}
		}
		out = h
	}
	slices.SortFunc(out, compareRanked)
	return out, nil
}

// compareRanked orders candidates best first: by expected watch time,
// descending, then by ID, ascending.
func compareRanked(a, b Ranked) int {
	switch {
	case a.ExpectedWatchTime > b.ExpectedWatchTime:
		return -1
	case a.ExpectedWatchTime < b.ExpectedWatchTime:
		return 1
	case a.ID < b.ID:
		return -1
	case a.ID > b.ID:
		return 1
	}
	return 0
}

// rankedBefore reports whether a ranks ahead of b.
func rankedBefore(a, b Ranked) bool { return compareRanked(a, b) < 0 }

// ErrFormat is wrapped by every error of a model file that is malformed,
// truncated, corrupted or of another format version (errors.Is), as
// opposed to an I/O error.
var ErrFormat = binfmt.ErrFormat

// fileVersion 2: vocabularies hold int64 IDs only (version 1 had a
// string-key flag per entry).
const fileMagic, fileVersion = "YTRK", 2

// WriteTo writes the model (binfmt container "YTRK": encoder, embedding
// tables, tower, CRC-32C).
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	return binfmt.WriteContainer(w, fileMagic, fileVersion, func(bw *binfmt.Writer) {
		// Each part's error is sticky in bw, which WriteContainer reports.
		m.enc.WriteTo(bw)
		m.emb.WriteTo(bw)
		m.mlp.WriteTo(bw)
	})
}

// ReadModel reads a model written by WriteTo; truncated, corrupted or
// other-version streams are errors.
func ReadModel(r io.Reader) (*Model, error) {
	m, err := binfmt.ReadContainer(r, fileMagic, fileVersion, "model", func(br *binfmt.Reader) (m *Model, err error) {
		m = &Model{}
		if err := br.CheckVersion(fileVersion); err != nil {
			return nil, err
		}
		if m.enc, err = feature.ReadEncoder(br); err == nil {
			if m.emb, err = m.enc.ReadParams(br); err == nil {
				if m.mlp, err = tower.ReadMLP(br); err == nil {
					err = m.check()
				}
			}
		}
		return m, err
	})
	if err != nil {
		return nil, fmt.Errorf("ranking: %w", err)
	}
	return m, nil
}

// Save writes the model to path atomically.
func (m *Model) Save(path string) error {
	return binfmt.Save(path, m)
}

// Load reads a model saved by Save.
func Load(path string) (*Model, error) {
	return binfmt.Load(path, ReadModel)
}
