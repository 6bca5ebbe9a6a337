package main

import (
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// errPoints are points with symmetric vertical error bars.
type errPoints struct {
	plotter.XYs
	plotter.YErrors
}

// linePlot draws one line per series (y against x = index + x0) into a PNG,
// with ± errs bars where errs has the series.
func linePlot(path, title, xLabel, yLabel string, order []string, series, errs map[string][]float64, x0 int) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	var args []any
	for i, name := range order {
		ys := series[name]
		pts := make(plotter.XYs, len(ys))
		yerr := make(plotter.YErrors, len(ys))
		for j, y := range ys {
			pts[j].X, pts[j].Y = float64(j+x0), y
			if e := errs[name]; j < len(e) {
				yerr[j].Low, yerr[j].High = e[j], e[j]
			}
		}
		args = append(args, name, pts)
		if errs[name] != nil {
			bars, err := plotter.NewYErrorBars(errPoints{pts, yerr})
			if err != nil {
				return err
			}
			bars.Color = plotutil.Color(i)
			p.Add(bars)
		}
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return err
	}
	// Room above the curves for the legend (one row per series), so it
	// never covers them: the y axis is extended by the legend's share.
	lo, hi := p.Y.Min, p.Y.Max
	rows := float64(len(order))
	p.Y.Max = hi + (hi-lo)*(0.12*rows+0.05)
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs = vg.Points(8)
	return p.Save(6*vg.Inch, 4*vg.Inch, path)
}
