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

// Memory describes a training run over N examples.
type Memory struct {
	N, Batch, Epochs int
	Label            string
	Progress         io.Writer
	Rng              *rand.Rand
	// Step trains on one batch: rows[r] is an example index, or -1 for a
	// padding row. It returns the batch loss.
	Step func(rows []int) (float32, error)
	// OnEpoch, if set, runs after each epoch with its mean loss; ErrStop
	// ends the run early without an error.
	OnEpoch func(epoch int, loss float64) error
}

// ErrStop, returned by an OnEpoch hook, ends a run after that epoch as if
// it had been the last.
var ErrStop = errors.New("loop: stop")

// endEpoch closes an epoch's progress bar and runs the OnEpoch hook; stop
// is true when the hook asked to stop (ErrStop), err any other error.
func endEpoch(bar *progress.Bar, onEpoch func(int, float64) error, ep int, loss float64) (stop bool, err error) {
	bar.Done(fmt.Sprintf("loss %.4f", loss))
	if onEpoch == nil {
		return false, nil
	}
	if err := onEpoch(ep, loss); errors.Is(err, ErrStop) {
		return true, nil
	} else if err != nil {
		return false, err
	}
	return false, nil
}

// Result summarizes a run.
type Result struct {
	Epochs, Steps  int
	Loss           float64 // mean loss of the last epoch
	Seconds        float64
	ExamplesPerSec float64
}

// Run executes the loop. It returns ctx's error when cancelled.
func (l *Memory) Run(ctx context.Context) (Result, error) {
	var res Result
	order := make([]int, l.N)
	for i := range order {
		order[i] = i
	}
	rows := make([]int, l.Batch)
	nb := (l.N + l.Batch - 1) / l.Batch
	start := time.Now()
	for ep := 0; ep < l.Epochs; ep++ {
		l.Rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		bar := progress.New(l.Progress, fmt.Sprintf("%s epoch %d/%d", l.Label, ep+1, l.Epochs), nb)
		var sum float64
		for b := 0; b < nb; b++ {
			if err := ctx.Err(); err != nil {
				return res, err
			}
			lo := b * l.Batch
			for r := range rows {
				rows[r] = -1
				if lo+r < l.N {
					rows[r] = order[lo+r]
				}
			}
			loss, err := l.Step(rows)
			if err != nil {
				return res, err
			}
			sum += float64(loss)
			res.Steps++
			bar.Set(b+1, fmt.Sprintf("loss %.4f", sum/float64(b+1)))
		}
		res.Epochs, res.Loss = ep+1, sum/float64(nb)
		if stop, err := endEpoch(bar, l.OnEpoch, ep, res.Loss); stop || err != nil {
			if err != nil {
				return res, err
			}
			break
		}
	}
	res.Seconds = time.Since(start).Seconds()
	if res.Seconds > 0 {
		res.ExamplesPerSec = float64(l.N*res.Epochs) / res.Seconds
	}
	return res, nil
}
