package pipe

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ytdnn/ytdnn/modeldir"
)

// CompareOptions configure Compare: two model directories evaluated on
// the same later window (EvalOptions without Model, then A and B).
type CompareOptions struct {
	EvalOptions
	A, B string
	// Metric is the metric that gates [hr@50_all]: any number Eval
	// reports. Metrics whose name contains "loss" are better lower,
	// the others higher.
	Metric string
	// Tolerance is how much worse B may be than A on Metric, in the
	// metric's units (0: not at all; the command's default is 0).
	Tolerance float64
}

// Comparison is Compare's verdict.
type Comparison struct {
	Metric    string         `json:"metric"`
	A, B      float64        `json:"-"`
	Tolerance float64        `json:"tolerance"`
	Worse     bool           `json:"b_worse"`
	Metrics   map[string]any `json:"-"`
}

// Worse says whether b is worse than a on metric by more than tol: lower
// for most metrics, higher for a loss (a name containing "loss").
func Worse(metric string, a, b, tol float64) bool {
	if strings.Contains(metric, "loss") {
		return b > a+tol
	}
	return b < a-tol
}

// Compare evaluates models A and B on the same log window (Eval) and says
// whether B is worse than A on the gating metric by more than the
// tolerance: the promotion gate a daily job runs before reloading a new
// model. It returns both models' metrics under "a" and "b".
func Compare(ctx context.Context, o CompareOptions) (Comparison, error) {
	c := Comparison{Metric: o.Metric, Tolerance: o.Tolerance, Metrics: map[string]any{}}
	if c.Metric == "" {
		c.Metric = "hr@50_all"
	}
	if !(c.Tolerance >= 0) || math.IsInf(c.Tolerance, 0) {
		return c, fmt.Errorf("pipe: compare: tolerance %v must be finite and non-negative", c.Tolerance)
	}
	if o.A == "" || o.B == "" {
		return c, fmt.Errorf("pipe: compare needs two model directories")
	}
	ra, errA := filepath.EvalSymlinks(o.A)
	rb, errB := filepath.EvalSymlinks(o.B)
	if errA == nil && errB == nil && ra == rb {
		return c, fmt.Errorf("compare: -a and -b are the same model directory (%s)", ra)
	}
	// Both windows first (the manifests alone): neither model may have
	// trained on the window.
	for _, dir := range []string{o.A, o.B} {
		man, err := modeldir.ReadManifest(dir)
		if err != nil {
			return c, fmt.Errorf("model %s: %w", dir, err)
		}
		if tb := trainedBefore(&man); o.After < tb {
			return c, fmt.Errorf("model %s trained on events up to %s: evaluate from then on (-after)", dir, FormatMs(tb))
		}
	}
	vals := [2]float64{}
	for i, dir := range []string{o.A, o.B} {
		eo := o.EvalOptions
		eo.Model = dir
		m, err := Eval(ctx, eo)
		if err != nil {
			return c, fmt.Errorf("model %s: %w", dir, err)
		}
		v, ok := m[c.Metric].(float64)
		if !ok || math.IsNaN(v) {
			var have []string
			for k, x := range m {
				if f, ok := x.(float64); ok && !math.IsNaN(f) && !strings.HasPrefix(k, "mostpop") {
					have = append(have, k)
				}
			}
			slices.Sort(have)
			return c, fmt.Errorf("compare: model %s has no value of %q on this window; it has %s", dir, c.Metric, strings.Join(have, ", "))
		}
		vals[i] = v
		c.Metrics[[]string{"a", "b"}[i]] = m
	}
	c.A, c.B = vals[0], vals[1]
	c.Worse = Worse(c.Metric, c.A, c.B, c.Tolerance)
	c.Metrics["metric"], c.Metrics["tolerance"], c.Metrics["b_worse"] = c.Metric, c.Tolerance, c.Worse
	c.Metrics["a_value"], c.Metrics["b_value"] = c.A, c.B
	return c, nil
}
