//go:build amd64 && !purego

package vec

import "golang.org/x/sys/cpu"

var (
	hasAVX2 = cpu.X86.HasAVX2
	hasFMA  = cpu.X86.HasAVX2 && cpu.X86.HasFMA
)

//go:noescape
func axpyAVX2(alpha float32, x, y *float32, n int)

//go:noescape
func adamAVX2(pp, gp, mp, vp *float32, n int, c *AdamConsts)

//go:noescape
func maxAVX2(x *float32, n int) float32

//go:noescape
func scaleAVX2(alpha float32, x *float32, n int)

//go:noescape
func reluAVX2(x *float32, n int)

//go:noescape
func dotBlock8FMA(q, block *float32, n int, dst *float32)

//go:noescape
func dotFMA(x, y *float32, n int) float32
