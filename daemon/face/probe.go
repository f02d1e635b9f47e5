package face

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
)

// Format is an encoded image format the face engine accepts.
type Format string

const (
	JPEG     Format = "jpeg"
	PNG      Format = "png"
	PGM      Format = "pgm"
	JPEG2000 Format = "jpeg2000" // JP2 file or bare J2K codestream
)

// Header is what probe learns from an image's header without decoding it.
type Header struct {
	Format Format
	Width  int
	Height int
	// JPEG only: the number of scans, and the EXIF orientation (1-8, 1 is as stored).
	Scans       int
	Orientation int
}

// ErrUnsupportedFormat is returned for bytes that are none of the accepted formats.
var ErrUnsupportedFormat = errors.New("not a JPEG, PNG, PGM or JPEG 2000 image")

var (
	sigPNG = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}
	sigJP2 = []byte{0, 0, 0, 0x0c, 'j', 'P', ' ', ' ', '\r', '\n', 0x87, '\n'}
	sigJ2K = []byte{0xff, 0x4f, 0xff, 0x51}
)

// probe reads the format and the dimensions from an image header. Only the formats listed
// above reach a decoder, and only after their dimensions have been checked against limits:
// this is what keeps a 30000x30000 header from allocating gigabytes.
func probe(b []byte) (Header, error) {
	switch {
	case len(b) >= 3 && b[0] == 0xff && b[1] == 0xd8 && b[2] == 0xff:
		return probeJPEG(b)
	case bytes.HasPrefix(b, sigPNG):
		return probePNG(b)
	case len(b) >= 2 && b[0] == 'P' && (b[1] == '5' || b[1] == '2'):
		return probePGM(b)
	case bytes.HasPrefix(b, sigJP2):
		return probeJP2(b)
	case bytes.HasPrefix(b, sigJ2K):
		return probeJ2K(b)
	}
	return Header{}, ErrUnsupportedFormat
}

// probeJPEG walks the markers as libjpeg reads them (jdmarker.c) and refuses every place where
// a lenient reader and a strict one could disagree: bytes between segments (libjpeg skips
// them, FF 00 included, so a frame header hidden there is what it would decode), a second
// SOI or frame header, frame types libjpeg does not decode, markers it does not know, and a
// file that ends before its end-of-image marker (a truncated file). It counts the scans.
func probeJPEG(b []byte) (Header, error) {
	h := Header{Format: JPEG, Orientation: 1}
	sawSOF := false
	i := 2
	for {
		if i >= len(b) {
			return Header{}, errors.New("jpeg: truncated: no end-of-image marker")
		}
		if b[i] != 0xff {
			return Header{}, fmt.Errorf("jpeg: data between segments at offset %d", i)
		}
		for i < len(b) && b[i] == 0xff { // fill bytes
			i++
		}
		if i >= len(b) {
			return Header{}, errors.New("jpeg: truncated: no end-of-image marker")
		}
		m := b[i]
		at := i - 1
		i++
		switch {
		case m == 0x00:
			return Header{}, fmt.Errorf("jpeg: stuffed zero outside scan data at offset %d", at)
		case m == 0xd8:
			return Header{}, fmt.Errorf("jpeg: second start-of-image marker at offset %d", at)
		case m == 0x01 || (m >= 0xd0 && m <= 0xd7):
			continue // TEM, RSTn: no length
		case m == 0xd9:
			if h.Scans == 0 {
				return Header{}, errors.New("jpeg: end of image before any scan")
			}
			return h, nil
		}
		if i+2 > len(b) {
			return Header{}, errors.New("jpeg: truncated segment length")
		}
		n := int(binary.BigEndian.Uint16(b[i:]))
		if n < 2 || i+n > len(b) {
			return Header{}, fmt.Errorf("jpeg: segment %02X at offset %d has length %d beyond the file", m, at, n)
		}
		seg := b[i+2 : i+n]
		i += n
		switch {
		case m == 0xc0 || m == 0xc1 || m == 0xc2 || m == 0xc9 || m == 0xca:
			if sawSOF {
				return Header{}, fmt.Errorf("jpeg: second frame header at offset %d", at)
			}
			sawSOF = true
			if len(seg) < 6 || len(seg) != 6+3*int(seg[5]) {
				return Header{}, fmt.Errorf("jpeg: malformed frame header at offset %d", at)
			}
			h.Height = int(binary.BigEndian.Uint16(seg[1:]))
			h.Width = int(binary.BigEndian.Uint16(seg[3:]))
			if h.Width == 0 || h.Height == 0 {
				// A zero height means "given by a DNL marker later", which we do not accept.
				return Header{}, fmt.Errorf("jpeg: frame header gives %dx%d", h.Width, h.Height)
			}
			if c := seg[5]; c != 1 && c != 3 {
				return Header{}, fmt.Errorf("jpeg: %d components (grey or colour accepted)", c)
			}
		case m >= 0xc3 && m <= 0xcf && m != 0xc4 && m != 0xcc:
			return Header{}, fmt.Errorf("jpeg: frame type %02X is not decoded", m)
		case m == 0xda:
			if !sawSOF {
				return Header{}, errors.New("jpeg: no frame header before the first scan")
			}
			h.Scans++
			// Entropy-coded data runs to the next marker that is neither a stuffed zero nor a
			// restart marker; FF fill bytes may precede that marker.
			for {
				k := bytes.IndexByte(b[i:], 0xff)
				if k < 0 {
					return Header{}, errors.New("jpeg: truncated: scan data runs to the end of the file")
				}
				i += k
				j := i + 1
				for j < len(b) && b[j] == 0xff {
					j++
				}
				if j >= len(b) {
					return Header{}, errors.New("jpeg: truncated: scan data runs to the end of the file")
				}
				if b[j] == 0x00 || (b[j] >= 0xd0 && b[j] <= 0xd7) {
					i = j + 1
					continue
				}
				i = j - 1 // the marker's last FF
				break
			}
		case m == 0xe1 && h.Orientation == 1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")):
			h.Orientation = exifOrientation(seg[6:])
		case m == 0xc4 || m == 0xcc || m == 0xdb || m == 0xdd || m == 0xdc || m == 0xfe || (m >= 0xe0 && m <= 0xef):
			// DHT, DAC, DQT, DRI, DNL, COM, APPn: the decoder checks their content.
		default:
			return Header{}, fmt.Errorf("jpeg: unknown marker %02X at offset %d", m, at)
		}
	}
}

