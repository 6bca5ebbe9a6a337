// Package nn is the dense part of ytdnn's networks: a ReLU tower (MLP) built
// once as a gorgonia graph for training, a custom gorgonia op that evaluates
// a hand-written loss (sampled softmax, weighted logistic) inside the graph,
// a plain-Go forward pass for serving, and dense Adam.
//
// Embedding tables stay outside the graph: the caller writes gathered rows
// into the input matrix, runs a step, and reads the input's gradient back.
package nn
