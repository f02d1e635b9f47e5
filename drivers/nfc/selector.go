package nfc

import (
	"fmt"
	"strconv"
	"strings"
)

// Selector is a parsed reader-selection string.
//
//	pn532:i2c:/dev/i2c-1         PN532 on an I2C bus (address 0x24)
//	pn532:i2c:/dev/i2c-1@0x24    the same with an explicit address
//	pn532:spi:/dev/spidev0.0     PN532 on SPI (LSB first, mode 0)
//	pn532:uart:/dev/ttyAMA0      PN532 in HSU mode at 115200 baud
//	pn532:uart:/dev/ttyUSB0@115200
//	pcsc:0                       the first PC/SC reader (pcsc-lite order)
//	pcsc:ACS ACR122U             the first PC/SC reader whose name contains the text
//	sim                          a simulated PN532 on a fake I2C bus holding a virtual passport
type Selector struct {
	Driver string // "pn532", "pcsc" or "sim"
	Bus    string // pn532: "i2c", "spi" or "uart"
	Path   string // pn532: device node; for i2c a bus number or name is accepted too
	Addr   uint16 // pn532 i2c: 7-bit address (0 = default 0x24)
	Baud   int    // pn532 uart: baud rate (0 = default 115200)
	Index  int    // pcsc: reader index when Name is empty
	Name   string // pcsc: substring of the reader name
}

// maxSelector bounds the selection string; device paths and reader names are short.
const maxSelector = 256

// ParseSelector parses a reader-selection string. Errors say which part is wrong.
func ParseSelector(s string) (Selector, error) {
	if len(s) > maxSelector {
		return Selector{}, fmt.Errorf("reader %q...: longer than %d bytes", s[:32], maxSelector)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return Selector{}, fmt.Errorf("reader %q: control character in selection", s)
		}
	}
	driver, rest, hasRest := strings.Cut(s, ":")
	switch driver {
	case "sim":
		if hasRest {
			return Selector{}, fmt.Errorf("reader %q: sim takes no parameters", s)
		}
		return Selector{Driver: "sim"}, nil
	case "pcsc":
		if rest == "" {
			return Selector{}, fmt.Errorf("reader %q: want pcsc:<index> or pcsc:<name>", s)
		}
		if n, err := strconv.Atoi(rest); err == nil {
			if n < 0 || n > 63 {
				return Selector{}, fmt.Errorf("reader %q: pcsc index %d out of range 0-63", s, n)
			}
			return Selector{Driver: "pcsc", Index: n}, nil
		}
		return Selector{Driver: "pcsc", Name: rest}, nil
	case "pn532":
		bus, path, ok := strings.Cut(rest, ":")
		if !ok || path == "" {
			return Selector{}, fmt.Errorf("reader %q: want pn532:<i2c|spi|uart>:<device>", s)
		}
		sel := Selector{Driver: "pn532", Bus: bus, Path: path}
		dev, param, hasParam := strings.Cut(path, "@")
		switch bus {
		case "i2c":
			if hasParam {
				a, err := strconv.ParseUint(param, 0, 16)
				if err != nil || a < 0x08 || a > 0x77 {
					return Selector{}, fmt.Errorf("reader %q: i2c address %q is not a 7-bit address 0x08-0x77", s, param)
				}
				sel.Addr, sel.Path = uint16(a), dev
			}
		case "spi":
			if hasParam {
				return Selector{}, fmt.Errorf("reader %q: spi takes no @parameter", s)
			}
		case "uart":
			if hasParam {
				b, err := strconv.Atoi(param)
				if err != nil || !validBaud(b) {
					return Selector{}, fmt.Errorf("reader %q: baud %q is not one of 9600 19200 38400 57600 115200 230400 460800 921600", s, param)
				}
				sel.Baud, sel.Path = b, dev
			}
		default:
			return Selector{}, fmt.Errorf("reader %q: unknown pn532 bus %q (want i2c, spi or uart)", s, bus)
		}
		if sel.Path == "" {
			return Selector{}, fmt.Errorf("reader %q: empty device path", s)
		}
		return sel, nil
	case "":
		return Selector{}, fmt.Errorf("reader %q: empty selection (want pn532:..., pcsc:... or sim)", s)
	}
	return Selector{}, fmt.Errorf("reader %q: unknown driver %q (want pn532, pcsc or sim)", s, driver)
}

func validBaud(b int) bool {
	switch b {
	case 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600:
		return true
	}
	return false
}

// String gives back the canonical selection string.
func (s Selector) String() string {
	switch s.Driver {
	case "sim":
		return "sim"
	case "pcsc":
		if s.Name != "" {
			return "pcsc:" + s.Name
		}
		return "pcsc:" + strconv.Itoa(s.Index)
	case "pn532":
		p := s.Path
		if s.Addr != 0 {
			p += fmt.Sprintf("@%#02x", s.Addr)
		}
		if s.Baud != 0 {
			p += "@" + strconv.Itoa(s.Baud)
		}
		return "pn532:" + s.Bus + ":" + p
	}
	return "invalid"
}
