package match

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"sync"
	"testing"
)

const testModel = "dlib-resnet-v1"

// randomTemplates makes n unit-scale random 128-d templates, like face embeddings in spread.
func randomTemplates(rng *rand.Rand, n, dims int) []Template {
	out := make([]Template, n)
	for i := range out {
		v := make([]float32, dims)
		for j := range v {
			v[j] = float32(rng.NormFloat64() * 0.09)
		}
		out[i] = Template{Model: testModel, Vector: v}
	}
	return out
}

func entries(ts []Template) []Entry {
	out := make([]Entry, len(ts))
	for i, t := range ts {
		out[i] = Entry{ID: fmt.Sprintf("id-%05d", i), Template: t}
	}
	return out
}

// bruteForce is the reference: float64 distances, sorted.
func bruteForce(es []Entry, q Template) []Candidate {
	out := make([]Candidate, len(es))
	for i, e := range es {
		var s float64
		for j := range q.Vector {
			d := float64(q.Vector[j]) - float64(e.Template.Vector[j])
			s += d * d
		}
		out[i] = Candidate{ID: e.ID, Distance: math.Sqrt(s)}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Distance < out[j].Distance })
	return out
}

// nearCopy is t moved a little, as a second capture of the same face would be.
func nearCopy(rng *rand.Rand, t Template, sigma float64) Template {
	v := append([]float32(nil), t.Vector...)
	for i := range v {
		v[i] += float32(rng.NormFloat64() * sigma)
	}
	return Template{Model: t.Model, Vector: v}
}

func TestSearchMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	es := entries(randomTemplates(rng, 1000, 128))
	for _, k := range []kernels{bestKernels(), portableKernels} {
		g, err := newGallery(testModel, 128, es, k)
		if err != nil {
			t.Fatal(err)
		}
		for q := 0; q < 25; q++ {
			probe := nearCopy(rng, es[rng.IntN(len(es))].Template, 0.02)
			want := bruteForce(es, probe)[:5]
			got, err := g.Search(probe, SearchOpts{K: 5, Threshold: 0.6})
			if err != nil {
				t.Fatal(err)
			}
			for i := range want {
				if got.Candidates[i].ID != want[i].ID || math.Abs(got.Candidates[i].Distance-want[i].Distance) > 1e-4 {
					t.Fatalf("%s kernels, query %d, rank %d: got %+v, want %+v", k.name, q, i, got.Candidates[i], want[i])
				}
			}
			if !got.Match {
				t.Errorf("query %d: near copy at %.3f not matched", q, got.Candidates[0].Distance)
			}
		}
	}
}

func TestSearchOpenSet(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	es := entries(randomTemplates(rng, 500, 128))
	g, err := NewGallery(testModel, 128, es)
	if err != nil {
		t.Fatal(err)
	}
	stranger := randomTemplates(rng, 1, 128)[0]
	for _, p := range []Precision{Float32, Int8} {
		r, err := g.Search(stranger, SearchOpts{K: 3, Threshold: 0.6, Precision: p, Rerank: 16})
		if err != nil {
			t.Fatal(err)
		}
		if r.Match || len(r.Candidates) != 3 {
			t.Errorf("precision %d: stranger matched %+v", p, r)
		}
		if _, ok := r.Best(); ok {
			t.Errorf("precision %d: Best() named someone for an unknown probe", p)
		}
	}
}

