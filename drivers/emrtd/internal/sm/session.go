// Package sm holds the symmetric machinery shared by the inspection system (drivers/emrtd)
// and the virtual chip (drivers/emrtd/emrtdsim): the ICAO 9303-11 key derivation function,
// 3DES and AES ciphers and MACs, and secure messaging for both directions (protect/unprotect
// commands and responses). APDUs themselves are drivers/apdu's.
package sm

import (
	"bytes"
	"crypto/subtle"
	"errors"
	"fmt"

	"github.com/edgeid/edgeid/drivers/apdu"
)

// Session is one secure-messaging session: cipher suite, session keys and the send sequence
// counter (SSC). Both sides keep one; each protected command and each protected response
// increments the SSC first. A Session is not safe for concurrent use.
type Session struct {
	cipher     Cipher
	kenc, kmac []byte
	ssc        []byte
}

// Errors of secure messaging; callers match them with errors.Is.
var (
	ErrMAC          = errors.New("secure messaging: MAC does not verify")
	ErrSMFormat     = errors.New("secure messaging: malformed data objects")
	ErrNotProtected = errors.New("secure messaging: message is not protected")
)

// NewSession starts a session with the given keys and initial SSC (BlockSize bytes).
func NewSession(c Cipher, kenc, kmac, ssc []byte) (*Session, error) {
	if c.KeyLen() == 0 {
		return nil, fmt.Errorf("sm: unknown cipher %v", c)
	}
	if len(kenc) != c.KeyLen() || len(kmac) != c.KeyLen() {
		return nil, fmt.Errorf("sm: %s session keys of %d/%d bytes, want %d", c, len(kenc), len(kmac), c.KeyLen())
	}
	if len(ssc) != c.BlockSize() {
		return nil, fmt.Errorf("sm: SSC of %d bytes, want %d", len(ssc), c.BlockSize())
	}
	return &Session{cipher: c, kenc: bytes.Clone(kenc), kmac: bytes.Clone(kmac), ssc: bytes.Clone(ssc)}, nil
}

// Cipher returns the session's cipher suite.
func (s *Session) Cipher() Cipher { return s.cipher }

// SSC returns a copy of the current send sequence counter.
func (s *Session) SSC() []byte { return bytes.Clone(s.ssc) }

// KMAC returns a copy of the session MAC key (PACE authentication tokens use it).
func (s *Session) KMAC() []byte { return bytes.Clone(s.kmac) }

func (s *Session) incSSC() {
	for i := len(s.ssc) - 1; i >= 0; i-- {
		s.ssc[i]++
		if s.ssc[i] != 0 {
			return
		}
	}
}

func (s *Session) iv() ([]byte, error) {
	if s.cipher == TDES {
		return nil, nil
	}
	return s.cipher.EncryptBlock(s.kenc, s.ssc)
}

// mac computes MAC(KSmac, pad(SSC || data)), where data is already padded where required.
func (s *Session) mac(data []byte) ([]byte, error) {
	in := append(bytes.Clone(s.ssc), data...)
	return s.cipher.MAC(s.kmac, Pad(in, s.cipher.BlockSize()))
}

func appendDO(out []byte, tag byte, v []byte) []byte {
	out = append(out, tag)
	switch n := len(v); {
	case n < 0x80:
		out = append(out, byte(n))
	case n <= 0xFF:
		out = append(out, 0x81, byte(n))
	default:
		out = append(out, 0x82, byte(n>>8), byte(n))
	}
	return append(out, v...)
}

type smDO struct {
	tag   byte
	value []byte
	raw   []byte
}

// parseDOs splits secure-messaging data objects (one-byte tags, lengths up to 0x82 form).
func parseDOs(b []byte) ([]smDO, error) {
	var out []smDO
	for off := 0; off < len(b); {
		start := off
		if len(out) >= 8 {
			return nil, fmt.Errorf("%w: more than 8 data objects", ErrSMFormat)
		}
		if off+2 > len(b) {
			return nil, fmt.Errorf("%w: truncated data object at offset %d", ErrSMFormat, off)
		}
		tag := b[off]
		n := int(b[off+1])
		off += 2
		switch {
		case n < 0x80:
		case n == 0x81 && off+1 <= len(b):
			n = int(b[off])
			off++
		case n == 0x82 && off+2 <= len(b):
			n = int(b[off])<<8 | int(b[off+1])
			off += 2
		default:
			return nil, fmt.Errorf("%w: bad length of tag %02X at offset %d", ErrSMFormat, tag, start)
		}
		if n > len(b)-off {
			return nil, fmt.Errorf("%w: tag %02X at offset %d claims %d bytes, %d left", ErrSMFormat, tag, start, n, len(b)-off)
		}
		out = append(out, smDO{tag: tag, value: b[off : off+n], raw: b[start : off+n]})
		off += n
	}
	return out, nil
}

