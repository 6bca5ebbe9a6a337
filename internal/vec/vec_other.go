//go:build !amd64 || purego

package vec

const (
	hasAVX2 = false
	hasFMA  = false
)

func axpyAVX2(alpha float32, x, y *float32, n int) { panic("vec: no AVX2") }

func adamAVX2(pp, gp, mp, vp *float32, n int, c *AdamConsts) { panic("vec: no AVX2") }

func maxAVX2(x *float32, n int) float32 { panic("vec: no AVX2") }

func scaleAVX2(alpha float32, x *float32, n int) { panic("vec: no AVX2") }

func dotFMA(x, y *float32, n int) float32 { panic("vec: no FMA") }

func reluAVX2(x *float32, n int) { panic("vec: no AVX2") }

func dotBlock8FMA(q, block *float32, n int, dst *float32) { panic("vec: no FMA") }
