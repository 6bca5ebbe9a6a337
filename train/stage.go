package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"

	"github.com/ytdnn/ytdnn/embedding"
	"github.com/ytdnn/ytdnn/feature"
	"github.com/ytdnn/ytdnn/internal/loop"
	"github.com/ytdnn/ytdnn/internal/nn"
	"github.com/ytdnn/ytdnn/internal/optim"
	"github.com/ytdnn/ytdnn/internal/par"
	"github.com/ytdnn/ytdnn/tower"
)

// Stats reports what a training run did.
type Stats struct {
	// Examples is the number of examples trained on per epoch; Skipped
	// those left out (candidate generation: a label outside the video
	// vocabulary).
	Examples, Skipped int
	Epochs            int     // epochs run
	Steps             int     // optimizer steps
	Loss              float64 // mean loss of the last epoch
	// BestEpoch (from 1) and BestScore are the epoch whose model was
	// returned and its validation score, when the config has a Validation
	// function.
	BestEpoch int
	BestScore float64
	// Seconds is the wall time of the training loop (fitting excluded);
	// ExamplesPerSec is Examples·Epochs/Seconds.
	Seconds, ExamplesPerSec float64
	// State is the optimizers' state at the end, for a later run to
	// continue from (Warm); nil when the config has a Validation function
	// (the model returned is then an earlier epoch's).
	State *State
}

// stage is what a stage adds to the shared trainer: how a record becomes
// features and a target, what fitting counts beyond the features, its
// output layer (the head), and how the served model is assembled. R is the
// record (candgen.Example, ranking.Impression), T the encoded target, M the
// served model.
type stage[R, T, M any] interface {
	// name prefixes progress bars ("candgen", "ranking").
	name() string
	// spec is the tower's feature spec.
	spec() feature.Spec
	// seedStream is the second word of the random source's seed, so each
	// stage draws its own sequence from the same Options.Seed.
	seedStream() uint64
	// features returns the tower's raw inputs for r.
	features(r *R) (feature.Example, error)
	// observe feeds the fitter r's features (ex, counting their IDs or
	// not) and, for candidate generation, its label.
	observe(fit *feature.Fitter, r *R, ex *feature.Example) error
	// build makes the tower and the head once the encoder and the tables
	// exist.
	build(enc *feature.Encoder, emb *feature.Params, o *Options, rng *rand.Rand) (*tower.MLP, head[T], error)
	// target encodes r's target; ok is false when r is to be skipped.
	target(r *R) (t T, ok bool, err error)
	// model assembles the served model from the trained parts (aliasing
	// them: the caller snapshots it to keep a copy).
	model(enc *feature.Encoder, emb *feature.Params, mlp *tower.MLP) (M, error)
	// snapshot returns an independent copy of m (for early stopping).
	snapshot(m M) (M, error)
	// warmStart returns the parts of the model the config continues from
	// (nil: a fresh start).
	warmStart() (*warmParts, error)
	// warmHead carries the head's parameters and optimizer state over
	// from the previous model, after build.
	warmHead(w *warmParts, enc *feature.Encoder) error
}

// head is a stage's output layer: its loss inside the graph and the
// parameters beyond the tower and the embedding tables (candidate
// generation's softmax table). The trainer calls, per batch: begin; row or
// pad for every row (concurrently, one call per row); the graph step;
// resetGrads; rowGrad for every example row; batchGrad; apply; and end
// whatever happened.
type head[T any] interface {
	loss() nn.Loss
	begin() error
	row(r int, t *T)
	pad(r int)
	resetGrads()
	rowGrad(r int, t *T) error
	batchGrad() error
	end()
	apply() error
	// finish runs once after training and before every snapshot (tied
	// weights copied where the model reads them).
	finish()
	// state returns the head's optimizer state (nil: no parameters).
	state() (*embedding.State, error)
}

// encoded is a record ready to assemble many times: its encoded features
// and its target.
type encoded[T any] struct {
	enc feature.Encoded
	t   T
}

// trainer runs one stage's training: the shared part of both stages.
type trainer[R, T, M any] struct {
	s     stage[R, T, M]
	o     *Options
	enc   *feature.Encoder
	emb   *feature.Params
	mlp   *tower.MLP
	h     head[T]
	warm  *warmParts // nil: a fresh start
	gr    *nn.Graph
	dense optim.Dense
	rng   *rand.Rand
	data  []encoded[T] // the batch's examples: all of them in memory, or a streamed batch
	rows  []int        // example index per batch row, -1 for padding
	mask  []float32    // Dropout's factors of the batch's inputs: 0 or 1/(1-p)
	errs  []error      // per worker: assembling a row failed
}

