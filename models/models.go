// Package models carries the manifest of the face models the daemon may load. The manifest is
// compiled into the binary, so a model file swapped on disk (or a manifest edited next to it)
// is refused: the daemon only loads files whose size and SHA-256 match what it was built with.
package models

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

//go:embed MANIFEST.json
var manifestJSON []byte

// Model describes one model file.
type Model struct {
	ID      string `json:"id"`
	Role    string `json:"role"` // "detector" or "recognizer"
	File    string `json:"file"`
	Bytes   int64  `json:"bytes"`
	SHA256  string `json:"sha256"`
	Source  string `json:"source"`
	Licence string `json:"licence"`
	// Metric and Thresholds apply to recognizers: the distance metric of the embeddings and
	// decision thresholds calibrated by `edgeid face eval`, keyed by operating point ("far_1e-3").
	Metric     string             `json:"metric,omitempty"`
	Thresholds map[string]float64 `json:"thresholds,omitempty"`
	// Calibration says on which data and how the thresholds were measured.
	Calibration string `json:"calibration,omitempty"`
	// Impostor is the mean and standard deviation of this recognizer's impostor distances on
	// the dev sets: the z-normalisation of score fusion (written by make calibrate).
	Impostor *Stats `json:"impostor,omitempty"`
}

// Stats is a mean and a standard deviation.
type Stats struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
}

// Fusion is the calibrated decision on the fused distance of several recognizers: each
// model's distance z-normalised by its Impostor stats, weighted, summed (smaller is more alike).
type Fusion struct {
	Models  []string  `json:"models"` // recognizer ids, the primary first
	Weights []float64 `json:"weights"`
	// Accept: at or below, the face matches without a human (automatic FAR target met on
	// every dev set and protocol). Reject: above, it is clearly another person. Between the
	// two the check is referred to the attendant.
	Accept float64 `json:"accept"`
	Reject float64 `json:"reject"`
	// Thresholds are the fused operating points of the calibration union ("far_1e-3"...).
	Thresholds  map[string]float64 `json:"thresholds,omitempty"`
	Calibration string             `json:"calibration,omitempty"`
}

// Manifest lists the models.
type Manifest struct {
	Version int     `json:"version"`
	Models  []Model `json:"models"`
	Fusion  *Fusion `json:"fusion,omitempty"`
}

// ErrUnknownModel is returned when the manifest has no model with the asked-for id.
var ErrUnknownModel = errors.New("model not in manifest")

// Builtin returns the manifest compiled into this binary.
func Builtin() (*Manifest, error) {
	return ParseManifest(manifestJSON)
}

// ParseManifest parses a manifest strictly: unknown fields and missing values are errors.
func ParseManifest(b []byte) (*Manifest, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var m Manifest
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("model manifest: %w", err)
	}
	if m.Version != 1 {
		return nil, fmt.Errorf("model manifest: version %d not supported (want 1)", m.Version)
	}
	seen := map[string]bool{}
	for i, md := range m.Models {
		switch {
		case md.ID == "" || md.File == "" || md.Role == "":
			return nil, fmt.Errorf("model manifest: entry %d lacks id, file or role", i)
		case seen[md.ID]:
			return nil, fmt.Errorf("model manifest: duplicate id %q", md.ID)
		case filepath.Base(md.File) != md.File:
			return nil, fmt.Errorf("model manifest: %s: file %q must be a bare file name", md.ID, md.File)
		case len(md.SHA256) != 64:
			return nil, fmt.Errorf("model manifest: %s: sha256 must be 64 hex digits", md.ID)
		case md.Bytes <= 0:
			return nil, fmt.Errorf("model manifest: %s: bytes must be positive", md.ID)
		}
		if _, err := hex.DecodeString(md.SHA256); err != nil {
			return nil, fmt.Errorf("model manifest: %s: sha256: %w", md.ID, err)
		}
		seen[md.ID] = true
	}
	if f := m.Fusion; f != nil {
		if len(f.Models) == 0 || len(f.Models) != len(f.Weights) {
			return nil, errors.New("model manifest: fusion needs one weight per model")
		}
		for _, id := range f.Models {
			if !seen[id] {
				return nil, fmt.Errorf("model manifest: fusion names %q, which is not in the manifest", id)
			}
		}
		if !(f.Accept < f.Reject) {
			return nil, fmt.Errorf("model manifest: fusion accept threshold %v must be below reject %v", f.Accept, f.Reject)
		}
	}
	return &m, nil
}

