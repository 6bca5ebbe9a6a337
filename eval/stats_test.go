package eval

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMeanSE(t *testing.T) {
	for _, c := range []struct {
		name     string
		xs       []float64
		mean, se float64
	}{
		// Deviations −2, −1, 0, 3: sd √(14/3) over √4 = 1.0801234.
		{"four", []float64{1, 2, 3, 6}, 3, 1.0801234},
		{"equal", []float64{2, 2}, 2, 0},
		{"one", []float64{0.25}, 0.25, 0},
		{"none", nil, math.NaN(), math.NaN()},
	} {
		t.Run(c.name, func(t *testing.T) {
			m, se := MeanSE(c.xs)
			if math.IsNaN(c.mean) {
				assert.True(t, math.IsNaN(m) && math.IsNaN(se), "got %v ± %v", m, se)
				return
			}
			assert.InDelta(t, c.mean, m, 1e-12)
			assert.InDelta(t, c.se, se, 1e-6)
		})
	}
}