func TestInt8AgreesWithFloat32(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	es := entries(randomTemplates(rng, 5000, 128))
	g, err := NewGallery(testModel, 128, es)
	if err != nil {
		t.Fatal(err)
	}
	const queries = 300
	raw, reranked := 0, 0
	for q := 0; q < queries; q++ {
		probe := nearCopy(rng, es[rng.IntN(len(es))].Template, 0.03)
		f, _ := g.Search(probe, SearchOpts{K: 1, Threshold: 0.6})
		i8, _ := g.Search(probe, SearchOpts{K: 1, Threshold: 0.6, Precision: Int8})
		rr, _ := g.Search(probe, SearchOpts{K: 1, Threshold: 0.6, Precision: Int8, Rerank: 8})
		if i8.Candidates[0].ID == f.Candidates[0].ID {
			raw++
		}
		if rr.Candidates[0].ID == f.Candidates[0].ID && rr.Candidates[0].Distance == f.Candidates[0].Distance {
			reranked++
		}
	}
	t.Logf("recall@1 against float32: int8 %d/%d, int8 + rerank %d/%d", raw, queries, reranked, queries)
	if reranked != queries {
		t.Errorf("int8 with rerank found the float32 nearest in %d of %d queries", reranked, queries)
	}
	if raw < queries*99/100 {
		t.Errorf("raw int8 recall@1 %d/%d below 99%%", raw, queries)
	}
}

func TestNewGalleryRefuses(t *testing.T) {
	good := Template{Model: testModel, Vector: make([]float32, 4)}
	tests := []struct {
		name string
		es   []Entry
		want error
	}{
		{"duplicate", []Entry{{"a", good}, {"a", good}}, ErrDuplicateID},
		{"empty id", []Entry{{"", good}}, ErrEmptyID},
		{"other model", []Entry{{"a", Template{Model: "x", Vector: make([]float32, 4)}}}, ErrModelMismatch},
		{"wrong dims", []Entry{{"a", Template{Model: testModel, Vector: make([]float32, 3)}}}, ErrMalformed},
		{"nan", []Entry{{"a", Template{Model: testModel, Vector: []float32{0, float32(math.NaN()), 0, 0}}}}, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewGallery(testModel, 4, tt.es); !errors.Is(err, tt.want) {
				t.Errorf("NewGallery: %v, want %v", err, tt.want)
			}
		})
	}
	g, _ := NewGallery(testModel, 4, []Entry{{"a", good}})
	if _, err := g.Search(Template{Model: "x", Vector: make([]float32, 4)}, SearchOpts{K: 1}); !errors.Is(err, ErrModelMismatch) {
		t.Errorf("search across models: %v", err)
	}
	if _, err := g.Search(good, SearchOpts{K: 0}); err == nil {
		t.Error("search with K=0 accepted")
	}
	empty, _ := NewGallery(testModel, 4, nil)
	if r, err := empty.Search(good, SearchOpts{K: 1, Threshold: 1}); err != nil || r.Match || len(r.Candidates) != 0 {
		t.Errorf("empty gallery: %+v, %v", r, err)
	}
}

func TestIndexApplyWhileSearching(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	ts := randomTemplates(rng, 300, 128)
	es := entries(ts)
	g, err := NewGallery(testModel, 128, es[:200])
	if err != nil {
		t.Fatal(err)
	}
	x := NewIndex(g)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				snap := x.Snapshot()
				probe := es[0].Template
				r, err := snap.Search(probe, SearchOpts{K: 1, Threshold: 0.01})
				if err != nil {
					t.Error(err)
					return
				}
				// id-00000 is never deleted, so it is always its own nearest.
				if !r.Match || r.Candidates[0].ID != "id-00000" {
					t.Errorf("snapshot of %d: %+v", snap.Len(), r)
					return
				}
			}
		}()
	}
	for i := 200; i < 300; i++ {
		if err := x.Apply([]Entry{es[i]}, []string{es[i-100].ID}); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if n := x.Snapshot().Len(); n != 200 {
		t.Errorf("after 100 adds and 100 removals: %d entries, want 200", n)
	}
	// A failing update leaves the gallery as it was.
	before := x.Snapshot()
	if err := x.Apply([]Entry{{ID: "bad", Template: Template{Model: "other", Vector: make([]float32, 128)}}}, nil); err == nil {
		t.Error("Apply of a template from another model succeeded")
	}
	if x.Snapshot() != before {
		t.Error("a failed Apply replaced the gallery")
	}
}
