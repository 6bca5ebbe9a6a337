package candgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"github.com/ytdnn/ytdnn/embedding"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/internal/nn"
	"github.com/ytdnn/ytdnn/internal/optim"
	"github.com/ytdnn/ytdnn/internal/par"
	"github.com/ytdnn/ytdnn/internal/train"
	"github.com/ytdnn/ytdnn/retrieval"
	"github.com/ytdnn/ytdnn/sampling"
)

// ExampleAgeFeature is the name of the example-age input candgen adds to the
// spec when Config.ExampleAge is set.
const ExampleAgeFeature = "example_age"

// Sampler names a negative sampler.
type Sampler string

// The negative samplers.
const (
	Unigram    Sampler = "unigram"    // video counts^0.75: every occurrence in the examples, histories and labels (default)
	LogUniform Sampler = "loguniform" // Zipfian over frequency rank
	Uniform    Sampler = "uniform"
)

// TableOptimizer names the row-sparse optimizer of the embedding and
// softmax tables.
type TableOptimizer string

// The table optimizers.
const (
	TableAdam       TableOptimizer = "adam"            // lazy Adam (default)
	TableRowAdagrad TableOptimizer = "rowwise-adagrad" // one accumulator per row
)

// newTableOptimizer returns one optimizer of the configured kind.
func (c *Config) newTableOptimizer() embedding.Optimizer {
	if c.TableOptimizer == TableRowAdagrad {
		return &embedding.RowAdagrad{LR: c.EmbeddingLR}
	}
	return &embedding.LazyAdam{LR: c.EmbeddingLR}
}

// Presets of tower sizes (the last size is the user-vector dimension D).
var (
	// Depth1 to Depth4 are the towers of the paper's Figure 6, by depth:
	// 256; 512→256; 1024→512→256; 2048→1024→512→256 (the deepest).
	Depth1 = []int{256}
	Depth2 = []int{512, 256}
	Depth3 = []int{1024, 512, 256}
	Depth4 = []int{2048, 1024, 512, 256}
	// PaperTower is Depth3, the default: the paper's depth-3 tower.
	PaperTower = Depth3
	// SmallTower suits small data such as MovieLens.
	SmallTower = []int{256, 128, 64}
)

