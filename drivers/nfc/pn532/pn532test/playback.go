// Package pn532test turns recorded PN532 transcripts (drivers/nfc/pn532/transcript) into
// periph's playback operations for tests. The emulated PN532 is drivers/nfc/pn532/pn532sim.
package pn532test

import (
	"fmt"

	"periph.io/x/conn/v3/conntest"
	"periph.io/x/conn/v3/i2c/i2ctest"

	"github.com/edgeid/edgeid/drivers/nfc/pn532/transcript"
)

// I2C converts an I2C transcript to i2ctest.Playback operations.
func I2C(t transcript.Transcript) ([]i2ctest.IO, error) {
	if t.IsSPI() {
		return nil, fmt.Errorf("transcript of bus %q, not i2c", t.Bus)
	}
	ops, err := t.Decode()
	if err != nil {
		return nil, err
	}
	out := make([]i2ctest.IO, 0, len(ops))
	for _, o := range ops {
		out = append(out, i2ctest.IO{Addr: o.Addr, W: o.W, R: o.R})
	}
	return out, nil
}

// SPI converts an SPI transcript to conntest.Playback transfers.
func SPI(t transcript.Transcript) ([]conntest.IO, error) {
	if !t.IsSPI() {
		return nil, fmt.Errorf("transcript of bus %q, not spi", t.Bus)
	}
	ops, err := t.Decode()
	if err != nil {
		return nil, err
	}
	out := make([]conntest.IO, 0, len(ops))
	for _, o := range ops {
		out = append(out, conntest.IO{W: o.W, R: o.R})
	}
	return out, nil
}
