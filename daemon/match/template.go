// Package match holds face templates and the arithmetic on them: 1:1 distance, decisions and
// the ROC statistics that calibrate thresholds. It is pure Go (no cgo), so the fleet side and
// the gallery can use it without OpenCV.
package match

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Template is one face embedding and the model that made it. Embeddings of different models
// live in different spaces, so comparing across models is refused, never approximated.
type Template struct {
	Model  string
	Vector []float32
}

// Errors a caller may match.
var (
	ErrModelMismatch = errors.New("templates come from different models")
	ErrMalformed     = errors.New("malformed template")
)

// Encoding: "EDT" 0x01 | model id length (1 byte) | model id | dims (uint16 LE) | dims x float32 LE.
const (
	templateMagic = "EDT\x01"
	MaxDims       = 4096
	maxModelID    = 64
)

// MarshalBinary encodes t.
func (t Template) MarshalBinary() ([]byte, error) {
	if err := t.validate(); err != nil {
		return nil, err
	}
	b := make([]byte, 0, len(templateMagic)+1+len(t.Model)+2+4*len(t.Vector))
	b = append(b, templateMagic...)
	b = append(b, byte(len(t.Model)))
	b = append(b, t.Model...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(t.Vector)))
	for _, v := range t.Vector {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b, nil
}

// ParseTemplate decodes a template and checks it is usable.
func ParseTemplate(b []byte) (Template, error) {
	bad := func(format string, a ...any) (Template, error) {
		return Template{}, fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, a...))
	}
	if len(b) < len(templateMagic)+1 || string(b[:len(templateMagic)]) != templateMagic {
		return bad("missing header")
	}
	i := len(templateMagic)
	n := int(b[i])
	i++
	if n == 0 || n > maxModelID || i+n+2 > len(b) {
		return bad("model id length %d", n)
	}
	model := string(b[i : i+n])
	i += n
	dims := int(binary.LittleEndian.Uint16(b[i:]))
	i += 2
	if len(b)-i != 4*dims {
		return bad("%d dimensions need %d bytes, have %d", dims, 4*dims, len(b)-i)
	}
	t := Template{Model: model, Vector: make([]float32, dims)}
	for k := range t.Vector {
		t.Vector[k] = math.Float32frombits(binary.LittleEndian.Uint32(b[i+4*k:]))
	}
	if err := t.validate(); err != nil {
		return Template{}, err
	}
	return t, nil
}

func (t Template) validate() error {
	if t.Model == "" || len(t.Model) > maxModelID {
		return fmt.Errorf("%w: model id must be 1 to %d bytes", ErrMalformed, maxModelID)
	}
	if len(t.Vector) == 0 || len(t.Vector) > MaxDims {
		return fmt.Errorf("%w: %d dimensions (want 1 to %d)", ErrMalformed, len(t.Vector), MaxDims)
	}
	for i, v := range t.Vector {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("%w: component %d is not finite", ErrMalformed, i)
		}
	}
	return nil
}

// Distance is the euclidean distance between two templates of the same model: the native
// metric of the dlib ResNet embedding (smaller is more alike).
func Distance(a, b Template) (float64, error) {
	if a.Model != b.Model {
		return 0, fmt.Errorf("%w: %q and %q", ErrModelMismatch, a.Model, b.Model)
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
	var s float64
	for i := range a.Vector {
		d := float64(a.Vector[i]) - float64(b.Vector[i])
		s += d * d
	}
	return math.Sqrt(s), nil
}
