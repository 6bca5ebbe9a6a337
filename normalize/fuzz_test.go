package normalize

import (
	"math"
	"testing"

	"github.com/ytdnn/ytdnn/internal/binfmt"
)

// FuzzReadCDF: any normalizer body with a correct checksum decodes or
// fails with an error; one that decodes transforms into [0, 1),
// monotonically.
func FuzzReadCDF(f *testing.F) {
	c, err := Fit("age", []float64{3, 1, 4, 1, 5, 9, 2, 6}, 0)
	if err != nil {
		f.Fatal(err)
	}
	body := binfmt.Body(seal(f, part(c)))
	f.Add(body, 2.5)
	f.Add(body[:len(body)/2], 0.0)
	f.Fuzz(func(t *testing.T, body []byte, x float64) {
		c, err := open(binfmt.Seal(testMagic, testVersion, body))
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return
		}
		y, err := c.Transform(x)
		if err != nil || !(y >= 0 && y < 1) {
			t.Fatalf("Transform(%g) = %g, %v", x, y, err)
		}
		y2, err := c.Transform(math.Nextafter(x, math.Inf(1)))
		if err != nil || y2 < y {
			t.Fatalf("not monotone at %g: %g then %g (%v)", x, y, y2, err)
		}
	})
}
