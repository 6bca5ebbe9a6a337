package train

import (
	"errors"
	"fmt"
	"io"

	"github.com/ytdnn/ytdnn/embedding"
	"github.com/ytdnn/ytdnn/internal/optim"
)

// Optimizer names the dense optimizer of a tower.
type Optimizer string

// The tower optimizers.
const (
	OptimizerAdam    Optimizer = "adam"    // Adam, β = (0.9, 0.999) (default)
	OptimizerAdagrad Optimizer = "adagrad" // Adagrad, accumulators from 0.1
)

// TableOptimizer names the row-sparse optimizer of the embedding tables
// (and of candidate generation's softmax table).
type TableOptimizer string

// The table optimizers.
const (
	// TableAdam is lazy Adam: 12 bytes per parameter with its two moments
	// (default).
	TableAdam TableOptimizer = "adam"
	// TableRowAdagrad is row-wise Adagrad: 4 bytes per parameter plus 4 per
	// row, the choice for 10⁶-10⁷ videos.
	TableRowAdagrad TableOptimizer = "rowwise-adagrad"
)

// Defaults of Options, applied to its zero fields.
const (
	DefaultBatch         = 512
	DefaultEpochs        = 1
	DefaultLR            = 1e-3
	DefaultEmbeddingStd  = 0.05
	DefaultShuffleBuffer = 1 << 16 // examples; about 32 MiB at 50-video histories
	DefaultOptimizer     = OptimizerAdam
	DefaultTable         = TableAdam
)

// Options are the settings both stages train with; CandgenConfig and
// RankingConfig embed them. Zero fields take the defaults in brackets,
// applied in one place (withDefaults) before anything is read.
type Options struct {
	// Batch is the minibatch size [DefaultBatch]; the last batch of an
	// epoch is padded.
	Batch int
	// Epochs is the most epochs to run [DefaultEpochs]; early stopping
	// (Patience with a validation function) can end training sooner.
	Epochs int
	// LR is the learning rate of the tower [DefaultLR]; EmbeddingLR that of
	// the embedding tables (and the softmax table) [LR].
	LR, EmbeddingLR float32
	// Optimizer is the tower's dense optimizer [OptimizerAdam].
	Optimizer Optimizer
	// TableOptimizer is the tables' row-sparse optimizer [TableAdam]. For a
	// table of Dim floats a row costs 4·Dim bytes, plus 8·Dim of lazy-Adam
	// state or 4 bytes of row-wise Adagrad state.
	TableOptimizer TableOptimizer
	// L2 is an L2 penalty on the tower's weights (not biases) [0].
	L2 float32
	// Dropout is the probability of zeroing each input of the tower (the
	// concatenated embeddings and dense features) at training, the kept
	// inputs scaled by 1/(1-Dropout) (inverted dropout; serving is
	// unchanged) [0: off].
	Dropout float64
	// EmbeddingStd is the standard deviation of initial embedding rows
	// [DefaultEmbeddingStd]; the OOV row is zero.
	EmbeddingStd float64
	// ShuffleBuffer is how many examples a streamed source is shuffled
	// through [DefaultShuffleBuffer]. A source of at most this many examples
	// is encoded once, held in memory and fully reshuffled every epoch; a
	// longer one is read afresh every epoch (about 500 bytes per example
	// held with 50-video and 50-token histories). Training on a slice holds
	// every example unless ShuffleBuffer is set.
	ShuffleBuffer int
	// Seed seeds every random choice (initial weights, shuffling, negatives,
	// dropout).
	Seed uint64
	// Progress receives a progress bar (only if it is a terminal).
	Progress io.Writer
	// OnEpoch, if set, is called after every epoch (from 0) with its mean
	// loss; returning an error stops training with that error.
	OnEpoch func(epoch int, loss float64) error
	// Patience is how many epochs without a better validation score end
	// training early, when the stage's config has a Validation function [0:
	// run all Epochs, still returning the best epoch's model].
	Patience int
}

