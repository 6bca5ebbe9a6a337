package ranking

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"sync"

	"github.com/ytdnn/ytdnn/embedding"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/internal/binfmt"
	"github.com/ytdnn/ytdnn/internal/nn"
	"github.com/ytdnn/ytdnn/internal/optim"
	"github.com/ytdnn/ytdnn/internal/train"
)

// PaperTower is the paper's best ranking tower, 1024→512→256 ReLU.
var PaperTower = []int{1024, 512, 256}

// Config configures the ranker. Zero values take the defaults in brackets.
type Config struct {
	// Spec declares the impression features. Vocabularies count IDs of
	// clicked impressions only, as in the paper.
	Spec feature.Spec
	// Tower is the ReLU hidden layer sizes [PaperTower]; a linear layer to
	// one logit follows. An empty non-nil slice means no hidden layer.
	Tower []int
	// Batch is the minibatch size [512].
	Batch int
	// LR is the Adam learning rate of the tower [1e-3]; EmbeddingLR that of
	// the embedding tables [LR].
	LR, EmbeddingLR float32
	// Optimizer is the dense optimizer of the tower: "adam" or "adagrad"
	// ["adam"]. Embedding and softmax tables always use row-sparse lazy Adam.
	Optimizer string
	// L2 is an L2 penalty on tower weights [0].
	L2 float32
	// Epochs over the impressions [1].
	Epochs int
	// EmbeddingStd is the std of initial embedding rows [0.05].
	EmbeddingStd float64
	// Unweighted trains plain logistic regression on clicks (every weight 1),
	// the paper's baseline.
	Unweighted bool
	// ShuffleBuffer is how many impressions TrainSource holds to shuffle a
	// stream [DefaultShuffleBuffer]; a source no longer than it is kept
	// encoded in memory and fully reshuffled every epoch. Train on a slice
	// keeps every impression encoded unless ShuffleBuffer is set.
	ShuffleBuffer int
	// Seed seeds every random choice.
	Seed uint64
	// Progress receives a progress bar (only if it is a terminal).
	Progress io.Writer
	// OnEpoch, if set, runs after each epoch with its mean loss.
	OnEpoch func(epoch int, loss float64) error
}

func (c *Config) defaults() error {
	if c.Tower == nil {
		c.Tower = PaperTower
	}
	if c.Batch == 0 {
		c.Batch = 512
	}
	if c.LR == 0 {
		c.LR = 1e-3
	}
	if c.EmbeddingLR == 0 {
		c.EmbeddingLR = c.LR
	}
	if c.Epochs == 0 {
		c.Epochs = 1
	}
	if c.EmbeddingStd == 0 {
		c.EmbeddingStd = 0.05
	}
	if c.ShuffleBuffer == 0 {
		c.ShuffleBuffer = DefaultShuffleBuffer
	}
	if c.Batch < 1 || c.Epochs < 1 || c.ShuffleBuffer < 1 || c.LR < 0 || c.EmbeddingLR < 0 || c.L2 < 0 {
		return errors.New("ranking: Batch, Epochs and ShuffleBuffer must be positive, rates non-negative")
	}
	for _, s := range c.Tower {
		if s < 1 {
			return fmt.Errorf("ranking: invalid tower %v", c.Tower)
		}
	}
	return c.Spec.Validate()
}

// DefaultShuffleBuffer is the shuffle buffer of a streamed source, in
// impressions (see Config.ShuffleBuffer).
const DefaultShuffleBuffer = 1 << 16

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

// Stats reports what a training run did.
type Stats struct {
	Examples       int
	Epochs, Steps  int
	Loss           float64
	Seconds        float64
	ExamplesPerSec float64
}

// Model is a trained ranker; exp(logit) estimates expected watch time.
// Scoring is safe for concurrent use.
type Model struct {
	enc  *feature.Encoder
	emb  *feature.Params
	mlp  *nn.MLP
	bufs sync.Pool
}

// Encoder returns the fitted feature encoder.
func (m *Model) Encoder() *feature.Encoder { return m.enc }

func weight(imp *Impression, unweighted bool) (label, w float32, err error) {
	if !imp.Clicked {
		return 0, 1, nil
	}
	if math.IsNaN(imp.WatchTime) || math.IsInf(imp.WatchTime, 0) || imp.WatchTime < 0 {
		return 0, 0, fmt.Errorf("watch time %v is not finite and non-negative", imp.WatchTime)
	}
	if unweighted {
		return 1, 1, nil
	}
	return 1, float32(imp.WatchTime), nil
}

// Train fits the encoder and trains the ranker with weighted logistic
// regression on impressions. It is TrainSource over the slice.
func Train(ctx context.Context, cfg Config, imps []Impression) (*Model, Stats, error) {
	if len(imps) == 0 {
		return nil, Stats{}, errors.New("ranking: no impressions")
	}
	if cfg.ShuffleBuffer == 0 {
		cfg.ShuffleBuffer = max(DefaultShuffleBuffer, len(imps))
	}
	return TrainSource(ctx, cfg, feature.SliceSource(imps))
}

