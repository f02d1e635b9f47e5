package headturn

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/edgeid/edgeid/daemon/pad"
	"gocv.io/x/gocv"
)

// Pose is the head's pose at a moment of the capture, in degrees (see Head.Frame).
type Pose struct {
	At         time.Duration
	Yaw, Pitch float64
}

// How a person makes the moves: well past pad.DefaultChallengeCheck's 15 degrees of yaw and 10
// of pitch, at an unhurried speed (the fastest moment of a 25-degree turn over 0.6 s is 65
// degrees per second, far under its MaxTurnRate of 400).
const (
	TurnAngle = 30.0
	NodAngle  = 30.0
	stillFor  = 400 * time.Millisecond // looking at the screen before the first move
	moveFor   = 600 * time.Millisecond // from the front to the side, and back
	holdFor   = 200 * time.Millisecond // at the side
)

// MoveOf reads the move a kiosk event asks for: its Detail is "move_" and the move
// ("move_turn_left"); "move_done" and other details are not moves.
func MoveOf(detail string) (pad.Move, bool) {
	m, ok := strings.CutPrefix(detail, "move_")
	switch pad.Move(m) {
	case pad.TurnLeft, pad.TurnRight, pad.LookUp, pad.LookDown:
		return pad.Move(m), ok
	}
	return "", false
}

// Target is the pose a move turns to.
func Target(m pad.Move) (yaw, pitch float64, err error) {
	switch m {
	case pad.TurnLeft:
		return TurnAngle, 0, nil
	case pad.TurnRight:
		return -TurnAngle, 0, nil
	case pad.LookUp:
		return 0, -NodAngle, nil
	case pad.LookDown:
		return 0, NodAngle, nil
	}
	return 0, 0, fmt.Errorf("headturn: unknown move %q", m)
}

// Motion is the poses, fps per second, of a person who looks at the screen and then makes the
// moves in order, each out to the side, a moment there, and back to the front, easing in and
// out (a raised cosine) as a head does.
func Motion(moves []pad.Move, fps float64) ([]Pose, error) {
	if fps < 1 || fps > 120 {
		return nil, fmt.Errorf("headturn: %v frames per second is not a camera's rate", fps)
	}
	type leg struct {
		d              time.Duration
		y0, p0, y1, p1 float64
	}
	legs := []leg{{d: stillFor}}
	for _, m := range moves {
		y, p, err := Target(m)
		if err != nil {
			return nil, err
		}
		legs = append(legs, leg{moveFor, 0, 0, y, p}, leg{holdFor, y, p, y, p}, leg{moveFor, y, p, 0, 0})
	}
	var total time.Duration
	for _, l := range legs {
		total += l.d
	}
	step := time.Duration(float64(time.Second) / fps)
	var out []Pose
	for at := time.Duration(0); at <= total; at += step {
		t := at
		for _, l := range legs {
			if t > l.d {
				t -= l.d
				continue
			}
			s := (1 - math.Cos(math.Pi*float64(t)/float64(l.d))) / 2
			out = append(out, Pose{At: at, Yaw: l.y0 + s*(l.y1-l.y0), Pitch: l.p0 + s*(l.p1-l.p0)})
			break
		}
	}
	return out, nil
}

// PrintAttack draws the photo printed on paper and held up before the camera, turned and
// tilted with the poses as an attacker imitates the moves with it (pad.AttackPrint): the
// kiosk's liveness checks must refuse these frames. The caller closes the result.
func PrintAttack(photo gocv.Mat, p Pose) gocv.Mat {
	return pad.RenderAttack(photo, pad.AttackPrint, pad.Pose{Yaw: p.Yaw, Pitch: p.Pitch, Scale: 0.6}, Width, Height)
}
