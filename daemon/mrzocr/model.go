package mrzocr

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Alphabet is the MRZ's character set in the classifier's class order.
const Alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<"

// Glyph features: a cell resampled to FeatW x FeatH grey levels, inverted (ink high),
// mean-free and of unit length, so that a dot product is a correlation.
const (
	FeatW = 12
	FeatH = 16
	dims  = FeatW * FeatH
)

// ModelID is the classifier's entry in models/MANIFEST.json.
const ModelID = "mrz-ocrb-protos"

const modelMagic = "EDGEIDMRZP1\x00"

// Model is the glyph classifier: prototypes (cluster centres of rendered and augmented OCR-B
// glyphs as the reader's own segmentation cuts them) with their classes. A cell's score for a
// class is its best correlation with that class's prototypes.
type Model struct {
	class  []uint8   // index into Alphabet
	protos []float32 // len(class) * dims, each unit length
}

// maxProtos bounds a model file: 37 classes with 64 prototypes each is far more than needed.
const maxProtos = 37 * 64

// ParseModel reads a model file: the magic, FeatW and FeatH (uint16), the prototype count
// (uint32), then per prototype its class (one byte) and dims float32, little-endian.
func ParseModel(b []byte) (*Model, error) {
	hdr := len(modelMagic) + 8
	if len(b) < hdr || string(b[:len(modelMagic)]) != modelMagic {
		return nil, errors.New("mrz model: not an edgeid MRZ prototype file")
	}
	p := b[len(modelMagic):]
	w, h, n := binary.LittleEndian.Uint16(p), binary.LittleEndian.Uint16(p[2:]), binary.LittleEndian.Uint32(p[4:])
	if w != FeatW || h != FeatH {
		return nil, fmt.Errorf("mrz model: features of %dx%d, this reader uses %dx%d", w, h, FeatW, FeatH)
	}
	if n == 0 || n > maxProtos {
		return nil, fmt.Errorf("mrz model: %d prototypes (want 1..%d)", n, maxProtos)
	}
	rec := 1 + 4*dims
	if want := hdr + int(n)*rec; len(b) != want {
		return nil, fmt.Errorf("mrz model: %d bytes, want %d for %d prototypes", len(b), want, n)
	}
	m := &Model{class: make([]uint8, n), protos: make([]float32, int(n)*dims)}
	seen := make([]bool, len(Alphabet))
	p = b[hdr:]
	for i := 0; i < int(n); i++ {
		c := p[i*rec]
		if int(c) >= len(Alphabet) {
			return nil, fmt.Errorf("mrz model: prototype %d has class %d, beyond the %d MRZ characters", i, c, len(Alphabet))
		}
		m.class[i], seen[c] = c, true
		var norm float64
		for k := 0; k < dims; k++ {
			v := math.Float32frombits(binary.LittleEndian.Uint32(p[i*rec+1+4*k:]))
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("mrz model: prototype %d holds a value that is not a number", i)
			}
			m.protos[i*dims+k] = v
			norm += float64(v) * float64(v)
		}
		if math.Abs(norm-1) > 1e-3 {
			return nil, fmt.Errorf("mrz model: prototype %d is not of unit length (%.4f)", i, math.Sqrt(norm))
		}
	}
	for c, ok := range seen {
		if !ok {
			return nil, fmt.Errorf("mrz model: no prototype for %q", Alphabet[c])
		}
	}
	return m, nil
}

// Encode writes the model in the format ParseModel reads.
func (m *Model) Encode() []byte {
	b := []byte(modelMagic)
	b = binary.LittleEndian.AppendUint16(b, FeatW)
	b = binary.LittleEndian.AppendUint16(b, FeatH)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(m.class)))
	for i, c := range m.class {
		b = append(b, c)
		for _, v := range m.protos[i*dims : (i+1)*dims] {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
		}
	}
	return b
}

// NewModel builds a model from prototypes (each dims long, normalised here) and classes.
func NewModel(classes []uint8, protos [][]float32) (*Model, error) {
	if len(classes) != len(protos) || len(classes) == 0 || len(classes) > maxProtos {
		return nil, fmt.Errorf("mrz model: %d classes for %d prototypes", len(classes), len(protos))
	}
	m := &Model{}
	for i, p := range protos {
		if len(p) != dims || int(classes[i]) >= len(Alphabet) {
			return nil, fmt.Errorf("mrz model: prototype %d: %d values of class %d", i, len(p), classes[i])
		}
		q := append([]float32(nil), p...)
		if !normalise(q) {
			return nil, fmt.Errorf("mrz model: prototype %d is flat", i)
		}
		m.class = append(m.class, classes[i])
		m.protos = append(m.protos, q...)
	}
	return ParseModel(m.Encode()) // the same checks as a file gets
}

// normalise makes v mean-free and of unit length; false if v is flat.
func normalise(v []float32) bool {
	var s float64
	for _, x := range v {
		s += float64(x)
	}
	mean := float32(s / float64(len(v)))
	var n float64
	for i := range v {
		v[i] -= mean
		n += float64(v[i]) * float64(v[i])
	}
	if n < 1e-9 {
		return false
	}
	inv := float32(1 / math.Sqrt(n))
	for i := range v {
		v[i] *= inv
	}
	return true
}

// scores sets out[c] to the best correlation of f with class c's prototypes (out must have
// len(Alphabet) entries, set to -1 by the caller or holding earlier maxima).
func (m *Model) scores(f []float32, out []float32) {
	for i, c := range m.class {
		p := m.protos[i*dims : (i+1)*dims]
		var s float32
		for k, v := range f {
			s += v * p[k]
		}
		if s > out[c] {
			out[c] = s
		}
	}
}

// Classify returns the class (index into Alphabet) whose prototypes correlate best with f, a
// normalised feature vector; training uses it to check its own labels.
func (m *Model) Classify(f []float32) int {
	var row scoreRow
	for i := range row {
		row[i] = -1
	}
	m.scores(f, row[:])
	bi := 0
	for i, v := range row {
		if v > row[bi] {
			bi = i
		}
	}
	return bi
}
