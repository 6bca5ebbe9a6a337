package candgen

import (
	"errors"
	"fmt"

	"github.com/ytdnn/ytdnn/embedding"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/retrieval"
	"github.com/ytdnn/ytdnn/tower"
)

// ExampleAgeFeature is the name of the example-age input a model trained
// with example age has after the caller's features (paper §3.3).
const ExampleAgeFeature = "example_age"

// Source is a re-openable stream of training examples (see feature.Source);
// feature.SliceSource adapts a slice.
type Source = feature.Source[Example]

// Example is one training example: the user and context features before the
// watch, the watched video (the label) and the example's age (how long
// before the end of the training window it happened).
type Example struct {
	Features feature.Example
	Label    int64
	Age      float64
}

// Model is a trained candidate generator: the encoder of the user
// features, their embedding tables, the tower computing u and the softmax
// table [v_j, b_j] of the video vocabulary. Serving methods are safe for
// concurrent use.
type Model struct {
	userFeatures int // features the caller supplies (the spec without example age)
	ageFeature   int // index of example age in enc.Spec, or -1
	videoSpace   int
	enc          *feature.Encoder
	emb          *feature.Params
	mlp          *tower.MLP
	// soft is the softmax table: row j is [v_j, b_j] (D+1 floats).
	soft  *embedding.Table
	index retrieval.Index
	exact *retrieval.Exact
}

// Parts are what a model is made of; training produces them.
type Parts struct {
	// Encoder maps raw features to inputs; its spec is the user features,
	// then ExampleAgeFeature (Continuous) when ExampleAge is set.
	Encoder *feature.Encoder
	// Tables are the embedding tables, one per space of the encoder's spec,
	// each Vocab-size × Dim of its space.
	Tables []*embedding.Table
	// Tower maps the Encoder.Width() inputs to the user vector u (D floats).
	Tower *tower.MLP
	// Softmax is the softmax table: one row [v_j, b_j] of D+1 floats per
	// index of the VideoSpace vocabulary (row 0, OOV, is never retrieved).
	Softmax *embedding.Table
	// VideoSpace names the label space.
	VideoSpace string
	// ExampleAge says the spec ends with the example-age feature.
	ExampleAge bool
}

// NewModel assembles a model from its parts (aliasing them) and builds the
// exact retrieval index over its videos. Parts whose shapes do not fit
// together are an error naming the mismatch.
func NewModel(p Parts) (*Model, error) {
	if p.Encoder == nil || p.Tower == nil || p.Softmax == nil {
		return nil, errors.New("candgen: NewModel needs an encoder, a tower and a softmax table")
	}
	spec := &p.Encoder.Spec
	m := &Model{
		userFeatures: len(spec.Features), ageFeature: -1, videoSpace: spec.SpaceIndex(p.VideoSpace),
		enc: p.Encoder, emb: &feature.Params{Tables: p.Tables}, mlp: p.Tower, soft: p.Softmax,
	}
	if p.ExampleAge {
		m.userFeatures--
		m.ageFeature = m.userFeatures
	}
	if err := m.check(); err != nil {
		return nil, fmt.Errorf("candgen: %w", err)
	}
	if err := m.buildExact(); err != nil {
		return nil, fmt.Errorf("candgen: %w", err)
	}
	return m, nil
}

// check reports parts that do not fit together.
func (m *Model) check() error {
	spec := &m.enc.Spec
	nf := len(spec.Features)
	switch {
	case m.videoSpace < 0 || m.videoSpace >= len(spec.Spaces):
		return fmt.Errorf("%w: no label space", ErrFormat)
	case m.ageFeature >= 0 && (m.ageFeature != nf-1 || spec.Features[nf-1].Name != ExampleAgeFeature || spec.Features[nf-1].Kind != feature.Continuous):
		return fmt.Errorf("%w: example age is not the spec's last feature, a continuous %q", ErrFormat, ExampleAgeFeature)
	case m.userFeatures < 0 || m.userFeatures != nf-btoi(m.ageFeature >= 0):
		return fmt.Errorf("%w: inconsistent feature counts", ErrFormat)
	case m.mlp.In() != m.enc.Width():
		return fmt.Errorf("%w: tower takes %d inputs, the encoder fills %d", ErrFormat, m.mlp.In(), m.enc.Width())
	case m.soft.Dim != m.mlp.Out()+1 || m.soft.Rows != m.VideoVocab().Size():
		return fmt.Errorf("%w: softmax table is %d×%d, want %d×%d", ErrFormat, m.soft.Rows, m.soft.Dim, m.VideoVocab().Size(), m.mlp.Out()+1)
	}
	return m.enc.CheckTables(m.emb.Tables)
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// D is the user-vector dimension.
func (m *Model) D() int { return m.mlp.Out() }

// Encoder returns the fitted feature encoder (vocabularies, normalizers).
func (m *Model) Encoder() *feature.Encoder { return m.enc }

// Tower returns the tower computing u (read-only).
func (m *Model) Tower() *tower.MLP { return m.mlp }

// Tables returns the embedding tables, one per space of the encoder's spec
// (aliased: read them, do not write).
func (m *Model) Tables() []*embedding.Table { return m.emb.Tables }

// Softmax returns the softmax table: row j is [v_j, b_j] (D+1 floats) of
// the video vocabulary's index j (aliased: read it, do not write).
func (m *Model) Softmax() *embedding.Table { return m.soft }

// VideoVocab returns the vocabulary of the label space.
func (m *Model) VideoVocab() *embedding.Vocab { return m.enc.Vocabs[m.videoSpace] }

// FullSpec returns the tower's spec for the caller's user features: spec,
// then the continuous ExampleAgeFeature when exampleAge is set.
func FullSpec(spec feature.Spec, exampleAge bool) feature.Spec {
	full := feature.Spec{Spaces: spec.Spaces, Features: append([]feature.Feature(nil), spec.Features...)}
	if exampleAge {
		full.Features = append(full.Features, feature.Feature{Name: ExampleAgeFeature, Kind: feature.Continuous})
	}
	return full
}

// WithAge returns ex (userFeatures slots) extended by the example-age slot
// holding age when exampleAge is set: the tower's input for FullSpec. A
// slot count other than userFeatures is an error.
func WithAge(ex *feature.Example, userFeatures int, exampleAge bool, age float64) (feature.Example, error) {
	if len(ex.IDs) != userFeatures || len(ex.Nums) != userFeatures {
		return feature.Example{}, fmt.Errorf("example has %d ID and %d numeric slots, the model has %d user features", len(ex.IDs), len(ex.Nums), userFeatures)
	}
	if !exampleAge {
		return *ex, nil
	}
	return feature.Example{
		IDs:  append(ex.IDs[:userFeatures:userFeatures], nil),
		Nums: append(ex.Nums[:userFeatures:userFeatures], age),
	}, nil
}

// withAge returns ex extended by the example-age slot when the model has one.
func (m *Model) withAge(ex *feature.Example, age float64) (feature.Example, error) {
	return WithAge(ex, m.userFeatures, m.ageFeature >= 0, age)
}
