package face

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// pngHeader builds a PNG signature and IHDR for w x h.
func pngHeader(w, h uint32) []byte {
	b := append([]byte{}, sigPNG...)
	b = binary.BigEndian.AppendUint32(b, 13)
	b = append(b, "IHDR"...)
	b = binary.BigEndian.AppendUint32(b, w)
	b = binary.BigEndian.AppendUint32(b, h)
	return append(b, 8, 2, 0, 0, 0, 0, 0, 0, 0) // depth, colour type, methods, CRC (not checked here)
}

// jpegHeader builds SOI, an APP0 segment and a baseline SOF0 for w x h, then one scan of a
// few entropy-coded bytes and EOI: the structure of a JPEG, without its tables.
func jpegHeader(w, h uint16) []byte {
	b := jpegFrame(w, h)
	b = append(b, jpegSOS...)
	b = append(b, 0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56)
	return append(b, 0xff, 0xd9)
}

// jpegFrame is SOI, APP0 and SOF0.
func jpegFrame(w, h uint16) []byte {
	b := []byte{0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 'J', 'F'}
	b = append(b, 0xff, 0xc0, 0x00, 0x0b, 8)
	b = binary.BigEndian.AppendUint16(b, h)
	b = binary.BigEndian.AppendUint16(b, w)
	return append(b, 1, 1, 0x11, 0)
}

var jpegSOS = []byte{0xff, 0xda, 0x00, 0x08, 1, 1, 0x00, 0, 0x3f, 0}

