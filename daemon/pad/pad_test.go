package pad

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/face"
	"github.com/edgeid/edgeid/daemon/match"
)

// head is a 3-D model of the five landmarks, in eye distances: eyes and mouth corners near one
// plane, the nose tip 0.55 in front of it.
var head = [5][3]float64{
	{-0.5, -0.35, 0}, {0.5, -0.35, 0}, {0, 0.2, 0.55}, {-0.45, 0.7, 0.05}, {0.45, 0.7, 0.05},
}

// view projects the model turned by yaw and pitch (degrees) with a pinhole camera; flat
// squashes the model onto its plane first, as a photo of the face would be.
func view(yaw, pitch float64, flat bool) [5]face.Point {
	y, p := yaw*math.Pi/180, pitch*math.Pi/180
	var out [5]face.Point
	for i, v := range head {
		x, yy, z := v[0], v[1], v[2]
		if flat {
			z = 0
		}
		// The camera looks along +z at the face, which faces -z; the nose is nearer the camera.
		x, z = x*math.Cos(y)+z*math.Sin(y), -x*math.Sin(y)+z*math.Cos(y)
		yy, z = yy*math.Cos(p)-z*math.Sin(p), yy*math.Sin(p)+z*math.Cos(p)
		d := 8.0 - z
		out[i] = face.Point{X: 320 + 600*x/d, Y: 240 + 600*yy/d}
	}
	return out
}

func TestParallaxSeparatesHeadsFromPlanes(t *testing.T) {
	front := view(0, 0, false)
	for _, pose := range [][2]float64{{20, 0}, {-20, 0}, {0, 15}, {25, 10}} {
		real, err := Parallax(front, view(pose[0], pose[1], false))
		if err != nil {
			t.Fatal(err)
		}
		flat, err := Parallax(view(0, 0, true), view(pose[0], pose[1], true))
		if err != nil {
			t.Fatal(err)
		}
		if real < 0.1 || flat > 1e-6 {
			t.Errorf("pose %v: parallax of a head %.4f (want > 0.1), of a plane %.6f (want 0)", pose, real, flat)
		}
	}
	same := view(0, 0, false)
	if _, err := Parallax(same, [5]face.Point{}); err == nil {
		t.Error("degenerate landmarks accepted")
	}
}

func TestHomography4Exact(t *testing.T) {
	src := [4]face.Point{{X: 0, Y: 0}, {X: 10, Y: 0}, {X: 10, Y: 10}, {X: 0, Y: 10}}
	dst := [4]face.Point{{X: 3, Y: 1}, {X: 14, Y: 2}, {X: 12, Y: 13}, {X: 2, Y: 11}}
	h, err := homography4(src, dst)
	if err != nil {
		t.Fatal(err)
	}
	for i := range src {
		if p := h.apply(src[i]); math.Hypot(p.X-dst[i].X, p.Y-dst[i].Y) > 1e-9 {
			t.Errorf("corner %d maps to %v, want %v", i, p, dst[i])
		}
	}
	line := [4]face.Point{{X: 0, Y: 0}, {X: 1, Y: 1}, {X: 2, Y: 2}, {X: 3, Y: 3}}
	if _, err := homography4(line, dst); err == nil {
		t.Error("collinear points accepted")
	}
}

// frame builds an analysis with the given pose and template, as the face engine would.
func frame(at time.Duration, yaw, pitch float64, tmpl match.Template, x float64) Frame {
	lm := view(yaw, pitch, false)
	return Frame{At: time.Unix(0, 0).Add(at), Analysis: face.Analysis{
		Face:     face.Face{X: x, Y: 100, W: 120, H: 150, Landmarks: lm},
		Quality:  face.Quality{Yaw: yaw, Pitch: pitch},
		Template: tmpl,
	}}
}

func tmpl(v float32) match.Template {
	vec := make([]float32, 128)
	vec[0] = v
	return match.Template{Model: "m", Vector: vec}
}