// inMemory adapts records held in memory to a source: unless
// ShuffleBuffer is set, the buffer holds them all, so every example is
// encoded once and kept.
func inMemory[R any](o *Options, recs []R) feature.Source[R] {
	if o.ShuffleBuffer == 0 {
		o.ShuffleBuffer = max(DefaultShuffleBuffer, len(recs))
	}
	return feature.SliceSource(recs)
}

// run trains stage s on src, unless the config was invalid (cfgErr): a
// fitting pass (vocabularies, normalizers), then the loop over the encoded
// examples, in memory or streamed, with early stopping when validate is
// set. Errors are prefixed with "train: " and the stage's name.
func run[R, T, M any](ctx context.Context, cfgErr error, o Options, s stage[R, T, M], src feature.Source[R], validate func(context.Context, int, M) (float64, error)) (M, Stats, error) {
	m, st, err := runStage(ctx, cfgErr, o, s, src, validate)
	if err != nil {
		return m, st, fmt.Errorf("train: %s: %w", s.name(), err)
	}
	return m, st, nil
}

func runStage[R, T, M any](ctx context.Context, cfgErr error, o Options, s stage[R, T, M], src feature.Source[R], validate func(context.Context, int, M) (float64, error)) (M, Stats, error) {
	var zero M
	var st Stats
	if cfgErr != nil {
		return zero, st, cfgErr
	}
	t := &trainer[R, T, M]{s: s, o: &o}
	var err error
	if t.warm, err = s.warmStart(); err != nil {
		return zero, st, err
	}
	n, err := t.fit(ctx, src)
	if err != nil {
		return zero, st, err
	}
	if err := t.setup(); err != nil {
		return zero, st, err
	}
	es := &earlyStop[R, T, M]{t: t, validate: validate}
	onEpoch := o.OnEpoch
	if validate != nil {
		onEpoch = func(ep int, loss float64) error { return es.epoch(ctx, ep, loss) }
	}
	var res loop.Result
	if n <= o.ShuffleBuffer {
		res, st.Examples, err = t.inMemory(ctx, src, onEpoch)
	} else {
		res, st.Examples, err = t.streamed(ctx, src, n, onEpoch)
	}
	if err != nil {
		return zero, st, err
	}
	st.Skipped = n - st.Examples
	st.Epochs, st.Steps, st.Loss, st.Seconds, st.ExamplesPerSec = res.Epochs, res.Steps, res.Loss, res.Seconds, res.ExamplesPerSec
	if validate != nil {
		st.BestEpoch, st.BestScore = es.bestEpoch+1, es.best
		return es.model, st, nil
	}
	t.h.finish()
	if st.State, err = t.saveState(n); err != nil {
		return zero, st, err
	}
	t.emb.Detach()
	m, err := s.model(t.enc, t.emb, t.mlp)
	return m, st, err
}

// fit reads one pass of src into a fitter and builds the encoder; it
// returns the number of records.
func (t *trainer[R, T, M]) fit(ctx context.Context, src feature.Source[R]) (int, error) {
	fit, err := feature.NewFitter(t.s.spec())
	if err != nil {
		return 0, err
	}
	if w := t.warm; w != nil {
		if err := fit.Continue(w.enc, w.decay, w.state.examples); err != nil {
			return 0, fmt.Errorf("warm start: %w", err)
		}
	}
	n, err := each(ctx, src, func(r *R) error {
		ex, err := t.s.features(r)
		if err != nil {
			return err
		}
		return t.s.observe(fit, r, &ex)
	})
	if err != nil {
		return n, err
	}
	if n == 0 {
		return 0, errors.New("no training examples")
	}
	t.enc, err = fit.Encoder()
	return n, err
}

// setup draws the tables and the tower, builds the head and the graph.
func (t *trainer[R, T, M]) setup() (err error) {
	o := t.o
	t.rng = rand.New(rand.NewPCG(o.Seed, t.s.seedStream()))
	if t.emb, err = t.enc.NewParams(o.EmbeddingStd, t.rng, o.newTableOptimizer); err != nil {
		return err
	}
	if t.mlp, t.h, err = t.s.build(t.enc, t.emb, o, t.rng); err != nil {
		return err
	}
	if t.dense, err = o.newDense(); err != nil {
		return err
	}
	if t.gr, err = nn.NewGraph(t.mlp, o.Batch, t.h.loss()); err != nil {
		return err
	}
	if t.warm != nil {
		if err := t.warmTables(); err != nil {
			return err
		}
		if err := t.s.warmHead(t.warm, t.enc); err != nil {
			return err
		}
		if err := t.warmTower(); err != nil {
			return err
		}
	}
	t.rows = make([]int, o.Batch)
	return nil
}

