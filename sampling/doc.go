// Package sampling holds the candidate samplers of sampled softmax and the
// expected counts its importance-weighting (logQ) correction subtracts.
//
// # Samplers
//
// Uniform, LogUniform (Zipfian over frequency rank) and Unigram (counts
// raised to a distortion power, 0.75 by default; Walker's alias method, O(1)
// per draw, O(N) to build). Classes are numbered 0..N-1.
//
// # Candidates and expected counts
//
// Candidates draws k negatives with replacement, or k unique ones, and gives
// every class (sampled or the true label) its expected count in that draw:
// k·p with replacement, 1-(1-p)^tries for unique draws. The sampled-softmax
// logit of a candidate c becomes u·v_c - log(ExpectedCount(c)).
//
// # Determinism and concurrency
//
// Draws depend only on the *rand.Rand passed in, so a fixed seed reproduces
// them. Samplers are immutable and safe for concurrent use; Candidates and
// *rand.Rand are not: use one of each per goroutine.
//
// # Errors
//
// Bad counts, samplers without classes, draws that cannot be made and
// buffers of the wrong length are errors (not panics) starting
// "sampling: ".
//
// # Example
//
//	s, err := sampling.NewUnigram([]float64{100, 10, 1}, 0.75)
//	if err != nil { ... }
//	c := &sampling.Candidates{Sampler: s}
//	if err := c.Draw(64, rand.New(rand.NewPCG(1, 2))); err != nil { ... }
//	logQ := make([]float32, len(c.IDs))
//	err = c.LogExpectedCount(logQ, c.IDs)
package sampling
