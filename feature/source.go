package feature

import (
	"context"
	"io"
)

// Source is a stream of training records that can be read more than once:
// the trainers of candgen and ranking read it once to fit vocabularies and
// normalizers, then once per epoch (or once more, when every record fits
// their shuffle buffer and is kept encoded in memory). Open starts a new pass
// from the beginning.
type Source[T any] interface {
	Open(ctx context.Context) (Iterator[T], error)
}

// Iterator yields the records of one pass. Next returns io.EOF after the
// last record; the record it returns (and the slices inside it) may be
// reused by the next call, so copy what must outlive it. Close releases the
// pass's resources; it may be called before the end.
type Iterator[T any] interface {
	Next() (T, error)
	Close() error
}

// SliceSource is a Source over records held in memory (not copied: do not
// modify them while a pass is open).
func SliceSource[T any](records []T) Source[T] { return sliceSource[T](records) }

type sliceSource[T any] []T

func (s sliceSource[T]) Open(context.Context) (Iterator[T], error) {
	return &sliceIter[T]{s: s}, nil
}

type sliceIter[T any] struct {
	s []T
	i int
}

func (it *sliceIter[T]) Next() (T, error) {
	if it.i >= len(it.s) {
		var zero T
		return zero, io.EOF
	}
	it.i++
	return it.s[it.i-1], nil
}

func (it *sliceIter[T]) Close() error { return nil }

// FuncSource is a Source whose passes are opened by a function.
type FuncSource[T any] func(ctx context.Context) (Iterator[T], error)

// Open implements Source.
func (f FuncSource[T]) Open(ctx context.Context) (Iterator[T], error) { return f(ctx) }