// Config configures candidate generation. Zero values take the defaults in
// brackets.
type Config struct {
	// Spec declares the user and context features. VideoSpace must be one of
	// its spaces: watch histories and the softmax classes share it.
	Spec feature.Spec
	// VideoSpace is the ID space of the labels ["video"].
	VideoSpace string
	// ExampleAge adds a Continuous feature fed with Example.Age at training
	// and with 0 at serving.
	ExampleAge bool
	// Tower is the ReLU layer sizes; the last one is D [PaperTower]. As in
	// the paper every layer is ReLU, the last one too (u ≥ 0).
	Tower []int
	// LinearTop leaves the tower's last layer linear (u unconstrained).
	LinearTop bool
	// Batch is the minibatch size [512]; the last batch is padded.
	Batch int
	// Negatives is the number of sampled negatives per batch, shared by all
	// rows [1000, capped at classes-1].
	Negatives int
	// Sampler draws the negatives [Unigram].
	Sampler Sampler
	// UniqueNegatives samples negatives without replacement.
	UniqueNegatives bool
	// NoLogQ turns the importance-weighting correction off (for ablations).
	NoLogQ bool
	// TieEmbeddings shares one table between the watch-history embeddings
	// and the softmax weights of the label space (as DeepMatch's YoutubeDNN
	// does): v_j is video j's input embedding. The space's Dim must equal the
	// tower's output size D. Class biases stay separate.
	TieEmbeddings bool
	// FullSoftmax trains with the exact softmax over every class instead of
	// sampling (small vocabularies only; for reference and tests).
	FullSoftmax bool
	// LR is the Adam learning rate of the tower [1e-3]; EmbeddingLR that of
	// the embedding and softmax tables (lazy Adam) [LR].
	LR, EmbeddingLR float32
	// Optimizer is the dense optimizer of the tower: "adam" or "adagrad"
	// ["adam"].
	Optimizer string
	// TableOptimizer is the row-sparse optimizer of the embedding and
	// softmax tables: TableAdam (lazy Adam, 12 bytes per parameter with its
	// two moments) or TableRowAdagrad (row-wise Adagrad, 4 bytes per
	// parameter plus 4 per row), the choice for 10⁶-10⁷ videos [TableAdam].
	// For D=64 a video costs 4·(Dim + D+1) bytes of tables (516 for Dim 64)
	// plus 1,032 bytes of Adam state, or 8 of row-wise Adagrad state.
	TableOptimizer TableOptimizer
	// L2 is an L2 penalty on tower weights [0].
	L2 float32
	// Dropout is the probability of zeroing each input of the tower (the
	// concatenated embeddings and dense features) at training, with the
	// kept inputs scaled by 1/(1-Dropout) (inverted dropout; serving is
	// unchanged) [0: off]. A regulariser for small, long-tailed data.
	Dropout float64
	// Epochs over the training examples [1].
	Epochs int
	// EmbeddingStd is the std of initial embedding rows [0.05].
	EmbeddingStd float64
	// ShuffleBuffer is how many examples TrainSource holds to shuffle a
	// stream [DefaultShuffleBuffer]. A source of at most this many examples
	// is kept encoded in memory and fully reshuffled every epoch; a longer
	// one is read afresh every epoch and shuffled within the buffer (about
	// 500 bytes per example held with 50-video and 50-token histories: 32
	// MiB for the default). Train on a slice keeps every example encoded
	// (the slice is in memory already) unless ShuffleBuffer is set.
	ShuffleBuffer int
	// Seed seeds every random choice.
	Seed uint64
	// Progress receives a progress bar (only if it is a terminal).
	Progress io.Writer
	// OnEpoch, if set, is called after every epoch with its mean loss;
	// returning an error stops training with that error.
	OnEpoch func(epoch int, loss float64) error
	// Validate, if set, scores a copy of the model after every epoch
	// (higher is better, e.g. HR@50 on a validation split; epoch counts
	// from 0). Training returns the model of the best-scoring epoch (the
	// earliest of equal scores) and stops early once Patience epochs in a
	// row have not beaten it. A NaN score or an error stops training with an
	// error. The copy costs one serialisation of the model per epoch.
	Validate func(ctx context.Context, epoch int, m *Model) (float64, error)
	// Patience is how many epochs without a better validation score end
	// training early [0: run all Epochs, still returning the best].
	Patience int
}

