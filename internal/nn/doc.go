// Package nn is the training side of ytdnn's towers: a tower.MLP built once
// as a gorgonia graph at a fixed batch size, a custom gorgonia op that
// evaluates a hand-written loss (sampled softmax, weighted logistic) inside
// the graph, and the parameter layout the dense optimizers of internal/optim
// update. Serving never imports it: the forward pass is tower.MLP.Forward.
//
// Embedding tables stay outside the graph: the caller writes gathered rows
// into the input matrix, runs a step, and reads the input's gradient back.
//
// # Concurrency
//
// A Graph is not safe for concurrent use (gorgonia's tape machine is not):
// one Graph per goroutine. Importing the package installs fastblas as
// gorgonia's BLAS (UseFast, UseGonum switch both it and linalg.Gemm).
package nn
