// Package train is the minibatch loop both stages share: shuffling, fixed
// size batches with a padded tail, progress, cancellation and timing.
package train
