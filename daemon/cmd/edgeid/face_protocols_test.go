package main

import (
	"testing"

	"github.com/edgeid/edgeid/daemon/face"
)

// The chip photo is a 240x320 portrait of at most 14 KB that the guarded decoder reads back
// and that still holds one usable face of the same person.
func TestChipPortrait(t *testing.T) {
	o := face.DefaultOpts()
	o.ModelDir = modelsDir
	eng, err := face.New(&o)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	img, _, err := loadImage(testdata("astronaut.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	a, err := eng.Analyze(img, true)
	if err != nil {
		t.Fatal(err)
	}
	p, err := icaoPortrait(img, a.Face)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if p.Cols() != chipWidth || p.Rows() != chipHeight {
		t.Fatalf("portrait %dx%d", p.Cols(), p.Rows())
	}
	b, err := encodeJP2(p, chipBytes)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > chipBytes || len(b) < chipBytes*3/4 {
		t.Errorf("chip photo of %d bytes, want close to and at most %d", len(b), chipBytes)
	}
	chip, err := chipTemplate(eng, testdata("astronaut.png"), true)
	if err != nil {
		t.Fatal(err)
	}
	accept, _ := eng.Thresholds()
	if d, err := eng.Compare(chip, a.Template); err != nil || d > accept {
		t.Errorf("chip photo vs its source: fused distance %.4f (%v), accept %.4f", d, err, accept)
	}
}

// Every lighting variant changes the image, keeps its size, and is the same for the same seed.
func TestRelight(t *testing.T) {
	img, _, err := loadImage(testdata("astronaut.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	src, _ := img.DataPtrUint8()
	for v, name := range relightNames() {
		a, err := relight(img, v, 7)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := relight(img, v, 7)
		pa, _ := a.DataPtrUint8()
		pb, _ := b.DataPtrUint8()
		if a.Cols() != img.Cols() || a.Rows() != img.Rows() || string(pa) != string(pb) || string(pa) == string(src) {
			t.Errorf("%s: %dx%d, deterministic %v, changed %v", name, a.Cols(), a.Rows(), string(pa) == string(pb), string(pa) != string(src))
		}
		a.Close()
		b.Close()
	}
}
