// Package apdu encodes and decodes ISO/IEC 7816-4 command and response APDUs, short and
// extended. It is the one parser shared by the inspection system (drivers/emrtd), its virtual
// chip and the test cards of drivers/nfc, and it depends on nothing but the standard library so
// that none of them has to import another.
package apdu

import (
	"errors"
	"fmt"
)

// Limits of the two length encodings.
const (
	MaxShortData = 255
	MaxShortNe   = 256
	MaxExtData   = 65535
	MaxExtNe     = 65536
)

// ErrMalformed is wrapped by every error about bytes that are not an APDU.
var ErrMalformed = errors.New("malformed apdu")

// Command is a command APDU. Ne is the expected response length: 0 means no Le field; short
// APDUs carry 1..256, extended ones 1..65536.
type Command struct {
	CLA, INS, P1, P2 byte
	Data             []byte
	Ne               int
}

// Extended reports whether c needs the extended length encoding.
func (c Command) Extended() bool { return len(c.Data) > MaxShortData || c.Ne > MaxShortNe }

// Bytes encodes c, short if it fits and extended otherwise.
func (c Command) Bytes() ([]byte, error) {
	if len(c.Data) > MaxExtData || c.Ne < 0 || c.Ne > MaxExtNe {
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

// ParseCommand decodes a command APDU in any of the ISO 7816-3 cases, short or extended.
// Data aliases b.
func ParseCommand(b []byte) (Command, error) {
	if len(b) < 4 {
		return Command{}, fmt.Errorf("%w: %d bytes, a command has at least CLA INS P1 P2", ErrMalformed, len(b))
	}
	c := Command{CLA: b[0], INS: b[1], P1: b[2], P2: b[3]}
	body := b[4:]
	switch {
	case len(body) == 0: // case 1
		return c, nil
	case len(body) == 1: // case 2 short
		c.Ne = shortNe(body[0])
		return c, nil
	case body[0] != 0: // case 3 or 4 short
		lc := int(body[0])
		switch len(body) {
		case 1 + lc:
		case 2 + lc:
			c.Ne = shortNe(body[1+lc])
		default:
			return Command{}, fmt.Errorf("%w: Lc %d but %d body bytes", ErrMalformed, lc, len(body))
		}
		c.Data = body[1 : 1+lc]
		return c, nil
	case len(body) < 3:
		return Command{}, fmt.Errorf("%w: extended length field truncated (%d body bytes)", ErrMalformed, len(body))
	case len(body) == 3: // case 2 extended
		c.Ne = extNe(body[1], body[2])
		return c, nil
	}
	lc := int(body[1])<<8 | int(body[2]) // case 3 or 4 extended
	if lc == 0 {
		return Command{}, fmt.Errorf("%w: extended Lc of 0", ErrMalformed)
	}
	switch len(body) {
	case 3 + lc:
	case 5 + lc:
		c.Ne = extNe(body[3+lc], body[4+lc])
	default:
		return Command{}, fmt.Errorf("%w: extended Lc %d but %d body bytes", ErrMalformed, lc, len(body))
	}
	c.Data = body[3 : 3+lc]
	return c, nil
}

// shortNe and extNe decode Le, where all zero bits mean the largest length.
func shortNe(le byte) int {
	if le == 0 {
		return MaxShortNe
	}
	return int(le)
}

func extNe(hi, lo byte) int {
	if ne := int(hi)<<8 | int(lo); ne != 0 {
		return ne
	}
	return MaxExtNe
}

// Response is a response APDU split into data and status word.
type Response struct {
	Data []byte
	SW   uint16
}

// ParseResponse splits the trailing status word off a response. Data aliases b.
func ParseResponse(b []byte) (Response, error) {
	if len(b) < 2 {
		return Response{}, fmt.Errorf("%w: response of %d bytes has no status word", ErrMalformed, len(b))
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
