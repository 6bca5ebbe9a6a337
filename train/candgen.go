package train

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/ytdnn/ytdnn/candgen"
	"github.com/ytdnn/ytdnn/embedding"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/internal/nn"
	"github.com/ytdnn/ytdnn/sampling"
	"github.com/ytdnn/ytdnn/tower"
)

// Sampler names candidate generation's negative sampler.
type Sampler string

// The negative samplers (see package sampling).
const (
	// SamplerUnigram draws by video count^0.75: every occurrence in the
	// examples' histories and labels (default).
	SamplerUnigram    Sampler = "unigram"
	SamplerLogUniform Sampler = "loguniform" // Zipfian over frequency rank
	SamplerUniform    Sampler = "uniform"
)

// Defaults of CandgenConfig.
const (
	DefaultVideoSpace = "video"
	DefaultNegatives  = 1000
	DefaultSampler    = SamplerUnigram
)

// CandgenConfig configures candidate generation's training (paper §3):
// sampled softmax with logQ correction over a ReLU tower. Zero fields take
// the defaults in brackets.
type CandgenConfig struct {
	Options
	// Spec declares the user and context features. VideoSpace must be one of
	// its spaces: watch histories and the softmax classes share it.
	Spec feature.Spec
	// VideoSpace is the ID space of the labels [DefaultVideoSpace].
	VideoSpace string
	// ExampleAge adds a Continuous feature (candgen.ExampleAgeFeature) fed
	// with Example.Age at training and with 0 at serving (paper §3.3).
	ExampleAge bool
	// Tower is the layer sizes; the last one is D [Depth(3)]. As in the
	// paper every layer is ReLU, the last one too (u ≥ 0).
	Tower []int
	// LinearTop leaves the tower's last layer linear (u unconstrained).
	LinearTop bool
	// Negatives is the number of sampled negatives per batch, shared by all
	// rows [DefaultNegatives, capped at classes-1].
	Negatives int
	// Sampler draws the negatives [DefaultSampler].
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
	// Validation, if set, scores a copy of the model after every epoch
	// (higher is better, e.g. HR@50 on a validation split; epoch counts
	// from 0). Training returns the model of the best-scoring epoch (the
	// earliest of equal scores) and stops early once Options.Patience
	// epochs in a row have not beaten it. A NaN score or an error stops
	// training with an error. The copy costs one serialisation of the model
	// per epoch.
	Validation func(ctx context.Context, epoch int, m *candgen.Model) (float64, error)
	// WarmStart, if set, continues from a previous run's model and state
	// (see Warm); its spec must be this config's and its tower this
	// config's Tower (checked by Validate, before anything is read).
	WarmStart *Warm[*candgen.Model]
}

// Validate applies the defaults to a copy of c and reports every invalid
// setting at once. Training calls it before reading any example.
func (c *CandgenConfig) Validate() error {
	d := c.withDefaults()
	return d.validate()
}

func (c CandgenConfig) withDefaults() CandgenConfig {
	c.Options = c.Options.withDefaults()
	if c.VideoSpace == "" {
		c.VideoSpace = DefaultVideoSpace
	}
	if len(c.Tower) == 0 {
		c.Tower = Depth(3)
	}
	if c.Negatives == 0 {
		c.Negatives = DefaultNegatives
	}
	if c.Sampler == "" {
		c.Sampler = DefaultSampler
	}
	return c
}

func (c *CandgenConfig) validate() error {
	errs := []error{c.Options.validate(), checkTower(c.Tower)}
	if c.Negatives < 1 {
		errs = append(errs, fmt.Errorf("Negatives %d must be positive", c.Negatives))
	}
	if c.Sampler != SamplerUnigram && c.Sampler != SamplerLogUniform && c.Sampler != SamplerUniform {
		errs = append(errs, fmt.Errorf("unknown Sampler %q (want %q, %q or %q)", c.Sampler, SamplerUnigram, SamplerLogUniform, SamplerUniform))
	}
	if err := c.Spec.Validate(); err != nil {
		errs = append(errs, err)
	} else if c.Spec.SpaceIndex(c.VideoSpace) < 0 {
		errs = append(errs, fmt.Errorf("spec has no space %q for the labels", c.VideoSpace))
	}
	if c.ExampleAge && c.Spec.Index(candgen.ExampleAgeFeature) >= 0 {
		errs = append(errs, fmt.Errorf("spec already has a feature named %q", candgen.ExampleAgeFeature))
	}
	if w, err := c.warmParts(); err != nil {
		errs = append(errs, err)
	} else if w != nil {
		errs = append(errs, checkWarm(w, &c.Options, candgen.FullSpec(c.Spec, c.ExampleAge), c.Tower, !c.LinearTop), c.checkWarmHead())
	}
	return errors.Join(errs...)
}

