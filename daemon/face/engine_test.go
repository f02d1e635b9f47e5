package face

import (
	"errors"
	"image"
	"sync"
	"testing"

	"github.com/edgeid/edgeid/daemon/match"
	"github.com/edgeid/edgeid/models"
	"gocv.io/x/gocv"
)

// newTestEngine loads the models shipped in the repository's models/ folder.
func newTestEngine(t testing.TB) *Engine {
	t.Helper()
	o := DefaultOpts()
	o.ModelDir = "../../models"
	e, err := New(&o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func decodeTestdata(t testing.TB, name string) gocv.Mat {
	t.Helper()
	img, _, err := Decode(readTestdata(t, name), DefaultLimits(), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { img.Close() })
	return img
}

// calibratedThreshold is the default decision threshold from the built-in manifest.
func calibratedThreshold(t testing.TB) float64 {
	t.Helper()
	man, err := models.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	rec, err := man.Get(RecognizerModel)
	if err != nil {
		t.Fatal(err)
	}
	th, ok := rec.Thresholds["far_1e-3"]
	if !ok {
		t.Fatal("manifest has no far_1e-3 threshold")
	}
	return th
}

func TestNewRefusesBadOptions(t *testing.T) {
	o := DefaultOpts()
	o.ModelDir = t.TempDir()
	if _, err := New(&o); err == nil {
		t.Error("New with an empty model folder succeeded")
	}
	o.ModelDir = "../../models"
	o.DetectScore = 1.5
	if _, err := New(&o); err == nil {
		t.Error("New with detect score 1.5 succeeded")
	}
	o = DefaultOpts()
	o.ModelDir = "../../models"
	o.Gates.MaxBrightness = 10
	if _, err := New(&o); err == nil {
		t.Error("New with max brightness below min brightness succeeded")
	}
}

func TestDetectLandmarks(t *testing.T) {
	e := newTestEngine(t)
	faces, err := e.Detect(decodeTestdata(t, "astronaut.png"))
	if err != nil {
		t.Fatal(err)
	}
	if len(faces) != 1 {
		t.Fatalf("got %d faces, want 1", len(faces))
	}
	f := faces[0]
	lm := f.Landmarks
	// The subject's right eye appears left in the image; eyes above nose above mouth.
	if !(lm[RightEye].X < lm[LeftEye].X && lm[RightMouth].X < lm[LeftMouth].X) {
		t.Errorf("landmark order: %+v", lm)
	}
	if !(lm[RightEye].Y < lm[NoseTip].Y && lm[NoseTip].Y < lm[RightMouth].Y) {
		t.Errorf("landmark heights: %+v", lm)
	}
	for _, p := range lm {
		if p.X < f.X || p.X > f.X+f.W || p.Y < f.Y || p.Y > f.Y+f.H {
			t.Errorf("landmark %+v outside the box %+v", p, f)
		}
	}
}

func TestDetectSmallImageIsPadded(t *testing.T) {
	// A face that fills a small image is only found with the border added (models README).
	e := newTestEngine(t)
	img := decodeTestdata(t, "astronaut.png")
	crop := img.Region(image.Rect(150, 30, 300, 200))
	defer crop.Close()
	small := gocv.NewMat()
	defer small.Close()
	gocv.Resize(crop, &small, image.Pt(92, 104), 0, 0, gocv.InterpolationArea)
	faces, err := e.Detect(small)
	if err != nil {
		t.Fatal(err)
	}
	if len(faces) != 1 {
		t.Fatalf("got %d faces in the 92x104 crop, want 1", len(faces))
	}
}

func TestDetectScalesLargeImages(t *testing.T) {
	e := newTestEngine(t)
	img := decodeTestdata(t, "astronaut.png")
	big := gocv.NewMat()
	defer big.Close()
	gocv.Resize(img, &big, image.Pt(2048, 2048), 0, 0, gocv.InterpolationLinear)
	small, err := e.Detect(img)
	if err != nil {
		t.Fatal(err)
	}
	large, err := e.Detect(big)
	if err != nil {
		t.Fatal(err)
	}
	if len(small) != 1 || len(large) != 1 {
		t.Fatalf("faces: %d at 512, %d at 2048; want 1 and 1", len(small), len(large))
	}
	// Coordinates come back in source pixels: 4x the 512 ones, within a few pixels.
	if d := large[0].Landmarks[NoseTip].X - 4*small[0].Landmarks[NoseTip].X; d > 12 || d < -12 {
		t.Errorf("nose at %.1f in the 2048 image, want about %.1f", large[0].Landmarks[NoseTip].X, 4*small[0].Landmarks[NoseTip].X)
	}
}

func TestDetectRejectsTinyAndWrongImages(t *testing.T) {
	e := newTestEngine(t)
	tiny := gocv.NewMatWithSize(8, 8, gocv.MatTypeCV8UC3)
	defer tiny.Close()
	if _, err := e.Detect(tiny); err == nil {
		t.Error("8x8 image accepted")
	}
	grey := gocv.NewMatWithSize(100, 100, gocv.MatTypeCV8U)
	defer grey.Close()
	if _, err := e.Detect(grey); err == nil {
		t.Error("single-channel image accepted")
	}
}

func TestAnalyzeNoFace(t *testing.T) {
	e := newTestEngine(t)
	blank := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(128, 128, 128, 0), 240, 320, gocv.MatTypeCV8UC3)
	defer blank.Close()
	if _, err := e.Analyze(blank, true); !errors.Is(err, ErrNoFace) {
		t.Errorf("Analyze(blank): %v, want ErrNoFace", err)
	}
}

func analyzeTemplate(t *testing.T, e *Engine, img gocv.Mat) match.Template {
	t.Helper()
	a, err := e.Analyze(img, true)
	if err != nil {
		t.Fatal(err)
	}
	return a.Template
}

func TestCompareSameAndDifferentPeople(t *testing.T) {
	e := newTestEngine(t)
	th := calibratedThreshold(t)
	accept, reject := e.Thresholds()
	if !(accept < reject) {
		t.Fatalf("shipped thresholds accept %v, reject %v", accept, reject)
	}
	astro := analyzeTemplate(t, e, decodeTestdata(t, "astronaut.png"))
	if astro.Model != RecognizerModel || len(astro.Vector) != 128 || len(astro.Aux) != 1 || astro.Aux[0].Model != FaceResModel || len(astro.Aux[0].Vector) != 1024 {
		t.Fatalf("template of %q, %d+%d dims", astro.ModelSet(), len(astro.Vector), len(astro.Aux))
	}
	for _, name := range []string{"astronaut-shifted.jpg", "astronaut-320.jp2", "astronaut-320.pgm"} {
		other := analyzeTemplate(t, e, decodeTestdata(t, name))
		d, err := match.Distance(astro, other)
		if err != nil {
			t.Fatal(err)
		}
		if d > th {
			t.Errorf("astronaut vs %s: distance %.4f above threshold %.4f", name, d, th)
		}
		if f, err := e.Compare(astro, other); err != nil || f > accept {
			t.Errorf("astronaut vs %s: fused distance %.4f (%v), accept at or below %.4f", name, f, err, accept)
		}
	}
	// The cameraman fails the pose gate; without gates he is still a different person.
	cam := decodeTestdata(t, "camera.png")
	if _, err := e.Analyze(cam, true); !hasProblem(err, ProblemPose) {
		t.Errorf("camera.png with gates: %v, want %s", err, ProblemPose)
	}
	a, err := e.Analyze(cam, false)
	if err != nil {
		t.Fatal(err)
	}
	d, err := match.Distance(astro, a.Template)
	if err != nil {
		t.Fatal(err)
	}
	if d <= th {
		t.Errorf("astronaut vs cameraman: distance %.4f at or below threshold %.4f", d, th)
	}
	if f, err := e.Compare(astro, a.Template); err != nil || f <= reject {
		t.Errorf("astronaut vs cameraman: fused distance %.4f (%v), want above reject %.4f", f, err, reject)
	}
	// Never across model sets: a dlib-only template (an older release's) is refused.
	if _, err := e.Compare(astro, match.Template{Model: astro.Model, Vector: astro.Vector}); !errors.Is(err, match.ErrModelMismatch) {
		t.Errorf("against a dlib-only template: %v, want ErrModelMismatch", err)
	}
}

func hasProblem(err error, code string) bool {
	var qe *QualityError
	if !errors.As(err, &qe) {
		return false
	}
	for _, p := range qe.Problems {
		if p.Code == code {
			return true
		}
	}
	return false
}

func TestQualityGates(t *testing.T) {
	e := newTestEngine(t)
	astro := decodeTestdata(t, "astronaut.png")

	twice := gocv.NewMat()
	defer twice.Close()
	gocv.Hconcat(astro, astro, &twice)

	blurred := gocv.NewMat()
	defer blurred.Close()
	gocv.GaussianBlur(astro, &blurred, image.Pt(0, 0), 6, 6, gocv.BorderReplicate)

	dark := gocv.NewMat()
	defer dark.Close()
	astro.ConvertToWithParams(&dark, gocv.MatTypeCV8UC3, 0.12, 0)

	bright := gocv.NewMat()
	defer bright.Close()
	astro.ConvertToWithParams(&bright, gocv.MatTypeCV8UC3, 1, 120)

	small := gocv.NewMat()
	defer small.Close()
	gocv.Resize(astro, &small, image.Pt(160, 160), 0, 0, gocv.InterpolationArea)

	tests := []struct {
		name string
		img  gocv.Mat
		want string
	}{
		{"two faces", twice, ProblemSeveralFaces},
		{"blurred", blurred, ProblemBlur},
		{"dark", dark, ProblemDark},
		{"bright", bright, ProblemBright},
		{"small", small, ProblemTooSmall},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.Analyze(tt.img, true)
			if !hasProblem(err, tt.want) {
				t.Fatalf("Analyze: %v, want problem %s", err, tt.want)
			}
		})
	}
	// The untouched image passes every gate.
	if a, err := e.Analyze(astro, true); err != nil || len(a.Quality.Problems) != 0 {
		t.Errorf("astronaut.png: %v, problems %v", err, a.Quality.Problems)
	}
}

func TestEngineConcurrentUse(t *testing.T) {
	e := newTestEngine(t)
	img := decodeTestdata(t, "astronaut.png")
	want := analyzeTemplate(t, e, img)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := e.Analyze(img, true)
			if err != nil {
				errs <- err
				return
			}
			if d, _ := match.Distance(a.Template, want); d > 1e-4 {
				errs <- errors.New("concurrent analysis gave a different template")
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