// Get returns the model with the given id.
func (m *Manifest) Get(id string) (Model, error) {
	for _, md := range m.Models {
		if md.ID == id {
			return md, nil
		}
	}
	return Model{}, fmt.Errorf("%w: %q", ErrUnknownModel, id)
}

// Load reads the model's file from dir and returns its bytes after checking size and SHA-256.
// Reading it into memory once means the bytes checked are the bytes used.
func (md Model) Load(dir string) ([]byte, error) {
	path := filepath.Join(dir, md.File)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", md.ID, err)
	}
	defer f.Close()
	// Read one byte more than expected so that a longer file is caught without reading all of it.
	b, err := io.ReadAll(io.LimitReader(f, md.Bytes+1))
	if err != nil {
		return nil, fmt.Errorf("model %s: reading %s: %w", md.ID, path, err)
	}
	if int64(len(b)) != md.Bytes {
		return nil, fmt.Errorf("model %s: %s has the wrong size (want %d bytes): refusing it", md.ID, path, md.Bytes)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != md.SHA256 {
		return nil, fmt.Errorf("model %s: %s has sha256 %s, want %s: refusing it", md.ID, path, got, md.SHA256)
	}
	return b, nil
}

// Mapped is a model file mapped read-only into memory and checked: the bytes checked are the
// bytes used, read once by the kernel and not copied onto the Go heap. Close unmaps it, once
// the consumer (OpenCV copies the weights while it builds a network) is done with the bytes.
type Mapped struct {
	b []byte
}

// Bytes are the file's contents; they are valid until Close.
func (m *Mapped) Bytes() []byte { return m.b }

// Close unmaps the file.
func (m *Mapped) Close() error {
	if m.b == nil {
		return nil
	}
	err := syscall.Munmap(m.b)
	m.b = nil
	return err
}

// Map maps the model's file from dir after checking its size and SHA-256.
func (md Model) Map(dir string) (*Mapped, error) {
	path := filepath.Join(dir, md.File)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", md.ID, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", md.ID, err)
	}
	if !st.Mode().IsRegular() || st.Size() != md.Bytes {
		return nil, fmt.Errorf("model %s: %s has the wrong size (want %d bytes): refusing it", md.ID, path, md.Bytes)
	}
	b, err := syscall.Mmap(int(f.Fd()), 0, int(md.Bytes), syscall.PROT_READ, syscall.MAP_PRIVATE)
	if err != nil {
		return nil, fmt.Errorf("model %s: mapping %s: %w", md.ID, path, err)
	}
	m := &Mapped{b: b}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != md.SHA256 {
		m.Close()
		return nil, fmt.Errorf("model %s: %s has sha256 %s, want %s: refusing it", md.ID, path, got, md.SHA256)
	}
	return m, nil
}

// FindDir returns the first of the candidate folders that holds every file of the manifest.
func (m *Manifest) FindDir(candidates ...string) (string, error) {
	for _, dir := range candidates {
		if dir == "" {
			continue
		}
		ok := true
		for _, md := range m.Models {
			if _, err := os.Stat(filepath.Join(dir, md.File)); err != nil {
				ok = false
				break
			}
		}
		if ok {
			return dir, nil
		}
	}
	return "", fmt.Errorf("no folder holds the face models (looked in %q)", candidates)
}
