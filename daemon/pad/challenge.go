package pad

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/edgeid/edgeid/daemon/match"
)

// Move is one head movement asked of the person. Directions are in image space of an
// unmirrored camera: TurnLeft is the person turning to their own left, which moves the nose
// towards the image's right (positive yaw).
type Move string

const (
	TurnLeft  Move = "turn_left"
	TurnRight Move = "turn_right"
	LookUp    Move = "look_up"
	LookDown  Move = "look_down"
)

var allMoves = []Move{TurnLeft, TurnRight, LookUp, LookDown}

// Moves returns every move a challenge can ask.
func Moves() []Move { return slices.Clone(allMoves) }

// Challenge is the sequence of moves asked, in order.
type Challenge struct {
	Moves   []Move
	Started time.Time
}

// NewChallenge draws n moves at random from all four, no move twice in a row.
func NewChallenge(rng *rand.Rand, n int, started time.Time) Challenge {
	c, _ := NewChallengeOf(rng, allMoves, n, started)
	return c
}

// NewChallengeOf draws n moves at random from kinds, no move twice in a row. With one kind
// only a single move can be drawn; an unknown move is refused.
func NewChallengeOf(rng *rand.Rand, kinds []Move, n int, started time.Time) (Challenge, error) {
	var distinct []Move
	for _, m := range kinds {
		if !slices.Contains(allMoves, m) {
			return Challenge{}, fmt.Errorf("pad: unknown challenge move %q", m)
		}
		if !slices.Contains(distinct, m) {
			distinct = append(distinct, m)
		}
	}
	kinds = distinct
	if len(kinds) == 0 || (n > 1 && len(kinds) < 2) {
		return Challenge{}, fmt.Errorf("pad: %d moves without repeats need two kinds of move, have %d", n, len(kinds))
	}
	c := Challenge{Started: started}
	for len(c.Moves) < n {
		m := kinds[rng.IntN(len(kinds))]
		if len(c.Moves) > 0 && c.Moves[len(c.Moves)-1] == m {
			continue
		}
		c.Moves = append(c.Moves, m)
	}
	return c, nil
}

// ChallengeCheck verifies that the moves were made, in order and in time, by one face.
// Moves are measured from the starting pose (the median over the capture's first 250 ms,
// quicker than a person reacts to the first instruction, against landmark noise), when the
// person looks at the screen: a camera mounted above or beside the screen biases the estimated pose by its own
// angle, and a move must be made, not merely be the way the camera sees a still face.
type ChallengeCheck struct {
	MinYaw, MinPitch float64       // degrees a turn or a nod must move from the starting pose
	TimeLimit        time.Duration // from the challenge's start to its last move
	// SameFace: each frame the recognizer can judge (|yaw| and |pitch| within IdentityPose)
	// must lie within this distance of one of the IdentityLinks judged frames before it, so
	// that a face swapped in mid-sequence breaks the chain while a head turning far, or one
	// odd frame (a blink, motion blur), does not.
	SameFace      float64
	IdentityPose  float64
	IdentityLinks int
	// MaxFaceSpeed bounds how fast the face centre may move, in face widths per second: a
	// person moves their head across the frame far more slowly than a swapped photo jumps.
	// Speeds, not steps, so that the limits hold whatever the camera's frame rate.
	MaxFaceSpeed float64
	// MaxTurnRate bounds how fast the estimated pose may change, in degrees per second: a head
	// turns smoothly, while swapping one photo for another jumps between poses.
	MaxTurnRate float64
}

// DefaultChallengeCheck has limits a seated or standing adult meets without strain.
func DefaultChallengeCheck(sameFace float64) ChallengeCheck {
	return ChallengeCheck{MinYaw: 15, MinPitch: 10, TimeLimit: 8 * time.Second, SameFace: sameFace, IdentityPose: 40, IdentityLinks: 8, MaxFaceSpeed: 3, MaxTurnRate: 400}
}

// Name implements Check.
func (c ChallengeCheck) Name() string { return NameChallenge }

