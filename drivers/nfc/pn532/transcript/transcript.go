// Package transcript records PN532 bus sessions (I2C transactions, SPI transfers) and stores
// them as JSON files that tests replay: `edgeid nfc smoke -record` captures real hardware with
// the recorders here, drivers/nfc/pn532/pn532test turns a file into periph playback operations.
package transcript

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"

	"github.com/edgeid/edgeid/internal/atomicfile"
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

// IO is a decoded Op: the bytes written and read (nil when none), and the I2C address.
type IO struct {
	Addr uint16
	W, R []byte
}

// IsSPI says whether t records SPI transfers (otherwise I2C transactions).
func (t Transcript) IsSPI() bool { return t.Bus == "spi" }

// Decode returns the operations of t with their bytes decoded.
func (t Transcript) Decode() ([]IO, error) {
	out := make([]IO, 0, len(t.Ops))
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
		out = append(out, IO{Addr: o.Addr, W: w, R: r})
	}
	return out, nil
}

func (t *Transcript) add(addr uint16, w, r []byte) {
	t.Ops = append(t.Ops, Op{Addr: addr, W: hex.EncodeToString(w), R: hex.EncodeToString(r)})
}

// maxTranscript bounds the size of a transcript file.
const maxTranscript = 16 << 20

// Save writes t to path atomically.
func (t Transcript) Save(path string) error {
	b, err := json.MarshalIndent(t, "", " ")
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(b, '\n'), 0o644)
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
	b, err := os.ReadFile(path)
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
	switch t.Bus {
	case "", "i2c", "spi":
	default:
		return Transcript{}, fmt.Errorf("unknown bus %q (want i2c or spi)", t.Bus)
	}
	if _, err := t.Decode(); err != nil {
		return Transcript{}, err
	}
	return t, nil
}