func cat(parts ...[]byte) []byte {
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// j2kHeader builds SOC and SIZ for an image of w x h with tiles of tw x th and c components.
func j2kHeader(w, h, tw, th uint32, c uint16) []byte {
	b := append([]byte{}, sigJ2K...)
	b = binary.BigEndian.AppendUint16(b, 38+3*uint16(c))
	b = binary.BigEndian.AppendUint16(b, 0)
	for _, v := range []uint32{w, h, 0, 0, tw, th, 0, 0} {
		b = binary.BigEndian.AppendUint32(b, v)
	}
	b = binary.BigEndian.AppendUint16(b, c)
	for i := 0; i < int(c); i++ {
		b = append(b, 7, 1, 1)
	}
	return b
}

func jp2File(codestream []byte) []byte {
	b := append([]byte{}, sigJP2...)
	b = append(b, 0, 0, 0, 0x14, 'f', 't', 'y', 'p', 'j', 'p', '2', ' ', 0, 0, 0, 0, 'j', 'p', '2', ' ')
	b = binary.BigEndian.AppendUint32(b, uint32(8+len(codestream)))
	b = append(b, "jp2c"...)
	return append(b, codestream...)
}

func TestProbe(t *testing.T) {
	tests := []struct {
		name    string
		b       []byte
		want    Header
		wantErr string
	}{
		{"png", pngHeader(640, 480), Header{Format: PNG, Width: 640, Height: 480}, ""},
		{"png huge", pngHeader(30000, 30000), Header{Format: PNG, Width: 30000, Height: 30000}, ""},
		{"png zero width", pngHeader(0, 5), Header{}, "IHDR gives"},
		{"png truncated", pngHeader(10, 10)[:20], Header{}, "truncated"},
		{"jpeg", jpegHeader(320, 240), Header{Format: JPEG, Width: 320, Height: 240, Scans: 1, Orientation: 1}, ""},
		{"jpeg huge", jpegHeader(65535, 65535), Header{Format: JPEG, Width: 65535, Height: 65535, Scans: 1, Orientation: 1}, ""},
		{"jpeg fill bytes", cat(jpegFrame(8, 8), []byte{0xff, 0xff, 0xff}, jpegSOS, []byte{1, 0xff, 0xff, 0xd9}), Header{Format: JPEG, Width: 8, Height: 8, Scans: 1, Orientation: 1}, ""},
		{"jpeg three scans", cat(jpegFrame(8, 8), jpegSOS, []byte{1}, jpegSOS, []byte{2}, jpegSOS, []byte{3, 0xff, 0xd9}), Header{Format: JPEG, Width: 8, Height: 8, Scans: 3, Orientation: 1}, ""},
		{"jpeg exif orientation", cat(jpegFrame(8, 6)[:2], exifSegment(6), jpegFrame(8, 6)[2:], jpegSOS, []byte{1, 0xff, 0xd9}), Header{Format: JPEG, Width: 8, Height: 6, Scans: 1, Orientation: 6}, ""},
		{"jpeg zero height", jpegHeader(320, 0), Header{}, "frame header gives"},
		{"jpeg truncated", jpegHeader(320, 240)[:12], Header{}, "beyond the file"},
		{"jpeg truncated in scan", jpegHeader(320, 240)[:len(jpegHeader(320, 240))-2], Header{}, "truncated"},
		{"jpeg cut after the scan", cat(jpegFrame(8, 8), jpegSOS, []byte{1, 0xff}), Header{}, "truncated"},
		{"jpeg no frame", []byte{0xff, 0xd8, 0xff, 0xda, 0, 2, 0xff, 0xd9}, Header{}, "no frame header"},
		{"jpeg bad length", []byte{0xff, 0xd8, 0xff, 0xe0, 0, 1, 0, 0}, Header{}, "length 1"},
		// Issue 15 item 1: libjpeg skips FF 00 and any byte between segments looking for the
		// next FF, so a large frame header inside a "segment" that begins FF 00 is the one it
		// decodes, while the old probe skipped it and read the small one after it.
		{"jpeg frame hidden behind FF 00", cat([]byte{0xff, 0xd8, 0xff, 0x00, 0x00, 0x15}, jpegFrame(30000, 30000)[8:], jpegFrame(64, 64)[8:], jpegSOS, []byte{1, 0xff, 0xd9}), Header{}, "stuffed zero"},
		{"jpeg garbage between segments", cat(jpegFrame(64, 64), []byte{0x00}, jpegSOS, []byte{1, 0xff, 0xd9}), Header{}, "between segments"},
		{"jpeg second frame", cat(jpegFrame(64, 64), jpegFrame(30000, 30000)[8:], jpegSOS, []byte{1, 0xff, 0xd9}), Header{}, "second frame header"},
		{"jpeg second frame after a scan", cat(jpegFrame(64, 64), jpegSOS, []byte{1}, jpegFrame(30000, 30000)[8:], jpegSOS, []byte{1, 0xff, 0xd9}), Header{}, "second frame header"},
		{"jpeg second SOI", cat(jpegFrame(64, 64), []byte{0xff, 0xd8}, jpegSOS, []byte{1, 0xff, 0xd9}), Header{}, "second start-of-image"},
		{"jpeg lossless frame", cat(jpegFrame(64, 64)[:8], []byte{0xff, 0xc3, 0, 11, 8, 0, 64, 0, 64, 1, 1, 0x11, 0}, jpegSOS, []byte{1, 0xff, 0xd9}), Header{}, "frame type C3"},
		{"jpeg unknown marker", cat(jpegFrame(64, 64), []byte{0xff, 0xf0, 0, 2}, jpegSOS, []byte{1, 0xff, 0xd9}), Header{}, "unknown marker F0"},
		{"jpeg cmyk", cat(jpegFrame(64, 64)[:8], []byte{0xff, 0xc0, 0, 20, 8, 0, 64, 0, 64, 4, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0, 4, 0x11, 0}, jpegSOS, []byte{1, 0xff, 0xd9}), Header{}, "4 components"},
		{"jpeg eoi before scan", cat(jpegFrame(64, 64), []byte{0xff, 0xd9}), Header{}, "before any scan"},
		{"pgm", []byte("P5\n# comment\n92 112\n255\n"), Header{Format: PGM, Width: 92, Height: 112}, ""},
		{"pgm ascii", []byte("P2 3 2 15 0 1 2 3 4 5"), Header{Format: PGM, Width: 3, Height: 2}, ""},
		{"pgm no numbers", []byte("P5\nabc"), Header{}, "expected a number"},
		{"pgm long number", []byte("P5 99999999999 1 255 "), Header{}, "too long"},
		{"pgm maxval", []byte("P5 1 1 70000 "), Header{}, "maxval"},
		{"j2k", j2kHeader(200, 250, 200, 250, 3), Header{Format: JPEG2000, Width: 200, Height: 250}, ""},
		{"jp2", jp2File(j2kHeader(300, 400, 512, 512, 3)), Header{Format: JPEG2000, Width: 300, Height: 400}, ""},
		{"j2k too many tiles", j2kHeader(4000, 4000, 16, 16, 1), Header{}, "tiles"},
		{"j2k too many components", j2kHeader(10, 10, 10, 10, 300), Header{}, "components"},
		{"j2k zero tile", j2kHeader(10, 10, 0, 10, 1), Header{}, "tile grid"},
		{"j2k truncated", j2kHeader(10, 10, 10, 10, 1)[:20], Header{}, "SOC and SIZ"},
		{"jp2 box beyond file", append(append([]byte{}, sigJP2...), 0, 0, 1, 0, 'j', 'u', 'n', 'k'), Header{}, "beyond the file"},
		{"jp2 no codestream", append([]byte{}, sigJP2...), Header{}, "no codestream"},
		{"text", []byte("hello"), Header{}, ErrUnsupportedFormat.Error()},
		{"gif", []byte("GIF89a...."), Header{}, ErrUnsupportedFormat.Error()},
		{"empty", nil, Header{}, ErrUnsupportedFormat.Error()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := probe(tt.b)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("probe: %v, want error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("probe = %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
	if _, err := probe([]byte("xyz")); !errors.Is(err, ErrUnsupportedFormat) {
		t.Errorf("unknown bytes: %v, want ErrUnsupportedFormat", err)
	}
}

// exifSegment is an APP1 Exif segment whose IFD0 holds only the orientation tag.
func exifSegment(orientation uint16) []byte {
	t := []byte{'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1}
	t = binary.BigEndian.AppendUint16(t, orientation)
	t = append(t, 0, 0, 0, 0, 0, 0)
	seg := append([]byte("Exif\x00\x00"), t...)
	b := []byte{0xff, 0xe1}
	b = binary.BigEndian.AppendUint16(b, uint16(2+len(seg)))
	return append(b, seg...)
}

func FuzzProbe(f *testing.F) {
	f.Add(pngHeader(640, 480))
	f.Add(jpegHeader(320, 240))
	f.Add([]byte("P5\n92 112\n255\n"))
	f.Add(jp2File(j2kHeader(300, 400, 512, 512, 3)))
	f.Add(j2kHeader(200, 250, 200, 250, 3))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := probe(b)
		if err == nil && (h.Width <= 0 || h.Height <= 0 || h.Format == "") {
			t.Fatalf("probe accepted %+v", h)
		}
	})
}