func (c *Config) defaults() error {
	if c.VideoSpace == "" {
		c.VideoSpace = "video"
	}
	if len(c.Tower) == 0 {
		c.Tower = PaperTower
	}
	if c.Batch == 0 {
		c.Batch = 512
	}
	if c.Negatives == 0 {
		c.Negatives = 1000
	}
	if c.Sampler == "" {
		c.Sampler = Unigram
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
	if c.TableOptimizer == "" {
		c.TableOptimizer = TableAdam
	}
	switch {
	case c.TableOptimizer != TableAdam && c.TableOptimizer != TableRowAdagrad:
		return fmt.Errorf("candgen: unknown table optimizer %q", c.TableOptimizer)
	case c.Batch < 1 || c.Negatives < 1 || c.Epochs < 1 || c.ShuffleBuffer < 1:
		return errors.New("candgen: Batch, Negatives, Epochs and ShuffleBuffer must be positive")
	case c.LR < 0 || c.EmbeddingLR < 0 || c.L2 < 0:
		return errors.New("candgen: negative learning rate or L2")
	case !(c.Dropout >= 0 && c.Dropout < 1):
		return fmt.Errorf("candgen: Dropout %v outside [0, 1)", c.Dropout)
	case c.Patience < 0:
		return errors.New("candgen: negative Patience")
	case c.Sampler != Unigram && c.Sampler != LogUniform && c.Sampler != Uniform:
		return fmt.Errorf("candgen: unknown sampler %q", c.Sampler)
	}
	for _, s := range c.Tower {
		if s < 1 {
			return fmt.Errorf("candgen: invalid tower %v", c.Tower)
		}
	}
	if c.Spec.SpaceIndex(c.VideoSpace) < 0 {
		return fmt.Errorf("candgen: spec has no space %q for the labels", c.VideoSpace)
	}
	if c.ExampleAge && c.Spec.Index(ExampleAgeFeature) >= 0 {
		return fmt.Errorf("candgen: spec already has a feature named %q", ExampleAgeFeature)
	}
	return c.Spec.Validate()
}

// DefaultShuffleBuffer is the shuffle buffer of a streamed source, in
// examples (see Config.ShuffleBuffer).
const DefaultShuffleBuffer = 1 << 16

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

// Stats reports what a training run did.
type Stats struct {
	Examples        int     // examples used per epoch
	SkippedOOVLabel int     // examples dropped because the label is outside the vocabulary
	Epochs          int     // epochs run
	Steps           int     // optimizer steps
	Loss            float64 // mean loss of the last epoch
	// BestEpoch (from 1) and BestScore are the epoch whose model was
	// returned and its validation score, when Config.Validate is set.
	BestEpoch      int
	BestScore      float64
	Seconds        float64 // wall time of the training loop
	ExamplesPerSec float64 // Examples·Epochs/Seconds
}

// Model is a trained candidate generator. Serving methods are safe for
// concurrent use.
type Model struct {
	userFeatures int // features the caller supplies (the spec without example age)
	ageFeature   int // index of example age in enc.Spec, or -1
	videoSpace   int
	enc          *feature.Encoder
	emb          *feature.Params
	mlp          *nn.MLP
	// soft is the softmax table: row j is [v_j, b_j] (D+1 floats).
	soft  *embedding.Table
	index retrieval.Index
	exact *retrieval.Exact
}

// D is the user-vector dimension.
func (m *Model) D() int { return m.mlp.Out() }

// Encoder returns the fitted feature encoder (vocabularies, normalizers).
func (m *Model) Encoder() *feature.Encoder { return m.enc }

// VideoVocab returns the vocabulary of the label space.
func (m *Model) VideoVocab() *embedding.Vocab { return m.enc.Vocabs[m.videoSpace] }

func fullSpec(cfg *Config) feature.Spec {
	spec := feature.Spec{Spaces: cfg.Spec.Spaces, Features: append([]feature.Feature(nil), cfg.Spec.Features...)}
	if cfg.ExampleAge {
		spec.Features = append(spec.Features, feature.Feature{Name: ExampleAgeFeature, Kind: feature.Continuous})
	}
	return spec
}

// withAge returns ex extended by the example-age slot when the model has one.
func (m *Model) withAge(ex *feature.Example, age float64) (feature.Example, error) {
	if len(ex.IDs) != m.userFeatures || len(ex.Nums) != m.userFeatures {
		return feature.Example{}, fmt.Errorf("candgen: example has %d/%d slots, spec has %d features", len(ex.IDs), len(ex.Nums), m.userFeatures)
	}
	if m.ageFeature < 0 {
		return *ex, nil
	}
	out := feature.Example{
		IDs:  append(ex.IDs[:m.userFeatures:m.userFeatures], nil),
		Nums: append(ex.Nums[:m.userFeatures:m.userFeatures], age),
	}
	return out, nil
}

// Train fits the encoder and trains a model on examples with sampled softmax.
// It is TrainSource over the slice, holding every example encoded (see
// Config.ShuffleBuffer).
func Train(ctx context.Context, cfg Config, examples []Example) (*Model, Stats, error) {
	if len(examples) == 0 {
		return nil, Stats{}, errors.New("candgen: no training examples")
	}
	if cfg.ShuffleBuffer == 0 {
		cfg.ShuffleBuffer = max(DefaultShuffleBuffer, len(examples))
	}
	return TrainSource(ctx, cfg, feature.SliceSource(examples))
}

// TrainSource is Train over a stream that need not fit in memory: one pass
// fits the vocabularies (top-N by count) and the normalizers (bounded
// sketches), then every epoch reads the stream again through a shuffle
// buffer of Config.ShuffleBuffer examples. A stream no longer than the
// buffer is encoded once and held (as Train on a slice always was).
func TrainSource(ctx context.Context, cfg Config, src Source) (*Model, Stats, error) {
	var st Stats
	if err := cfg.defaults(); err != nil {
		return nil, st, err
	}
	spec := fullSpec(&cfg)
	fit, err := feature.NewFitter(spec)
	if err != nil {
		return nil, st, err
	}
	m := &Model{userFeatures: len(cfg.Spec.Features), ageFeature: -1, videoSpace: spec.SpaceIndex(cfg.VideoSpace)}
	if cfg.ExampleAge {
		m.ageFeature = len(spec.Features) - 1
	}
	n, err := eachExample(ctx, src, func(i int, e *Example) error {
		ex, err := m.withAge(&e.Features, e.Age)
		if err != nil {
			return err
		}
		if err := fit.Observe(&ex, true); err != nil {
			return err
		}
		return fit.CountID(cfg.VideoSpace, e.Label, 1)
	})
	if err != nil {
		return nil, st, err
	}
	if n == 0 {
		return nil, st, errors.New("candgen: no training examples")
	}
	if m.enc, err = fit.Encoder(); err != nil {
		return nil, st, err
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xca9d))
	if m.emb, err = m.enc.NewParams(cfg.EmbeddingStd, rng, cfg.newTableOptimizer); err != nil {
		return nil, st, err
	}
	sizes := append([]int{m.enc.Width()}, cfg.Tower...)
	if m.mlp, err = nn.NewMLP(sizes, !cfg.LinearTop, rng); err != nil {
		return nil, st, err
	}
	vocab := m.VideoVocab()
	if vocab.Size() < 3 {
		return nil, st, fmt.Errorf("candgen: only %d label classes", vocab.Size()-1)
	}
	D := m.D()
	if m.soft, err = embedding.NewTable(vocab.Size(), D+1, 1/math.Sqrt(float64(D))*0.1, rng); err != nil {
		return nil, st, err
	}
	for r := 1; r < m.soft.Rows; r++ {
		m.soft.Row(int32(r))[D] = 0
	}
	t, err := newTrainer(m, &cfg, rng)
	if err != nil {
		return nil, st, err
	}
	var res train.Result
	es := &earlyStop{t: t}
	onEpoch := cfg.OnEpoch
	if cfg.Validate != nil {
		onEpoch = func(ep int, loss float64) error { return es.epoch(ctx, ep, loss) }
	}
	if n <= cfg.ShuffleBuffer {
		if _, err := eachExample(ctx, src, func(i int, e *Example) error {
			enc, ok, err := t.encode(e)
			if ok {
				t.data = append(t.data, enc)
			}
			return err
		}); err != nil {
			return nil, st, err
		}
		if len(t.data) == 0 {
			return nil, st, errors.New("candgen: every label is out of vocabulary")
		}
		st.SkippedOOVLabel = n - len(t.data)
		st.Examples = len(t.data)
		loop := train.Loop{
			N: len(t.data), Batch: cfg.Batch, Epochs: cfg.Epochs, Label: "candgen", Progress: cfg.Progress, Rng: rng,
			Step: t.step, OnEpoch: onEpoch,
		}
		if res, err = loop.Run(ctx); err != nil {
			return nil, st, err
		}
	} else {
		var kept, skipped int // of the first epoch
		stream := train.Stream[encodedExample]{
			N: n, Batch: cfg.Batch, Epochs: cfg.Epochs, Buffer: cfg.ShuffleBuffer, Label: "candgen",
			Progress: cfg.Progress, Seed: cfg.Seed, OnEpoch: onEpoch, Step: t.stepBatch,
			Open: func(ctx context.Context, epoch int) (train.Iter[encodedExample], error) {
				it, err := src.Open(ctx)
				if err != nil {
					return nil, err
				}
				return &encodingIter{t: t, it: it, count: epoch == 0, kept: &kept, skipped: &skipped}, nil
			},
		}
		if res, err = stream.Run(ctx); err != nil {
			return nil, st, err
		}
		st.Examples, st.SkippedOOVLabel = kept, skipped
	}
	st.Epochs, st.Steps, st.Loss, st.Seconds, st.ExamplesPerSec = res.Epochs, res.Steps, res.Loss, res.Seconds, res.ExamplesPerSec
	if cfg.Validate != nil {
		st.BestEpoch, st.BestScore = es.bestEpoch+1, es.best
		return es.model, st, nil
	}
	t.finish()
	m.emb.Detach()
	if err := m.buildExact(); err != nil {
		return nil, st, err
	}
	return m, st, nil
}

