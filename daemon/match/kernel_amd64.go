package match

import "golang.org/x/sys/cpu"

//go:noescape
func dotF32AVX2(a, b []float32) float32

//go:noescape
func dotI8AVX2(a, b []int8) int32

// bestKernels returns the AVX2+FMA kernels where the CPU has them.
func bestKernels() kernels {
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		return kernels{name: "avx2", f32: dotF32AVX2, i8: dotI8AVX2}
	}
	return portableKernels
}