// checkWarmHead reports a previous model whose labels are another space
// or whose softmax state does not fit its softmax table.
func (c *CandgenConfig) checkWarmHead() error {
	m, st := c.WarmStart.Model, c.WarmStart.State
	enc := m.Encoder()
	if i := enc.Spec.SpaceIndex(c.VideoSpace); i < 0 || enc.Vocabs[i] != m.VideoVocab() {
		return fmt.Errorf("warm start: the previous model's labels are not space %q", c.VideoSpace)
	}
	if st == nil {
		return nil // reported by checkWarm
	}
	switch {
	case st.head == nil:
		return errors.New("warm start: the training state has no softmax optimizer state")
	case st.head.Rows != m.Softmax().Rows:
		return fmt.Errorf("warm start: the softmax state has %d rows, the previous model's softmax table %d: a state of another model", st.head.Rows, m.Softmax().Rows)
	}
	return nil
}

// warmParts returns the parts of the model WarmStart names (nil: none).
func (c *CandgenConfig) warmParts() (*warmParts, error) {
	w := c.WarmStart
	if w == nil {
		return nil, nil
	}
	if w.Model == nil {
		return nil, errors.New("warm start: no previous model")
	}
	m := w.Model
	if m.Encoder().Spec.SpaceIndex(c.VideoSpace) < 0 {
		return nil, fmt.Errorf("warm start: the previous model has no space %q", c.VideoSpace)
	}
	return w.parts(m.Encoder(), m.Tables(), m.Tower()), nil
}

// Candgen trains candidate generation on examples held in memory: it is
// CandgenSource over the slice, holding every example encoded unless
// Options.ShuffleBuffer is set. Errors are prefixed "train: candgen: ".
func Candgen(ctx context.Context, cfg CandgenConfig, examples []candgen.Example) (*candgen.Model, Stats, error) {
	return CandgenSource(ctx, cfg, inMemory(&cfg.Options, examples))
}

// CandgenSource trains candidate generation from a stream that need not
// fit in memory. The config is validated first; then one pass fits the
// vocabularies (top-N by count; labels count in the video space) and the
// normalizers (bounded sketches), and every epoch reads the stream again
// through a shuffle buffer of Options.ShuffleBuffer examples (a stream no
// longer than the buffer is encoded once and held). Examples whose label is
// outside the video vocabulary are skipped (Stats.Skipped).
func CandgenSource(ctx context.Context, cfg CandgenConfig, src candgen.Source) (*candgen.Model, Stats, error) {
	cfg = cfg.withDefaults()
	s := &candgenStage{cfg: &cfg, full: candgen.FullSpec(cfg.Spec, cfg.ExampleAge)}
	return run(ctx, cfg.validate(), cfg.Options, stage[candgen.Example, int32, *candgen.Model](s), src, cfg.Validation)
}

// candgenStage is candidate generation's part of the trainer.
type candgenStage struct {
	cfg  *CandgenConfig
	full feature.Spec // the spec with example age
	// between build and model:
	vocab *embedding.Vocab
	h     *softmaxHead
}

func (s *candgenStage) name() string       { return "candgen" }
func (s *candgenStage) spec() feature.Spec { return s.full }
func (s *candgenStage) seedStream() uint64 { return 0xca9d }
func (s *candgenStage) userFeatures() int  { return len(s.cfg.Spec.Features) }
func (s *candgenStage) withAge() bool      { return s.cfg.ExampleAge }
func (s *candgenStage) videoSpace() int    { return s.full.SpaceIndex(s.cfg.VideoSpace) }
func (s *candgenStage) labelSpace() string { return s.cfg.VideoSpace }

func (s *candgenStage) features(e *candgen.Example) (feature.Example, error) {
	return candgen.WithAge(&e.Features, s.userFeatures(), s.withAge(), e.Age)
}

func (s *candgenStage) observe(fit *feature.Fitter, e *candgen.Example, ex *feature.Example) error {
	if err := fit.Observe(ex, true); err != nil {
		return err
	}
	return fit.CountID(s.labelSpace(), e.Label, 1)
}

func (s *candgenStage) target(e *candgen.Example) (int32, bool, error) {
	label := s.vocab.Index(e.Label)
	return label, label != embedding.OOV, nil
}

