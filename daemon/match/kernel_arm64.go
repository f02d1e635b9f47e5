package match

// dotF32NEON16 accumulates a[i]*b[i] for i < n (n a multiple of 16) into four 4-lane sums,
// stored in acc. The horizontal sum and the tail are left to Go.
//
//go:noescape
func dotF32NEON16(a, b *float32, n int, acc *[16]float32)

func dotF32NEON(a, b []float32) float32 {
	n := len(a) &^ 15
	var s float32
	if n > 0 {
		var acc [16]float32
		dotF32NEON16(&a[0], &b[0], n, &acc)
		for _, v := range acc {
			s += v
		}
	}
	b = b[:len(a)]
	for i := n; i < len(a); i++ {
		s += a[i] * b[i]
	}
	return s
}

// bestKernels uses NEON for float32 (every arm64 core has it); the int8 scan stays portable Go
// until an arm64 int8 kernel is written.
func bestKernels() kernels {
	return kernels{name: "neon", f32: dotF32NEON, dots: dotsGo}
}
