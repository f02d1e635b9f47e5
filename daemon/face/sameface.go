package face

import (
	"errors"

	"github.com/edgeid/edgeid/models"
)

// SameFaceDistance is the dlib template distance (match.Distance) at which the liveness checks
// link the frames of one face: the recognizer's calibrated FAR 1% threshold. Linking frames of
// one capture needs no fusion; the decision itself uses Engine.Compare.
func SameFaceDistance(man *models.Manifest) (float64, error) {
	rec, err := man.Get(RecognizerModel)
	if err != nil {
		return 0, err
	}
	d, ok := rec.Thresholds["far_1e-2"]
	if !ok || d <= 0 {
		return 0, errors.New("the model manifest has no far_1e-2 threshold to link the frames of one face")
	}
	return d, nil
}
