package match

// Dot-product kernels for the gallery scan. Each architecture file picks the fastest kernel the
// CPU supports (assembly on amd64 and arm64) and falls back to the portable Go below, which the
// tests use as the reference. Callers pass slices of equal length.

// dotF32Go is the portable float32 dot product: four independent sums, so that the loop is
// not one long dependency chain.
func dotF32Go(a, b []float32) float32 {
	b = b[:len(a)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(a); i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < len(a); i++ {
		s0 += a[i] * b[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// dotI16I8Go is the int8 dot product with the query already widened to int16, which the scan
// does once per search instead of once per gallery vector. Inputs are quantised to
// [-127, 127], so even 4096 dimensions cannot overflow (4096 * 127 * 127 < 2^31).
func dotI16I8Go(q []int16, g []int8) int32 {
	g = g[:len(q)]
	var s0, s1, s2, s3 int32
	i := 0
	for ; i+4 <= len(q); i += 4 {
		s0 += int32(q[i]) * int32(g[i])
		s1 += int32(q[i+1]) * int32(g[i+1])
		s2 += int32(q[i+2]) * int32(g[i+2])
		s3 += int32(q[i+3]) * int32(g[i+3])
	}
	for ; i < len(q); i++ {
		s0 += int32(q[i]) * int32(g[i])
	}
	return s0 + s1 + s2 + s3
}

// dotsWith fills out[v] with the dot product of q and the v-th vector of slab.
func dotsWith(dot func(q []int16, g []int8) int32, q []int16, slab []int8, out []int32) {
	d := len(q)
	for v := range out {
		out[v] = dot(q, slab[v*d:(v+1)*d])
	}
}

func dotsGo(q []int16, slab []int8, out []int32) { dotsWith(dotI16I8Go, q, slab, out) }

// kernels are the dot products a gallery uses.
type kernels struct {
	name string
	f32  func(a, b []float32) float32
	// dots scans a block of int8 vectors against a widened query in one call.
	dots func(q []int16, slab []int8, out []int32)
}

var portableKernels = kernels{name: "go", f32: dotF32Go, dots: dotsGo}
