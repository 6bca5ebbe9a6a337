//go:build amd64 && !purego

package nn

import "golang.org/x/sys/cpu"

// expConsts: -87, log2e, ln2hi, ln2lo, 1/720, 1/120, 1/24, 1/6, 1/2, 1.
var expConsts = [10]float32{-87, 1.44269504088896341, 0.693359375, -2.12194440e-4, 1.0 / 720, 1.0 / 120, 1.0 / 24, 1.0 / 6, 0.5, 1}

//go:noescape
func expSubAVX512(x *float32, n int, m float32, consts *float32, acc *float32)

func init() {
	if cpu.X86.HasAVX512F {
		expSubVec = func(row []float32, m float32) float32 {
			var acc [16]float32
			expSubAVX512(&row[0], len(row)/16, m, &expConsts[0], &acc[0])
			var s float32
			for _, v := range acc {
				s += v
			}
			return s
		}
	}
}