func (s *candgenStage) build(enc *feature.Encoder, emb *feature.Params, o *Options, rng *rand.Rand) (*tower.MLP, head[int32], error) {
	cfg := s.cfg
	mlp, err := tower.New(append([]int{enc.Width()}, cfg.Tower...), !cfg.LinearTop, rng)
	if err != nil {
		return nil, nil, err
	}
	vs := s.videoSpace()
	s.vocab = enc.Vocabs[vs]
	if s.vocab.Size() < 3 {
		return nil, nil, fmt.Errorf("only %d label classes", s.vocab.Size()-1)
	}
	D := mlp.Out()
	soft, err := embedding.NewTable(s.vocab.Size(), D+1, 1/math.Sqrt(float64(D))*0.1, rng)
	if err != nil {
		return nil, nil, err
	}
	for r := 1; r < soft.Rows; r++ {
		soft.Row(int32(r))[D] = 0
	}
	h := &softmaxHead{soft: soft, D: D, rng: rng, softOpt: o.newTableOptimizer(), noLogQ: cfg.NoLogQ}
	if cfg.TieEmbeddings {
		if d := enc.Dim(vs); d != D {
			return nil, nil, fmt.Errorf("TieEmbeddings needs space %q of dimension D=%d, it has %d", cfg.VideoSpace, D, d)
		}
		h.tied, h.tiedSpace = emb, vs
	}
	if err := h.init(cfg, s.vocab, o.Batch); err != nil {
		return nil, nil, err
	}
	s.h = h
	return mlp, h, nil
}

func (s *candgenStage) model(enc *feature.Encoder, emb *feature.Params, mlp *tower.MLP) (*candgen.Model, error) {
	return candgen.NewModel(candgen.Parts{
		Encoder: enc, Tables: emb.Tables, Tower: mlp, Softmax: s.h.soft,
		VideoSpace: s.cfg.VideoSpace, ExampleAge: s.cfg.ExampleAge,
	})
}

func (s *candgenStage) warmStart() (*warmParts, error) { return s.cfg.warmParts() }

// warmHead copies the softmax rows of the videos kept and carries the
// softmax table's optimizer state over, remapped.
func (s *candgenStage) warmHead(w *warmParts, enc *feature.Encoder) error {
	prev := s.cfg.WarmStart.Model
	from := embedding.RowMap(s.vocab, prev.VideoVocab())
	if err := embedding.CopyRows(s.h.soft, prev.Softmax(), from); err != nil {
		return fmt.Errorf("warm start: softmax table: %w", err)
	}
	if w.state.head == nil {
		return errors.New("warm start: the training state has no softmax optimizer state")
	}
	st, err := w.state.head.Remap(from)
	if err == nil {
		err = embedding.LoadState(s.h.softOpt, st, s.h.soft)
	}
	if err != nil {
		return fmt.Errorf("warm start: softmax table: %w", err)
	}
	return nil
}

func (s *candgenStage) snapshot(m *candgen.Model) (*candgen.Model, error) {
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		return nil, err
	}
	return candgen.ReadModel(&buf)
}

// softmaxHead is candidate generation's output layer: the softmax table
// [v_j, b_j] of the video vocabulary, trained by sampled softmax with the
// logQ correction (paper §3.1; Jean et al. 2015).
type softmaxHead struct {
	soft    *embedding.Table // row j is [v_j, b_j] (D+1 floats)
	D       int
	rng     *rand.Rand
	noLogQ  bool
	lossFn  *nn.SampledSoftmax
	cands   *sampling.Candidates // nil: full softmax
	softG   *embedding.Grad
	softOpt embedding.Optimizer
	// tied holds the video embedding table (space tiedSpace) when
	// TieEmbeddings; its table and gradient are looked up at each use, so
	// optimizers and gradients re-attached with Params.Train are seen.
	tied      *feature.Params
	tiedSpace int
	negIDs    []int32 // vocabulary indices of the negatives
	// negHead[id] is the last position of id among negIDs (-1 if absent)
	// and negNext chains its earlier positions: the accidental hits of a
	// row are found without scanning all K negatives.
	negHead, negNext []int32
	gbuf             []float32
}

// init sets up the sampler and the loss's buffers.
func (h *softmaxHead) init(cfg *CandgenConfig, vocab *embedding.Vocab, batch int) error {
	classes := vocab.Size() - 1 // vocabulary index i ↔ sampler class i-1
	k := min(cfg.Negatives, classes-1)
	if cfg.FullSoftmax {
		k = classes
	} else {
		var smp sampling.Sampler
		switch cfg.Sampler {
		case SamplerUniform:
			smp = sampling.Uniform{Classes: classes}
		case SamplerLogUniform:
			smp = sampling.LogUniform{Classes: classes}
		default:
			counts := make([]float64, classes)
			for i, c := range vocab.Counts() {
				counts[i] = float64(c)
			}
			u, err := sampling.NewUnigram(counts, 0)
			if err != nil {
				return err
			}
			smp = u
		}
		h.cands = &sampling.Candidates{Sampler: smp, Unique: cfg.UniqueNegatives}
	}
	h.lossFn = nn.NewSampledSoftmax(batch, h.D, k)
	h.softG = embedding.NewGrad(h.soft.Rows, h.D+1)
	h.negIDs = make([]int32, k)
	h.negNext = make([]int32, k)
	h.negHead = make([]int32, h.soft.Rows)
	for i := range h.negHead {
		h.negHead[i] = -1
	}
	h.gbuf = make([]float32, h.D+1)
	return nil
}

