package eval

import "math"

// MeanSE returns the mean of xs and its standard error, the sample standard
// deviation (n-1 denominator) over √n: the ± of a metric over seeds or
// runs. The standard error is 0 for one value; both are NaN for none.
func MeanSE(xs []float64) (mean, se float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	var ss float64
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(xs)-1) / float64(len(xs)))
}
