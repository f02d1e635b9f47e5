package match

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func testFusion(t testing.TB) *Fusion {
	t.Helper()
	f, err := NewFusion(
		PartScore{Model: "p", Metric: Euclidean, Dims: 16, ImpostorMean: 1, ImpostorStd: 0.1, Weight: 0.5},
		PartScore{Model: "q", Metric: Cosine, Dims: 32, ImpostorMean: 0.8, ImpostorStd: 0.05, Weight: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFusionDistance(t *testing.T) {
	f := testFusion(t)
	a := Template{Model: "p", Vector: make([]float32, 16), Aux: []Embedding{{Model: "q", Vector: make([]float32, 32)}}}
	b := Template{Model: "p", Vector: make([]float32, 16), Aux: []Embedding{{Model: "q", Vector: make([]float32, 32)}}}
	a.Vector[0], b.Vector[1] = 0.6, 0.8 // euclidean 1
	a.Aux[0].Vector[0], b.Aux[0].Vector[0] = 1, 1
	b.Aux[0].Vector[1] = 1 // cosine distance 1 - 1/sqrt(2)
	d, err := f.Distance(a, b)
	if err != nil {
		t.Fatal(err)
	}
	want := 0.5*0 + 0.5*((1-1/math.Sqrt2)-0.8)/0.05 // dlib's distance is its impostor mean
	if math.Abs(d-want) > 1e-6 {
		t.Fatalf("fused %v, want %v", d, want)
	}
	// Never across model sets: a single-model template is told to re-enrol.
	old := Template{Model: "p", Vector: a.Vector}
	if _, err := f.Distance(a, old); !errors.Is(err, ErrModelMismatch) {
		t.Errorf("against a single-model template: %v", err)
	}
	swapped := Template{Model: "q", Vector: a.Aux[0].Vector, Aux: []Embedding{{Model: "p", Vector: a.Vector}}}
	if _, err := f.Distance(a, swapped); !errors.Is(err, ErrModelMismatch) {
		t.Errorf("models swapped: %v", err)
	}
	short := Template{Model: "p", Vector: a.Vector[:8], Aux: a.Aux}
	if _, err := f.Distance(a, short); !errors.Is(err, ErrMalformed) {
		t.Errorf("wrong dimensions: %v", err)
	}
}

func TestNewFusionRefuses(t *testing.T) {
	ok := PartScore{Model: "p", Metric: Euclidean, Dims: 4, ImpostorMean: 1, ImpostorStd: 0.1, Weight: 1}
	for name, p := range map[string]PartScore{
		"zero std":   {Model: "p", Metric: Euclidean, Dims: 4, ImpostorMean: 1, Weight: 1},
		"bad metric": {Model: "p", Metric: "manhattan", Dims: 4, ImpostorMean: 1, ImpostorStd: 1, Weight: 1},
		"weight":     {Model: "p", Metric: Euclidean, Dims: 4, ImpostorMean: 1, ImpostorStd: 1, Weight: 0.5},
		"nan mean":   {Model: "p", Metric: Euclidean, Dims: 4, ImpostorMean: math.NaN(), ImpostorStd: 1, Weight: 1},
	} {
		if _, err := NewFusion(p); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := NewFusion(ok); err != nil {
		t.Error(err)
	}
}

// Two-model templates for many identities: each identity has a centre per model; a probe is a
// noisy copy. The models disagree a little, as real ones do.
func fusedTemplates(rng *rand.Rand, n int, sigma float64) ([]Template, []Template) {
	gen := func(dims int) []float32 {
		v := make([]float32, dims)
		for j := range v {
			v[j] = float32(rng.NormFloat64() * 0.09)
		}
		return v
	}
	noisy := func(v []float32) []float32 {
		out := append([]float32(nil), v...)
		for j := range out {
			out[j] += float32(rng.NormFloat64() * sigma)
		}
		return out
	}
	gallery, probes := make([]Template, n), make([]Template, n)
	for i := range gallery {
		p, q := gen(16), gen(32)
		gallery[i] = Template{Model: "p", Vector: p, Aux: []Embedding{{Model: "q", Vector: q}}}
		probes[i] = Template{Model: "p", Vector: noisy(p), Aux: []Embedding{{Model: "q", Vector: noisy(q)}}}
	}
	return gallery, probes
}

// The int8 first pass on the primary model, reranked with the fused distance, must find the
// same best identity as the exact fused search over everyone (recall@1 = 1).
func TestFusedGalleryRecallAgainstExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	f := testFusion(t)
	ts, probes := fusedTemplates(rng, 3000, 0.05)
	es := make([]Entry, len(ts))
	for i, tm := range ts {
		es[i] = Entry{ID: fmt.Sprintf("id-%05d", i), Template: tm}
	}
	g, err := NewFusedGallery(f, es)
	if err != nil {
		t.Fatal(err)
	}
	for i, q := range probes[:300] {
		exact, err := g.Search(q, SearchOpts{K: 1, Threshold: 0, Precision: Float32})
		if err != nil {
			t.Fatal(err)
		}
		fast, err := g.Search(q, SearchOpts{K: 1, Threshold: 0, Precision: Int8, Rerank: 32})
		if err != nil {
			t.Fatal(err)
		}
		// Brute force with Fusion.Distance is the reference for the exact search.
		best, bestD := -1, math.Inf(1)
		for j, e := range es {
			if d, _ := f.Distance(q, e.Template); d < bestD {
				best, bestD = j, d
			}
		}
		if exact.Candidates[0].ID != es[best].ID || math.Abs(exact.Candidates[0].Distance-bestD) > 1e-9 {
			t.Fatalf("probe %d: exact search %+v, brute force %s %v", i, exact.Candidates[0], es[best].ID, bestD)
		}
		if fast.Candidates[0].ID != exact.Candidates[0].ID {
			t.Fatalf("probe %d: int8+rerank found %s, exact fused search %s", i, fast.Candidates[0].ID, exact.Candidates[0].ID)
		}
	}
	if _, err := g.Search(Template{Model: "p", Vector: probes[0].Vector}, SearchOpts{K: 1}); !errors.Is(err, ErrModelMismatch) {
		t.Errorf("single-model probe: %v", err)
	}
	// Apply keeps the fusion.
	x := NewIndex(g)
	if err := x.Apply(nil, []string{es[0].ID}); err != nil {
		t.Fatal(err)
	}
	if x.Snapshot().Fusion() == nil || x.Snapshot().Len() != len(es)-1 {
		t.Errorf("after Apply: fusion %v, %d entries", x.Snapshot().Fusion(), x.Snapshot().Len())
	}
}
