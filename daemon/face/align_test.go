package face

import (
	"math"
	"testing"
)

func TestEstimateSimilarityRecoversTransform(t *testing.T) {
	want := Similarity{A: 1.3 * math.Cos(0.4), B: 1.3 * math.Sin(0.4), TX: -12, TY: 40}
	var src, dst []Point
	for _, p := range chipTemplate {
		src = append(src, p)
		dst = append(dst, want.Apply(p))
	}
	got, err := estimateSimilarity(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []float64{got.A - want.A, got.B - want.B, got.TX - want.TX, got.TY - want.TY} {
		if math.Abs(d) > 1e-9 {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	}
	if s := got.Scale(); math.Abs(s-1.3) > 1e-9 {
		t.Errorf("Scale = %v, want 1.3", s)
	}
}

func TestEstimateSimilarityLeastSquares(t *testing.T) {
	// Noise on the target points: the fit must not be worse than the true transform.
	truth := Similarity{A: 2, B: 0, TX: 5, TY: 5}
	noise := []Point{{0.5, -0.3}, {-0.4, 0.2}, {0.1, 0.6}, {-0.3, -0.2}, {0.1, -0.3}}
	var src, dst []Point
	for i, p := range chipTemplate {
		q := truth.Apply(p)
		src = append(src, p)
		dst = append(dst, Point{q.X + noise[i].X, q.Y + noise[i].Y})
	}
	fit, err := estimateSimilarity(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	sse := func(m Similarity) (s float64) {
		for i := range src {
			q := m.Apply(src[i])
			s += (q.X-dst[i].X)*(q.X-dst[i].X) + (q.Y-dst[i].Y)*(q.Y-dst[i].Y)
		}
		return s
	}
	if sse(fit) > sse(truth) {
		t.Errorf("fit error %v exceeds the true transform's %v", sse(fit), sse(truth))
	}
}

func TestEstimateSimilarityDegenerate(t *testing.T) {
	same := []Point{{3, 3}, {3, 3}, {3, 3}}
	if _, err := estimateSimilarity(same, same); err == nil {
		t.Error("coincident landmarks accepted")
	}
	if _, err := estimateSimilarity([]Point{{0, 0}}, []Point{{1, 1}}); err == nil {
		t.Error("a single pair accepted")
	}
	nan := []Point{{math.NaN(), 0}, {1, 1}}
	if _, err := estimateSimilarity(nan, nan); err == nil {
		t.Error("NaN landmarks accepted")
	}
}

func TestEstimatePose(t *testing.T) {
	frontal := chipTemplate
	yaw, pitch, roll, eyes := estimatePose(frontal)
	if math.Abs(yaw) > 0.5 || math.Abs(pitch) > 0.5 || math.Abs(roll) > 0.5 {
		t.Errorf("frontal template: yaw %.2f pitch %.2f roll %.2f, want about 0", yaw, pitch, roll)
	}
	if math.Abs(eyes-52.9269) > 1e-3 {
		t.Errorf("eye distance %v, want 52.9269", eyes)
	}
	// Rotating the whole face in the image plane changes roll only.
	rot := Similarity{A: math.Cos(0.3), B: math.Sin(0.3)}
	var tilted [5]Point
	for i, p := range frontal {
		tilted[i] = rot.Apply(p)
	}
	yaw, pitch, roll, _ = estimatePose(tilted)
	if math.Abs(roll-0.3*180/math.Pi) > 0.01 || math.Abs(yaw) > 0.5 || math.Abs(pitch) > 0.5 {
		t.Errorf("tilted face: yaw %.2f pitch %.2f roll %.2f, want 0, 0, 17.19", yaw, pitch, roll)
	}
	// Moving the nose towards the image's right reads as a positive yaw.
	turned := frontal
	turned[NoseTip].X += 15
	if yaw, _, _, _ = estimatePose(turned); yaw < 20 {
		t.Errorf("nose shifted 15 px: yaw %.1f, want > 20", yaw)
	}
}

func TestChipStats(t *testing.T) {
	flat := make([]byte, ChipSize*ChipSize)
	for i := range flat {
		flat[i] = 100
	}
	s, b, c := chipStats(flat, ChipSize, ChipSize)
	if s != 0 || b != 100 || c != 0 {
		t.Errorf("flat grey: sharpness %v brightness %v clipped %v, want 0, 100, 0", s, b, c)
	}
	checker := make([]byte, ChipSize*ChipSize)
	for y := 0; y < ChipSize; y++ {
		for x := 0; x < ChipSize; x++ {
			if (x+y)%2 == 0 {
				checker[y*ChipSize+x] = 255
			}
		}
	}
	s, _, c = chipStats(checker, ChipSize, ChipSize)
	if s < 1e5 || c != 1 {
		t.Errorf("checkerboard: sharpness %v clipped %v, want > 1e5 and 1", s, c)
	}
	if s, _, _ := chipStats(flat[:10], 3, 3); s != 0 {
		t.Error("short buffer not handled")
	}
}
