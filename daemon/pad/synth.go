package pad

import (
	"image"
	"image/color"
	"math"

	"gocv.io/x/gocv"
)

// Attack is a kind of synthesised presentation attack, for evaluation.
type Attack string

const (
	// AttackPlane is the bare photo moved as a rigid plane: no border, no artefacts.
	AttackPlane Attack = "planar_photo"
	// AttackPrint is a printed photo: white paper margin, softer, warmer, less contrast.
	AttackPrint Attack = "printed_photo"
	// AttackScreen is a phone screen: black bezel, moire, brighter, a glare spot.
	AttackScreen Attack = "phone_screen"
	// AttackReplay is a video of the genuine person making the moves, played on a phone
	// screen (rendered like AttackScreen, one still per video frame): the challenge and the
	// parallax see a real head, so only the screen's own artefacts can give it away.
	AttackReplay Attack = "screen_replay"
)

// Attacks lists the attack kinds synthesised from one still.
var Attacks = []Attack{AttackPlane, AttackPrint, AttackScreen}

// Pose is how the attacker holds the plane: degrees about the vertical (yaw) and horizontal
// (pitch) axes and in the image plane (roll), and its size relative to the canvas.
type Pose struct{ Yaw, Pitch, Roll, Scale float64 }

// AttackPoses is the movement an attacker makes to imitate a challenge with a flat object:
// turning and tilting it as a person would turn their head.
var AttackPoses = []Pose{
	{0, 0, 0, 0.55}, {12, 0, 0, 0.55}, {25, 0, 2, 0.57}, {35, 0, 3, 0.58}, {10, 5, 0, 0.55},
	{-12, 0, 0, 0.55}, {-25, 0, -2, 0.57}, {-35, 0, -3, 0.58}, {0, 15, 0, 0.55}, {0, -15, 0, 0.56},
}

// RenderAttack draws still (a BGR image with a face) as the given attack held in pose before
// a pinhole camera, on a w x h canvas. The caller closes the result.
func RenderAttack(still gocv.Mat, a Attack, p Pose, w, h int) gocv.Mat {
	src := still.Clone()
	defer src.Close()
	switch a {
	case AttackPrint:
		softened := gocv.NewMat()
		gocv.GaussianBlur(src, &softened, image.Pt(0, 0), 0.8, 0.8, gocv.BorderReplicate)
		softened.ConvertToWithParams(&src, gocv.MatTypeCV8UC3, 0.8, 30) // paper: less contrast
		softened.Close()
		tint := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(0, 6, 18, 0), src.Rows(), src.Cols(), gocv.MatTypeCV8UC3)
		warm := gocv.NewMat()
		gocv.Add(src, tint, &warm)
		tint.Close()
		src.Close()
		src = warm
		m := src.Cols() / 10
		framed := gocv.NewMat()
		gocv.CopyMakeBorder(src, &framed, m, m, m, m, gocv.BorderConstant, color.RGBA{R: 245, G: 245, B: 240})
		src.Close()
		src = framed
	case AttackScreen, AttackReplay:
		bright := gocv.NewMat()
		src.ConvertToWithParams(&bright, gocv.MatTypeCV8UC3, 1.1, 15)
		src.Close()
		src = bright
		glare := image.Pt(src.Cols()*2/3, src.Rows()/4)
		gocv.Circle(&src, glare, src.Cols()/12, color.RGBA{R: 255, G: 255, B: 255}, -1)
		m := src.Cols() / 14
		framed := gocv.NewMat()
		gocv.CopyMakeBorder(src, &framed, 2*m, 2*m, m, m, gocv.BorderConstant, color.RGBA{R: 12, G: 12, B: 14})
		src.Close()
		src = framed
	}
	// Corners of the object, centred, in object units; then rotate in 3-D and project.
	ow, oh := float64(src.Cols()), float64(src.Rows())
	size := p.Scale * float64(min(w, h)) / math.Max(ow, oh)
	f := 1.2 * float64(max(w, h)) // focal length in pixels, a typical webcam's field of view
	z0 := f                       // the object's distance, in the same units
	y, pi, r := p.Yaw*math.Pi/180, p.Pitch*math.Pi/180, p.Roll*math.Pi/180
	project := func(x, yy float64) gocv.Point2f {
		x, yy = x*size, yy*size
		x, yy = x*math.Cos(r)-yy*math.Sin(r), x*math.Sin(r)+yy*math.Cos(r)  // roll
		X, Y, Z := x*math.Cos(y), yy, -x*math.Sin(y)                        // yaw about the vertical axis
		Y, Z = Y*math.Cos(pi)-Z*math.Sin(pi), Y*math.Sin(pi)+Z*math.Cos(pi) // pitch
		Z += z0
		return gocv.Point2f{X: float32(f*X/Z + float64(w)/2), Y: float32(f*Y/Z + float64(h)/2)}
	}
	from := gocv.NewPoint2fVectorFromPoints([]gocv.Point2f{{X: 0, Y: 0}, {X: float32(ow), Y: 0}, {X: float32(ow), Y: float32(oh)}, {X: 0, Y: float32(oh)}})
	defer from.Close()
	to := gocv.NewPoint2fVectorFromPoints([]gocv.Point2f{project(-ow/2, -oh/2), project(ow/2, -oh/2), project(ow/2, oh/2), project(-ow/2, oh/2)})
	defer to.Close()
	hm := gocv.GetPerspectiveTransform2f(from, to)
	defer hm.Close()
	out := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(96, 104, 110, 0), h, w, gocv.MatTypeCV8UC3) // a plain wall
	gocv.WarpPerspectiveWithParams(src, &out, hm, image.Pt(w, h), gocv.InterpolationLinear, gocv.BorderTransparent, color.RGBA{})
	if a == AttackScreen || a == AttackReplay {
		// Moire is the screen's pixel grid beating with the camera's: a pattern in the
		// camera's pixels, over the screen only.
		lit := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(255, 0, 0, 0), src.Rows(), src.Cols(), gocv.MatTypeCV8UC1)
		defer lit.Close()
		screen := gocv.NewMat()
		defer screen.Close()
		gocv.WarpPerspective(lit, &screen, hm, image.Pt(w, h))
		moire(out, screen)
	}
	return out
}

// moire multiplies the pixels of m under mask by a faint, fine diagonal grating (6% deep,
// a period of about 5 pixels), as a screen's pixel grid beats with the camera's. Saturated
// pixels (the glare) stay saturated: the sensor clips there.
func moire(m, mask gocv.Mat) {
	rows, cols := m.Rows(), m.Cols()
	for y := 0; y < rows; y++ {
		for x := 0; x < cols; x++ {
			if mask.GetUCharAt(y, x) < 128 {
				continue
			}
			if m.GetUCharAt(y, x*3) >= 250 && m.GetUCharAt(y, x*3+1) >= 250 && m.GetUCharAt(y, x*3+2) >= 250 {
				continue
			}
			k := 0.94 + 0.06*math.Sin(0.9*float64(x)+0.8*float64(y))
			for c := 0; c < 3; c++ {
				v := float64(m.GetUCharAt(y, x*3+c))
				m.SetUCharAt(y, x*3+c, uint8(math.Min(255, v*k)))
			}
		}
	}
}
