package pad

import (
	"fmt"
	"slices"
	"strings"
)

// The checks a configuration can require, by name.
const (
	NameChallenge = "challenge"
	NameParallax  = "parallax"
	NameBorder    = "border"
	NameMoire     = "moire"
	NameGlare     = "glare"
)

// DefaultRequired are the checks required unless the configuration says otherwise: the two
// geometric checks, and the border and moire cues, which no genuine proxy came near (see
// README); moire is what stops a video of the holder replayed on a phone. Glare is scored and
// recorded but not required: glasses reflect lamps.
var DefaultRequired = []string{NameChallenge, NameParallax, NameBorder, NameMoire}

// Suite is the set of presentation-attack checks a kiosk runs: every check is scored and its
// score recorded; Required decides.
type Suite struct {
	Challenge ChallengeCheck // also drives the on-screen instructions during the capture
	Others    []Check        // scored after the challenge, in this order
	Cues      []Cue          // measured on every frame
	Required  []string
}

// NewSuite builds the checks with their calibrated defaults and requires the named ones.
// sameFace is the template distance that links the frames of one face.
func NewSuite(required []string, sameFace float64) (Suite, error) {
	s := Suite{
		Challenge: DefaultChallengeCheck(sameFace),
		Cues:      []Cue{DefaultBorderCue(), DefaultMoireCue(), DefaultGlareCue()},
	}
	s.Others = []Check{DefaultParallaxCheck(), DefaultBorderCheck(), DefaultMoireCheck(), DefaultGlareCheck()}
	if len(required) == 0 {
		return Suite{}, fmt.Errorf("pad: no checks required (known: %s)", strings.Join(s.names(), ", "))
	}
	for _, n := range required {
		if !slices.Contains(s.names(), n) {
			return Suite{}, fmt.Errorf("pad: unknown check %q (known: %s)", n, strings.Join(s.names(), ", "))
		}
		if !slices.Contains(s.Required, n) {
			s.Required = append(s.Required, n)
		}
	}
	return s, nil
}

// Checks are the challenge and the others, in the order they are reported.
func (s Suite) Checks() []Check { return append([]Check{s.Challenge}, s.Others...) }

func (s Suite) names() []string {
	var out []string
	for _, c := range s.Checks() {
		out = append(out, c.Name())
	}
	return out
}

// Evaluate scores the capture with every check; it is live when every required one passes.
func (s Suite) Evaluate(frames []Frame, ch Challenge) Result {
	r := Result{Live: len(s.Required) > 0}
	for _, c := range s.Checks() {
		sc := c.Score(frames, ch)
		sc.Advisory = !slices.Contains(s.Required, c.Name())
		r.Scores = append(r.Scores, sc)
		if !sc.Advisory {
			r.Live = r.Live && sc.Pass
		}
	}
	return r
}

// DefaultBorderCheck refuses a capture whose median frame has a straight-edged border on three
// sides of the face, the one below among them.
func DefaultBorderCheck() CueCheck {
	return CueCheck{Cue: NameBorder, Threshold: 0.75, MinFrames: 3, Explain: "a straight-edged border surrounds the face (a photo or a screen)"}
}

// DefaultMoireCheck refuses a capture whose median frame has a spectral peak 12 times the
// average at its frequency.
func DefaultMoireCheck() CueCheck {
	return CueCheck{Cue: NameMoire, Threshold: 12, MinFrames: 3, Explain: "a periodic pattern over the face (a screen's moire)"}
}

// DefaultGlareCheck refuses a capture whose median frame has a white patch over 1% of the face.
func DefaultGlareCheck() CueCheck {
	return CueCheck{Cue: NameGlare, Threshold: 0.01, MinFrames: 3, Explain: "a specular glare patch on the face (a glossy print or a screen)"}
}