func (h *softmaxHead) loss() nn.Loss { return h.lossFn }

func (h *softmaxHead) correct() bool { return h.cands != nil && !h.noLogQ }

// begin draws the batch's shared negatives and indexes them for the rows'
// accidental hits.
func (h *softmaxHead) begin() error {
	L, D := h.lossFn, h.D
	if h.cands == nil {
		for j := range h.negIDs {
			h.negIDs[j] = int32(j + 1)
		}
	} else {
		if err := h.cands.Draw(L.K, h.rng); err != nil {
			return err
		}
		for j, c := range h.cands.IDs {
			h.negIDs[j] = c + 1
		}
	}
	for j, id := range h.negIDs {
		copy(L.NegW[j*D:(j+1)*D], h.weight(id))
		L.NegB[j] = h.soft.Row(id)[D]
	}
	if h.correct() {
		if err := h.cands.LogExpectedCount(L.NegLogQ, h.cands.IDs); err != nil {
			return err
		}
	} else {
		clear(L.NegLogQ)
	}
	for j, id := range h.negIDs {
		h.negNext[j] = h.negHead[id]
		h.negHead[id] = int32(j)
	}
	return nil
}

func (h *softmaxHead) end() {
	for _, id := range h.negIDs {
		h.negHead[id] = -1
	}
}

func (h *softmaxHead) row(r int, label *int32) {
	L, D := h.lossFn, h.D
	L.Hits[r] = L.Hits[r][:0]
	copy(L.TrueW[r*D:(r+1)*D], h.weight(*label))
	L.TrueB[r], L.TrueLogQ[r], L.RowWeight[r] = h.soft.Row(*label)[D], 0, 1
	if h.correct() {
		L.TrueLogQ[r] = h.cands.LogQ(*label - 1)
	}
	// Accidental hits: the negatives equal to the label.
	for j := h.negHead[*label]; j >= 0; j = h.negNext[j] {
		L.Hits[r] = append(L.Hits[r], j)
	}
}

func (h *softmaxHead) pad(r int) {
	L, D := h.lossFn, h.D
	L.Hits[r] = L.Hits[r][:0]
	clear(L.TrueW[r*D : (r+1)*D])
	L.TrueB[r], L.TrueLogQ[r], L.RowWeight[r] = 0, 0, 0
}

func (h *softmaxHead) resetGrads() { h.softG.Reset() }

func (h *softmaxHead) rowGrad(r int, label *int32) error {
	L, D := h.lossFn, h.D
	return h.addWeightGrad(*label, L.DTrueW[r*D:(r+1)*D], L.DTrueB[r])
}

func (h *softmaxHead) batchGrad() error {
	L, D := h.lossFn, h.D
	for j, id := range h.negIDs {
		if err := h.addWeightGrad(id, L.DNegW[j*D:(j+1)*D], L.DNegB[j]); err != nil {
			return err
		}
	}
	return nil
}

func (h *softmaxHead) apply() error { return h.softOpt.Apply(h.soft, h.softG) }

func (h *softmaxHead) state() (*embedding.State, error) {
	st, err := embedding.TakeState(h.softOpt, h.soft) // the end of training: not copied
	return &st, err
}

// weight returns the softmax weight vector v_id (D floats).
func (h *softmaxHead) weight(id int32) []float32 {
	if h.tied != nil {
		return h.tied.Tables[h.tiedSpace].Row(id)
	}
	return h.soft.Row(id)[:h.D]
}

// addWeightGrad accumulates the gradient of v_id and b_id.
func (h *softmaxHead) addWeightGrad(id int32, dw []float32, db float32) error {
	g := h.gbuf
	if h.tied != nil {
		if err := h.tied.Grads[h.tiedSpace].Add(id, 1, dw); err != nil {
			return err
		}
		clear(g[:h.D])
	} else {
		copy(g[:h.D], dw)
	}
	g[h.D] = db
	return h.softG.Add(id, 1, g)
}

// finish copies tied weights into the softmax table, which serving,
// retrieval and model files read.
func (h *softmaxHead) finish() {
	if h.tied == nil {
		return
	}
	for r := int32(1); r < int32(h.soft.Rows); r++ {
		copy(h.soft.Row(r)[:h.D], h.tied.Tables[h.tiedSpace].Row(r))
	}
}
