package headturn

import (
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/face"
	"github.com/edgeid/edgeid/daemon/pad"
	"github.com/edgeid/edgeid/models"
	"gocv.io/x/gocv"
)

var (
	engineOnce sync.Once
	engine     *face.Engine
	engineErr  error
)

// testEngine is the real face engine with the shipped models, as the kiosk runs it.
func testEngine(t *testing.T) *face.Engine {
	t.Helper()
	engineOnce.Do(func() {
		o := face.DefaultOpts()
		o.ModelDir = "../../../models"
		engine, engineErr = face.New(&o)
	})
	if engineErr != nil {
		t.Fatal(engineErr)
	}
	return engine
}

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
		if dir := os.Getenv("HEADTURN_DUMP"); dir != "" {
			gocv.IMWrite(filepath.Join(dir, strings.ReplaceAll(t.Name(), "/", "_")+"-"+p.At.String()+".png"), img)
		}
		a, err := eng.Analyze(img, false)
		if err == nil {
			c.frames = append(c.frames, pad.Frame{At: start.Add(p.At), Analysis: a, Cues: pad.MeasureCues(img, a.Face, suite.Cues)})
		}
		img.Close()
	}
	return c
}

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
	for _, moves := range [][]pad.Move{{pad.TurnLeft}, {pad.TurnRight}, {pad.LookUp}, {pad.LookDown}, {pad.TurnRight, pad.LookDown}} {
		name := ""
		for _, m := range moves {
			name += string(m) + "+"
		}
		t.Run(strings.TrimSuffix(name, "+"), func(t *testing.T) {
			poses, err := Motion(moves, 15)
			if err != nil {
				t.Fatal(err)
			}
			c := analyse(t, suite, start, poses, func(p Pose) (gocv.Mat, error) { return h.Frame(p.Yaw, p.Pitch) })
			if len(c.frames) < len(poses)*9/10 {
				t.Fatalf("a face in only %d of %d frames", len(c.frames), len(poses))
			}
			r := suite.Evaluate(c.frames, pad.Challenge{Moves: moves, Started: start})
			minY, maxY, minP, maxP, worst := math.Inf(1), math.Inf(-1), math.Inf(1), math.Inf(-1), math.Inf(-1)
			for _, f := range c.frames {
				q := f.Analysis.Quality
				minY, maxY, minP, maxP = math.Min(minY, q.Yaw), math.Max(maxY, q.Yaw), math.Min(minP, q.Pitch), math.Max(maxP, q.Pitch)
				d, err := eng.Compare(ref.Template, f.Analysis.Template)
				if err != nil {
					t.Fatal(err)
				}
				worst = math.Max(worst, d)
			}
			t.Logf("%d frames, %.1f ms each to draw; yaw %.1f..%.1f, pitch %.1f..%.1f; worst fused distance to the chip %.3f (accept %.3f)",
				len(c.frames), float64(c.render.Microseconds())/1000/float64(len(poses)), minY, maxY, minP, maxP, worst, accept)
			for _, s := range r.Scores {
				t.Log(s)
			}
			if !r.Live {
				t.Errorf("the genuine head was refused: %s", r.Reasons())
			}
			if worst > accept {
				t.Errorf("a frame is %.3f from the chip photo, over the accept threshold %.3f", worst, accept)
			}
		})
	}
}

func TestPhotoAttacksRefused(t *testing.T) {
	suite := shippedSuite(t)
	_, photo := newHead(t, "astronaut.png")
	start := time.Unix(0, 0)
	moves := []pad.Move{pad.TurnLeft, pad.TurnRight}
	poses, err := Motion(moves, 15)
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range pad.Attacks {
		t.Run(string(kind), func(t *testing.T) {
			c := analyse(t, suite, start, poses, func(p Pose) (gocv.Mat, error) {
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

func TestProbePose(t *testing.T) {
	h, _ := newHead(t, "astronaut.png")
	eng := testEngine(t)
	for _, p := range [][2]float64{{0, 0}, {-30, 0}, {-20, 0}, {-10, 0}, {10, 0}, {20, 0}, {30, 0}, {0, -30}, {0, -20}, {0, 20}, {0, 30}, {25, 0}, {-25, 0}} {
		img, _ := h.Frame(p[0], p[1])
		if dir := os.Getenv("HEADTURN_DUMP"); dir != "" {
			r := img.Region(image.Rect(180, 40, 480, 340))
			gocv.IMWrite(filepath.Join(dir, fmt.Sprintf("probe%+03.0f%+03.0f.png", p[0], p[1])), r)
			r.Close()
		}
		a, err := eng.Analyze(img, false)
		img.Close()
		if err != nil {
			t.Log(p, err)
			continue
		}
		t.Logf("%v -> yaw %.1f pitch %.1f", p, a.Quality.Yaw, a.Quality.Pitch)
	}
}