type encodedExample struct {
	enc   feature.Encoded
	label int32
}

type trainer struct {
	m       *Model
	cfg     *Config
	data    []encodedExample
	rng     *rand.Rand
	gr      *nn.Graph
	loss    *nn.SampledSoftmax
	dense   optim.Dense
	softG   *embedding.Grad
	tied    *embedding.Table // the video embedding table when TieEmbeddings
	tiedG   *embedding.Grad
	softOpt embedding.Optimizer
	cands   *sampling.Candidates
	negIDs  []int32 // vocabulary indices of the negatives
	// negHead[id] is the last position of id among negIDs (-1 if absent)
	// and negNext chains its earlier positions: the accidental hits of a
	// row are found without scanning all K negatives.
	negHead, negNext []int32
	gbuf             []float32
	mask             []float32 // Dropout's factors of the batch's inputs: 0 or 1/(1-p)
	rows             []int     // example index per batch row, -1 for padding
	errs             []error   // per worker: assembling a row failed
}

// eachExample reads one pass of src, calling fn with each example and its
// position; errors name the position.
func eachExample(ctx context.Context, src Source, fn func(i int, e *Example) error) (int, error) {
	it, err := src.Open(ctx)
	if err != nil {
		return 0, fmt.Errorf("candgen: opening the examples: %w", err)
	}
	defer it.Close()
	for i := 0; ; i++ {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return i, err
			}
		}
		e, err := it.Next()
		if errors.Is(err, io.EOF) {
			return i, it.Close()
		}
		if err != nil {
			return i, fmt.Errorf("candgen: reading example %d: %w", i, err)
		}
		if err := fn(i, &e); err != nil {
			return i, fmt.Errorf("candgen: example %d: %w", i, err)
		}
	}
}

