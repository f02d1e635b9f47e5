// Package pad is presentation-attack detection for the live capture: it tells a person in
// front of the camera from a photo or a screen held up to it. Three independent checks, each
// with a score and a reason:
//
//   - challenge: the person performs a short random sequence of head movements in time, and
//     the same face (by embedding) is tracked through them;
//   - parallax: during the movement a flat photo or screen moves as a plane, so its landmarks
//     across frames fit one homography; a real head does not (the nose moves against the eyes
//     and mouth);
//   - artefacts: a straight-edged border around the face, screen moire, specular glare.
//
// A trained model or an IR or depth camera plugs in as another Check. What this stops and what
// it does not is stated in the README (masks, deepfake video injection and 3-D models are not
// stopped by any of these checks).
package pad

import (
	"fmt"
	"strings"
	"time"

	"github.com/edgeid/edgeid/daemon/face"
	"gocv.io/x/gocv"
)

// Frame is one analysed camera frame of the capture. Image may be empty for checks that only
// use landmarks; the caller owns it.
type Frame struct {
	At       time.Time
	Analysis face.Analysis
	Image    gocv.Mat
}

// Score is one check's verdict.
type Score struct {
	Check     string  `json:"check"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	Pass      bool    `json:"pass"`
	Reason    string  `json:"reason,omitempty"` // why it failed, or why it could not decide
}

func (s Score) String() string {
	verdict := "pass"
	if !s.Pass {
		verdict = "FAIL"
	}
	out := fmt.Sprintf("%s %s (%.3f vs %.3f)", s.Check, verdict, s.Value, s.Threshold)
	if s.Reason != "" {
		out += ": " + s.Reason
	}
	return out
}

// Check is one presentation-attack check over a capture.
type Check interface {
	Name() string
	Score(frames []Frame, ch Challenge) Score
}

// Result combines the required checks: live only when every one of them passes.
type Result struct {
	Live   bool
	Scores []Score
}

// Reasons lists the failed checks' reasons.
func (r Result) Reasons() string {
	var out []string
	for _, s := range r.Scores {
		if !s.Pass {
			out = append(out, s.Check+": "+s.Reason)
		}
	}
	return strings.Join(out, "; ")
}

// Evaluate runs every check on the capture.
func Evaluate(frames []Frame, ch Challenge, checks ...Check) Result {
	r := Result{Live: len(checks) > 0}
	for _, c := range checks {
		s := c.Score(frames, ch)
		r.Scores = append(r.Scores, s)
		r.Live = r.Live && s.Pass
	}
	return r
}