// TrainSource is Train over a stream that need not fit in memory: one pass
// fits the encoder, then every epoch reads the stream again through a
// shuffle buffer of Config.ShuffleBuffer impressions (a stream no longer
// than the buffer is encoded once and held).
func TrainSource(ctx context.Context, cfg Config, src Source) (*Model, Stats, error) {
	var st Stats
	if err := cfg.defaults(); err != nil {
		return nil, st, err
	}
	fit, err := feature.NewFitter(cfg.Spec)
	if err != nil {
		return nil, st, err
	}
	n, err := eachImpression(ctx, src, func(imp *Impression) error {
		if _, _, err := weight(imp, false); err != nil {
			return err
		}
		return fit.Observe(&imp.Features, imp.Clicked)
	})
	if err != nil {
		return nil, st, err
	}
	if n == 0 {
		return nil, st, errors.New("ranking: no impressions")
	}
	m := &Model{}
	if m.enc, err = fit.Encoder(); err != nil {
		return nil, st, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x7a4c))
	if m.emb, err = m.enc.NewParams(cfg.EmbeddingStd, rng, func() embedding.Optimizer { return &embedding.LazyAdam{LR: cfg.EmbeddingLR} }); err != nil {
		return nil, st, err
	}
	sizes := append(append([]int{m.enc.Width()}, cfg.Tower...), 1)
	if m.mlp, err = nn.NewMLP(sizes, false, rng); err != nil {
		return nil, st, err
	}
	t, err := newTrainer(m, &cfg)
	if err != nil {
		return nil, st, err
	}
	var res train.Result
	if n <= cfg.ShuffleBuffer {
		if _, err := eachImpression(ctx, src, func(imp *Impression) error {
			e, err := t.encode(imp)
			t.all = append(t.all, e)
			return err
		}); err != nil {
			return nil, st, err
		}
		t.data = t.all
		loop := train.Loop{N: n, Batch: cfg.Batch, Epochs: cfg.Epochs, Label: "ranking", Progress: cfg.Progress, Rng: rng, Step: t.step, OnEpoch: cfg.OnEpoch}
		if res, err = loop.Run(ctx); err != nil {
			return nil, st, err
		}
	} else {
		stream := train.Stream[encodedImpression]{
			N: n, Batch: cfg.Batch, Epochs: cfg.Epochs, Buffer: cfg.ShuffleBuffer, Label: "ranking",
			Progress: cfg.Progress, Seed: cfg.Seed, OnEpoch: cfg.OnEpoch, Step: t.stepBatch,
			Open: func(ctx context.Context, _ int) (train.Iter[encodedImpression], error) {
				it, err := src.Open(ctx)
				if err != nil {
					return nil, err
				}
				return &encodingIter{t: t, it: it}, nil
			},
		}
		if res, err = stream.Run(ctx); err != nil {
			return nil, st, err
		}
	}
	st = Stats{Examples: n, Epochs: res.Epochs, Steps: res.Steps, Loss: res.Loss, Seconds: res.Seconds, ExamplesPerSec: res.ExamplesPerSec}
	m.emb.Detach()
	return m, st, nil
}

// eachImpression reads one pass of src; errors name the position.
func eachImpression(ctx context.Context, src Source, fn func(imp *Impression) error) (int, error) {
	it, err := src.Open(ctx)
	if err != nil {
		return 0, fmt.Errorf("ranking: opening the impressions: %w", err)
	}
	defer it.Close()
	for i := 0; ; i++ {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return i, err
			}
		}
		imp, err := it.Next()
		if errors.Is(err, io.EOF) {
			return i, it.Close()
		}
		if err != nil {
			return i, fmt.Errorf("ranking: reading impression %d: %w", i, err)
		}
		if err := fn(&imp); err != nil {
			return i, fmt.Errorf("ranking: impression %d: %w", i, err)
		}
	}
}

// encodedImpression is an impression ready to assemble: features, label
// and weight.
type encodedImpression struct {
	enc       feature.Encoded
	label, wt float32
}

func (t *trainer) encode(imp *Impression) (encodedImpression, error) {
	enc, err := t.m.enc.Encode(&imp.Features)
	if err != nil {
		return encodedImpression{}, err
	}
	y, w, err := weight(imp, t.unweighted)
	return encodedImpression{enc, y, w}, err
}

// encodingIter encodes a pass of a Source for the stream.
type encodingIter struct {
	t  *trainer
	it feature.Iterator[Impression]
	i  int
}

func (e *encodingIter) Next() (encodedImpression, error) {
	imp, err := e.it.Next()
	if err != nil {
		if !errors.Is(err, io.EOF) {
			err = fmt.Errorf("ranking: reading impression %d: %w", e.i, err)
		}
		return encodedImpression{}, err
	}
	e.i++
	enc, err := e.t.encode(&imp)
	if err != nil {
		return enc, fmt.Errorf("ranking: impression %d: %w", e.i-1, err)
	}
	return enc, nil
}

func (e *encodingIter) Close() error { return e.it.Close() }

