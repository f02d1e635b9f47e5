#include "textflag.h"

// func dotF32NEON16(a, b *float32, n int, acc *[16]float32)
TEXT ·dotF32NEON16(SB), NOSPLIT, $0-32
	MOVD a+0(FP), R0
	MOVD b+8(FP), R1
	MOVD n+16(FP), R2
	MOVD acc+24(FP), R3
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16

loop:
	CBZ  R2, done
	VLD1.P 64(R0), [V4.S4, V5.S4, V6.S4, V7.S4]
	VLD1.P 64(R1), [V8.S4, V9.S4, V10.S4, V11.S4]
	VFMLA V4.S4, V8.S4, V0.S4
	VFMLA V5.S4, V9.S4, V1.S4
	VFMLA V6.S4, V10.S4, V2.S4
	VFMLA V7.S4, V11.S4, V3.S4
	SUB  $16, R2, R2
	B    loop

done:
	VST1 [V0.S4, V1.S4, V2.S4, V3.S4], (R3)
	RET

// func dotsI16I8NEON(q *int16, slab *int8, dims int, out *int32, n int)
// out[v] = q . slab[v*dims:(v+1)*dims] for every v < n; dims is a positive multiple of 16.
// Go's assembler has no signed widening instructions, so SXTL and SMLAL are written as WORDs
// (encodings checked with binutils' aarch64 objdump; the instruction is in each comment).
TEXT ·dotsI16I8NEON(SB), NOSPLIT, $0-40
	MOVD q+0(FP), R0
	MOVD slab+8(FP), R1
	MOVD dims+16(FP), R2
	MOVD out+24(FP), R3
	MOVD n+32(FP), R4

vec:
	CBZ  R4, vdone
	MOVD R0, R5
	MOVD R2, R6
	VEOR V0.B16, V0.B16, V0.B16
	VEOR V1.B16, V1.B16, V1.B16
	VEOR V2.B16, V2.B16, V2.B16
	VEOR V3.B16, V3.B16, V3.B16

inner:
	VLD1.P 16(R1), [V6.B16]
	VLD1.P 32(R5), [V16.H8, V17.H8]
	WORD $0x0f08a4c4 // SXTL   V4.8H, V6.8B
	WORD $0x4f08a4c5 // SXTL2  V5.8H, V6.16B
	WORD $0x0e648200 // SMLAL  V0.4S, V16.4H, V4.4H
	WORD $0x4e648201 // SMLAL2 V1.4S, V16.8H, V4.8H
	WORD $0x0e658222 // SMLAL  V2.4S, V17.4H, V5.4H
	WORD $0x4e658223 // SMLAL2 V3.4S, V17.8H, V5.8H
	SUBS $16, R6, R6
	BNE  inner

	VADD  V1.S4, V0.S4, V0.S4
	VADD  V3.S4, V2.S4, V2.S4
	VADD  V2.S4, V0.S4, V0.S4
	VADDV V0.S4, V0
	VMOV  V0.S[0], R7
	MOVW.P R7, 4(R3)
	SUB   $1, R4, R4
	B     vec

vdone:
	RET
