// Package optim is the home of the optimizers' update rules. It holds the
// element-wise Adam and Adagrad steps, their defaults (DefaultAdagradInit,
// DefaultAdagradEps, Adam's 0.9/0.999/1e-8) and the dense optimizers of the
// towers, DenseAdam and DenseAdagrad, which update every parameter of a
// model each step. The row-sparse optimizers of embedding and softmax
// tables (embedding.LazyAdam, embedding.RowAdagrad, embedding.Adagrad,
// embedding.SGD) are public in package embedding, where tables and their
// gradients live, and run the same update rules from here: LazyAdam is
// Adam applied only to the rows a step touches, RowAdagrad keeps one
// accumulator per row.
package optim