func TestChallenge(t *testing.T) {
	me, other := tmpl(0), tmpl(1)
	c := DefaultChallengeCheck(0.6)
	ch := Challenge{Moves: []Move{TurnLeft, TurnRight}, Started: time.Unix(0, 0)}
	ms := time.Millisecond
	tests := []struct {
		name   string
		frames []Frame
		pass   bool
		reason string
	}{
		{"both moves", []Frame{frame(0, 0, 0, me, 200), frame(300*ms, 10, 0, me, 200), frame(600*ms, 20, 0, me, 200), frame(900*ms, 5, 0, me, 200),
			frame(1200*ms, -10, 0, me, 200), frame(1500*ms, -20, 0, me, 200)}, true, ""},
		{"wrong order", []Frame{frame(0, 0, 0, me, 200), frame(300*ms, -10, 0, me, 200), frame(600*ms, -20, 0, me, 200)}, false, "turn_left was not seen"},
		{"too slow", []Frame{frame(0, 0, 0, me, 200), frame(5*time.Second, 20, 0, me, 200), frame(9*time.Second, -5, 0, me, 200), frame(9500*ms, -20, 0, me, 200)}, false, "limit"},
		{"face swapped", []Frame{frame(0, 0, 0, me, 200), frame(300*ms, 20, 0, me, 200), frame(600*ms, 5, 0, other, 200), frame(900*ms, -20, 0, other, 200)}, false, "different face"},
		{"photo swapped", []Frame{frame(0, 20, 0, me, 200), frame(67*ms, -20, 0, me, 200)}, false, "pose jumped"},
		{"face jumped", []Frame{frame(0, 0, 0, me, 200), frame(300*ms, 20, 0, me, 400)}, false, "jumped"},
		{"no frames", nil, false, "no frames"},
		{"face jumped over time order", []Frame{frame(300*ms, 0, 0, me, 200), frame(300*ms, 20, 0, me, 200)}, false, "time order"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := c.Score(tt.frames, ch)
			if s.Pass != tt.pass || !strings.Contains(s.Reason, tt.reason) {
				t.Errorf("got pass %v %q, want %v %q", s.Pass, s.Reason, tt.pass, tt.reason)
			}
		})
	}
	if s := c.Score([]Frame{frame(0, 0, 0, me, 200)}, Challenge{}); s.Pass {
		t.Error("an empty challenge passed")
	}
	// A camera above the screen sees every face pitched down by 15 degrees: looking down must
	// still be a movement from there, not the camera's angle.
	down := Challenge{Moves: []Move{LookDown}, Started: time.Unix(0, 0)}
	still := []Frame{frame(0, 0, 15, me, 200), frame(300*ms, 0, 16, me, 200), frame(600*ms, 0, 15, me, 200)}
	if s := c.Score(still, down); s.Pass {
		t.Error("a still face under a high camera met look_down")
	}
	nod := append(still, frame(900*ms, 0, 27, me, 200))
	if s := c.Score(nod, down); !s.Pass {
		t.Errorf("a nod of 12 degrees under a high camera: %v", s)
	}
	// The starting pose is the median of the first 250 ms: one noisy first frame does not
	// shift it.
	noisy := []Frame{frame(0, 0, 5, me, 200), frame(80*ms, 0, 15, me, 200), frame(160*ms, 0, 15, me, 200), frame(900*ms, 0, 22, me, 200)}
	if s := c.Score(noisy, down); s.Pass {
		t.Error("7 degrees from the starting pose met look_down")
	}
	// One odd frame (a blink, motion blur) far from its predecessor but close to earlier ones
	// keeps the chain.
	lr := Challenge{Moves: []Move{TurnLeft, TurnRight}, Started: time.Unix(0, 0)}
	chain := []Frame{frame(0, 0, 0, me, 200), frame(300*ms, 10, 0, tmpl(0.5), 200), frame(600*ms, 20, 0, tmpl(-0.3), 200),
		frame(900*ms, 0, 0, me, 200), frame(1200*ms, -20, 0, me, 200)}
	if s := c.Score(chain, lr); !s.Pass {
		t.Errorf("a frame 0.8 from its predecessor but 0.3 from the first broke the chain: %v", s)
	}
	c.IdentityLinks = 1
	if s := c.Score(chain, lr); s.Pass || !strings.Contains(s.Reason, "distance 0.800 to frame 1") {
		t.Errorf("with one link: %v", s)
	}
}

