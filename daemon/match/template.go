// Package match holds face templates and the arithmetic on them: 1:1 distance, score fusion,
// decisions and the ROC statistics that calibrate thresholds. It is pure Go (no cgo), so the
// fleet side and the gallery can use it without OpenCV.
//
// A Template carries one embedding per recogniser of the model set (version 2 encoding); a
// Fusion turns their per-model distances into one fused distance, z-normalised by each model's
// impostor statistics, on which the accept and reject thresholds are set. The Gallery is the
// 1:N search: every enrolled template in one float32 slab plus an int8 copy, scanned without
// locks and swapped whole through an Index on updates; a fused gallery shortlists on the
// primary model's int8 slab and reranks the shortlist by the fused distance. The scan's dot
// products run on SIMD kernels chosen by the CPU (AVX2 with FMA on amd64, NEON on arm64), with
// portable Go as the fallback and as the tests' reference.
package match

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
)

// Template is one face's embeddings: the primary recogniser's (Model, Vector) and those of the
// other recognisers of the model set (Aux), in the engine's order. Embeddings of different
// models live in different spaces, so comparing across models is refused, never approximated.
type Template struct {
	Model  string
	Vector []float32
	Aux    []Embedding
}

// Embedding is one recogniser's output for a face.
type Embedding struct {
	Model  string
	Vector []float32
}

// Errors a caller may match.
var (
	ErrModelMismatch = errors.New("templates come from different models")
	ErrMalformed     = errors.New("malformed template")
	// ErrOldTemplate is a template of a single-model release: its person must be enrolled again.
	ErrOldTemplate = errors.New("template made by an older single-model release: enrol the person again")
)

// Encoding, version 2: "EDT" 0x02 | embeddings (1 byte) | per embedding: model id length
// (1 byte) | model id | dims (uint16 LE) | dims x float32 LE. Version 1 ("EDT" 0x01) held one
// dlib embedding; it is recognised only to be refused with ErrOldTemplate.
const (
	templateMagic   = "EDT\x02"
	templateMagicV1 = "EDT\x01"
	MaxDims         = 4096
	maxModelID      = 64
	maxEmbeddings   = 4
)

// Parts lists every embedding of t, the primary first.
func (t Template) Parts() []Embedding {
	return append([]Embedding{{Model: t.Model, Vector: t.Vector}}, t.Aux...)
}

// ModelSet names the recognisers of t, joined by "+": two templates compare only when equal.
func (t Template) ModelSet() string {
	ids := []string{t.Model}
	for _, e := range t.Aux {
		ids = append(ids, e.Model)
	}
	return strings.Join(ids, "+")
}

// Part returns the embedding of the given model.
func (t Template) Part(model string) ([]float32, bool) {
	for _, e := range t.Parts() {
		if e.Model == model {
			return e.Vector, true
		}
	}
	return nil, false
}

// MarshalBinary encodes t.
func (t Template) MarshalBinary() ([]byte, error) {
	if err := t.validate(); err != nil {
		return nil, err
	}
	parts := t.Parts()
	b := append([]byte(templateMagic), byte(len(parts)))
	for _, p := range parts {
		b = append(b, byte(len(p.Model)))
		b = append(b, p.Model...)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(p.Vector)))
		for _, v := range p.Vector {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	}
	return b, nil
}

// ParseTemplate decodes a template and checks it is usable.
func ParseTemplate(b []byte) (Template, error) {
	bad := func(format string, a ...any) (Template, error) {
		return Template{}, fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
	}
	if len(b) >= len(templateMagicV1)+2 && string(b[:len(templateMagicV1)]) == templateMagicV1 {
		n := min(int(b[len(templateMagicV1)]), len(b)-len(templateMagicV1)-1)
		return Template{}, fmt.Errorf("%w (model %q)", ErrOldTemplate, b[len(templateMagicV1)+1:len(templateMagicV1)+1+n])
	}
	if len(b) < len(templateMagic)+1 || string(b[:len(templateMagic)]) != templateMagic {
		return bad("missing header")
	}
	i := len(templateMagic)
	count := int(b[i])
	i++
	if count == 0 || count > maxEmbeddings {
		return bad("%d embeddings (want 1 to %d)", count, maxEmbeddings)
	}
	parts := make([]Embedding, count)
	for p := range parts {
		if i >= len(b) {
			return bad("embedding %d: truncated", p)
		}
		n := int(b[i])
		i++
		if n == 0 || n > maxModelID || i+n+2 > len(b) {
			return bad("embedding %d: model id length %d", p, n)
		}
		model := string(b[i : i+n])
		i += n
		dims := int(binary.LittleEndian.Uint16(b[i:]))
		i += 2
		if len(b)-i < 4*dims {
			return bad("embedding %d: %d dimensions need %d bytes, have %d", p, dims, 4*dims, len(b)-i)
		}
		v := make([]float32, dims)
		for k := range v {
			v[k] = math.Float32frombits(binary.LittleEndian.Uint32(b[i+4*k:]))
		}
		i += 4 * dims
		parts[p] = Embedding{Model: model, Vector: v}
	}
	if i != len(b) {
		return bad("%d trailing bytes", len(b)-i)
	}
	t := Template{Model: parts[0].Model, Vector: parts[0].Vector}
	if count > 1 {
		t.Aux = parts[1:]
	}
	if err := t.validate(); err != nil {
		return Template{}, err
	}
	return t, nil
}

func (t Template) validate() error {
	if len(t.Aux)+1 > maxEmbeddings {
		return fmt.Errorf("%w: %d embeddings (want at most %d)", ErrMalformed, len(t.Aux)+1, maxEmbeddings)
	}
	seen := map[string]bool{}
	for _, p := range t.Parts() {
		if p.Model == "" || len(p.Model) > maxModelID {
			return fmt.Errorf("%w: model id must be 1 to %d bytes", ErrMalformed, maxModelID)
		}
		if seen[p.Model] {
			return fmt.Errorf("%w: model %q twice", ErrMalformed, p.Model)
		}
		seen[p.Model] = true
		if len(p.Vector) == 0 || len(p.Vector) > MaxDims {
			return fmt.Errorf("%w: %s: %d dimensions (want 1 to %d)", ErrMalformed, p.Model, len(p.Vector), MaxDims)
		}
		for i, v := range p.Vector {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("%w: %s: component %d is not finite", ErrMalformed, p.Model, i)
			}
		}
	}
	return nil
}

// Distance is the euclidean distance between the primary embeddings of two templates of the
// same model set: the native metric of the dlib ResNet embedding (smaller is more alike). The
// decision uses the fused distance (Fusion.Distance); this one links frames of one face.
func Distance(a, b Template) (float64, error) {
	if a.ModelSet() != b.ModelSet() {
		return 0, fmt.Errorf("%w: %q and %q", ErrModelMismatch, a.ModelSet(), b.ModelSet())
	}
	if len(a.Vector) != len(b.Vector) {
		return 0, fmt.Errorf("%w: %d and %d dimensions", ErrMalformed, len(a.Vector), len(b.Vector))
	}
	if err := a.validate(); err != nil {
		return 0, err
	}
	if err := b.validate(); err != nil {
		return 0, err
	}
	return Euclidean.distance(a.Vector, b.Vector), nil
}