// withDefaults returns o with its zero fields set to the defaults.
func (o Options) withDefaults() Options {
	if o.Batch == 0 {
		o.Batch = DefaultBatch
	}
	if o.Epochs == 0 {
		o.Epochs = DefaultEpochs
	}
	if o.LR == 0 {
		o.LR = DefaultLR
	}
	if o.EmbeddingLR == 0 {
		o.EmbeddingLR = o.LR
	}
	if o.Optimizer == "" {
		o.Optimizer = DefaultOptimizer
	}
	if o.TableOptimizer == "" {
		o.TableOptimizer = DefaultTable
	}
	if o.EmbeddingStd == 0 {
		o.EmbeddingStd = DefaultEmbeddingStd
	}
	if o.ShuffleBuffer == 0 {
		o.ShuffleBuffer = DefaultShuffleBuffer
	}
	return o
}

// validate reports every invalid setting of o (defaults applied) at once.
func (o *Options) validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if o.Batch < 1 {
		bad("Batch %d must be positive", o.Batch)
	}
	if o.Epochs < 1 {
		bad("Epochs %d must be positive", o.Epochs)
	}
	if o.ShuffleBuffer < 1 {
		bad("ShuffleBuffer %d must be positive", o.ShuffleBuffer)
	}
	if !(o.LR >= 0) || !(o.EmbeddingLR >= 0) {
		bad("learning rates %v, %v must be non-negative", o.LR, o.EmbeddingLR)
	}
	if !(o.L2 >= 0) {
		bad("L2 %v must be non-negative", o.L2)
	}
	if !(o.Dropout >= 0 && o.Dropout < 1) {
		bad("Dropout %v outside [0, 1)", o.Dropout)
	}
	if !(o.EmbeddingStd > 0) {
		bad("EmbeddingStd %v must be positive", o.EmbeddingStd)
	}
	if o.Patience < 0 {
		bad("Patience %d must be non-negative", o.Patience)
	}
	if o.Optimizer != OptimizerAdam && o.Optimizer != OptimizerAdagrad {
		bad("unknown Optimizer %q (want %q or %q)", o.Optimizer, OptimizerAdam, OptimizerAdagrad)
	}
	if o.TableOptimizer != TableAdam && o.TableOptimizer != TableRowAdagrad {
		bad("unknown TableOptimizer %q (want %q or %q)", o.TableOptimizer, TableAdam, TableRowAdagrad)
	}
	return errors.Join(errs...)
}

// newTableOptimizer returns one table optimizer of the configured kind.
func (o *Options) newTableOptimizer() embedding.Optimizer {
	if o.TableOptimizer == TableRowAdagrad {
		return &embedding.RowAdagrad{LR: o.EmbeddingLR}
	}
	return &embedding.LazyAdam{LR: o.EmbeddingLR}
}

// newDense returns the tower's dense optimizer.
func (o *Options) newDense() (optim.Dense, error) {
	return optim.NewDense(string(o.Optimizer), o.LR, o.L2)
}

// Depth returns the ReLU tower of the paper's Figure 6 at depth 1-4 (a new
// slice each call): 256; 512→256; 1024→512→256; 2048→1024→512→256. Depth 3
// is the paper's tower and both stages' default; other depths return nil.
func Depth(d int) []int {
	switch d {
	case 1:
		return []int{256}
	case 2:
		return []int{512, 256}
	case 3:
		return []int{1024, 512, 256}
	case 4:
		return []int{2048, 1024, 512, 256}
	}
	return nil
}

// SmallTower returns 256→128→64, a tower for small data such as MovieLens.
func SmallTower() []int { return []int{256, 128, 64} }

// checkTower reports a tower with a non-positive size.
func checkTower(sizes []int) error {
	for _, s := range sizes {
		if s < 1 {
			return fmt.Errorf("invalid Tower %v: sizes must be positive", sizes)
		}
	}
	return nil
}
