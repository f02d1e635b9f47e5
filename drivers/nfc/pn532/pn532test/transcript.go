package pn532test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"github.com/edgeid/edgeid/internal/boundedfile"
	"os"
	"path/filepath"

	"periph.io/x/conn/v3/conntest"
	"periph.io/x/conn/v3/i2c/i2ctest"
)

// Transcript is a recorded I2C or SPI session, stored as JSON with hex strings so that it
// reads well in a diff. SPI bytes are as on the wire (LSB first, so bit-reversed).
type Transcript struct {
	Comment string `json:"comment"`
	Bus     string `json:"bus,omitempty"` // "i2c" (also when empty) or "spi"
	Ops     []Op   `json:"ops"`
}

// Op is one I2C transaction or SPI transfer.
type Op struct {
	Addr uint16 `json:"addr,omitempty"`
	W    string `json:"w,omitempty"`
	R    string `json:"r,omitempty"`
}

// FromI2C converts recorded operations.
func FromI2C(comment string, ops []i2ctest.IO) Transcript {
	t := Transcript{Comment: comment, Bus: "i2c"}
	for _, o := range ops {
		t.Ops = append(t.Ops, Op{Addr: o.Addr, W: hex.EncodeToString(o.W), R: hex.EncodeToString(o.R)})
	}
	return t
}

// FromSPI converts recorded SPI transfers.
func FromSPI(comment string, ops []conntest.IO) Transcript {
	t := Transcript{Comment: comment, Bus: "spi"}
	for _, o := range ops {
		t.Ops = append(t.Ops, Op{W: hex.EncodeToString(o.W), R: hex.EncodeToString(o.R)})
	}
	return t
}

// SPI converts back to periph's playback transfers.
func (t Transcript) SPI() ([]conntest.IO, error) {
	if t.Bus != "spi" {
		return nil, fmt.Errorf("transcript of bus %q, not spi", t.Bus)
	}
	out := make([]conntest.IO, 0, len(t.Ops))
	for i, o := range t.Ops {
		w, err := hex.DecodeString(o.W)
		if err != nil {
			return nil, fmt.Errorf("transcript op %d: w: %w", i, err)
		}
		r, err := hex.DecodeString(o.R)
		if err != nil {
			return nil, fmt.Errorf("transcript op %d: r: %w", i, err)
		}
		out = append(out, conntest.IO{W: w, R: r})
	}
	return out, nil
}

// I2C converts back to periph's playback operations.
func (t Transcript) I2C() ([]i2ctest.IO, error) {
	if t.Bus != "" && t.Bus != "i2c" {
		return nil, fmt.Errorf("transcript of bus %q, not i2c", t.Bus)
	}
	out := make([]i2ctest.IO, 0, len(t.Ops))
	for i, o := range t.Ops {
		w, err := hex.DecodeString(o.W)
		if err != nil {
			return nil, fmt.Errorf("transcript op %d: w: %w", i, err)
		}
		r, err := hex.DecodeString(o.R)
		if err != nil {
			return nil, fmt.Errorf("transcript op %d: r: %w", i, err)
		}
		if len(w) == 0 {
			w = nil
		}
		if len(r) == 0 {
			r = nil
		}
		out = append(out, i2ctest.IO{Addr: o.Addr, W: w, R: r})
	}
	return out, nil
}

// maxTranscript bounds the size of a transcript file.
const maxTranscript = 16 << 20

// Save writes t to path atomically.
func (t Transcript) Save(path string) error {
	b, err := json.MarshalIndent(t, "", " ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".transcript-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Load reads a transcript file.
func Load(path string) (Transcript, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Transcript{}, err
	}
	if fi.Size() > maxTranscript {
		return Transcript{}, fmt.Errorf("transcript %s: %d bytes, more than %d", path, fi.Size(), maxTranscript)
	}
	b, err := boundedfile.ReadFile(path, maxTranscript)
	if err != nil {
		return Transcript{}, err
	}
	t, err := Parse(b)
	if err != nil {
		return Transcript{}, fmt.Errorf("transcript %s: %w", path, err)
	}
	return t, nil
}

// Parse decodes a transcript and checks its bus and hex fields.
func Parse(b []byte) (Transcript, error) {
	if len(b) > maxTranscript {
		return Transcript{}, fmt.Errorf("%d bytes, more than %d", len(b), maxTranscript)
	}
	var t Transcript
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return Transcript{}, err
	}
	var err error
	switch t.Bus {
	case "", "i2c":
		_, err = t.I2C()
	case "spi":
		_, err = t.SPI()
	default:
		err = fmt.Errorf("unknown bus %q (want i2c or spi)", t.Bus)
	}
	if err != nil {
		return Transcript{}, err
	}
	return t, nil
}