// encode maps one example for training; ok is false when its label is out
// of the vocabulary (the example is skipped).
func (t *trainer) encode(e *Example) (enc encodedExample, ok bool, err error) {
	label := t.m.VideoVocab().Index(e.Label)
	if label == embedding.OOV {
		return enc, false, nil
	}
	ex, err := t.m.withAge(&e.Features, e.Age)
	if err != nil {
		return enc, false, err
	}
	f, err := t.m.enc.Encode(&ex)
	if err != nil {
		return enc, false, err
	}
	return encodedExample{f, label}, true, nil
}

// encodingIter encodes a pass of a Source for the stream, skipping labels
// out of the vocabulary and, on the first epoch, counting both.
type encodingIter struct {
	t             *trainer
	it            feature.Iterator[Example]
	count         bool
	i             int
	kept, skipped *int
}

func (e *encodingIter) Next() (encodedExample, error) {
	for {
		ex, err := e.it.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				err = fmt.Errorf("candgen: reading example %d: %w", e.i, err)
			}
			return encodedExample{}, err
		}
		e.i++
		enc, ok, err := e.t.encode(&ex)
		if err != nil {
			return encodedExample{}, fmt.Errorf("candgen: example %d: %w", e.i-1, err)
		}
		if e.count {
			if ok {
				*e.kept++
			} else {
				*e.skipped++
			}
		}
		if ok {
			return enc, nil
		}
	}
}

func (e *encodingIter) Close() error { return e.it.Close() }

func newTrainer(m *Model, cfg *Config, rng *rand.Rand) (*trainer, error) {
	dense, err := optim.NewDense(cfg.Optimizer, cfg.LR, cfg.L2)
	if err != nil {
		return nil, fmt.Errorf("candgen: %w", err)
	}
	t := &trainer{m: m, cfg: cfg, rng: rng, dense: dense}
	vocab := m.VideoVocab()
	classes := vocab.Size() - 1 // vocabulary index i ↔ sampler class i-1
	k := min(cfg.Negatives, classes-1)
	if cfg.FullSoftmax {
		k = classes
	} else {
		var s sampling.Sampler
		switch cfg.Sampler {
		case Uniform:
			s = sampling.Uniform{Classes: classes}
		case LogUniform:
			s = sampling.LogUniform{Classes: classes}
		default:
			counts := make([]float64, classes)
			for i, c := range vocab.Counts() {
				counts[i] = float64(c)
			}
			u, err := sampling.NewUnigram(counts, 0)
			if err != nil {
				return nil, err
			}
			s = u
		}
		t.cands = &sampling.Candidates{Sampler: s, Unique: cfg.UniqueNegatives}
	}
	D := m.D()
	t.loss = nn.NewSampledSoftmax(cfg.Batch, D, k)
	if t.gr, err = nn.NewGraph(m.mlp, cfg.Batch, t.loss); err != nil {
		return nil, err
	}
	t.softG = embedding.NewGrad(m.soft.Rows, D+1)
	if cfg.TieEmbeddings {
		if d := m.enc.Dim(m.videoSpace); d != D {
			return nil, fmt.Errorf("candgen: TieEmbeddings needs space %q of dimension D=%d, it has %d", cfg.VideoSpace, D, d)
		}
		t.tied, t.tiedG = m.emb.Tables[m.videoSpace], m.emb.Grads[m.videoSpace]
	}
	t.softOpt = cfg.newTableOptimizer()
	t.negIDs = make([]int32, k)
	t.negNext = make([]int32, k)
	t.negHead = make([]int32, m.soft.Rows)
	for i := range t.negHead {
		t.negHead[i] = -1
	}
	t.gbuf = make([]float32, D+1)
	t.rows = make([]int, cfg.Batch)
	return t, nil
}

