package loop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"time"

	"github.com/ytdnn/ytdnn/internal/progress"
)

// Iter is one pass over a stream of encoded examples; Next returns io.EOF
// after the last one.
type Iter[E any] interface {
	Next() (E, error)
	Close() error
}

// Stream is a training run over examples read afresh every epoch: each
// pass goes through a bounded shuffle buffer (a log sorted by time does not
// train in time order) and into full batches; only the buffer and a few
// batches are in memory. A producer goroutine reads and shuffles while the
// caller's Step trains.
type Stream[E any] struct {
	// Open starts the pass of an epoch.
	Open func(ctx context.Context, epoch int) (Iter[E], error)
	// N is the number of examples a pass is expected to hold (for the
	// progress bar); the pass's true count is used for the statistics.
	N, Batch, Epochs int
	// Buffer is the shuffle buffer's size in examples: an example leaves
	// it, uniformly at random among those held, when a new one arrives.
	Buffer   int
	Label    string
	Progress io.Writer
	Seed     uint64
	// Step trains on one batch of at most Batch examples (the last of an
	// epoch may be short) and returns its loss.
	Step func(batch []E) (float32, error)
	// OnEpoch, if set, runs after each epoch with its mean loss; ErrStop
	// ends the run early without an error.
	OnEpoch func(epoch int, loss float64) error
}

// Run executes the stream. It returns ctx's error when cancelled and the
// first error of the source or of Step.
func (s *Stream[E]) Run(ctx context.Context) (Result, error) {
	var res Result
	if s.Batch < 1 || s.Epochs < 1 || s.Buffer < 1 {
		return res, errors.New("loop: Batch, Epochs and Buffer must be positive")
	}
	start := time.Now()
	seen := 0
	for ep := 0; ep < s.Epochs; ep++ {
		nb := max(1, (s.N+s.Batch-1)/s.Batch)
		bar := progress.New(s.Progress, fmt.Sprintf("%s epoch %d/%d", s.Label, ep+1, s.Epochs), nb)
		ectx, cancel := context.WithCancel(ctx)
		batches := make(chan []E, 2)
		perr := make(chan error, 1)
		go func() {
			defer close(batches)
			perr <- s.produce(ectx, ep, batches)
		}()
		var sum float64
		steps := 0
		var err error
		for b := range batches {
			if err = ctx.Err(); err != nil {
				break
			}
			var loss float32
			if loss, err = s.Step(b); err != nil {
				break
			}
			sum += float64(loss)
			steps++
			seen += len(b)
			res.Steps++
			bar.Set(min(steps, nb), fmt.Sprintf("loss %.4f", sum/float64(steps)))
		}
		cancel()
		for range batches { // let the producer finish
		}
		if perr := <-perr; err == nil && perr != nil && !errors.Is(perr, context.Canceled) {
			err = perr
		}
		if err == nil {
			err = ctx.Err()
		}
		if err != nil {
			return res, err
		}
		if steps == 0 {
			return res, errors.New("loop: an epoch held no examples")
		}
		res.Epochs, res.Loss = ep+1, sum/float64(steps)
		if stop, err := endEpoch(bar, s.OnEpoch, ep, res.Loss); stop || err != nil {
			if err != nil {
				return res, err
			}
			break
		}
	}
	res.Seconds = time.Since(start).Seconds()
	if res.Seconds > 0 {
		res.ExamplesPerSec = float64(seen) / res.Seconds
	}
	return res, nil
}

// produce reads one pass through the shuffle buffer into batches.
func (s *Stream[E]) produce(ctx context.Context, epoch int, out chan<- []E) error {
	it, err := s.Open(ctx, epoch)
	if err != nil {
		return err
	}
	defer it.Close()
	rng := rand.New(rand.NewPCG(s.Seed, uint64(epoch)+0x5f1e))
	buf := make([]E, 0, min(s.Buffer, max(s.N, 1)))
	batch := make([]E, 0, s.Batch)
	emit := func(e E) bool {
		batch = append(batch, e)
		if len(batch) < s.Batch {
			return true
		}
		select {
		case out <- batch:
			batch = make([]E, 0, s.Batch)
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		e, err := it.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if len(buf) < s.Buffer {
			buf = append(buf, e)
			continue
		}
		j := rng.IntN(len(buf))
		if !emit(buf[j]) {
			return ctx.Err()
		}
		buf[j] = e
	}
	rng.Shuffle(len(buf), func(i, j int) { buf[i], buf[j] = buf[j], buf[i] })
	for _, e := range buf {
		if !emit(e) {
			return ctx.Err()
		}
	}
	if len(batch) > 0 {
		select {
		case out <- batch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}
