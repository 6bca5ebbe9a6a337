package main

import (
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// linePlot draws one line per series (y against x = index + x0) into a PNG.
func linePlot(path, title, xLabel, yLabel string, order []string, series map[string][]float64, x0 int) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	var args []any
	for _, name := range order {
		ys := series[name]
		pts := make(plotter.XYs, len(ys))
		for i, y := range ys {
			pts[i].X, pts[i].Y = float64(i+x0), y
		}
		args = append(args, name, pts)
	}
	if err := plotutil.AddLinePoints(p, args...); err != nil {
		return err
	}
	p.Legend.Top = true
	return p.Save(6*vg.Inch, 4*vg.Inch, path)
}
