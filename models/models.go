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
}

// Manifest lists the models.
type Manifest struct {
	Version int     `json:"version"`
	Models  []Model `json:"models"`
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
