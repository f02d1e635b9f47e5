#include "textflag.h"

// func dotF32AVX2(a, b []float32) float32
// len(b) >= len(a). Four 8-lane FMA accumulators over 32 floats a step, then 8 at a time,
// then a scalar tail.
TEXT ·dotF32AVX2(SB), NOSPLIT, $0-52
	MOVQ a_base+0(FP), SI
	MOVQ a_len+8(FP), CX
	MOVQ b_base+24(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

f32loop32:
	CMPQ CX, $32
	JL   f32loop8
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
	JMP  f32loop32

f32loop8:
	CMPQ CX, $8
	JL   f32reduce
	VMOVUPS (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  f32loop8

f32reduce:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0

f32tail:
	TESTQ CX, CX
	JE    f32done
	VMOVSS (SI), X1
	VFMADD231SS (DI), X1, X0
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  f32tail

f32done:
	VZEROUPPER
	MOVSS X0, ret+48(FP)
	RET

// func dotsI16I8AVX2(q []int16, slab []int8, dims int, out []int32)
// out[v] = q . slab[v*dims:(v+1)*dims] for every v < len(out); dims is a multiple of 16 and
// len(q) == dims. One call scans a whole block of the gallery, so no call is paid per vector.
TEXT ·dotsI16I8AVX2(SB), NOSPLIT, $0-80
	MOVQ q_base+0(FP), R8
	MOVQ slab_base+24(FP), DI
	MOVQ dims+48(FP), R9
	MOVQ out_base+56(FP), R10
	MOVQ out_len+64(FP), R11

bvec:
	TESTQ R11, R11
	JE    bdone
	MOVQ  R8, SI
	MOVQ  R9, CX
	VPXOR Y0, Y0, Y0
	VPXOR Y1, Y1, Y1

binner:
	CMPQ CX, $32
	JL   binner16
	VPMOVSXBW (DI), Y2
	VPMADDWD (SI), Y2, Y2
	VPADDD Y2, Y0, Y0
	VPMOVSXBW 16(DI), Y3
	VPMADDWD 32(SI), Y3, Y3
	VPADDD Y3, Y1, Y1
	ADDQ $64, SI
	ADDQ $32, DI
	SUBQ $32, CX
	JMP  binner

binner16:
	CMPQ CX, $16
	JL   breduce
	VPMOVSXBW (DI), Y2
	VPMADDWD (SI), Y2, Y2
	VPADDD Y2, Y0, Y0
	ADDQ $16, DI

breduce:
	VPADDD Y1, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPADDD X1, X0, X0
	VPHADDD X0, X0, X0
	VPHADDD X0, X0, X0
	VMOVD X0, (R10)
	ADDQ $4, R10
	DECQ R11
	JMP  bvec

bdone:
	VZEROUPPER
	RET
