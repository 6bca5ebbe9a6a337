package train

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/ytdnn/ytdnn/embedding"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/internal/nn"
	"github.com/ytdnn/ytdnn/ranking"
	"github.com/ytdnn/ytdnn/tower"
)

// RankingConfig configures the ranker's training (paper §4): weighted
// logistic regression, clicked impressions weighted by their watch time and
// unclicked ones by 1, so that exp(logit) estimates expected watch time.
// Zero fields take the defaults in brackets.
type RankingConfig struct {
	Options
	// Spec declares the impression features. Vocabularies count the IDs of
	// clicked impressions only, as in the paper.
	Spec feature.Spec
	// Tower is the ReLU hidden layer sizes [Depth(3), the paper's best
	// 1024→512→256]; a linear layer to one logit follows. An empty non-nil
	// slice means no hidden layer (logistic regression on the inputs).
	Tower []int
	// Unweighted trains plain logistic regression on clicks (every weight
	// 1), the paper's baseline.
	Unweighted bool
	// Validation, if set, scores a copy of the ranker after every epoch
	// (higher is better, e.g. click AUC on a validation window); see
	// CandgenConfig.Validation.
	Validation func(ctx context.Context, epoch int, m *ranking.Model) (float64, error)
	// WarmStart, if set, continues from a previous run's ranker and state
	// (see Warm); its spec must be this config's and its tower this
	// config's Tower (checked by Validate, before anything is read).
	WarmStart *Warm[*ranking.Model]
}

// Validate applies the defaults to a copy of c and reports every invalid
// setting at once. Training calls it before reading any impression.
func (c *RankingConfig) Validate() error {
	d := c.withDefaults()
	return d.validate()
}

func (c RankingConfig) withDefaults() RankingConfig {
	c.Options = c.Options.withDefaults()
	if c.Tower == nil {
		c.Tower = Depth(3)
	}
	return c
}

func (c *RankingConfig) validate() error {
	errs := []error{c.Options.validate(), checkTower(c.Tower), c.Spec.Validate()}
	if w, err := c.warmParts(); err != nil {
		errs = append(errs, err)
	} else if w != nil {
		errs = append(errs, checkWarm(w, &c.Options, c.Spec, append(slices.Clone(c.Tower), 1), false))
	}
	return errors.Join(errs...)
}

// warmParts returns the parts of the ranker WarmStart names (nil: none).
func (c *RankingConfig) warmParts() (*warmParts, error) {
	w := c.WarmStart
	if w == nil {
		return nil, nil
	}
	if w.Model == nil {
		return nil, errors.New("warm start: no previous ranker")
	}
	return w.parts(w.Model.Encoder(), w.Model.Tables(), w.Model.Tower()), nil
}

// Ranking trains the ranker on impressions held in memory: it is
// RankingSource over the slice. Errors are prefixed "train: ranking: ".
func Ranking(ctx context.Context, cfg RankingConfig, imps []ranking.Impression) (*ranking.Model, Stats, error) {
	return RankingSource(ctx, cfg, inMemory(&cfg.Options, imps))
}

// RankingSource trains the ranker from a stream that need not fit in
// memory: the config is validated, one pass fits the encoder, then every
// epoch reads the stream again through the shuffle buffer (see
// CandgenSource). A clicked impression's watch time must be finite and
// non-negative.
func RankingSource(ctx context.Context, cfg RankingConfig, src ranking.Source) (*ranking.Model, Stats, error) {
	cfg = cfg.withDefaults()
	s := &rankingStage{cfg: &cfg}
	return run(ctx, cfg.validate(), cfg.Options, stage[ranking.Impression, weighted, *ranking.Model](s), src, cfg.Validation)
}

// weighted is an impression's encoded target: click label and weight.
type weighted struct{ label, weight float32 }

// rankingStage is the ranker's part of the trainer.
type rankingStage struct{ cfg *RankingConfig }

func (s *rankingStage) name() string       { return "ranking" }
func (s *rankingStage) spec() feature.Spec { return s.cfg.Spec }
func (s *rankingStage) seedStream() uint64 { return 0x7a4c }

func (s *rankingStage) features(imp *ranking.Impression) (feature.Example, error) {
	return imp.Features, nil
}

func (s *rankingStage) observe(fit *feature.Fitter, imp *ranking.Impression, ex *feature.Example) error {
	if _, _, err := s.target(imp); err != nil {
		return err
	}
	return fit.Observe(ex, imp.Clicked)
}

// target is the paper's weighting: a clicked impression is a positive of
// weight WatchTime (1 when Unweighted), an unclicked one a negative of
// weight 1.
func (s *rankingStage) target(imp *ranking.Impression) (weighted, bool, error) {
	if !imp.Clicked {
		return weighted{0, 1}, true, nil
	}
	if math.IsNaN(imp.WatchTime) || math.IsInf(imp.WatchTime, 0) || imp.WatchTime < 0 {
		return weighted{}, false, fmt.Errorf("watch time %v is not finite and non-negative", imp.WatchTime)
	}
	if s.cfg.Unweighted {
		return weighted{1, 1}, true, nil
	}
	return weighted{1, float32(imp.WatchTime)}, true, nil
}

func (s *rankingStage) build(enc *feature.Encoder, _ *feature.Params, o *Options, rng *rand.Rand) (*tower.MLP, head[weighted], error) {
	mlp, err := tower.New(append(append([]int{enc.Width()}, s.cfg.Tower...), 1), false, rng)
	if err != nil {
		return nil, nil, err
	}
	return mlp, &logisticHead{lossFn: nn.NewWeightedLogistic(o.Batch)}, nil
}

func (s *rankingStage) model(enc *feature.Encoder, emb *feature.Params, mlp *tower.MLP) (*ranking.Model, error) {
	return ranking.NewModel(enc, emb.Tables, mlp)
}

func (s *rankingStage) warmStart() (*warmParts, error)              { return s.cfg.warmParts() }
func (s *rankingStage) warmHead(*warmParts, *feature.Encoder) error { return nil }

func (s *rankingStage) snapshot(m *ranking.Model) (*ranking.Model, error) {
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		return nil, err
	}
	return ranking.ReadModel(&buf)
}

// logisticHead is the ranker's output layer: one logit, weighted logistic
// loss. It has no parameters of its own.
type logisticHead struct{ lossFn *nn.WeightedLogistic }

func (h *logisticHead) loss() nn.Loss { return h.lossFn }
func (h *logisticHead) begin() error  { return nil }
func (h *logisticHead) row(r int, t *weighted) {
	h.lossFn.Label[r], h.lossFn.Weight[r] = t.label, t.weight
}
func (h *logisticHead) pad(r int)                        { h.lossFn.Label[r], h.lossFn.Weight[r] = 0, 0 }
func (h *logisticHead) resetGrads()                      {}
func (h *logisticHead) rowGrad(int, *weighted) error     { return nil }
func (h *logisticHead) batchGrad() error                 { return nil }
func (h *logisticHead) end()                             {}
func (h *logisticHead) apply() error                     { return nil }
func (h *logisticHead) finish()                          {}
func (h *logisticHead) state() (*embedding.State, error) { return nil, nil }
