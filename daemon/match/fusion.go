package match

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// Metric is how one recogniser's embeddings are compared (smaller is more alike).
type Metric string

const (
	// Euclidean is the distance between raw vectors (dlib ResNet's native metric).
	Euclidean Metric = "euclidean"
	// Cosine is 1 - cos(angle) between raw vectors (HSE FaceRes).
	Cosine Metric = "cosine"
)

func (m Metric) distance(a, b []float32) float64 {
	switch m {
	case Cosine:
		var dot, na, nb float64
		for i := range a {
			x, y := float64(a[i]), float64(b[i])
			dot += x * y
			na += x * x
			nb += y * y
		}
		if na == 0 || nb == 0 {
			return 1
		}
		return 1 - dot/math.Sqrt(na*nb)
	default:
		var s float64
		for i := range a {
			d := float64(a[i]) - float64(b[i])
			s += d * d
		}
		return math.Sqrt(s)
	}
}

// ParseMetric checks a metric name from a manifest.
func ParseMetric(s string) (Metric, error) {
	switch m := Metric(s); m {
	case Euclidean, Cosine:
		return m, nil
	}
	return "", fmt.Errorf("unknown metric %q (want euclidean or cosine)", s)
}

// PartScore says how one recogniser's distance enters the fusion: its metric and the mean and
// standard deviation of its impostor distances on the dev sets (z-normalisation), and a weight.
type PartScore struct {
	Model        string
	Metric       Metric
	Dims         int
	ImpostorMean float64
	ImpostorStd  float64
	Weight       float64
}

// Fusion turns the per-model distances of two templates into one decision distance: the
// weighted mean of each model's distance z-normalised by that model's impostor statistics.
// Impostor pairs sit near 0, genuine pairs far below; smaller is more alike.
type Fusion struct {
	parts []PartScore
	set   string
}

// NewFusion checks the parts; the first is the primary recogniser (Template.Model).
func NewFusion(parts ...PartScore) (*Fusion, error) {
	if len(parts) == 0 || len(parts) > maxEmbeddings {
		return nil, fmt.Errorf("fusion: %d models (want 1 to %d)", len(parts), maxEmbeddings)
	}
	ids := make([]string, len(parts))
	var wsum float64
	for i, p := range parts {
		if p.Model == "" || p.Dims <= 0 || p.Dims > MaxDims {
			return nil, fmt.Errorf("fusion: part %d: model %q with %d dimensions", i, p.Model, p.Dims)
		}
		if _, err := ParseMetric(string(p.Metric)); err != nil {
			return nil, fmt.Errorf("fusion: %s: %w", p.Model, err)
		}
		if !(p.ImpostorStd > 0) || math.IsInf(p.ImpostorStd, 0) || math.IsNaN(p.ImpostorMean) || math.IsInf(p.ImpostorMean, 0) {
			return nil, fmt.Errorf("fusion: %s: impostor mean %v and deviation %v must be finite, the deviation positive", p.Model, p.ImpostorMean, p.ImpostorStd)
		}
		if !(p.Weight > 0) || math.IsInf(p.Weight, 0) {
			return nil, fmt.Errorf("fusion: %s: weight %v must be positive", p.Model, p.Weight)
		}
		wsum += p.Weight
		ids[i] = p.Model
	}
	if math.Abs(wsum-1) > 1e-9 {
		return nil, fmt.Errorf("fusion: weights sum to %v, want 1", wsum)
	}
	return &Fusion{parts: append([]PartScore(nil), parts...), set: strings.Join(ids, "+")}, nil
}

// Parts returns the fused models, the primary first.
func (f *Fusion) Parts() []PartScore { return append([]PartScore(nil), f.parts...) }

// ModelSet names the recognisers joined by "+", as Template.ModelSet does.
func (f *Fusion) ModelSet() string { return f.set }

// Check refuses a template that is not of this fusion's model set and dimensions.
func (f *Fusion) Check(t Template) error {
	if err := t.validate(); err != nil {
		return err
	}
	if t.ModelSet() != f.set {
		if len(t.Aux) == 0 && len(f.parts) > 1 {
			return fmt.Errorf("%w: template holds only %q, this release compares %q: enrol the person again", ErrModelMismatch, t.Model, f.set)
		}
		return fmt.Errorf("%w: template of %q, this release compares %q", ErrModelMismatch, t.ModelSet(), f.set)
	}
	for i, p := range t.Parts() {
		if len(p.Vector) != f.parts[i].Dims {
			return fmt.Errorf("%w: %s: %d dimensions, want %d", ErrMalformed, p.Model, len(p.Vector), f.parts[i].Dims)
		}
	}
	return nil
}

// PartDistances are the raw per-model distances, in Parts order.
func (f *Fusion) PartDistances(a, b Template) ([]float64, error) {
	if err := f.Check(a); err != nil {
		return nil, err
	}
	if err := f.Check(b); err != nil {
		return nil, err
	}
	pa, pb := a.Parts(), b.Parts()
	out := make([]float64, len(f.parts))
	for i, p := range f.parts {
		out[i] = p.Metric.distance(pa[i].Vector, pb[i].Vector)
	}
	return out, nil
}

// Fuse combines raw per-model distances (in Parts order) into the decision distance.
func (f *Fusion) Fuse(d []float64) (float64, error) {
	if len(d) != len(f.parts) {
		return 0, errors.New("fusion: one distance per model wanted")
	}
	var s float64
	for i, p := range f.parts {
		s += p.Weight * (d[i] - p.ImpostorMean) / p.ImpostorStd
	}
	return s, nil
}

// Distance is the fused decision distance of two templates (smaller is more alike).
func (f *Fusion) Distance(a, b Template) (float64, error) {
	d, err := f.PartDistances(a, b)
	if err != nil {
		return 0, err
	}
	return f.Fuse(d)
}
