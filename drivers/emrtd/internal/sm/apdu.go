// Package sm holds the symmetric machinery shared by the inspection system (drivers/emrtd)
// and the virtual chip (drivers/emrtd/emrtdtest): ISO 7816-4 APDU encoding, the ICAO 9303-11
// key derivation function, 3DES and AES ciphers and MACs, and secure messaging for both
// directions (protect/unprotect commands and responses).
package sm

import (
	"errors"
	"fmt"
)

// Command is an ISO 7816-4 command APDU. Ne is the expected response length: 0 means no Le
// field; short APDUs carry 1..256, extended ones 1..65536.
type Command struct {
	CLA, INS, P1, P2 byte
	Data             []byte
	Ne               int
}

// MaxShortData and MaxShortNe are the limits of a short APDU.
const (
	MaxShortData = 255
	MaxShortNe   = 256
	MaxExtNe     = 65536
)

// Extended reports whether c needs the extended length encoding.
func (c Command) Extended() bool { return len(c.Data) > MaxShortData || c.Ne > MaxShortNe }

// Bytes encodes c, short if it fits and extended otherwise.
func (c Command) Bytes() ([]byte, error) {
	if len(c.Data) > 65535 || c.Ne < 0 || c.Ne > MaxExtNe {
		return nil, fmt.Errorf("apdu: data %d bytes, Ne %d out of range", len(c.Data), c.Ne)
	}
	out := []byte{c.CLA, c.INS, c.P1, c.P2}
	if !c.Extended() {
		if len(c.Data) > 0 {
			out = append(out, byte(len(c.Data)))
			out = append(out, c.Data...)
		}
		if c.Ne > 0 {
			out = append(out, byte(c.Ne)) // 256 -> 0x00
		}
		return out, nil
	}
	if len(c.Data) > 0 {
		out = append(out, 0, byte(len(c.Data)>>8), byte(len(c.Data)))
		out = append(out, c.Data...)
		if c.Ne > 0 {
			out = append(out, byte(c.Ne>>8), byte(c.Ne)) // 65536 -> 0x0000
		}
		return out, nil
	}
	if c.Ne > 0 {
		out = append(out, 0, byte(c.Ne>>8), byte(c.Ne))
	}
	return out, nil
}

// ErrAPDU is wrapped by errors about malformed APDUs.
var ErrAPDU = errors.New("malformed apdu")

// ParseCommand decodes a command APDU in any of the ISO 7816-3 cases, short or extended.
func ParseCommand(b []byte) (Command, error) {
	if len(b) < 4 {
		return Command{}, fmt.Errorf("%w: %d bytes, a command has at least 4", ErrAPDU, len(b))
	}
	c := Command{CLA: b[0], INS: b[1], P1: b[2], P2: b[3]}
	body := b[4:]
	switch {
	case len(body) == 0: // case 1
		return c, nil
	case len(body) == 1: // case 2 short
		c.Ne = int(body[0])
		if c.Ne == 0 {
			c.Ne = 256
		}
		return c, nil
	case body[0] != 0: // case 3/4 short
		lc := int(body[0])
		switch len(body) {
		case 1 + lc:
			c.Data = body[1:]
		case 2 + lc:
			c.Data = body[1 : 1+lc]
			c.Ne = int(body[1+lc])
			if c.Ne == 0 {
				c.Ne = 256
			}
		default:
			return Command{}, fmt.Errorf("%w: Lc %d but %d body bytes", ErrAPDU, lc, len(body))
		}
		return c, nil
	case len(body) == 3: // case 2 extended
		c.Ne = int(body[1])<<8 | int(body[2])
		if c.Ne == 0 {
			c.Ne = 65536
		}
		return c, nil
	case len(body) > 3: // case 3/4 extended
		lc := int(body[1])<<8 | int(body[2])
		if lc == 0 {
			return Command{}, fmt.Errorf("%w: extended Lc of 0", ErrAPDU)
		}
		switch len(body) {
		case 3 + lc:
			c.Data = body[3:]
		case 5 + lc:
			c.Data = body[3 : 3+lc]
			c.Ne = int(body[3+lc])<<8 | int(body[4+lc])
			if c.Ne == 0 {
				c.Ne = 65536
			}
		default:
			return Command{}, fmt.Errorf("%w: extended Lc %d but %d body bytes", ErrAPDU, lc, len(body))
		}
		return c, nil
	}
	return Command{}, fmt.Errorf("%w: %d body bytes starting with 00", ErrAPDU, len(body))
}

// Response is a response APDU split into data and status word.
type Response struct {
	Data []byte
	SW   uint16
}

// ParseResponse splits the trailing status word off a response.
func ParseResponse(b []byte) (Response, error) {
	if len(b) < 2 {
		return Response{}, fmt.Errorf("%w: response of %d bytes has no status word", ErrAPDU, len(b))
	}
	n := len(b) - 2
	return Response{Data: b[:n:n], SW: uint16(b[n])<<8 | uint16(b[n+1])}, nil
}

// Bytes encodes r as data || SW1 SW2.
func (r Response) Bytes() []byte {
	out := make([]byte, 0, len(r.Data)+2)
	out = append(out, r.Data...)
	return append(out, byte(r.SW>>8), byte(r.SW))
}
