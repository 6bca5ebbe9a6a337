// Package loop is the minibatch loop the stage trainer runs: Memory over
// examples held in memory (shuffled every epoch) and Stream over a
// re-openable source through a bounded shuffle buffer; fixed-size batches
// with a padded tail, progress, cancellation, timing, and ErrStop to end a
// run early.
package loop
