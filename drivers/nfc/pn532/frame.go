package pn532

import (
	"errors"
	"fmt"
)

// Frame identifiers (UM0701 6.2.1).
const (
	TFIHost = 0xd4 // host to PN532
	TFIChip = 0xd5 // PN532 to host
	tfiErr  = 0x7f // application-level error frame
)

// Frame lengths.
const (
	// MaxNormalLen is the largest LEN (TFI + data) of a normal information frame.
	MaxNormalLen = 255
	// MaxExtendedLen is the largest LEN (TFI + data) of an extended information frame: TFI and
	// the PN532's 264-byte buffer.
	MaxExtendedLen = 265
	// MaxFrame is the largest encoded frame: preamble, start code, FF FF, LENM LENL LCS,
	// TFI + data, DCS, postamble.
	MaxFrame = 1 + 2 + 2 + 3 + MaxExtendedLen + 1 + 1
)

// Kind is the type of a frame.
type Kind int

// The frame kinds.
const (
	Info Kind = iota + 1
	ACK
	NACK
	ErrorFrame
)

func (k Kind) String() string {
	switch k {
	case Info:
		return "information"
	case ACK:
		return "ACK"
	case NACK:
		return "NACK"
	case ErrorFrame:
		return "error"
	}
	return "invalid"
}

// Frame is one decoded frame. Data excludes TFI.
type Frame struct {
	Kind     Kind
	TFI      byte
	Data     []byte
	Extended bool
}

// ackFrame and nackFrame return fresh copies: a bus may write into what it is given.
func ackFrame() []byte  { return []byte{0x00, 0x00, 0xff, 0x00, 0xff, 0x00} }
func nackFrame() []byte { return []byte{0x00, 0x00, 0xff, 0xff, 0x00, 0x00} }

// Codec errors, matched with errors.Is.
var (
	ErrChecksum = errors.New("checksum mismatch")
	ErrGarbage  = errors.New("bytes before start code")
	ErrOversize = errors.New("frame length out of range")
)

// IncompleteError means the bytes are a valid prefix of a frame; Need is the total number of
// bytes (from the first byte given) required to decode it, or a lower bound when the length
// field has not been seen yet.
type IncompleteError struct{ Need, Have int }

func (e *IncompleteError) Error() string {
	return fmt.Sprintf("truncated frame: have %d bytes, need %d", e.Have, e.Need)
}

// AppendFrame appends the information frame TFI+data to dst, as a normal frame when it fits and
// an extended frame otherwise (or always, with extended=true).
func AppendFrame(dst []byte, tfi byte, data []byte, extended bool) ([]byte, error) {
	n := len(data) + 1
	if n > MaxExtendedLen {
		return dst, fmt.Errorf("encode: %d data bytes, more than the %d an extended frame holds: %w", len(data), MaxExtendedLen-1, ErrOversize)
	}
	dst = append(dst, 0x00, 0x00, 0xff)
	if n <= MaxNormalLen && !extended {
		dst = append(dst, byte(n), byte(-n))
	} else {
		hi, lo := byte(n>>8), byte(n)
		dst = append(dst, 0xff, 0xff, hi, lo, -(hi + lo))
	}
	sum := tfi
	dst = append(dst, tfi)
	for _, b := range data {
		sum += b
	}
	dst = append(dst, data...)
	return append(dst, -sum, 0x00), nil
}

// Decode decodes the first frame in b. Leading 0x00 bytes (preamble, HSU wake-up padding,
// a previous postamble) are skipped. n is the number of bytes the frame used (including the
// postamble when present), also on checksum errors so that a stream can skip the bad frame.
// On ErrGarbage n is where the next search for a start code should begin.
// A truncated frame gives *IncompleteError.
func Decode(b []byte) (f Frame, n int, err error) {
	i := 0
	for i < len(b) && b[i] == 0x00 && !(i+1 < len(b) && b[i+1] == 0xff) {
		i++
	}
	if i == len(b) {
		return Frame{}, 0, &IncompleteError{Need: i + 5, Have: len(b)}
	}
	if b[i] != 0x00 {
		skip := i
		for skip < len(b) && b[skip] != 0x00 {
			skip++
		}
		return Frame{}, skip, fmt.Errorf("decode: %02x at offset %d where preamble or start code 00 ff belongs: %w", b[i], i, ErrGarbage)
	}
	// b[i:i+2] == 00 ff
	p := i + 2
	if len(b) < p+2 {
		return Frame{}, 0, &IncompleteError{Need: p + 2 + 1, Have: len(b)}
	}
	l0, l1 := b[p], b[p+1]
	switch {
	case l0 == 0x00 && l1 == 0xff:
		return Frame{Kind: ACK}, postamble(b, p+2), nil
	case l0 == 0xff && l1 == 0x00:
		return Frame{Kind: NACK}, postamble(b, p+2), nil
	}
	var length, body int
	ext := false
	if l0 == 0xff && l1 == 0xff {
		if len(b) < p+5 {
			return Frame{}, 0, &IncompleteError{Need: p + 5 + 1, Have: len(b)}
		}
		hi, lo, lcs := b[p+2], b[p+3], b[p+4]
		if hi+lo+lcs != 0 {
			return Frame{}, p + 5, fmt.Errorf("decode: extended length %02x%02x with LCS %02x at offset %d: %w", hi, lo, lcs, p+2, ErrChecksum)
		}
		length, body, ext = int(hi)<<8|int(lo), p+5, true
		if length == 0 || length > MaxExtendedLen {
			return Frame{}, p + 5, fmt.Errorf("decode: extended LEN=%d, want 1-%d: %w", length, MaxExtendedLen, ErrOversize)
		}
	} else {
		if l0+l1 != 0 {
			return Frame{}, p + 2, fmt.Errorf("decode: LEN %02x with LCS %02x at offset %d: %w", l0, l1, p, ErrChecksum)
		}
		length, body = int(l0), p+2
		if length == 0 {
			return Frame{}, p + 2, fmt.Errorf("decode: LEN=0 with LCS 00 at offset %d: %w", p, ErrOversize)
		}
	}
	end := body + length + 1 // through DCS
	if len(b) < end {
		return Frame{}, 0, &IncompleteError{Need: end + 1, Have: len(b)}
	}
	var sum byte
	for _, c := range b[body:end] {
		sum += c
	}
	if sum != 0 {
		return Frame{}, postamble(b, end), fmt.Errorf("decode: %d-byte frame body with DCS %02x does not sum to zero (off by %02x): %w", length, b[end-1], sum, ErrChecksum)
	}
	tfi := b[body]
	if tfi == tfiErr && length == 1 {
		return Frame{Kind: ErrorFrame, TFI: tfi}, postamble(b, end), nil
	}
	data := make([]byte, length-1)
	copy(data, b[body+1:end-1])
	return Frame{Kind: Info, TFI: tfi, Data: data, Extended: ext}, postamble(b, end), nil
}

// postamble consumes a 0x00 postamble at b[i] when present.
func postamble(b []byte, i int) int {
	if i < len(b) && b[i] == 0x00 {
		return i + 1
	}
	return i
}
