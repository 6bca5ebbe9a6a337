//go:build amd64 && !purego

#include "textflag.h"

// func axpyAVX2(alpha float32, x, y *float32, n int)
// y[i] += alpha·x[i] for i < n; n is a multiple of 8.
TEXT ·axpyAVX2(SB), NOSPLIT, $0-32
	VBROADCASTSS alpha+0(FP), Y0
	MOVQ x+8(FP), SI
	MOVQ y+16(FP), DI
	MOVQ n+24(FP), CX
loop32:
	CMPQ CX, $32
	JLT loop8
	VMULPS (SI), Y0, Y1
	VMULPS 32(SI), Y0, Y2
	VMULPS 64(SI), Y0, Y3
	VMULPS 96(SI), Y0, Y4
	VADDPS (DI), Y1, Y1
	VADDPS 32(DI), Y2, Y2
	VADDPS 64(DI), Y3, Y3
	VADDPS 96(DI), Y4, Y4
	VMOVUPS Y1, (DI)
	VMOVUPS Y2, 32(DI)
	VMOVUPS Y3, 64(DI)
	VMOVUPS Y4, 96(DI)
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP loop32
loop8:
	CMPQ CX, $8
	JLT done
	VMULPS (SI), Y0, Y1
	VADDPS (DI), Y1, Y1
	VMOVUPS Y1, (DI)
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP loop8
done:
	VZEROUPPER
	RET

// func adamAVX2(pp, gp, mp, vp *float32, n int, c *AdamConsts)
// The Adam update of adamGo on n elements, n a multiple of 8.
TEXT ·adamAVX2(SB), NOSPLIT, $0-48
	MOVQ pp+0(FP), DI
	MOVQ gp+8(FP), SI
	MOVQ mp+16(FP), R8
	MOVQ vp+24(FP), R9
	MOVQ n+32(FP), CX
	MOVQ c+40(FP), DX
	VBROADCASTSS 0(DX), Y8   // B1
	VBROADCASTSS 4(DX), Y9   // 1-B1
	VBROADCASTSS 8(DX), Y10  // B2
	VBROADCASTSS 12(DX), Y11 // 1-B2
	VBROADCASTSS 16(DX), Y12 // LR
	VBROADCASTSS 20(DX), Y13 // Eps
	VBROADCASTSS 24(DX), Y14 // L2
loop:
	CMPQ CX, $8
	JLT done
	VMOVUPS (DI), Y0         // p
	VMULPS Y0, Y14, Y1       // L2·p
	VADDPS (SI), Y1, Y1      // gi = g + L2·p
	VMULPS (R8), Y8, Y2      // B1·m
	VMULPS Y1, Y9, Y3        // (1-B1)·gi
	VADDPS Y3, Y2, Y2        // m
	VMOVUPS Y2, (R8)
	VMULPS (R9), Y10, Y4     // B2·v
	VMULPS Y1, Y11, Y5       // (1-B2)·gi
	VMULPS Y1, Y5, Y5        // ·gi
	VADDPS Y5, Y4, Y4        // v
	VMOVUPS Y4, (R9)
	VSQRTPS Y4, Y6
	VADDPS Y13, Y6, Y6       // √v + Eps
	VMULPS Y2, Y12, Y7       // LR·m
	VDIVPS Y6, Y7, Y7
	VSUBPS Y7, Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	ADDQ $32, R8
	ADDQ $32, R9
	SUBQ $8, CX
	JMP loop
done:
	VZEROUPPER
	RET

// func maxAVX2(x *float32, n int) float32
// The largest of x[0:n]; n is a positive multiple of 8.
TEXT ·maxAVX2(SB), NOSPLIT, $0-20
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VMOVUPS (SI), Y0
	VMOVAPS Y0, Y1
	ADDQ $32, SI
	SUBQ $8, CX
mloop16:
	CMPQ CX, $16
	JLT mloop8
	VMAXPS (SI), Y0, Y0
	VMAXPS 32(SI), Y1, Y1
	ADDQ $64, SI
	SUBQ $16, CX
	JMP mloop16
mloop8:
	CMPQ CX, $8
	JLT mreduce
	VMAXPS (SI), Y0, Y0
	ADDQ $32, SI
	SUBQ $8, CX
	JMP mloop8
