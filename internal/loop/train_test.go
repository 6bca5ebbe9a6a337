package loop

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
)

type sliceIter struct{ xs []int }

func (s *sliceIter) Next() (int, error) {
	if len(s.xs) == 0 {
		return 0, io.EOF
	}
	x := s.xs[0]
	s.xs = s.xs[1:]
	return x, nil
}
func (s *sliceIter) Close() error { return nil }

// TestErrStopEndsRunCleanly: an OnEpoch hook returning ErrStop ends the run
// after that epoch without an error and with its statistics; any other
// error is returned.
func TestErrStopEndsRunCleanly(t *testing.T) {
	boom := errors.New("boom")
	for _, kind := range []string{"loop", "stream"} {
		for _, stopErr := range []error{ErrStop, boom} {
			steps := 0
			onEpoch := func(ep int, _ float64) error {
				if ep == 1 {
					return stopErr
				}
				return nil
			}
			var res Result
			var err error
			if kind == "loop" {
				l := Memory{N: 10, Batch: 5, Epochs: 5, Rng: rand.New(rand.NewPCG(1, 1)), OnEpoch: onEpoch,
					Step: func([]int) (float32, error) { steps++; return 1, nil }}
				res, err = l.Run(context.Background())
			} else {
				s := Stream[int]{N: 10, Batch: 5, Epochs: 5, Buffer: 4, OnEpoch: onEpoch,
					Open: func(context.Context, int) (Iter[int], error) {
						return &sliceIter{xs: []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}}, nil
					},
					Step: func([]int) (float32, error) { steps++; return 1, nil }}
				res, err = s.Run(context.Background())
			}
			if stopErr == boom {
				if !errors.Is(err, boom) {
					t.Fatalf("%s: error %v, want boom", kind, err)
				}
				continue
			}
			if err != nil || res.Epochs != 2 || steps != 4 || res.Steps != 4 || res.ExamplesPerSec <= 0 {
				t.Fatalf("%s: stopped run: err %v, %+v, %d steps", kind, err, res, steps)
			}
		}
	}
}
