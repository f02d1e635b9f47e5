package headturn

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/face"
	"github.com/edgeid/edgeid/daemon/face/facetest"
	"github.com/edgeid/edgeid/daemon/pad"
	"github.com/edgeid/edgeid/models"
	"gocv.io/x/gocv"
)

// kioskRate is the frames a second the kiosk's presentation-attack checks keep (at least 100 ms
// apart, whatever the camera's rate): the tests draw only those.
const kioskRate = 10

// testEngine is the real face engine with the shipped models, as the kiosk runs it.
func testEngine(t *testing.T) *face.Engine { return facetest.Engine(t, "../../../models") }

// shippedSuite is the kiosk's suite with the packaged configuration's checks and its same-face
// distance.
func shippedSuite(t *testing.T) pad.Suite {
	t.Helper()
	man, err := models.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	same, err := face.SameFaceDistance(man)
	if err != nil {
		t.Fatal(err)
	}
	s, err := pad.NewSuite(pad.DefaultRequired, same)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func readImage(t *testing.T, name string) gocv.Mat {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../../testdata/face", name))
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := face.Decode(b, face.DefaultLimits(), name)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newHead(t *testing.T, name string) (*Head, gocv.Mat) {
	t.Helper()
	photo := readImage(t, name)
	t.Cleanup(func() { photo.Close() })
	h, err := New(photo, testEngine(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.Close)
	return h, photo
}

// capture analyses frames as the kiosk does: the face pipeline without gates, and the suite's
// cues on each frame.
type capture struct {
	frames []pad.Frame
	render time.Duration // time spent drawing the frames
}

func analyse(t *testing.T, suite pad.Suite, start time.Time, poses []Pose, draw func(Pose) (gocv.Mat, error)) capture {
	t.Helper()
	eng := testEngine(t)
	var c capture
	for _, p := range poses {
		t0 := time.Now()
		img, err := draw(p)
		c.render += time.Since(t0)
		if err != nil {
			t.Fatal(err)
		}
		a, err := eng.Analyze(img, false)
		if err == nil {
			c.frames = append(c.frames, pad.Frame{At: start.Add(p.At), Analysis: a, Cues: pad.MeasureCues(img, a.Face, suite.Cues)})
		}
		img.Close()
	}
	return c
}

// The synthesised head makes each move well enough for the shipped suite, and its frames still
// match the chip photo: every frame near the starting pose (those the kiosk matches first, its
// quality weighs sharpness by cos(yaw) cos(pitch)) is under the accept threshold.
func TestGenuineMovesPass(t *testing.T) {
	suite := shippedSuite(t)
	eng := testEngine(t)
	accept, _ := eng.Thresholds()
	chip := readImage(t, "astronaut-320.jp2")
	defer chip.Close()
	ref, err := eng.Analyze(chip, false)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := newHead(t, "astronaut.png")
	start := time.Unix(0, 0)
	for _, tc := range []struct {
		moves []pad.Move
		// The nods are measured, not required: the engine's pitch estimate follows this
		// model's nod at about a third (30 degrees give 9 to 11), at the edge of MinPitch,
		// and the stretched chin takes the frames away from the chip photo.
		required bool
	}{
		{[]pad.Move{pad.TurnLeft}, true}, {[]pad.Move{pad.TurnRight}, true}, {[]pad.Move{pad.TurnRight, pad.TurnLeft}, true},
		{[]pad.Move{pad.LookUp}, false}, {[]pad.Move{pad.LookDown}, false},
	} {
		var names []string
		for _, m := range tc.moves {
			names = append(names, string(m))
		}
		t.Run(strings.Join(names, "+"), func(t *testing.T) {
			poses, err := Motion(tc.moves, kioskRate)
			if err != nil {
				t.Fatal(err)
			}
			c := analyse(t, suite, start, poses, func(p Pose) (gocv.Mat, error) { return h.Frame(p.Yaw, p.Pitch) })
			if len(c.frames) < len(poses)*9/10 {
				t.Fatalf("a face in only %d of %d frames", len(c.frames), len(poses))
			}
			r := suite.Evaluate(c.frames, pad.Challenge{Moves: tc.moves, Started: start})
			base := c.frames[0].Analysis.Quality
			minY, maxY, minP, maxP := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1)
			worst, worstNear := math.Inf(-1), math.Inf(-1)
			for _, f := range c.frames {
				q := f.Analysis.Quality
				minY, maxY, minP, maxP = math.Min(minY, q.Yaw), math.Max(maxY, q.Yaw), math.Min(minP, q.Pitch), math.Max(maxP, q.Pitch)
				d, err := eng.Compare(ref.Template, f.Analysis.Template)
				if err != nil {
					t.Fatal(err)
				}
				worst = math.Max(worst, d)
				if math.Abs(q.Yaw-base.Yaw) < 10 && math.Abs(q.Pitch-base.Pitch) < 10 {
					worstNear = math.Max(worstNear, d)
				}
			}
			t.Logf("%d frames, %.1f ms each to draw; yaw %.1f..%.1f, pitch %.1f..%.1f from %.1f, %.1f; fused distance to the chip: worst %.3f, worst within 10 degrees of the start %.3f (accept %.3f)",
				len(c.frames), float64(c.render.Microseconds())/1000/float64(len(poses)), minY, maxY, minP, maxP, base.Yaw, base.Pitch, worst, worstNear, accept)
			for _, s := range r.Scores {
				t.Log(s)
			}
			if tc.required && !r.Live {
				t.Errorf("the genuine head was refused: %s", r.Reasons())
			}
			if tc.required && worstNear > accept {
				t.Errorf("a frame near the starting pose is %.3f from the chip photo, over the accept threshold %.3f", worstNear, accept)
			}
		})
	}
}

func TestPhotoAttacksRefused(t *testing.T) {
	suite := shippedSuite(t)
	_, photo := newHead(t, "astronaut.png")
	start := time.Unix(0, 0)
	moves := []pad.Move{pad.TurnLeft, pad.TurnRight}
	poses, err := Motion(moves, kioskRate)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range pad.Attacks {
		t.Run(string(kind), func(t *testing.T) {
			c := analyse(t, suite, start, poses, func(p Pose) (gocv.Mat, error) {
				if kind == pad.AttackPrint {
					return PrintAttack(photo, p), nil // the demo's attack document
				}
				return pad.RenderAttack(photo, kind, pad.Pose{Yaw: p.Yaw, Pitch: p.Pitch, Scale: 0.6}, Width, Height), nil
			})
			r := suite.Evaluate(c.frames, pad.Challenge{Moves: moves, Started: start})
			for _, s := range r.Scores {
				t.Log(s)
			}
			if r.Live {
				t.Errorf("the %s attack was accepted", kind)
			}
		})
	}
}

func TestMotion(t *testing.T) {
	if m, ok := MoveOf("move_turn_left"); !ok || m != pad.TurnLeft {
		t.Errorf("move_turn_left read as %q %v", m, ok)
	}
	if _, ok := MoveOf("move_done"); ok {
		t.Error("move_done read as a move")
	}
	poses, err := Motion([]pad.Move{pad.TurnLeft, pad.LookDown}, 15)
	if err != nil {
		t.Fatal(err)
	}
	var peakYaw, peakPitch, rate float64
	for i, p := range poses {
		peakYaw, peakPitch = math.Max(peakYaw, p.Yaw), math.Max(peakPitch, p.Pitch)
		if i > 0 {
			dt := (p.At - poses[i-1].At).Seconds()
			rate = math.Max(rate, math.Max(math.Abs(p.Yaw-poses[i-1].Yaw), math.Abs(p.Pitch-poses[i-1].Pitch))/dt)
		}
	}
	if peakYaw != TurnAngle || peakPitch != NodAngle || rate > pad.DefaultChallengeCheck(0.5).MaxTurnRate/4 {
		t.Errorf("peaks %.1f, %.1f; fastest %.0f degrees a second", peakYaw, peakPitch, rate)
	}
	if last := poses[len(poses)-1]; math.Abs(last.Yaw)+math.Abs(last.Pitch) > 1e-6 {
		t.Errorf("ends at %v, not facing the camera", last)
	}
	if _, err := Motion([]pad.Move{"spin"}, 15); err == nil {
		t.Error("an unknown move accepted")
	}
}
