// Package normalize turns continuous features into the paper's normalized
// form: x̃ = F(x) ∈ [0, 1), F the feature's cumulative distribution, by linear
// interpolation between quantiles computed in one pass before training, and
// the super- and sub-linear powers x̃² and √x̃ fed beside it.
//
// # Fitting
//
// Fit computes exact quantiles of a slice (O(n log n), O(n) memory). Sketch
// fits a stream of any length in bounded memory (a reservoir sample; its
// sampling error is ErrorBound; Bound adds the quantile-grid and tie error
// that Transform has even on an exact fit, see CDF.Transform).
//
// # Invariants
//
// Transform is monotone non-decreasing, clamps outside the fitted range and
// returns values in [0, 1). NaN and ±Inf are errors naming the feature, at fit
// and at transform time.
//
// # Concurrency
//
// A fitted CDF is immutable and safe for concurrent use; a Sketch is not.
//
// # Example
//
//	cdf, err := normalize.Fit("age", []float64{18, 25, 31, 40, 62}, 0)
//	if err != nil { ... }
//	dst := make([]float32, 3)
//	err = cdf.Powers(dst, 33) // x̃, x̃², √x̃
package normalize