// ProtectCommand wraps a plain command for the chip (inspection-system side).
func (s *Session) ProtectCommand(c apdu.Command) ([]byte, error) {
	if c.CLA&0x0C == 0x0C {
		return nil, fmt.Errorf("sm: command CLA %02X is already marked as secure messaging", c.CLA)
	}
	s.incSSC()
	bs := s.cipher.BlockSize()
	cla := c.CLA | 0x0C
	var dos []byte
	if len(c.Data) > 0 {
		iv, err := s.iv()
		if err != nil {
			return nil, err
		}
		enc, err := s.cipher.Encrypt(s.kenc, iv, Pad(c.Data, bs))
		if err != nil {
			return nil, err
		}
		if c.INS&1 == 1 {
			dos = appendDO(dos, 0x85, enc)
		} else {
			dos = appendDO(dos, 0x87, append([]byte{1}, enc...))
		}
	}
	if c.Ne > 0 {
		if c.Extended() {
			dos = appendDO(dos, 0x97, []byte{byte(c.Ne >> 8), byte(c.Ne)})
		} else {
			dos = appendDO(dos, 0x97, []byte{byte(c.Ne)})
		}
	}
	macIn := append(Pad([]byte{cla, c.INS, c.P1, c.P2}, bs), dos...)
	cc, err := s.mac(macIn)
	if err != nil {
		return nil, err
	}
	dos = appendDO(dos, 0x8E, cc)
	out := apdu.Command{CLA: cla, INS: c.INS, P1: c.P1, P2: c.P2, Data: dos, Ne: apdu.MaxShortNe}
	if c.Extended() || len(dos) > apdu.MaxShortData {
		out.Ne = apdu.MaxExtNe
	}
	return out.Bytes()
}

// StatusOnlyError is returned by UnprotectResponse for a plain status word without secure
// messaging objects: chips answer errors this way and end the session.
type StatusOnlyError struct{ SW uint16 }

func (e *StatusOnlyError) Error() string {
	return fmt.Sprintf("secure messaging: unprotected status word %04X (session ended by the chip)", e.SW)
}

// UnprotectResponse checks and unwraps a protected response (inspection-system side). Any
// MAC failure is an error: the data are never returned.
func (s *Session) UnprotectResponse(b []byte, oddINS bool) (apdu.Response, error) {
	s.incSSC()
	r, err := apdu.ParseResponse(b)
	if err != nil {
		return apdu.Response{}, err
	}
	if len(r.Data) == 0 {
		if r.SW == 0x9000 || r.SW>>8 == 0x61 || r.SW>>8 == 0x62 || r.SW>>8 == 0x63 {
			return apdu.Response{}, fmt.Errorf("%w: status %04X without MAC", ErrNotProtected, r.SW)
		}
		return apdu.Response{}, &StatusOnlyError{SW: r.SW}
	}
	dos, err := parseDOs(r.Data)
	if err != nil {
		return apdu.Response{}, err
	}
	var enc, sw, cc *smDO
	macEnd := 0
	for i := range dos {
		d := &dos[i]
		switch {
		case (d.tag == 0x87 || d.tag == 0x85) && enc == nil && sw == nil && cc == nil:
			enc = d
		case d.tag == 0x99 && sw == nil && cc == nil:
			sw = d
		case d.tag == 0x8E && cc == nil && i == len(dos)-1:
			cc = d
			continue
		default:
			return apdu.Response{}, fmt.Errorf("%w: unexpected tag %02X in response", ErrSMFormat, d.tag)
		}
		macEnd += len(d.raw)
	}
	if cc == nil {
		return apdu.Response{}, fmt.Errorf("%w: response has no MAC (DO'8E')", ErrSMFormat)
	}
	if sw == nil || len(sw.value) != 2 {
		return apdu.Response{}, fmt.Errorf("%w: response has no 2-byte status (DO'99')", ErrSMFormat)
	}
	want, err := s.mac(r.Data[:macEnd])
	if err != nil {
		return apdu.Response{}, err
	}
	if len(cc.value) != len(want) || subtle.ConstantTimeCompare(cc.value, want) != 1 {
		return apdu.Response{}, ErrMAC
	}
	inner := uint16(sw.value[0])<<8 | uint16(sw.value[1])
	if inner != r.SW {
		return apdu.Response{}, fmt.Errorf("%w: DO'99' status %04X differs from trailer %04X", ErrSMFormat, inner, r.SW)
	}
	out := apdu.Response{SW: inner}
	if enc != nil {
		if enc.tag == 0x87 == oddINS {
			return apdu.Response{}, fmt.Errorf("%w: data object %02X for an %s INS", ErrSMFormat, enc.tag, map[bool]string{true: "odd", false: "even"}[oddINS])
		}
		ct := enc.value
		if enc.tag == 0x87 {
			if len(ct) == 0 || ct[0] != 1 {
				return apdu.Response{}, fmt.Errorf("%w: DO'87' without padding indicator 01", ErrSMFormat)
			}
			ct = ct[1:]
		}
		iv, err := s.iv()
		if err != nil {
			return apdu.Response{}, err
		}
		pt, err := s.cipher.Decrypt(s.kenc, iv, ct)
		if err != nil {
			return apdu.Response{}, fmt.Errorf("%w: %v", ErrSMFormat, err)
		}
		if out.Data, err = Unpad(pt); err != nil {
			return apdu.Response{}, fmt.Errorf("%w: decrypted response: %v", ErrSMFormat, err)
		}
	}
	return out, nil
}