// stepBatch trains on a streamed batch (at most cfg.Batch examples; the
// rest of the batch is padding).
func (t *trainer) stepBatch(batch []encodedExample) (float32, error) {
	t.data = batch
	for r := range t.rows {
		t.rows[r] = -1
		if r < len(batch) {
			t.rows[r] = r
		}
	}
	loss, err := t.forwardBackward()
	if err != nil {
		return 0, err
	}
	return loss, t.apply()
}

func (t *trainer) step(rows []int) (float32, error) {
	copy(t.rows, rows)
	loss, err := t.forwardBackward()
	if err != nil {
		return 0, err
	}
	return loss, t.apply()
}

// forwardBackward fills the graph input and the loss's candidates for the
// batch in t.rows, runs the graph, and accumulates the sparse gradients of
// the embedding and softmax tables (without applying them).
func (t *trainer) forwardBackward() (float32, error) {
	m, L := t.m, t.loss
	D, K, W := m.D(), L.K, m.enc.Width()
	// Negatives: one shared set per batch.
	if t.cands == nil {
		for j := range t.negIDs {
			t.negIDs[j] = int32(j + 1)
		}
	} else {
		if err := t.cands.Draw(K, t.rng); err != nil {
			return 0, err
		}
		for j, c := range t.cands.IDs {
			t.negIDs[j] = c + 1
		}
	}
	correct := t.cands != nil && !t.cfg.NoLogQ
	for j, id := range t.negIDs {
		copy(L.NegW[j*D:(j+1)*D], t.weight(id))
		L.NegB[j] = m.soft.Row(id)[D]
	}
	if correct {
		if err := t.cands.LogExpectedCount(L.NegLogQ, t.cands.IDs); err != nil {
			return 0, err
		}
	} else {
		clear(L.NegLogQ)
	}
	for j, id := range t.negIDs {
		t.negNext[j] = t.negHead[id]
		t.negHead[id] = int32(j)
	}
	defer func() {
		for _, id := range t.negIDs {
			t.negHead[id] = -1
		}
	}()
	// Rows are independent (reads of shared tables, writes to their own
	// slots): assemble them on all cores.
	workers := par.Workers()
	if cap(t.errs) < workers {
		t.errs = make([]error, workers)
	}
	errs := t.errs[:workers]
	clear(errs)
	par.ForN(workers, len(t.rows), 64, func(w, lo, hi int) {
		for r := lo; r < hi; r++ {
			ei := t.rows[r]
			x := t.gr.X[r*W : (r+1)*W]
			L.Hits[r] = L.Hits[r][:0]
			if ei < 0 {
				clear(x)
				clear(L.TrueW[r*D : (r+1)*D])
				L.TrueB[r], L.TrueLogQ[r], L.RowWeight[r] = 0, 0, 0
				continue
			}
			ex := &t.data[ei]
			if err := m.enc.Assemble(x, &ex.enc, m.emb); err != nil {
				errs[w] = err
				return
			}
			copy(L.TrueW[r*D:(r+1)*D], t.weight(ex.label))
			L.TrueB[r], L.TrueLogQ[r], L.RowWeight[r] = m.soft.Row(ex.label)[D], 0, 1
			if correct {
				L.TrueLogQ[r] = t.cands.LogQ(ex.label - 1)
			}
			// Accidental hits: the negatives equal to the label.
			for j := t.negHead[ex.label]; j >= 0; j = t.negNext[j] {
				L.Hits[r] = append(L.Hits[r], j)
			}
		}
	})
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	if t.cfg.Dropout > 0 {
		t.dropout()
	}
	loss, err := t.gr.Step()
	if err != nil {
		return 0, err
	}
	if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
		return 0, errors.New("candgen: training diverged (non-finite loss); lower the learning rate")
	}
	m.emb.ResetGrads()
	t.softG.Reset()
	dx := t.gr.DX()
	if t.mask != nil {
		for i, k := range t.mask {
			dx[i] *= k // a dropped input passes no gradient back
		}
	}
	for r, ei := range t.rows {
		if ei < 0 {
			continue
		}
		ex := &t.data[ei]
		if err := m.enc.Backprop(dx[r*W:(r+1)*W], &ex.enc, m.emb); err != nil {
			return 0, err
		}
		if err := t.addWeightGrad(ex.label, L.DTrueW[r*D:(r+1)*D], L.DTrueB[r]); err != nil {
			return 0, err
		}
	}
	for j, id := range t.negIDs {
		if err := t.addWeightGrad(id, L.DNegW[j*D:(j+1)*D], L.DNegB[j]); err != nil {
			return 0, err
		}
	}
	return loss, nil
}

