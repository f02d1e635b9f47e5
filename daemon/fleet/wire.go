package fleet

import (
	"encoding/binary"
	"fmt"
)

// reader decodes the big-endian fields of a message body and remembers the first error,
// naming the field and offset where the message went wrong.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(field string, need int) {
	if r.err == nil {
		r.err = fmt.Errorf("%s at offset %d: need %d bytes, %d left: %w", field, r.off, need, len(r.b)-r.off, ErrMalformed)
	}
}

func (r *reader) take(field string, n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.fail(field, n)
		return nil
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}

func (r *reader) u8(field string) uint8 {
	p := r.take(field, 1)
	if p == nil {
		return 0
	}
	return p[0]
}

func (r *reader) u16(field string) uint16 {
	p := r.take(field, 2)
	if p == nil {
		return 0
	}
	return binary.BigEndian.Uint16(p)
}

func (r *reader) u32(field string) uint32 {
	p := r.take(field, 4)
	if p == nil {
		return 0
	}
	return binary.BigEndian.Uint32(p)
}

func (r *reader) u64(field string) uint64 {
	p := r.take(field, 8)
	if p == nil {
		return 0
	}
	return binary.BigEndian.Uint64(p)
}

// count reads a u32 element count and checks that at least min bytes per element remain and
// that it does not exceed max.
func (r *reader) count(field string, minSize, max int) int {
	at := r.off
	n := r.u32(field)
	if r.err != nil {
		return 0
	}
	if uint64(n) > uint64(max) {
		r.err = fmt.Errorf("%s at offset %d: %d elements, limit %d: %w", field, at, n, max, ErrOversize)
		return 0
	}
	if uint64(n)*uint64(minSize) > uint64(len(r.b)-r.off) {
		r.err = fmt.Errorf("%s at offset %d: %d elements need at least %d bytes, %d left: %w",
			field, at, n, uint64(n)*uint64(minSize), len(r.b)-r.off, ErrMalformed)
		return 0
	}
	return int(n)
}

// str reads a u16-length string of at most max bytes of printable ASCII.
func (r *reader) str(field string, max int) string {
	at := r.off
	n := int(r.u16(field + " length"))
	p := r.take(field, n)
	if r.err != nil {
		return ""
	}
	if n > max {
		r.err = fmt.Errorf("%s at offset %d: %d bytes, limit %d: %w", field, at, n, max, ErrMalformed)
		return ""
	}
	for i, c := range p {
		if c < 0x21 || c > 0x7e {
			r.err = fmt.Errorf("%s at offset %d: byte %#x is not printable ASCII: %w", field, at+2+i, c, ErrMalformed)
			return ""
		}
	}
	return string(p)
}

func (r *reader) done(what string) error {
	if r.err != nil {
		return fmt.Errorf("%s: %w", what, r.err)
	}
	if r.off != len(r.b) {
		return fmt.Errorf("%s: %d trailing bytes at offset %d: %w", what, len(r.b)-r.off, r.off, ErrMalformed)
	}
	return nil
}

func appendStr(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}