// UnprotectCommand checks and unwraps a protected command (chip side).
func (s *Session) UnprotectCommand(b []byte) (apdu.Command, error) {
	c, err := apdu.ParseCommand(b)
	if err != nil {
		return apdu.Command{}, err
	}
	if c.CLA&0x0C != 0x0C {
		return apdu.Command{}, ErrNotProtected
	}
	s.incSSC()
	dos, err := parseDOs(c.Data)
	if err != nil {
		return apdu.Command{}, err
	}
	var enc, le, cc *smDO
	macEnd := 0
	for i := range dos {
		d := &dos[i]
		switch {
		case (d.tag == 0x87 || d.tag == 0x85) && enc == nil && le == nil:
			enc = d
		case d.tag == 0x97 && le == nil:
			le = d
		case d.tag == 0x8E && i == len(dos)-1:
			cc = d
			continue
		default:
			return apdu.Command{}, fmt.Errorf("%w: unexpected tag %02X in command", ErrSMFormat, d.tag)
		}
		macEnd += len(d.raw)
	}
	if cc == nil {
		return apdu.Command{}, fmt.Errorf("%w: command has no MAC", ErrSMFormat)
	}
	bs := s.cipher.BlockSize()
	want, err := s.mac(append(Pad([]byte{c.CLA, c.INS, c.P1, c.P2}, bs), c.Data[:macEnd]...))
	if err != nil {
		return apdu.Command{}, err
	}
	if subtle.ConstantTimeCompare(cc.value, want) != 1 {
		return apdu.Command{}, ErrMAC
	}
	out := apdu.Command{CLA: c.CLA &^ 0x0C, INS: c.INS, P1: c.P1, P2: c.P2}
	if le != nil {
		switch len(le.value) {
		case 1:
			out.Ne = int(le.value[0])
			if out.Ne == 0 {
				out.Ne = 256
			}
		case 2:
			out.Ne = int(le.value[0])<<8 | int(le.value[1])
			if out.Ne == 0 {
				out.Ne = 65536
			}
		default:
			return apdu.Command{}, fmt.Errorf("%w: DO'97' of %d bytes", ErrSMFormat, len(le.value))
		}
	}
	if enc != nil {
		ct := enc.value
		if enc.tag == 0x87 {
			if len(ct) == 0 || ct[0] != 1 {
				return apdu.Command{}, fmt.Errorf("%w: DO'87' without padding indicator 01", ErrSMFormat)
			}
			ct = ct[1:]
		}
		iv, err := s.iv()
		if err != nil {
			return apdu.Command{}, err
		}
		pt, err := s.cipher.Decrypt(s.kenc, iv, ct)
		if err != nil {
			return apdu.Command{}, fmt.Errorf("%w: %v", ErrSMFormat, err)
		}
		if out.Data, err = Unpad(pt); err != nil {
			return apdu.Command{}, fmt.Errorf("%w: decrypted command: %v", ErrSMFormat, err)
		}
	}
	return out, nil
}

// ProtectResponse wraps a plain response (chip side). oddINS selects DO'85' over DO'87'.
func (s *Session) ProtectResponse(r apdu.Response, oddINS bool) ([]byte, error) {
	s.incSSC()
	var dos []byte
	if len(r.Data) > 0 {
		iv, err := s.iv()
		if err != nil {
			return nil, err
		}
		enc, err := s.cipher.Encrypt(s.kenc, iv, Pad(r.Data, s.cipher.BlockSize()))
		if err != nil {
			return nil, err
		}
		if oddINS {
			dos = appendDO(dos, 0x85, enc)
		} else {
			dos = appendDO(dos, 0x87, append([]byte{1}, enc...))
		}
	}
	dos = appendDO(dos, 0x99, []byte{byte(r.SW >> 8), byte(r.SW)})
	cc, err := s.mac(dos)
	if err != nil {
		return nil, err
	}
	dos = appendDO(dos, 0x8E, cc)
	return apdu.Response{Data: dos, SW: r.SW}.Bytes(), nil
}
