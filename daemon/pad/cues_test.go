package pad

import (
	"image"
	"image/color"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/face"
	"gocv.io/x/gocv"
)

// scene is a 640x480 BGR image with a soft blob where a face would be, and the face box.
func scene(t *testing.T) (gocv.Mat, face.Face) {
	t.Helper()
	img := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(96, 104, 110, 0), 480, 640, gocv.MatTypeCV8UC3)
	t.Cleanup(func() { img.Close() })
	f := face.Face{X: 260, Y: 160, W: 120, H: 150}
	gocv.Ellipse(&img, image.Pt(320, 235), image.Pt(58, 74), 0, 0, 360, color.RGBA{R: 190, G: 150, B: 130}, -1)
	gocv.GaussianBlur(img, &img, image.Pt(0, 0), 6, 6, gocv.BorderReplicate)
	return img, f
}

func TestBorderCueSides(t *testing.T) {
	img, f := scene(t)
	c := DefaultBorderCue()
	if v, err := c.Measure(img, f); err != nil || v != 0 {
		t.Fatalf("plain scene: %v %v", v, err)
	}
	// A phone's outline around the face: all four sides.
	framed := img.Clone()
	defer framed.Close()
	gocv.Rectangle(&framed, image.Rect(200, 80, 440, 400), color.RGBA{R: 10, G: 10, B: 12}, 6)
	sides, err := c.Sides(framed, f)
	if err != nil || SideNames(sides) != "left,right,top,bottom" {
		t.Fatalf("framed: %s %v", SideNames(sides), err)
	}
	if v, _ := c.Measure(framed, f); v != 1 {
		t.Errorf("framed: value %v, want 1", v)
	}
	// A doorway and a lintel around a head, nothing below the face: at most two sides count.
	door := img.Clone()
	defer door.Close()
	gocv.Line(&door, image.Pt(200, 20), image.Pt(200, 479), color.RGBA{R: 240, G: 240, B: 240}, 5)
	gocv.Line(&door, image.Pt(440, 20), image.Pt(440, 479), color.RGBA{R: 240, G: 240, B: 240}, 5)
	gocv.Line(&door, image.Pt(200, 100), image.Pt(440, 100), color.RGBA{R: 240, G: 240, B: 240}, 5)
	if v, _ := c.Measure(door, f); v != 0.5 {
		t.Errorf("doorway: value %v, want 0.5", v)
	}
	// A face too near the image's corner to look around is not measured.
	if _, err := c.Measure(img, face.Face{X: 630, Y: 470, W: 8, H: 8}); err == nil {
		t.Error("a face off the edge was measured")
	}
}

func TestMoireCueFindsAGrating(t *testing.T) {
	img, f := scene(t)
	c := DefaultMoireCue()
	plain, err := c.Measure(img, f)
	if err != nil {
		t.Fatal(err)
	}
	striped := img.Clone()
	defer striped.Close()
	whole := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(255, 0, 0, 0), striped.Rows(), striped.Cols(), gocv.MatTypeCV8UC1)
	defer whole.Close()
	moire(striped, whole)
	grating, err := c.Measure(striped, f)
	if err != nil {
		t.Fatal(err)
	}
	if plain >= DefaultMoireCheck().Threshold || grating < DefaultMoireCheck().Threshold {
		t.Errorf("peak ratio plain %.2f, with a grating %.2f; threshold %.1f", plain, grating, DefaultMoireCheck().Threshold)
	}
}

func TestGlareCueMeasuresTheWhitePatch(t *testing.T) {
	img, f := scene(t)
	c := DefaultGlareCue()
	if v, err := c.Measure(img, f); err != nil || v != 0 {
		t.Fatalf("no glare: %v %v", v, err)
	}
	gocv.Circle(&img, image.Pt(330, 220), 12, color.RGBA{R: 255, G: 255, B: 255}, -1)
	v, err := c.Measure(img, f)
	want := math.Pi * 12 * 12 / (f.W * f.H)
	if err != nil || math.Abs(v-want) > 0.2*want {
		t.Errorf("glare %.4f, want about %.4f (%v)", v, want, err)
	}
	// A saturated red patch is not glare: one channel is dark.
	red := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(0, 0, 255, 0), 480, 640, gocv.MatTypeCV8UC3)
	defer red.Close()
	if v, _ := c.Measure(red, f); v != 0 {
		t.Errorf("red counted as glare: %v", v)
	}
}

func TestCueCheckUsesTheMedian(t *testing.T) {
	c := DefaultBorderCheck()
	frames := func(vs ...float64) []Frame {
		var out []Frame
		for i, v := range vs {
			out = append(out, Frame{At: time.Unix(int64(i), 0), Cues: map[string]float64{NameBorder: v}})
		}
		return out
	}
	if s := c.Score(frames(0, 0, 1, 0, 0.25), Challenge{}); !s.Pass || s.Value != 0 {
		t.Errorf("one framed frame of five refused: %v", s)
	}
	if s := c.Score(frames(1, 0.75, 1, 0, 1), Challenge{}); s.Pass || !strings.Contains(s.Reason, "border surrounds the face") {
		t.Errorf("a mostly framed capture passed: %v", s)
	}
	if s := c.Score(frames(0, math.NaN()), Challenge{}); s.Pass || !strings.Contains(s.Reason, "measured on 1 frames, 3 needed") {
		t.Errorf("too few frames: %v", s)
	}
}

