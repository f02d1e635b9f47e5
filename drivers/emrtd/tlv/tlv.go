// Package tlv reads and writes BER-TLV (ISO 7816-4 / ASN.1) data objects: tags of any length,
// definite lengths, bounded nesting, every offset kept for error messages.
package tlv

import (
	"errors"
	"fmt"
)

// TLV limits. They bound the work and memory a hostile chip or file can cause.
const (
	// MaxTLVDepth is the deepest nesting of constructed objects ParseTLV accepts.
	MaxTLVDepth = 32
	// MaxTLVLength is the largest length field accepted (16 MiB); real eMRTD files are far smaller.
	MaxTLVLength = 16 << 20
	// maxTagBytes is the longest tag accepted: ISO 7816-4 allows up to three bytes, ASN.1 more;
	// four is enough for every tag in ICAO 9303 and X.509.
	maxTagBytes = 4
)

// Class is the class of a BER-TLV tag (the two high bits of its first byte).
type Class uint8

// The four tag classes.
const (
	ClassUniversal   Class = 0
	ClassApplication Class = 1
	ClassContext     Class = 2
	ClassPrivate     Class = 3
)

func (c Class) String() string {
	switch c {
	case ClassUniversal:
		return "universal"
	case ClassApplication:
		return "application"
	case ClassContext:
		return "context"
	default:
		return "private"
	}
}

// Tag is a BER-TLV tag as its bytes read big-endian: 0x30, 0x5F1F, 0x7F61, 0x5F2E.
type Tag uint32

// Class reports the tag's class.
func (t Tag) Class() Class { return Class(t.firstByte() >> 6) }

// Constructed reports whether the tag's constructed bit is set.
func (t Tag) Constructed() bool { return t.firstByte()&0x20 != 0 }

func (t Tag) firstByte() byte {
	switch {
	case t > 0xFFFFFF:
		return byte(t >> 24)
	case t > 0xFFFF:
		return byte(t >> 16)
	case t > 0xFF:
		return byte(t >> 8)
	default:
		return byte(t)
	}
}

// Bytes returns the tag's encoding.
func (t Tag) Bytes() []byte {
	switch {
	case t > 0xFFFFFF:
		return []byte{byte(t >> 24), byte(t >> 16), byte(t >> 8), byte(t)}
	case t > 0xFFFF:
		return []byte{byte(t >> 16), byte(t >> 8), byte(t)}
	case t > 0xFF:
		return []byte{byte(t >> 8), byte(t)}
	default:
		return []byte{byte(t)}
	}
}

func (t Tag) String() string { return fmt.Sprintf("%X", t.Bytes()) }

// TLV is one decoded BER-TLV object.
type TLV struct {
	Tag Tag
	// Value is the content. For an indefinite-length object it excludes the end-of-contents octets.
	Value []byte
	// Children holds the decoded content of a constructed object.
	Children []TLV
	// Offset is where the tag starts, counted from the start of the outermost input.
	Offset int
	// Raw is the whole encoding (tag, length, value and end-of-contents if any).
	Raw []byte
	// Indefinite is set when the object used the indefinite length form (0x80 ... 00 00).
	Indefinite bool
}

// Find returns the first direct child with the tag.
func (t *TLV) Find(tag Tag) (*TLV, bool) {
	for i := range t.Children {
		if t.Children[i].Tag == tag {
			return &t.Children[i], true
		}
	}
	return nil, false
}

// FindAll returns every direct child with the tag.
func (t *TLV) FindAll(tag Tag) []*TLV {
	var out []*TLV
	for i := range t.Children {
		if t.Children[i].Tag == tag {
			out = append(out, &t.Children[i])
		}
	}
	return out
}

// TLVError describes malformed TLV input: what went wrong and at which byte offset.
type TLVError struct {
	Offset int
	Tag    Tag // zero if the tag itself could not be read
	Msg    string
	Err    error // ErrTruncated when the input ended too early
}

// Unwrap returns the underlying sentinel error, if any.
func (e *TLVError) Unwrap() error { return e.Err }