func TestNewChallenge(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	seen := map[Move]bool{}
	for i := 0; i < 50; i++ {
		c := NewChallenge(rng, 3, time.Now())
		if len(c.Moves) != 3 {
			t.Fatalf("%d moves", len(c.Moves))
		}
		for j, m := range c.Moves {
			seen[m] = true
			if j > 0 && c.Moves[j-1] == m {
				t.Errorf("move repeated: %v", c.Moves)
			}
		}
	}
	if len(seen) != 4 {
		t.Errorf("only %d kinds of move drawn", len(seen))
	}
}

func TestNewChallengeOf(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 20; i++ {
		c, err := NewChallengeOf(rng, []Move{TurnLeft, TurnRight, TurnLeft}, 4, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		for j, m := range c.Moves {
			if m != TurnLeft && m != TurnRight || j > 0 && c.Moves[j-1] == m {
				t.Fatalf("moves %v from turns only, none twice in a row", c.Moves)
			}
		}
	}
	if c, err := NewChallengeOf(rng, []Move{LookUp}, 1, time.Now()); err != nil || len(c.Moves) != 1 {
		t.Errorf("one move of one kind: %v %v", c, err)
	}
	for _, kinds := range [][]Move{nil, {LookUp}, {LookUp, LookUp}, {TurnLeft, "blink"}} {
		if _, err := NewChallengeOf(rng, kinds, 2, time.Now()); err == nil {
			t.Errorf("%v: two moves drawn, want an error", kinds)
		}
	}
}

func TestSuiteNeedsEveryRequiredCheck(t *testing.T) {
	me := tmpl(0)
	frames := []Frame{frame(0, 0, 0, me, 200), frame(300*time.Millisecond, 20, 0, me, 200), frame(600*time.Millisecond, 5, 0, me, 200),
		frame(900*time.Millisecond, -20, 0, me, 200)}
	ch := Challenge{Moves: []Move{TurnLeft, TurnRight}, Started: time.Unix(0, 0)}
	geometric, err := NewSuite([]string{NameChallenge, NameParallax}, 0.6)
	if err != nil {
		t.Fatal(err)
	}
	r := geometric.Evaluate(frames, ch)
	if !r.Live {
		t.Errorf("a turning head was refused: %s", r.Reasons())
	}
	// The image cues were not measured: recorded as failed, but advisory here.
	if len(r.Scores) != 5 || !r.Scores[2].Advisory || r.Scores[2].Pass || !strings.Contains(r.Scores[2].String(), "advisory FAIL") {
		t.Errorf("scores %v", r.Scores)
	}
	// Required, an unmeasured cue refuses: a check that cannot decide does not pass.
	withBorder, _ := NewSuite([]string{NameChallenge, NameParallax, NameBorder}, 0.6)
	if r := withBorder.Evaluate(frames, ch); r.Live || !strings.Contains(r.Reasons(), "border: measured on 0 frames") {
		t.Errorf("unmeasured border passed: %s", r.Reasons())
	}
	// The same moves by a flat face: the challenge is met but the parallax is not.
	for i := range frames {
		q := frames[i].Analysis.Quality
		frames[i].Analysis.Face.Landmarks = view(q.Yaw, q.Pitch, true)
	}
	r = geometric.Evaluate(frames, ch)
	if r.Live || !strings.Contains(r.Reasons(), "flat surface") {
		t.Errorf("a flat face passed: %+v", r)
	}
}

func TestNewSuiteRefusesUnknownOrNoChecks(t *testing.T) {
	if _, err := NewSuite([]string{"challenge", "ir_depth"}, 0.6); err == nil || !strings.Contains(err.Error(), `unknown check "ir_depth"`) {
		t.Errorf("unknown check: %v", err)
	}
	if _, err := NewSuite(nil, 0.6); err == nil {
		t.Error("no required checks accepted")
	}
	s, err := NewSuite([]string{"border", "border", "moire"}, 0.6)
	if err != nil || len(s.Required) != 2 {
		t.Errorf("duplicates: %v %v", s.Required, err)
	}
}
