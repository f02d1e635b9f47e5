package match

import (
	"math"
	"testing"
)

func TestComputeROC(t *testing.T) {
	// Genuine pairs are close, impostors far, with one overlap on each side.
	s := Scores{
		Genuine:  []float64{0.1, 0.2, 0.3, 0.4, 0.65},
		Impostor: []float64{0.5, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5},
	}
	r, err := ComputeROC(s, 0.1, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	// At t=0.4: FAR 0, FRR 0.2 (gap 0.2); at t=0.5: FAR 0.1, FRR 0.2 (gap 0.1); at t=0.65:
	// FAR 0.1, FRR 0 (gap 0.1). The first smallest gap is kept: EER 0.15 at 0.5.
	if r.EERThreshold != 0.5 || math.Abs(r.EER-0.15) > 1e-12 {
		t.Errorf("EER = %v at %v, want 0.15 at 0.5", r.EER, r.EERThreshold)
	}
	p := r.Points[0] // FAR <= 10%: one impostor (0.5) may pass; threshold between 0.5 and 0.7.
	if !p.Resolvable || p.Threshold != 0.6 || p.FAR != 0.1 || p.FRR != 0.2 {
		t.Errorf("FAR 10%% point = %+v, want threshold 0.6, FAR 0.1, FRR 0.2", p)
	}
	q := r.Points[1] // FAR <= 1% with 10 impostors: not resolvable, accepts no impostor.
	if q.Resolvable || q.FAR != 0 || q.Threshold >= 0.5 {
		t.Errorf("FAR 1%% point = %+v, want unresolvable with threshold below 0.5", q)
	}
	if _, err := ComputeROC(Scores{Genuine: []float64{1}}); err == nil {
		t.Error("ComputeROC without impostors succeeded")
	}
	if _, err := ComputeROC(Scores{Genuine: []float64{math.NaN()}, Impostor: []float64{1}}); err == nil {
		t.Error("ComputeROC with NaN succeeded")
	}
}

func TestOperatingPointTies(t *testing.T) {
	// Ties at the cut must not let FAR exceed the target.
	s := Scores{Genuine: []float64{0.1}, Impostor: []float64{0.5, 0.5, 0.5, 0.9}}
	r, err := ComputeROC(s, 0.25)
	if err != nil {
		t.Fatal(err)
	}
	if p := r.Points[0]; p.FAR > 0.25 {
		t.Errorf("FAR %v exceeds target 0.25 at threshold %v", p.FAR, p.Threshold)
	}
}