func (e *TLVError) Error() string {
	if e.Tag != 0 {
		return fmt.Sprintf("tlv: tag %s at offset %d: %s", e.Tag, e.Offset, e.Msg)
	}
	return fmt.Sprintf("tlv: offset %d: %s", e.Offset, e.Msg)
}

// ErrTruncated is wrapped by TLV errors caused by input that ends too early.
var ErrTruncated = errors.New("input truncated")

// ParseTLV decodes a sequence of BER-TLV objects filling b completely, recursing into
// constructed objects. Padding bytes 0x00 and 0xFF between objects are not accepted.
func ParseTLV(b []byte) ([]TLV, error) {
	return parseSeq(b, 0, 0)
}

// ParseOneTLV decodes the first BER-TLV object in b and returns the bytes that follow it.
func ParseOneTLV(b []byte) (TLV, []byte, error) {
	t, n, err := parseOne(b, 0, 0)
	if err != nil {
		return TLV{}, nil, err
	}
	return t, b[n:], nil
}

// ParseTLVExpect decodes exactly one object with the given tag filling b.
func ParseTLVExpect(b []byte, tag Tag) (TLV, error) {
	t, rest, err := ParseOneTLV(b)
	if err != nil {
		return TLV{}, err
	}
	if t.Tag != tag {
		return TLV{}, &TLVError{Offset: 0, Tag: t.Tag, Msg: fmt.Sprintf("want tag %s", tag)}
	}
	if len(rest) != 0 {
		return TLV{}, &TLVError{Offset: len(b) - len(rest), Msg: fmt.Sprintf("%d trailing bytes after tag %s", len(rest), tag)}
	}
	return t, nil
}

func parseSeq(b []byte, base, depth int) ([]TLV, error) {
	var out []TLV
	for off := 0; off < len(b); {
		t, n, err := parseOne(b[off:], base+off, depth)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
		off += n
	}
	return out, nil
}

// readTag reads a tag at b[0:], returning it and its length in bytes.
func readTag(b []byte, off int) (Tag, int, error) {
	if len(b) == 0 {
		return 0, 0, &TLVError{Offset: off, Msg: "missing tag: " + ErrTruncated.Error(), Err: ErrTruncated}
	}
	t := Tag(b[0])
	n := 1
	if b[0]&0x1F == 0x1F {
		for {
			if n >= len(b) {
				return 0, 0, &TLVError{Offset: off, Msg: "multi-byte tag " + ErrTruncated.Error(), Err: ErrTruncated}
			}
			if n == 1 && b[1] == 0x80 {
				return 0, 0, &TLVError{Offset: off, Msg: "multi-byte tag with leading 0x80 subsequent byte"}
			}
			t = t<<8 | Tag(b[n])
			n++
			if b[n-1]&0x80 == 0 {
				break
			}
			if n >= maxTagBytes {
				return 0, 0, &TLVError{Offset: off, Msg: fmt.Sprintf("tag longer than %d bytes", maxTagBytes)}
			}
		}
	}
	return t, n, nil
}

// readLength reads a length field. It returns length -1 for the indefinite form.
func readLength(b []byte, off int, tag Tag) (int, int, error) {
	if len(b) == 0 {
		return 0, 0, &TLVError{Offset: off, Tag: tag, Msg: "missing length: " + ErrTruncated.Error(), Err: ErrTruncated}
	}
	l := b[0]
	switch {
	case l < 0x80:
		return int(l), 1, nil
	case l == 0x80:
		return -1, 1, nil
	case l == 0xFF:
		return 0, 0, &TLVError{Offset: off, Tag: tag, Msg: "reserved length byte 0xFF"}
	}
	nb := int(l & 0x7F)
	if nb > 4 {
		return 0, 0, &TLVError{Offset: off, Tag: tag, Msg: fmt.Sprintf("length field of %d bytes overflows", nb)}
	}
	if len(b) < 1+nb {
		return 0, 0, &TLVError{Offset: off, Tag: tag, Msg: "length field " + ErrTruncated.Error(), Err: ErrTruncated}
	}
	v := 0
	for _, c := range b[1 : 1+nb] {
		v = v<<8 | int(c)
	}
	if v > MaxTLVLength {
		return 0, 0, &TLVError{Offset: off, Tag: tag, Msg: fmt.Sprintf("length %d exceeds the limit of %d", v, MaxTLVLength)}
	}
	return v, 1 + nb, nil
}

