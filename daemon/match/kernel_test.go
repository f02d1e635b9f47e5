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
		a16 := make([]int16, n)
		var mag float64
		for i := range a {
			a[i], b[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
			a16[i] = int16(rng.IntN(256) - 128)
			mag += math.Abs(float64(a[i] * b[i]))
		}
		got, want := k.f32(a, b), dotF32Go(a, b)
		if math.Abs(float64(got-want)) > 1e-5*mag+1e-6 {
			t.Errorf("n=%d: f32 kernel %v, portable %v", n, got, want)
		}
		// The block kernel over three vectors of this length.
		slab := make([]int8, 3*n)
		for i := range slab {
			slab[i] = int8(rng.IntN(256) - 128)
		}
		got3, want3 := make([]int32, 3), make([]int32, 3)
		k.dots(a16, slab, got3)
		for v := range want3 {
			for i, q := range a16 { // the definition, term by term
				want3[v] += int32(q) * int32(slab[v*n+i])
			}
		}
		for v := range got3 {
			if got3[v] != want3[v] {
				t.Errorf("n=%d: block kernel vector %d: %d, want %d", n, v, got3[v], want3[v])
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
	q16, g8 := make([]int16, 4096), make([]int8, 4096)
	for i := range q16 {
		q16[i], g8[i] = -128, -128
	}
	out := make([]int32, 1)
	k.dots(q16, g8, out)
	if want := int32(4096 * 128 * 128); out[0] != want || dotI16I8Go(q16, g8) != want {
		t.Errorf("int8 extremes: kernel %d, portable %d, want %d", out[0], dotI16I8Go(q16, g8), want)
	}
}

func BenchmarkKernels(b *testing.B) {
	k := bestKernels()
	a, c := make([]float32, 128), make([]float32, 128)
	q := make([]int16, 128)
	slab := make([]int8, 256*128)
	for i := range a {
		a[i], c[i], q[i] = float32(i), float32(128-i), int16(i-64)
	}
	out := make([]int32, 256)
	var sink float32
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
	// 256 int8 vectors a call: ns/op divided by 256 is the cost of one.
	b.Run("i8x256_"+k.name, func(b *testing.B) {
		for b.Loop() {
			k.dots(q, slab, out)
		}
	})
	b.Run("i8x256_go", func(b *testing.B) {
		for b.Loop() {
			dotsGo(q, slab, out)
		}
	})
	_ = sink
}