// exifOrientation reads tag 0x0112 from IFD0 of a TIFF structure; 1 (as stored) when absent
// or unreadable, as OpenCV does.
func exifOrientation(t []byte) int {
	if len(t) < 8 {
		return 1
	}
	var bo binary.ByteOrder
	switch string(t[:2]) {
	case "II":
		bo = binary.LittleEndian
	case "MM":
		bo = binary.BigEndian
	default:
		return 1
	}
	off := int(bo.Uint32(t[4:]))
	if off < 8 || off+2 > len(t) {
		return 1
	}
	n := int(bo.Uint16(t[off:]))
	for k := 0; k < n; k++ {
		e := off + 2 + 12*k
		if e+12 > len(t) {
			return 1
		}
		if bo.Uint16(t[e:]) == 0x0112 && bo.Uint16(t[e+2:]) == 3 {
			if v := int(bo.Uint16(t[e+8:])); v >= 1 && v <= 8 {
				return v
			}
			return 1
		}
	}
	return 1
}

func probePNG(b []byte) (Header, error) {
	// The IHDR chunk must come first: length 13, type, width, height.
	if len(b) < 8+8+13 {
		return Header{}, errors.New("png: truncated before IHDR")
	}
	if binary.BigEndian.Uint32(b[8:]) != 13 || string(b[12:16]) != "IHDR" {
		return Header{}, errors.New("png: first chunk is not IHDR")
	}
	w := binary.BigEndian.Uint32(b[16:])
	h := binary.BigEndian.Uint32(b[20:])
	if w == 0 || h == 0 || w > 1<<31-1 || h > 1<<31-1 {
		return Header{}, fmt.Errorf("png: IHDR gives %dx%d", w, h)
	}
	return Header{Format: PNG, Width: int(w), Height: int(h)}, nil
}

