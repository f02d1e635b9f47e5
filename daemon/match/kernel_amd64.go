package match

import "golang.org/x/sys/cpu"

//go:noescape
func dotF32AVX2(a, b []float32) float32

//go:noescape
func dotsI16I8AVX2(q []int16, slab []int8, dims int, out []int32)

// dotsAVX2 uses the block kernel where the dimension allows, the per-vector one otherwise.
func dotsAVX2(q []int16, slab []int8, out []int32) {
	d := len(q)
	if d%16 != 0 || d == 0 {
		dotsGo(q, slab, out) // not the model's 128; rare enough for the portable loop
		return
	}
	_ = slab[len(out)*d-1] // the kernel reads len(out) vectors
	dotsI16I8AVX2(q, slab, d, out)
}

// bestKernels returns the AVX2+FMA kernels where the CPU has them.
func bestKernels() kernels {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		return kernels{name: "avx2", f32: dotF32AVX2, dots: dotsAVX2}
	}
	return portableKernels
}