// dropout zeroes each input of the batch with probability cfg.Dropout and
// scales the rest by 1/(1-p), recording the factors in t.mask.
func (t *trainer) dropout() {
	x := t.gr.X
	if t.mask == nil {
		t.mask = make([]float32, len(x))
	}
	p := t.cfg.Dropout
	keep := float32(1 / (1 - p))
	for i := range x {
		k := keep
		if t.rng.Float64() < p {
			k = 0
		}
		t.mask[i] = k
		x[i] *= k
	}
}

// weight returns the softmax weight vector v_id (D floats).
func (t *trainer) weight(id int32) []float32 {
	if t.tied != nil {
		return t.tied.Row(id)
	}
	return t.m.soft.Row(id)[:t.m.D()]
}

// addWeightGrad accumulates the gradient of v_id and b_id.
func (t *trainer) addWeightGrad(id int32, dw []float32, db float32) error {
	D, g := t.m.D(), t.gbuf
	if t.tied != nil {
		if err := t.tiedG.Add(id, 1, dw); err != nil {
			return err
		}
		clear(g[:D])
	} else {
		copy(g[:D], dw)
	}
	g[D] = db
	return t.softG.Add(id, 1, g)
}

// finish copies tied weights into the softmax table, which serving,
// retrieval and model files read.
func (t *trainer) finish() {
	if t.tied == nil {
		return
	}
	D := t.m.D()
	for r := int32(1); r < int32(t.m.soft.Rows); r++ {
		copy(t.m.soft.Row(r)[:D], t.tied.Row(r))
	}
}

func (t *trainer) apply() error {
	if err := t.dense.Apply(t.gr.Params()); err != nil {
		return err
	}
	if err := t.m.emb.Apply(); err != nil {
		return err
	}
	return t.softOpt.Apply(t.m.soft, t.softG)
}

// earlyStop keeps the best model by validation score (Config.Validate).
type earlyStop struct {
	t         *trainer
	buf       bytes.Buffer
	model     *Model
	best      float64
	bestEpoch int
}

// epoch scores a copy of the model after epoch ep and keeps it if it is the
// best so far; it returns train.ErrStop when patience has run out.
func (e *earlyStop) epoch(ctx context.Context, ep int, loss float64) error {
	cfg := e.t.cfg
	if cfg.OnEpoch != nil {
		if err := cfg.OnEpoch(ep, loss); err != nil {
			return err
		}
	}
	e.t.finish()
	e.buf.Reset()
	if _, err := e.t.m.WriteTo(&e.buf); err != nil {
		return err
	}
	m, err := ReadModel(&e.buf)
	if err != nil {
		return err
	}
	score, err := cfg.Validate(ctx, ep, m)
	if err != nil {
		return fmt.Errorf("candgen: validating epoch %d: %w", ep+1, err)
	}
	if math.IsNaN(score) {
		return fmt.Errorf("candgen: validating epoch %d: score is NaN", ep+1)
	}
	if e.model == nil || score > e.best {
		e.model, e.best, e.bestEpoch = m, score, ep
	} else if cfg.Patience > 0 && ep-e.bestEpoch >= cfg.Patience {
		return train.ErrStop
	}
	return nil
}