type trainer struct {
	m          *Model
	unweighted bool
	all        []encodedImpression // every impression, when held in memory
	data       []encodedImpression // the rows' examples: all, or a streamed batch
	gr         *nn.Graph
	loss       *nn.WeightedLogistic
	dense      optim.Dense
	rows       []int
}

func newTrainer(m *Model, cfg *Config) (*trainer, error) {
	dense, err := optim.NewDense(cfg.Optimizer, cfg.LR, cfg.L2)
	if err != nil {
		return nil, fmt.Errorf("ranking: %w", err)
	}
	t := &trainer{m: m, unweighted: cfg.Unweighted, dense: dense, rows: make([]int, cfg.Batch)}
	t.loss = nn.NewWeightedLogistic(cfg.Batch)
	t.gr, err = nn.NewGraph(m.mlp, cfg.Batch, t.loss)
	return t, err
}

// stepBatch trains on a streamed batch (the rest of the rows are padding).
func (t *trainer) stepBatch(batch []encodedImpression) (float32, error) {
	t.data = batch
	for r := range t.rows {
		t.rows[r] = -1
		if r < len(batch) {
			t.rows[r] = r
		}
	}
	return t.step(t.rows)
}

func (t *trainer) step(rows []int) (float32, error) {
	copy(t.rows, rows)
	loss, err := t.forwardBackward()
	if err != nil {
		return 0, err
	}
	if err := t.dense.Apply(t.gr.Params()); err != nil {
		return 0, err
	}
	return loss, t.m.emb.Apply()
}

func (t *trainer) forwardBackward() (float32, error) {
	W := t.m.enc.Width()
	for r, ei := range t.rows {
		x := t.gr.X[r*W : (r+1)*W]
		if ei < 0 {
			clear(x)
			t.loss.Label[r], t.loss.Weight[r] = 0, 0
			continue
		}
		if err := t.m.enc.Assemble(x, &t.data[ei].enc, t.m.emb); err != nil {
			return 0, err
		}
		t.loss.Label[r], t.loss.Weight[r] = t.data[ei].label, t.data[ei].wt
	}
	loss, err := t.gr.Step()
	if err != nil {
		return 0, err
	}
	if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
		return 0, errors.New("ranking: training diverged (non-finite loss); lower the learning rate")
	}
	t.m.emb.ResetGrads()
	dx := t.gr.DX()
	for r, ei := range t.rows {
		if ei >= 0 {
			if err := t.m.enc.Backprop(dx[r*W:(r+1)*W], &t.data[ei].enc, t.m.emb); err != nil {
				return 0, err
			}
		}
	}
	return loss, nil
}

type scoreBuf struct {
	x   []float32
	enc feature.Encoded
}

// Logits writes the logit of each example into dst. Unknown IDs read as
// OOV; NaN/Inf or out-of-range features are an error naming the feature.
func (m *Model) Logits(dst []float32, exs []feature.Example) error {
	if len(dst) != len(exs) {
		return fmt.Errorf("ranking: dst has %d entries for %d examples", len(dst), len(exs))
	}
	W := m.enc.Width()
	b, _ := m.bufs.Get().(*scoreBuf)
	if b == nil {
		b = &scoreBuf{}
	}
	defer m.bufs.Put(b)
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
}

// Rank scores the candidates (ids[i] with features cands[i], which carry the
// user's features too) and returns them sorted by expected watch time, best
// first (ties by ascending ID).
func (m *Model) Rank(ids []int64, cands []feature.Example) ([]Ranked, error) {
	if len(ids) != len(cands) {
		return nil, fmt.Errorf("ranking: %d ids for %d candidates", len(ids), len(cands))
	}
	if len(cands) == 0 {
		return nil, nil
	}
	ew, err := m.ExpectedWatchTime(cands)
	if err != nil {
		return nil, err
	}
	out := make([]Ranked, len(ids))
	for i := range ids {
		out[i] = Ranked{ids[i], ew[i]}
	}
	slices.SortFunc(out, func(a, b Ranked) int {
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
	})
	return out, nil
}

const fileMagic, fileVersion = "YTRK", 1

// WriteTo writes the model (binfmt container "YTRK": encoder, embedding
// tables, tower, CRC-32C).
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	return binfmt.WriteContainer(w, fileMagic, fileVersion, func(bw *binfmt.Writer) {
		m.enc.Marshal(bw)
		m.emb.EncodeTables(bw)
		m.mlp.Encode(bw)
	})
}

// ReadModel reads a model written by WriteTo; truncated, corrupted or
// other-version streams are errors.
func ReadModel(r io.Reader) (*Model, error) {
	m, err := binfmt.ReadContainer(r, fileMagic, fileVersion, "model", func(br *binfmt.Reader) (m *Model, err error) {
		m = &Model{}
		if m.enc, err = feature.UnmarshalEncoder(br); err == nil {
			if m.emb, err = m.enc.DecodeParams(br); err == nil {
				m.mlp, err = nn.DecodeMLP(br)
			}
		}
		return m, err
	})
	if err == nil && (m.mlp.In() != m.enc.Width() || m.mlp.Out() != 1) {
		err = fmt.Errorf("reading model: %w: tower does not fit the encoder", binfmt.ErrFormat)
	}
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