// each reads one pass of src, calling fn with each record; errors name the
// record's position.
func each[R any](ctx context.Context, src feature.Source[R], fn func(r *R) error) (int, error) {
	it, err := src.Open(ctx)
	if err != nil {
		return 0, fmt.Errorf("opening the examples: %w", err)
	}
	defer it.Close()
	for i := 0; ; i++ {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return i, err
			}
		}
		r, err := it.Next()
		if errors.Is(err, io.EOF) {
			return i, nil
		}
		if err != nil {
			return i, fmt.Errorf("reading example %d: %w", i, err)
		}
		if err := fn(&r); err != nil {
			return i, fmt.Errorf("example %d: %w", i, err)
		}
	}
}

// encode maps one record for training; ok is false when it is skipped.
func (t *trainer[R, T, M]) encode(r *R) (e encoded[T], ok bool, err error) {
	if e.t, ok, err = t.s.target(r); !ok || err != nil {
		return e, false, err
	}
	ex, err := t.s.features(r)
	if err != nil {
		return e, false, err
	}
	if e.enc, err = t.enc.Encode(&ex); err != nil {
		return e, false, err
	}
	return e, true, nil
}

// inMemory encodes every record once and runs the in-memory loop; it
// returns the number of examples kept.
func (t *trainer[R, T, M]) inMemory(ctx context.Context, src feature.Source[R], onEpoch func(int, float64) error) (loop.Result, int, error) {
	if _, err := each(ctx, src, func(r *R) error {
		e, ok, err := t.encode(r)
		if ok {
			t.data = append(t.data, e)
		}
		return err
	}); err != nil {
		return loop.Result{}, 0, err
	}
	if len(t.data) == 0 {
		return loop.Result{}, 0, errors.New("every example was skipped (candidate generation: every label is out of the vocabulary)")
	}
	l := loop.Memory{
		N: len(t.data), Batch: t.o.Batch, Epochs: t.o.Epochs, Label: t.s.name(), Progress: t.o.Progress, Rng: t.rng,
		Step: t.step, OnEpoch: onEpoch,
	}
	res, err := l.Run(ctx)
	return res, len(t.data), err
}

// streamed reads src afresh every epoch through the shuffle buffer; it
// returns the number of examples kept in the first epoch.
func (t *trainer[R, T, M]) streamed(ctx context.Context, src feature.Source[R], n int, onEpoch func(int, float64) error) (loop.Result, int, error) {
	var kept int
	s := loop.Stream[encoded[T]]{
		N: n, Batch: t.o.Batch, Epochs: t.o.Epochs, Buffer: t.o.ShuffleBuffer, Label: t.s.name(),
		Progress: t.o.Progress, Seed: t.o.Seed, OnEpoch: onEpoch, Step: t.stepBatch,
		Open: func(ctx context.Context, epoch int) (loop.Iter[encoded[T]], error) {
			it, err := src.Open(ctx)
			if err != nil {
				return nil, fmt.Errorf("opening the examples: %w", err)
			}
			ei := &encodingIter[R, T, M]{t: t, it: it}
			if epoch == 0 {
				ei.kept = &kept
			}
			return ei, nil
		},
	}
	res, err := s.Run(ctx)
	return res, kept, err
}

// encodingIter encodes a pass of a source for the stream, skipping the
// records the stage skips and counting the kept ones when kept is set.
type encodingIter[R, T, M any] struct {
	t    *trainer[R, T, M]
	it   feature.Iterator[R]
	i    int
	kept *int
}

func (e *encodingIter[R, T, M]) Next() (encoded[T], error) {
	for {
		r, err := e.it.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				err = fmt.Errorf("reading example %d: %w", e.i, err)
			}
			return encoded[T]{}, err
		}
		e.i++
		enc, ok, err := e.t.encode(&r)
		if err != nil {
			return encoded[T]{}, fmt.Errorf("example %d: %w", e.i-1, err)
		}
		if ok {
			if e.kept != nil {
				*e.kept++
			}
			return enc, nil
		}
	}
}

func (e *encodingIter[R, T, M]) Close() error { return e.it.Close() }

