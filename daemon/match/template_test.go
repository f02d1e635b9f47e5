package match

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestTemplateRoundTrip(t *testing.T) {
	in := Template{Model: "dlib-resnet-v1", Vector: []float32{0.5, -1.25, 3e-7, 0},
		Aux: []Embedding{{Model: "hse-faceres", Vector: []float32{1, 2, 3}}}}
	b, err := in.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	out, err := ParseTemplate(b)
	if err != nil {
		t.Fatal(err)
	}
	if out.ModelSet() != "dlib-resnet-v1+hse-faceres" || len(out.Vector) != len(in.Vector) || len(out.Aux) != 1 || out.Aux[0].Vector[2] != 3 {
		t.Fatalf("got %+v, want %+v", out, in)
	}
	for i := range in.Vector {
		if out.Vector[i] != in.Vector[i] {
			t.Errorf("component %d: got %v, want %v", i, out.Vector[i], in.Vector[i])
		}
	}
}

func TestParseTemplateRefuses(t *testing.T) {
	good, _ := Template{Model: "m", Vector: []float32{1, 2}}.MarshalBinary()
	nan, _ := Template{Model: "m", Vector: []float32{1, 2}}.MarshalBinary()
	copy(nan[len(nan)-4:], []byte{0, 0, 0xc0, 0x7f}) // a NaN in the last component
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"bad magic", append([]byte("XDT\x02"), good[4:]...)},
		{"no embeddings", []byte("EDT\x02\x00")},
		{"same model twice", append(append([]byte("EDT\x02\x02"), good[5:]...), good[5:]...)},
		{"truncated", good[:len(good)-1]},
		{"trailing byte", append(append([]byte{}, good...), 0)},
		{"zero model length", []byte("EDT\x02\x01\x00")},
		{"nan", nan},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParseTemplate(tt.b); !errors.Is(err, ErrMalformed) {
				t.Fatalf("ParseTemplate: %v, want ErrMalformed", err)
			}
		})
	}
}

// A template of the single-model release is refused with a message that says what to do.
func TestParseTemplateRefusesOldRelease(t *testing.T) {
	old := []byte("EDT\x01\x0edlib-resnet-v1\x01\x00\x00\x00\x80\x3f")
	_, err := ParseTemplate(old)
	if !errors.Is(err, ErrOldTemplate) || !strings.Contains(err.Error(), "enrol the person again") || !strings.Contains(err.Error(), "dlib-resnet-v1") {
		t.Fatalf("ParseTemplate(v1) = %v, want ErrOldTemplate naming the model", err)
	}
}

func TestDistance(t *testing.T) {
	a := Template{Model: "m", Vector: []float32{0, 0, 0}}
	b := Template{Model: "m", Vector: []float32{3, 4, 0}}
	d, err := Distance(a, b)
	if err != nil || d != 5 {
		t.Fatalf("Distance = %v, %v; want 5, nil", d, err)
	}
	if _, err := Distance(a, Template{Model: "other", Vector: []float32{0, 0, 0}}); !errors.Is(err, ErrModelMismatch) {
		t.Errorf("across models: %v, want ErrModelMismatch", err)
	}
	if _, err := Distance(a, Template{Model: "m", Vector: []float32{0, 0}}); !errors.Is(err, ErrMalformed) {
		t.Errorf("different lengths: %v, want ErrMalformed", err)
	}
	inf := Template{Model: "m", Vector: []float32{float32(math.Inf(1)), 0, 0}}
	if _, err := Distance(a, inf); !errors.Is(err, ErrMalformed) {
		t.Errorf("infinite component: %v, want ErrMalformed", err)
	}
}

func FuzzParseTemplate(f *testing.F) {
	good, _ := Template{Model: "dlib-resnet-v1", Vector: make([]float32, 128)}.MarshalBinary()
	f.Add(good)
	f.Add([]byte("EDT\x02\x01\x01m\x01\x00\x00\x00\x80\x3f"))
	two, _ := Template{Model: "a", Vector: []float32{1}, Aux: []Embedding{{Model: "b", Vector: []float32{2, 3}}}}.MarshalBinary()
	f.Add(two)
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		tm, err := ParseTemplate(b)
		if err != nil {
			return
		}
		// Whatever parses must encode back to the same bytes.
		again, err := tm.MarshalBinary()
		if err != nil {
			t.Fatalf("parsed template does not marshal: %v", err)
		}
		if string(again) != string(b) {
			t.Fatalf("round trip changed the bytes")
		}
	})
}
