// Package vec holds the small float32 vector loops of the training step and
// of retrieval: Axpy (y += a·x), Scale, Max, the Adam update and Dot, with
// AVX2 Go-assembly versions on amd64 and pure-Go fallbacks elsewhere and
// under the `purego` tag.
//
// # Rounding
//
// Axpy, Scale, Max and Adam use separate multiplies and adds (no FMA), in
// the Go code's order, so both paths round alike, bit for bit (the tests
// check it). Dot is the exception: with AVX2 and FMA it sums in four 8-wide
// fused accumulators and rounds differently from its Go loop, by a few ulps
// of Σ|x·y|; use it where that does not matter (scores, not parameters).
//
// # Concurrency
//
// The functions hold no state and are safe for concurrent use on disjoint
// outputs.
package vec
