package face

import (
	"errors"
	"fmt"
	"math"

	"gocv.io/x/gocv"
)

// Gates are the quality limits a face must meet before it is matched. Pose angles are estimated
// from the five landmarks, so they are coarse (a few degrees); pixel statistics are measured on
// the aligned chip, where every face has the same size.
type Gates struct {
	MinInterEye   float64 // eye-to-eye distance in source pixels
	MaxYaw        float64 // degrees, left-right turn
	MaxPitch      float64 // degrees, up-down nod
	MaxRoll       float64 // degrees, in-plane tilt
	SecondFace    float64 // another face at least this fraction of the main face's width counts
	MinSharpness  float64 // variance of the Laplacian on the chip's inner face
	MinBrightness float64 // mean grey level of the inner face, 0-255
	MaxBrightness float64
	MaxClipped    float64 // fraction of inner-face pixels at the ends of the range
}

// DefaultGates are set from the dev sets' measured spread (see models/ROC.md), not guessed.
func DefaultGates() Gates {
	return Gates{
		MinInterEye:   20,
		MaxYaw:        35,
		MaxPitch:      30,
		MaxRoll:       30,
		SecondFace:    0.5,
		MinSharpness:  15,
		MinBrightness: 40,
		MaxBrightness: 220,
		MaxClipped:    0.25,
	}
}

func (g Gates) validate() error {
	for _, v := range []float64{g.MinInterEye, g.MaxYaw, g.MaxPitch, g.MaxRoll, g.SecondFace, g.MinSharpness, g.MinBrightness, g.MaxBrightness, g.MaxClipped} {
		if v < 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			return errors.New("face: quality gates must be finite and not negative")
		}
	}
	if g.MaxBrightness < g.MinBrightness {
		return errors.New("face: max brightness is below min brightness")
	}
	return nil
}

// Problem codes, stable for audit records and the kiosk screen.
const (
	ProblemSeveralFaces = "several_faces"
	ProblemTooSmall     = "face_too_small"
	ProblemPose         = "off_frontal_pose"
	ProblemBlur         = "blurred"
	ProblemDark         = "underexposed"
	ProblemBright       = "overexposed"
	ProblemCutOff       = "face_cut_off"
)

// Problem is one failed gate with the measured value.
type Problem struct {
	Code   string
	Detail string
}

func (p Problem) String() string { return p.Code + " (" + p.Detail + ")" }

// Quality holds the measurements and the gates that failed.
type Quality struct {
	InterEye   float64
	Yaw        float64
	Pitch      float64
	Roll       float64
	Sharpness  float64
	Brightness float64
	Clipped    float64
	Problems   []Problem
}

func (g Gates) assess(imgW, imgH int, faces []Face, chip gocv.Mat) Quality {
	f := faces[0]
	var q Quality
	q.Yaw, q.Pitch, q.Roll, q.InterEye = estimatePose(f.Landmarks)
	grey := gocv.NewMat()
	gocv.CvtColor(chip, &grey, gocv.ColorBGRToGray)
	q.Sharpness, q.Brightness, q.Clipped = chipStats(grey.ToBytes(), grey.Cols(), grey.Rows())
	grey.Close()

	add := func(code, format string, a ...any) {
		q.Problems = append(q.Problems, Problem{Code: code, Detail: fmt.Sprintf(format, a...)})
	}
	others := 0
	for _, o := range faces[1:] {
		if o.W >= g.SecondFace*f.W {
			others++
		}
	}
	if others > 0 {
		add(ProblemSeveralFaces, "%d more face(s) of comparable size", others)
	}
	if q.InterEye < g.MinInterEye {
		add(ProblemTooSmall, "eyes %.0f px apart, need %.0f", q.InterEye, g.MinInterEye)
	}
	for _, p := range f.Landmarks {
		if p.X < 0 || p.Y < 0 || p.X >= float64(imgW) || p.Y >= float64(imgH) {
			add(ProblemCutOff, "a landmark lies outside the image")
			break
		}
	}
	switch {
	case math.Abs(q.Yaw) > g.MaxYaw:
		add(ProblemPose, "turned %.0f degrees, at most %.0f", q.Yaw, g.MaxYaw)
	case math.Abs(q.Pitch) > g.MaxPitch:
		add(ProblemPose, "nodded %.0f degrees, at most %.0f", q.Pitch, g.MaxPitch)
	case math.Abs(q.Roll) > g.MaxRoll:
		add(ProblemPose, "tilted %.0f degrees, at most %.0f", q.Roll, g.MaxRoll)
	}
	if q.Sharpness < g.MinSharpness {
		add(ProblemBlur, "sharpness %.1f, need %.1f", q.Sharpness, g.MinSharpness)
	}
	switch {
	case q.Brightness < g.MinBrightness:
		add(ProblemDark, "mean level %.0f, need %.0f", q.Brightness, g.MinBrightness)
	case q.Brightness > g.MaxBrightness:
		add(ProblemBright, "mean level %.0f, at most %.0f", q.Brightness, g.MaxBrightness)
	case q.Clipped > g.MaxClipped:
		add(ProblemBright, "%.0f%% of the face is clipped, at most %.0f%%", 100*q.Clipped, 100*g.MaxClipped)
	}
	return q
}

