package face

import (
	"errors"

	"github.com/edgeid/edgeid/daemon/match"
)

// ErrNotCalibrated is returned when the manifest has no fusion calibration (make calibrate).
var ErrNotCalibrated = errors.New("the model manifest has no fusion calibration: run make calibrate")

// Compare is the decision distance of two templates: each recognizer's distance z-normalised by
// its impostor statistics from the manifest, averaged. Smaller is more alike; compare it with
// Thresholds. Templates of another model set are refused (match.ErrModelMismatch).
func (e *Engine) Compare(a, b match.Template) (float64, error) {
	if e.fusion == nil {
		return 0, ErrNotCalibrated
	}
	return e.fusion.Distance(a, b)
}

// Thresholds are the shipped decision thresholds on Compare's distance: at or below accept the
// face matches automatically; above reject it is another person; between them a human decides.
// accept < reject; both are zero before the first make calibrate.
func (e *Engine) Thresholds() (accept, reject float64) { return e.accept, e.reject }