func probePGM(b []byte) (Header, error) {
	// "P5" or "P2", then width, height and maxval as decimal numbers separated by white space,
	// with '#' comments to the end of a line.
	i := 2
	var v [3]int
	for k := range v {
		for {
			for i < len(b) && isSpace(b[i]) {
				i++
			}
			if i < len(b) && b[i] == '#' {
				for i < len(b) && b[i] != '\n' && b[i] != '\r' {
					i++
				}
				continue
			}
			break
		}
		start := i
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			if i-start >= 9 {
				return Header{}, fmt.Errorf("pgm: header number at offset %d is too long", start)
			}
			v[k] = v[k]*10 + int(b[i]-'0')
			i++
		}
		if i == start {
			return Header{}, fmt.Errorf("pgm: expected a number at offset %d", start)
		}
	}
	if v[0] == 0 || v[1] == 0 || v[2] == 0 || v[2] > 65535 {
		return Header{}, fmt.Errorf("pgm: header gives %dx%d with maxval %d", v[0], v[1], v[2])
	}
	return Header{Format: PGM, Width: v[0], Height: v[1]}, nil
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func probeJP2(b []byte) (Header, error) {
	// Walk the top-level boxes to the contiguous codestream box; its SIZ marker is what the
	// decoder trusts (the ihdr box may disagree with it).
	i := 0
	for i+8 <= len(b) {
		size := uint64(binary.BigEndian.Uint32(b[i:]))
		typ := string(b[i+4 : i+8])
		hdr := uint64(8)
		switch size {
		case 0: // to the end of the file
			size = uint64(len(b) - i)
		case 1:
			if i+16 > len(b) {
				return Header{}, errors.New("jpeg2000: truncated box length")
			}
			size = binary.BigEndian.Uint64(b[i+8:])
			hdr = 16
		}
		if size < hdr || size > uint64(len(b)-i) {
			if typ == "jp2c" && size >= hdr {
				// A truncated codestream still has a header worth checking; the decoder will fail later.
				return probeJ2K(b[i+int(hdr):])
			}
			return Header{}, fmt.Errorf("jpeg2000: box %q at offset %d has length %d beyond the file", typ, i, size)
		}
		if typ == "jp2c" {
			return probeJ2K(b[i+int(hdr) : i+int(size)])
		}
		i += int(size)
	}
	return Header{}, errors.New("jpeg2000: no codestream box")
}

// Bounds on a JPEG 2000 codestream that a face photo never needs but a hostile file may ask for.
const (
	j2kMaxComponents = 4
	j2kMaxTiles      = 4096
)

func probeJ2K(b []byte) (Header, error) {
	// SOC, SIZ: Lsiz Rsiz Xsiz Ysiz XOsiz YOsiz XTsiz YTsiz XTOsiz YTOsiz Csiz.
	if len(b) < 4+38 || !bytes.HasPrefix(b, sigJ2K) {
		return Header{}, errors.New("jpeg2000: codestream does not start with SOC and SIZ")
	}
	s := b[4:]
	u := func(off int) uint64 { return uint64(binary.BigEndian.Uint32(s[off:])) }
	x, y, xo, yo := u(4), u(8), u(12), u(16)
	xt, yt, xto, yto := u(20), u(24), u(28), u(32)
	comps := int(binary.BigEndian.Uint16(s[36:]))
	if x <= xo || y <= yo {
		return Header{}, fmt.Errorf("jpeg2000: image area %dx%d with offset %d,%d is empty", x, y, xo, yo)
	}
	if xt == 0 || yt == 0 || xto > xo || yto > yo {
		return Header{}, errors.New("jpeg2000: invalid tile grid")
	}
	if comps == 0 || comps > j2kMaxComponents {
		return Header{}, fmt.Errorf("jpeg2000: %d components (at most %d accepted)", comps, j2kMaxComponents)
	}
	tiles := ((x - xto + xt - 1) / xt) * ((y - yto + yt - 1) / yt)
	if tiles > j2kMaxTiles {
		return Header{}, fmt.Errorf("jpeg2000: %d tiles (at most %d accepted)", tiles, j2kMaxTiles)
	}
	w, h := x-xo, y-yo
	if w > 1<<31-1 || h > 1<<31-1 {
		return Header{}, fmt.Errorf("jpeg2000: %dx%d is too large", w, h)
	}
	return Header{Format: JPEG2000, Width: int(w), Height: int(h)}, nil
}