// reached tells whether a move is made by the pose change yaw, pitch from the starting pose.
func (c ChallengeCheck) reached(m Move, yaw, pitch float64) bool {
	switch m {
	case TurnLeft:
		return yaw >= c.MinYaw
	case TurnRight:
		return yaw <= -c.MinYaw
	case LookUp:
		return pitch <= -c.MinPitch
	case LookDown:
		return pitch >= c.MinPitch
	}
	return false
}

// Score implements Check: the value is the number of moves completed.
func (c ChallengeCheck) Score(frames []Frame, ch Challenge) Score {
	s := Score{Check: c.Name(), Threshold: float64(len(ch.Moves))}
	if len(ch.Moves) == 0 {
		s.Reason = "no challenge was given"
		return s
	}
	if len(frames) == 0 {
		s.Reason = "no frames"
		return s
	}
	next := 0
	baseYaw, basePitch := startingPose(frames)
	var judged []int // the frames the recognizer could judge, most recent last
	for i, f := range frames {
		a := f.Analysis
		if math.Abs(a.Quality.Yaw) <= c.IdentityPose && math.Abs(a.Quality.Pitch) <= c.IdentityPose {
			if len(judged) > 0 {
				if j, d := c.nearest(frames, judged, a.Template); d > c.SameFace {
					s.Reason = fmt.Sprintf("frame %d shows a different face from the frames before it (distance %.3f to frame %d)", i, d, j)
					return s
				}
			}
			judged = append(judged, i)
			if len(judged) > max(c.IdentityLinks, 1) {
				judged = judged[1:]
			}
		}
		if i > 0 {
			prev := frames[i-1]
			p := prev.Analysis.Face
			dt := f.At.Sub(prev.At).Seconds()
			if dt <= 0 {
				s.Reason = fmt.Sprintf("frames %d and %d are not in time order", i-1, i)
				return s
			}
			jump := math.Hypot(a.Face.X+a.Face.W/2-(p.X+p.W/2), a.Face.Y+a.Face.H/2-(p.Y+p.H/2)) / math.Max(p.W, 1)
			if jump/dt > c.MaxFaceSpeed {
				s.Reason = fmt.Sprintf("the face jumped %.1f face widths in %.0f ms between frames %d and %d", jump, 1000*dt, i-1, i)
				return s
			}
			turn := math.Max(math.Abs(a.Quality.Yaw-prev.Analysis.Quality.Yaw), math.Abs(a.Quality.Pitch-prev.Analysis.Quality.Pitch))
			if turn/dt > c.MaxTurnRate {
				s.Reason = fmt.Sprintf("the pose jumped %.0f degrees in %.0f ms between frames %d and %d", turn, 1000*dt, i-1, i)
				return s
			}
		}
		if next < len(ch.Moves) && c.reached(ch.Moves[next], a.Quality.Yaw-baseYaw, a.Quality.Pitch-basePitch) {
			if f.At.Sub(ch.Started) > c.TimeLimit {
				s.Reason = fmt.Sprintf("%s came after the %v limit", ch.Moves[next], c.TimeLimit)
				return s
			}
			next++
		}
	}
	s.Value = float64(next)
	if next < len(ch.Moves) {
		s.Reason = fmt.Sprintf("%s was not seen (%d of %d moves)", ch.Moves[next], next, len(ch.Moves))
		return s
	}
	s.Pass = true
	return s
}

// nearest is the judged frame whose template is closest to t, and its distance (+Inf when no
// template compares).
func (c ChallengeCheck) nearest(frames []Frame, judged []int, t match.Template) (int, float64) {
	best, bestD := judged[len(judged)-1], math.Inf(1)
	for _, j := range judged {
		if d, err := match.Distance(frames[j].Analysis.Template, t); err == nil && d < bestD {
			best, bestD = j, d
		}
	}
	return best, bestD
}

// startingPose is the median yaw and pitch of the frames in the capture's first 250 ms.
func startingPose(frames []Frame) (yaw, pitch float64) {
	var ys, ps []float64
	for _, f := range frames {
		if len(ys) > 0 && f.At.Sub(frames[0].At) >= 250*time.Millisecond {
			break
		}
		ys, ps = append(ys, f.Analysis.Quality.Yaw), append(ps, f.Analysis.Quality.Pitch)
	}
	return median(ys), median(ps)
}

// median of a non-empty slice, which it sorts.
func median(v []float64) float64 {
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}
