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
// that Transform has even on an exact fit, see CDF.Transform). Both keep
// DefaultQuantiles intervals unless asked for another number, and never
// more than n-1 for n values. Mix combines two fitted CDFs as a weighted
// mixture of their distributions (a warm-started run's previous normalizer
// and the new window's).
//
// # Invariants
//
// Transform is monotone non-decreasing, clamps outside the fitted range and
// returns values in [0, 1). NaN and ±Inf are errors naming the feature,
// wrapping ErrNonFinite, at fit and at transform time.
//
// # Cost
//
// Transform and Powers are a binary search over the quantiles,
// O(log Q), and allocate nothing. Sketch.Add is O(1).
//
// # Files
//
// A CDF is a part of a model file: CDF.WriteTo writes it into the file's
// container when given its writer (or on its own to any io.Writer) and
// ReadCDF reads it back, little-endian: the name
// (length u64 and bytes, at most 64 KiB), then the quantiles (count u64, at
// most 2²⁴, and float64 values). ReadCDF checks that there is at least
// one quantile and that they are finite and ascending; its errors wrap the
// container's format error and carry no package prefix: the model's reader
// adds its own.
//
// # Errors
//
// Errors of Fit, Transform, Powers and Sketch start "normalize: ".
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