// stepBatch trains on a streamed batch (at most Batch examples; the rest of
// the rows are padding).
func (t *trainer[R, T, M]) stepBatch(batch []encoded[T]) (float32, error) {
	t.data = batch
	for r := range t.rows {
		t.rows[r] = -1
		if r < len(batch) {
			t.rows[r] = r
		}
	}
	return t.step(t.rows)
}

// step trains on the examples at rows (-1: padding).
func (t *trainer[R, T, M]) step(rows []int) (float32, error) {
	copy(t.rows, rows)
	loss, err := t.forwardBackward()
	if err != nil {
		return 0, err
	}
	if err := t.dense.Apply(t.gr.Params()); err != nil {
		return 0, err
	}
	if err := t.emb.Apply(); err != nil {
		return 0, err
	}
	return loss, t.h.apply()
}

// forwardBackward runs the batch in t.rows forward and backward and
// accumulates the row-sparse gradients of the tables and the head (without
// applying them).
func (t *trainer[R, T, M]) forwardBackward() (float32, error) {
	defer t.h.end()
	if err := t.h.begin(); err != nil {
		return 0, err
	}
	if err := t.assemble(); err != nil {
		return 0, err
	}
	if t.o.Dropout > 0 {
		t.dropout()
	}
	loss, err := t.gr.Step()
	if err != nil {
		return 0, err
	}
	if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
		return 0, errors.New("training diverged (non-finite loss); lower the learning rate")
	}
	t.emb.ResetGrads()
	t.h.resetGrads()
	dx := t.gr.DX()
	if t.mask != nil {
		for i, k := range t.mask {
			dx[i] *= k // a dropped input passes no gradient back
		}
	}
	W := t.enc.Width()
	for r, ei := range t.rows {
		if ei < 0 {
			continue
		}
		ex := &t.data[ei]
		if err := t.enc.Backprop(dx[r*W:(r+1)*W], &ex.enc, t.emb); err != nil {
			return 0, err
		}
		if err := t.h.rowGrad(r, &ex.t); err != nil {
			return 0, err
		}
	}
	return loss, t.h.batchGrad()
}

// assemble writes the batch's input rows and the head's per-row inputs.
// Rows are independent (reads of shared tables, writes to their own
// slots): they are assembled on all cores.
func (t *trainer[R, T, M]) assemble() error {
	W := t.enc.Width()
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
			if ei < 0 {
				clear(x)
				t.h.pad(r)
				continue
			}
			ex := &t.data[ei]
			if err := t.enc.Assemble(x, &ex.enc, t.emb); err != nil {
				errs[w] = err
				return
			}
			t.h.row(r, &ex.t)
		}
	})
	return errors.Join(errs...)
}

// dropout zeroes each input of the batch with probability Dropout and
// scales the rest by 1/(1-p), recording the factors in t.mask.
func (t *trainer[R, T, M]) dropout() {
	x := t.gr.X
	if t.mask == nil {
		t.mask = make([]float32, len(x))
	}
	p := t.o.Dropout
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

// earlyStop keeps the best model by validation score.
type earlyStop[R, T, M any] struct {
	t         *trainer[R, T, M]
	validate  func(context.Context, int, M) (float64, error)
	model     M
	have      bool
	best      float64
	bestEpoch int
}

// epoch scores a copy of the model after epoch ep and keeps it if it is the
// best so far; it returns loop.ErrStop when patience has run out.
func (e *earlyStop[R, T, M]) epoch(ctx context.Context, ep int, loss float64) error {
	t := e.t
	if t.o.OnEpoch != nil {
		if err := t.o.OnEpoch(ep, loss); err != nil {
			return err
		}
	}
	t.h.finish()
	live, err := t.s.model(t.enc, &feature.Params{Tables: t.emb.Tables}, t.mlp)
	if err != nil {
		return err
	}
	m, err := t.s.snapshot(live)
	if err != nil {
		return err
	}
	score, err := e.validate(ctx, ep, m)
	if err != nil {
		return fmt.Errorf("validating epoch %d: %w", ep+1, err)
	}
	if math.IsNaN(score) {
		return fmt.Errorf("validating epoch %d: score is NaN", ep+1)
	}
	if !e.have || score > e.best {
		e.model, e.have, e.best, e.bestEpoch = m, true, score, ep
	} else if t.o.Patience > 0 && ep-e.bestEpoch >= t.o.Patience {
		return loop.ErrStop
	}
	return nil
}