// Head geometry behind the pose estimate: the nose tip sits about 0.55 eye distances in front of
// the eye and mouth plane, and on the frontal template the nose lies 0.531 of the way from the
// eye line to the mouth line.
const (
	noseDepth     = 0.55
	frontalNoseAt = (76.5625 - 46.5990) / (103.0233 - 46.5990)
)

// estimatePose returns yaw, pitch and roll in degrees and the eye distance in pixels. Positive
// yaw: the nose is to the image's right of the eye midpoint; positive pitch: the nose is low.
func estimatePose(lm [5]Point) (yaw, pitch, roll, interEye float64) {
	re, le := lm[RightEye], lm[LeftEye]
	dx, dy := le.X-re.X, le.Y-re.Y
	interEye = math.Hypot(dx, dy)
	roll = math.Atan2(dy, dx) * 180 / math.Pi
	if interEye < 1e-6 {
		return 0, 0, roll, interEye
	}
	// Undo the roll about the eye midpoint, then read the nose offset.
	c, s := dx/interEye, dy/interEye
	mid := Point{(re.X + le.X) / 2, (re.Y + le.Y) / 2}
	unroll := func(p Point) Point {
		x, y := p.X-mid.X, p.Y-mid.Y
		return Point{c*x + s*y, -s*x + c*y}
	}
	nose := unroll(lm[NoseTip])
	rm, lmo := unroll(lm[RightMouth]), unroll(lm[LeftMouth])
	mouthY := (rm.Y + lmo.Y) / 2
	depth := noseDepth * interEye
	yaw = math.Atan(nose.X/depth) * 180 / math.Pi
	if mouthY > 1e-6 {
		shift := nose.Y - frontalNoseAt*mouthY
		pitch = math.Asin(math.Max(-1, math.Min(1, shift/depth))) * 180 / math.Pi
	}
	return yaw, pitch, roll, interEye
}

// The inner face of the 150x150 chip: brows to chin, cheek to cheek.
const innerX0, innerY0, innerX1, innerY1 = 35, 30, 115, 125

// chipStats measures a grey chip's inner face: variance of the 4-neighbour Laplacian
// (sharpness), mean level, and the fraction of pixels at <= 5 or >= 250.
func chipStats(grey []byte, w, h int) (sharpness, brightness, clipped float64) {
	if w < innerX1+1 || h < innerY1+1 || len(grey) < w*h {
		return 0, 0, 0
	}
	var n, sum, sumL, sumL2, clip float64
	for y := innerY0; y < innerY1; y++ {
		for x := innerX0; x < innerX1; x++ {
			v := float64(grey[y*w+x])
			l := float64(grey[(y-1)*w+x]) + float64(grey[(y+1)*w+x]) + float64(grey[y*w+x-1]) + float64(grey[y*w+x+1]) - 4*v
			n++
			sum += v
			sumL += l
			sumL2 += l * l
			if v <= 5 || v >= 250 {
				clip++
			}
		}
	}
	mean := sumL / n
	return sumL2/n - mean*mean, sum / n, clip / n
}