mreduce:
	VMAXPS Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0x4E, X0, X1
	VMAXPS X1, X0, X0
	VPERMILPS $0xB1, X0, X1
	VMAXPS X1, X0, X0
	VZEROUPPER
	MOVSS X0, ret+16(FP)
	RET

// func scaleAVX2(alpha float32, x *float32, n int)
// x[i] *= alpha for i < n; n is a multiple of 8.
TEXT ·scaleAVX2(SB), NOSPLIT, $0-24
	VBROADCASTSS alpha+0(FP), Y0
	MOVQ x+8(FP), SI
	MOVQ n+16(FP), CX
sloop32:
	CMPQ CX, $32
	JLT sloop8
	VMULPS (SI), Y0, Y1
	VMULPS 32(SI), Y0, Y2
	VMULPS 64(SI), Y0, Y3
	VMULPS 96(SI), Y0, Y4
	VMOVUPS Y1, (SI)
	VMOVUPS Y2, 32(SI)
	VMOVUPS Y3, 64(SI)
	VMOVUPS Y4, 96(SI)
	ADDQ $128, SI
	SUBQ $32, CX
	JMP sloop32
sloop8:
	CMPQ CX, $8
	JLT sdone
	VMULPS (SI), Y0, Y1
	VMOVUPS Y1, (SI)
	ADDQ $32, SI
	SUBQ $8, CX
	JMP sloop8
sdone:
	VZEROUPPER
	RET

// func dotFMA(x, y *float32, n int) float32
// Σ x[i]·y[i] for i < n, n a multiple of 8: four 8-wide FMA accumulators
// over 32 elements a step, then 8 a step, then a horizontal sum.
TEXT ·dotFMA(SB), NOSPLIT, $0-28
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
dot32:
	CMPQ CX, $32
	JLT dot8
	VMOVUPS (SI), Y4
	VMOVUPS 32(SI), Y5
	VMOVUPS 64(SI), Y6
	VMOVUPS 96(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP dot32
dot8:
	CMPQ CX, $8
	JLT dotsum
	VMOVUPS (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP dot8
dotsum:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VMOVHLPS X0, X1, X1
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func reluAVX2(x *float32, n int)
// x[i] = max(0, x[i]) for i < n, n a multiple of 8. VMAXPS returns its
// second source (x) when x is NaN and when 0 > x is false, so NaN and -0
// stay, as with the comparison x < 0.
TEXT ·reluAVX2(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	VXORPS Y0, Y0, Y0
rloop32:
	CMPQ CX, $32
	JLT rloop8
	VMAXPS (SI), Y0, Y1
	VMAXPS 32(SI), Y0, Y2
	VMAXPS 64(SI), Y0, Y3
	VMAXPS 96(SI), Y0, Y4
	VMOVUPS Y1, (SI)
	VMOVUPS Y2, 32(SI)
	VMOVUPS Y3, 64(SI)
	VMOVUPS Y4, 96(SI)
	ADDQ $128, SI
	SUBQ $32, CX
	JMP rloop32
rloop8:
	CMPQ CX, $8
	JLT rdone
	VMAXPS (SI), Y0, Y1
	VMOVUPS Y1, (SI)
	ADDQ $32, SI
	SUBQ $8, CX
	JMP rloop8
rdone:
	VZEROUPPER
	RET

// func dotBlock8FMA(q *float32, block *float32, n int, dst *float32)
// dst[l] = Σ_j q[j]·block[j·8+l] for l < 8, j < n (n ≥ 1): eight dot
// products at once over vectors stored lane by lane. Four accumulators
// (j mod 4) keep the FMAs' latency hidden; they are summed at the end.
TEXT ·dotBlock8FMA(SB), NOSPLIT, $0-32
	MOVQ q+0(FP), SI
	MOVQ block+8(FP), DI
	MOVQ n+16(FP), CX
	MOVQ dst+24(FP), DX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
b8loop4:
	CMPQ CX, $4
	JLT b8loop1
	VBROADCASTSS (SI), Y4
	VBROADCASTSS 4(SI), Y5
	VBROADCASTSS 8(SI), Y6
	VBROADCASTSS 12(SI), Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $16, SI
	ADDQ $128, DI
	SUBQ $4, CX
	JMP b8loop4
b8loop1:
	CMPQ CX, $1
	JLT b8sum
	VBROADCASTSS (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $4, SI
	ADDQ $32, DI
	SUBQ $1, CX
	JMP b8loop1
b8sum:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET
