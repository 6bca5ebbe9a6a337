package normalize

import (
	"bytes"
	"math"
	"testing"

	"github.com/ytdnn/ytdnn/internal/binfmt"
)

// FuzzReadCDF: any normalizer body with a correct checksum loads or fails
// with an error; one that loads transforms into [0, 1), monotonically.
func FuzzReadCDF(f *testing.F) {
	c, err := Fit("age", []float64{3, 1, 4, 1, 5, 9, 2, 6}, 0)
	if err != nil {
		f.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		f.Fatal(err)
	}
	body := binfmt.Body(buf.Bytes())
	f.Add(body, 2.5)
	f.Add(body[:len(body)/2], 0.0)
	f.Fuzz(func(t *testing.T, body []byte, x float64) {
		c, err := ReadCDF(bytes.NewReader(binfmt.Seal(cdfMagic, cdfVersion, body)))
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return
		}
		y, err := c.Transform(x)
		if err != nil || !(y >= 0 && y < 1) {
			t.Fatalf("Transform(%g) = %g, %v", x, y, err)
		}
		y2, _ := c.Transform(math.Nextafter(x, math.Inf(1)))
		if y2 < y {
			t.Fatalf("not monotone at %g: %g then %g", x, y, y2)
		}
	})
}
