package match

import (
	"fmt"
	"math"
	"sort"
)

// Scores are distances of genuine pairs (same person) and impostor pairs (different people).
// A pair is accepted when its distance is at most the threshold.
type Scores struct {
	Genuine  []float64
	Impostor []float64
}

// OperatingPoint is the threshold that keeps the false-accept rate at or below TargetFAR.
type OperatingPoint struct {
	TargetFAR float64
	Threshold float64
	FAR       float64 // measured at Threshold
	FRR       float64
	// Resolvable is false when there are too few impostor pairs to measure TargetFAR
	// (fewer than 1/TargetFAR): Threshold then accepts no impostor pair at all.
	Resolvable bool
}

// ROC summarises a score set.
type ROC struct {
	GenuinePairs, ImpostorPairs int
	EER                         float64
	EERThreshold                float64
	Points                      []OperatingPoint
	// Curve samples (threshold, FAR, FRR) at every distinct score, thinned to at most 200 rows.
	Curve [][3]float64
}

// ComputeROC computes the equal error rate and the operating points for the target FARs.
func ComputeROC(s Scores, targetFARs ...float64) (ROC, error) {
	if len(s.Genuine) == 0 || len(s.Impostor) == 0 {
		return ROC{}, fmt.Errorf("roc: need genuine and impostor pairs (have %d and %d)", len(s.Genuine), len(s.Impostor))
	}
	g := sortedFinite(s.Genuine)
	im := sortedFinite(s.Impostor)
	if len(g) != len(s.Genuine) || len(im) != len(s.Impostor) {
		return ROC{}, fmt.Errorf("roc: scores contain NaN or infinity")
	}
	r := ROC{GenuinePairs: len(g), ImpostorPairs: len(im)}
	// FAR(t) = #imp <= t / n, FRR(t) = #gen > t / n, evaluated at each distinct score.
	thresholds := append(append([]float64{}, g...), im...)
	sort.Float64s(thresholds)
	bestGap := math.Inf(1)
	var curve [][3]float64
	for i, t := range thresholds {
		if i > 0 && t == thresholds[i-1] {
			continue
		}
		far := float64(countAtMost(im, t)) / float64(len(im))
		frr := float64(len(g)-countAtMost(g, t)) / float64(len(g))
		curve = append(curve, [3]float64{t, far, frr})
		if gap := math.Abs(far - frr); gap < bestGap {
			bestGap = gap
			r.EER = (far + frr) / 2
			r.EERThreshold = t
		}
	}
	step := (len(curve) + 199) / 200
	for i := 0; i < len(curve); i += step {
		r.Curve = append(r.Curve, curve[i])
	}
	for _, target := range targetFARs {
		r.Points = append(r.Points, operatingPoint(g, im, target))
	}
	return r, nil
}

func operatingPoint(g, im []float64, target float64) OperatingPoint {
	// Up to k impostor pairs may be accepted. The threshold sits halfway between the k-th and the
	// (k+1)-th smallest impostor distance, so ties cannot push FAR past the target.
	k := int(math.Floor(target * float64(len(im))))
	op := OperatingPoint{TargetFAR: target, Resolvable: k >= 1}
	var t float64
	switch {
	case k >= len(im):
		t = im[len(im)-1]
	case k == 0:
		t = math.Nextafter(im[0], math.Inf(-1))
	default:
		t = (im[k-1] + im[k]) / 2
		if im[k-1] == im[k] {
			t = math.Nextafter(im[k], math.Inf(-1))
		}
	}
	op.Threshold = t
	op.FAR = float64(countAtMost(im, t)) / float64(len(im))
	op.FRR = float64(len(g)-countAtMost(g, t)) / float64(len(g))
	return op
}

func sortedFinite(v []float64) []float64 {
	out := make([]float64, 0, len(v))
	for _, x := range v {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			out = append(out, x)
		}
	}
	sort.Float64s(out)
	return out
}

// countAtMost counts the values <= t in a sorted slice.
func countAtMost(sorted []float64, t float64) int {
	return sort.Search(len(sorted), func(i int) bool { return sorted[i] > t })
}
