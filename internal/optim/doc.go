// Package optim is the home of the optimizers' update rules. It holds the
// Adam step (NewAdamStep, AdamStep.Update), the element-wise Adagrad step
// (Adagrad) and the row-wise one (RowAdagrad), their defaults
// (DefaultAdamBeta1, DefaultAdamBeta2, DefaultAdamEps, DefaultAdagradInit,
// DefaultAdagradEps, applied in NewAdamStep, Accumulators and AdagradEps),
// the finiteness check of gradients (Finite), and the dense optimizers of
// the towers, DenseAdam and DenseAdagrad, which update every parameter of a
// model each step.
//
// The row-sparse optimizers of embedding and softmax tables
// (embedding.LazyAdam, embedding.Adagrad, embedding.RowAdagrad,
// embedding.SGD) are public in package embedding, where tables and their
// gradients live, and run the rules from here on the rows a step touches:
// LazyAdam is AdamStep.Update on those rows, Adagrad is Adagrad on them,
// RowAdagrad is RowAdagrad with one accumulator per row. SGD is
// internal/vec's Axpy.
//
// # Errors
//
// Messages are bare reasons naming the optimizer ("DenseAdam: non-finite
// gradient"); the public package that calls adds its prefix.
//
// # Concurrency
//
// The step functions hold no state and are safe for concurrent use on
// disjoint slices. A DenseAdam or DenseAdagrad holds per-parameter state and
// is not safe for concurrent use; use one per model.
package optim