func parseOne(b []byte, off, depth int) (TLV, int, error) {
	if depth > MaxTLVDepth {
		return TLV{}, 0, &TLVError{Offset: off, Msg: fmt.Sprintf("nesting deeper than %d", MaxTLVDepth)}
	}
	tag, tn, err := readTag(b, off)
	if err != nil {
		return TLV{}, 0, err
	}
	if tag == 0 {
		return TLV{}, 0, &TLVError{Offset: off, Msg: "unexpected end-of-contents (tag 00)"}
	}
	l, ln, err := readLength(b[tn:], off+tn, tag)
	if err != nil {
		return TLV{}, 0, err
	}
	h := tn + ln
	t := TLV{Tag: tag, Offset: off}
	if l >= 0 {
		if len(b)-h < l {
			return TLV{}, 0, &TLVError{Offset: off, Tag: tag, Msg: fmt.Sprintf("length %d but only %d bytes left: %v", l, len(b)-h, ErrTruncated), Err: ErrTruncated}
		}
		t.Value = b[h : h+l]
		t.Raw = b[:h+l]
		if tag.Constructed() {
			t.Children, err = parseSeq(t.Value, off+h, depth+1)
			if err != nil {
				return TLV{}, 0, err
			}
		}
		return t, h + l, nil
	}
	// Indefinite length: only constructed objects, ended by 00 00.
	if !tag.Constructed() {
		return TLV{}, 0, &TLVError{Offset: off, Tag: tag, Msg: "indefinite length on a primitive object"}
	}
	t.Indefinite = true
	pos := h
	for {
		if len(b)-pos < 2 {
			return TLV{}, 0, &TLVError{Offset: off, Tag: tag, Msg: "indefinite length without end-of-contents: " + ErrTruncated.Error(), Err: ErrTruncated}
		}
		if b[pos] == 0 && b[pos+1] == 0 {
			t.Value = b[h:pos]
			t.Raw = b[:pos+2]
			return t, pos + 2, nil
		}
		c, n, err := parseOne(b[pos:], off+pos, depth+1)
		if err != nil {
			return TLV{}, 0, err
		}
		t.Children = append(t.Children, c)
		pos += n
	}
}

// EncodeLength returns the DER encoding of a definite length.
func EncodeLength(n int) []byte {
	switch {
	case n < 0x80:
		return []byte{byte(n)}
	case n <= 0xFF:
		return []byte{0x81, byte(n)}
	case n <= 0xFFFF:
		return []byte{0x82, byte(n >> 8), byte(n)}
	case n <= 0xFFFFFF:
		return []byte{0x83, byte(n >> 16), byte(n >> 8), byte(n)}
	default:
		return []byte{0x84, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	}
}

// EncodeTLV returns tag, definite length and value.
func EncodeTLV(tag Tag, value []byte) []byte {
	tb := tag.Bytes()
	lb := EncodeLength(len(value))
	out := make([]byte, 0, len(tb)+len(lb)+len(value))
	out = append(out, tb...)
	out = append(out, lb...)
	return append(out, value...)
}

// EncodeConstructed encodes a constructed object from already encoded children.
func EncodeConstructed(tag Tag, children ...[]byte) []byte {
	n := 0
	for _, c := range children {
		n += len(c)
	}
	v := make([]byte, 0, n)
	for _, c := range children {
		v = append(v, c...)
	}
	return EncodeTLV(tag, v)
}

// Encode re-encodes t with definite lengths (DER-style framing). Constructed objects are
// encoded from their Children, primitive ones from Value.
func (t *TLV) Encode() []byte {
	if !t.Tag.Constructed() {
		return EncodeTLV(t.Tag, t.Value)
	}
	parts := make([][]byte, len(t.Children))
	for i := range t.Children {
		parts[i] = t.Children[i].Encode()
	}
	return EncodeConstructed(t.Tag, parts...)
}
