//go:build amd64 && !purego

#include "textflag.h"

// func expSubAVX512(x *float32, n int, m float32, consts *float32, acc *float32)
// For n blocks of 16 floats: x = e^(x-m) (inputs below m-87 give ~0, -Inf
// gives exactly 0 through the mask), and acc[0:16] = lane sums.
TEXT ·expSubAVX512(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ consts+24(FP), DX
	MOVQ acc+32(FP), DI
	VBROADCASTSS m+16(FP), Z0
	VBROADCASTSS 0(DX), Z1   // -87
	VBROADCASTSS 4(DX), Z2   // log2e
	VBROADCASTSS 8(DX), Z3   // ln2hi
	VBROADCASTSS 12(DX), Z4  // ln2lo
	VBROADCASTSS 16(DX), Z5  // 1/720
	VBROADCASTSS 20(DX), Z6  // 1/120
	VBROADCASTSS 24(DX), Z7  // 1/24
	VBROADCASTSS 28(DX), Z8  // 1/6
	VBROADCASTSS 32(DX), Z9  // 1/2
	VBROADCASTSS 36(DX), Z10 // 1
	VPXORD Z11, Z11, Z11     // lane sums
	MOVL $127, AX
	VPBROADCASTD AX, Z12
	TESTQ CX, CX
	JZ done
loop:
	VMOVUPS (SI), Z13
	VSUBPS Z0, Z13, Z13      // v = x - m
	VCMPPS $0x1d, Z1, Z13, K1 // K1 = v >= -87 (GE_OQ)
	VMAXPS Z1, Z13, Z13      // clamp
	VMULPS Z2, Z13, Z14      // v·log2e
	VRNDSCALEPS $0, Z14, Z14 // round to nearest
	VCVTPS2DQ Z14, Z15       // n
	VMOVAPS Z13, Z16
	VFNMADD231PS Z3, Z14, Z16 // r = v - n·ln2hi
	VFNMADD231PS Z4, Z14, Z16 // r -= n·ln2lo
	VMOVAPS Z5, Z17          // p = 1/720
	VFMADD213PS Z6, Z16, Z17 // p = p·r + 1/120
	VFMADD213PS Z7, Z16, Z17
	VFMADD213PS Z8, Z16, Z17
	VFMADD213PS Z9, Z16, Z17
	VFMADD213PS Z10, Z16, Z17
	VFMADD213PS Z10, Z16, Z17 // p = p·r + 1
	VPADDD Z12, Z15, Z15
	VPSLLD $23, Z15, Z15     // 2^n
	VMULPS Z15, Z17, Z17
	VMOVAPS.Z Z17, K1, Z17   // zero lanes below -87 (and -Inf)
	VMOVUPS Z17, (SI)
	VADDPS Z17, Z11, Z11
	ADDQ $64, SI
	DECQ CX
	JNZ loop
done:
	VMOVUPS Z11, (DI)
	VZEROUPPER
	RET
