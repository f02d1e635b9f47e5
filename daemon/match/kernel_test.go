package match

import (
	"math"
	"math/rand/v2"
	"testing"
)

// The architecture's kernels must agree with the portable Go on every length (the SIMD body,
// its tail and the scalar tail) and on hostile values.

func TestKernelsAgreeWithPortable(t *testing.T) {
	k := bestKernels()
	t.Logf("kernels: %s", k.name)
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 0; n <= 300; n++ {
		a, b := make([]float32, n), make([]float32, n)
		a8, b8 := make([]int8, n), make([]int8, n)
		var mag float64
		for i := range a {
			a[i], b[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
			a8[i], b8[i] = int8(rng.IntN(256)-128), int8(rng.IntN(256)-128)
			mag += math.Abs(float64(a[i] * b[i]))
		}
		got, want := k.f32(a, b), dotF32Go(a, b)
		if math.Abs(float64(got-want)) > 1e-5*mag+1e-6 {
			t.Errorf("n=%d: f32 kernel %v, portable %v", n, got, want)
		}
		if got, want := k.i8(a8, b8), dotI8Go(a8, b8); got != want {
			t.Errorf("n=%d: i8 kernel %d, portable %d", n, got, want)
		}
		a16 := make([]int16, n)
		for i, v := range a8 {
			a16[i] = int16(v)
		}
		if got, want := k.i16i8(a16, b8), dotI8Go(a8, b8); got != want || dotI16I8Go(a16, b8) != want {
			t.Errorf("n=%d: i16i8 kernel %d, portable %d, want %d", n, got, dotI16I8Go(a16, b8), want)
		}
		// The block kernel over three vectors of this length.
		slab := make([]int8, 3*n)
		for i := range slab {
			slab[i] = int8(rng.IntN(256) - 128)
		}
		got3, want3 := make([]int32, 3), make([]int32, 3)
		k.dots(a16, slab, got3)
		dotsGo(a16, slab, want3)
		for v := range got3 {
			if got3[v] != want3[v] {
				t.Errorf("n=%d: block kernel vector %d: %d, portable %d", n, v, got3[v], want3[v])
			}
		}
	}
}

func TestKernelsAdversarial(t *testing.T) {
	k := bestKernels()
	inf, nan := float32(math.Inf(1)), float32(math.NaN())
	fill := func(n int, v float32) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = v
		}
		return s
	}
	tests := []struct {
		name string
		a, b []float32
	}{
		{"zeros", fill(128, 0), fill(128, 0)},
		{"nan in body", append(fill(40, 1), nan), fill(41, 1)},
		{"nan in tail", append(fill(64, 1), 1, 1, nan), fill(67, 1)},
		{"inf", append(fill(31, 1), inf), fill(32, 2)},
		{"inf minus inf", []float32{inf, 1, 1, 1, 1, 1, 1, 1, -inf}, fill(9, 1)},
		{"large", fill(129, 1e18), fill(129, 1e18)},
		{"tiny", fill(33, 1e-30), fill(33, 1e-30)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, want := k.f32(tt.a, tt.b), dotF32Go(tt.a, tt.b)
			switch {
			case math.IsNaN(float64(want)):
				if !math.IsNaN(float64(got)) {
					t.Errorf("kernel %v, portable NaN", got)
				}
			case math.IsInf(float64(want), 0):
				if got != want {
					t.Errorf("kernel %v, portable %v", got, want)
				}
			default:
				if math.Abs(float64(got-want)) > 1e-5*math.Abs(float64(want))+1e-30 {
					t.Errorf("kernel %v, portable %v", got, want)
				}
			}
		})
	}
	// int8 extremes: every product at its maximum must not overflow.
	a8, b8 := make([]int8, 4096), make([]int8, 4096)
	for i := range a8 {
		a8[i], b8[i] = -128, -128
	}
	if got, want := k.i8(a8, b8), int32(4096*128*128); got != want || dotI8Go(a8, b8) != want {
		t.Errorf("i8 extremes: kernel %d, portable %d, want %d", got, dotI8Go(a8, b8), want)
	}
	a16 := make([]int16, len(a8))
	for i := range a16 {
		a16[i] = -128
	}
	if got, want := k.i16i8(a16, b8), int32(4096*128*128); got != want {
		t.Errorf("i16i8 extremes: kernel %d, want %d", got, want)
	}
}

func BenchmarkKernels(b *testing.B) {
	k := bestKernels()
	a, c := make([]float32, 128), make([]float32, 128)
	a8, c8 := make([]int8, 128), make([]int8, 128)
	for i := range a {
		a[i], c[i] = float32(i), float32(128-i)
		a8[i], c8[i] = int8(i), int8(-i)
	}
	var sink float32
	var sink8 int32
	b.Run("f32_"+k.name, func(b *testing.B) {
		for b.Loop() {
			sink += k.f32(a, c)
		}
	})
	b.Run("f32_go", func(b *testing.B) {
		for b.Loop() {
			sink += dotF32Go(a, c)
		}
	})
	b.Run("i8_"+k.name, func(b *testing.B) {
		for b.Loop() {
			sink8 += k.i8(a8, c8)
		}
	})
	b.Run("i8_go", func(b *testing.B) {
		for b.Loop() {
			sink8 += dotI8Go(a8, c8)
		}
	})
	_, _ = sink, sink8
}
