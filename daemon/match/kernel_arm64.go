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

// dotsI16I8NEON fills out[v] for v < n with the dot product of q and the v-th int8 vector of
// slab; dims is a positive multiple of 16.
//
//go:noescape
func dotsI16I8NEON(q *int16, slab *int8, dims int, out *int32, n int)

// dotsNEON uses the block kernel where the dimension allows, the portable loop otherwise.
func dotsNEON(q []int16, slab []int8, out []int32) {
	d := len(q)
	if d%16 != 0 || d == 0 || len(out) == 0 {
		dotsGo(q, slab, out) // not the model's 128; rare enough for the portable loop
		return
	}
	_ = slab[len(out)*d-1] // the kernel reads len(out) vectors
	dotsI16I8NEON(&q[0], &slab[0], d, &out[0], len(out))
}

// bestKernels uses NEON, which every arm64 core has (ARMv8.0: no dot-product extension needed).
func bestKernels() kernels {
	return kernels{name: "neon", f32: dotF32NEON, dots: dotsNEON}
}