// The synthesised print and screen attacks carry the artefacts the cues look for.
func TestCuesOnRenderedAttacks(t *testing.T) {
	img, f := scene(t)
	crop := image.Rect(200, 80, 440, 400)
	still := img.Region(crop)
	defer still.Close()
	for _, tc := range []struct {
		kind   Attack
		mx, my int // the margin RenderAttack adds around the still
		cue    Cue
		min    float64
	}{
		{AttackPrint, crop.Dx() / 10, crop.Dx() / 10, DefaultBorderCue(), 0.75},
		{AttackScreen, crop.Dx() / 14, 2 * (crop.Dx() / 14), DefaultBorderCue(), 0.75},
		{AttackScreen, crop.Dx() / 14, 2 * (crop.Dx() / 14), DefaultMoireCue(), 10},
	} {
		r := RenderAttack(still, tc.kind, Pose{Scale: 0.55}, 640, 480)
		// Held square to the camera the object is only scaled about the canvas centre.
		ow, oh := float64(crop.Dx()+2*tc.mx), float64(crop.Dy()+2*tc.my)
		k := 0.55 * 480 / math.Max(ow, oh)
		fx, fy := f.X-float64(crop.Min.X)+float64(tc.mx), f.Y-float64(crop.Min.Y)+float64(tc.my)
		rf := face.Face{X: 320 + k*(fx-ow/2), Y: 240 + k*(fy-oh/2), W: k * f.W, H: k * f.H}
		v, err := tc.cue.Measure(r, rf)
		r.Close()
		if err != nil || v < tc.min {
			t.Errorf("%s: %s %.3f, want at least %.3f (%v)", tc.kind, tc.cue.Name(), v, tc.min, err)
		}
	}
}

// Face boxes come from the detector on camera frames: any box, on any frame size and channel
// count, must give a value or errNoRegion, never a crash or a non-finite value.
func FuzzCues(f *testing.F) {
	f.Add(uint16(640), uint16(480), uint8(3), 260.0, 160.0, 120.0, 150.0, uint8(0))
	f.Add(uint16(17), uint16(9), uint8(1), -5.0, 3.0, 40.0, 1e9, uint8(200))
	f.Add(uint16(64), uint16(64), uint8(4), math.NaN(), 0.0, 30.0, 30.0, uint8(255))
	f.Fuzz(func(t *testing.T, w, h uint16, ch uint8, x, y, fw, fh float64, fill uint8) {
		if w == 0 || h == 0 || w > 800 || h > 800 {
			return
		}
		typ := map[uint8]gocv.MatType{1: gocv.MatTypeCV8UC1, 3: gocv.MatTypeCV8UC3, 4: gocv.MatTypeCV8UC4}[ch%5]
		if typ == 0 && ch%5 != 1 {
			return
		}
		img := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(float64(fill), float64(fill/2), 255-float64(fill), 0), int(h), int(w), typ)
		defer img.Close()
		gocv.Circle(&img, image.Pt(int(w)/2, int(h)/2), int(min(w, h))/4, color.RGBA{R: 255, G: 255, B: 255}, -1)
		fc := face.Face{X: x, Y: y, W: fw, H: fh}
		for _, c := range []Cue{DefaultBorderCue(), DefaultMoireCue(), DefaultGlareCue()} {
			v, err := c.Measure(img, fc)
			if err == nil && (math.IsNaN(v) || math.IsInf(v, 0) || v < 0) {
				t.Fatalf("%s on %dx%dx%d, box %+v: %v", c.Name(), w, h, ch, fc, v)
			}
		}
	})
}

// The cues run on every kept frame of a capture (up to ten a second), on the kiosk's CPU.
func BenchmarkCues(b *testing.B) {
	for _, c := range []Cue{DefaultBorderCue(), DefaultMoireCue(), DefaultGlareCue()} {
		b.Run(c.Name(), func(b *testing.B) {
			img := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(96, 104, 110, 0), 480, 640, gocv.MatTypeCV8UC3)
			defer img.Close()
			gocv.Ellipse(&img, image.Pt(320, 235), image.Pt(58, 74), 0, 0, 360, color.RGBA{R: 190, G: 150, B: 130}, -1)
			whole := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(255, 0, 0, 0), img.Rows(), img.Cols(), gocv.MatTypeCV8UC1)
			defer whole.Close()
			moire(img, whole)
			f := face.Face{X: 260, Y: 160, W: 120, H: 150}
			for b.Loop() {
				if _, err := c.Measure(img, f); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
