// Package pad is presentation-attack detection for the live capture: it tells a person in
// front of the camera from a photo or a screen held up to it. Independent checks, each with a
// score and a reason:
//
//   - challenge: the person performs a short random sequence of head movements in time, and
//     the same face (by embedding) is tracked through them;
//   - parallax: during the movement a flat photo or screen moves as a plane, so its landmarks
//     across frames fit one homography; a real head does not (the nose moves against the eyes
//     and mouth);
//   - image cues, measured per frame and judged by their median: a straight-edged border
//     around the face, screen moire, specular glare.
//
// A Suite scores them all and requires the configured ones. A trained model or an IR or depth
// camera plugs in as another Cue or Check. What this stops and what it does not is stated in
// the README (masks, deepfake video injection and 3-D models are not stopped by any of these).
package pad

import (
	"fmt"
	"strings"
	"time"

	"github.com/edgeid/edgeid/daemon/face"
)

// Frame is one analysed camera frame of the capture: the face analysis and the cues measured
// on its image (see MeasureCues). The image itself is not kept.
type Frame struct {
	At       time.Time
	Analysis face.Analysis
	Cues     map[string]float64
}

// Score is one check's verdict.
type Score struct {
	Check     string  `json:"check"`
	Value     float64 `json:"value"`
	Threshold float64 `json:"threshold"`
	Pass      bool    `json:"pass"`
	Reason    string  `json:"reason,omitempty"` // why it failed, or why it could not decide
	// Advisory: scored and recorded, but not required by the configuration.
	Advisory bool `json:"advisory,omitempty"`
}

func (s Score) String() string {
	verdict := "pass"
	if !s.Pass {
		verdict = "FAIL"
	}
	if s.Advisory {
		verdict = "advisory " + verdict
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

// Result combines the checks: live only when every required one passes.
type Result struct {
	Live   bool
	Scores []Score
}

// Reasons lists the failed required checks' reasons.
func (r Result) Reasons() string {
	var out []string
	for _, s := range r.Scores {
		if !s.Pass && !s.Advisory {
			out = append(out, s.Check+": "+s.Reason)
		}
	}
	return strings.Join(out, "; ")
}
