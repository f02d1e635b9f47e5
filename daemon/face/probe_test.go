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

// jpegHeader builds SOI, an APP0 segment and a baseline SOF0 for w x h.
func jpegHeader(w, h uint16) []byte {
	b := []byte{0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 'J', 'F'}
	b = append(b, 0xff, 0xc0, 0x00, 0x0b, 8)
	b = binary.BigEndian.AppendUint16(b, h)
	b = binary.BigEndian.AppendUint16(b, w)
	return append(b, 1, 1, 0x11, 0)
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
		{"png", pngHeader(640, 480), Header{PNG, 640, 480}, ""},
		{"png huge", pngHeader(30000, 30000), Header{PNG, 30000, 30000}, ""},
		{"png zero width", pngHeader(0, 5), Header{}, "IHDR gives"},
		{"png truncated", pngHeader(10, 10)[:20], Header{}, "truncated"},
		{"jpeg", jpegHeader(320, 240), Header{JPEG, 320, 240}, ""},
		{"jpeg huge", jpegHeader(65535, 65535), Header{JPEG, 65535, 65535}, ""},
		{"jpeg zero height", jpegHeader(320, 0), Header{}, "frame header gives"},
		{"jpeg truncated", jpegHeader(320, 240)[:12], Header{}, "truncated"},
		{"jpeg no frame", []byte{0xff, 0xd8, 0xff, 0xda, 0, 2, 0, 0}, Header{}, "no frame header"},
		{"jpeg bad length", []byte{0xff, 0xd8, 0xff, 0xe0, 0, 1, 0, 0}, Header{}, "segment length"},
		{"pgm", []byte("P5\n# comment\n92 112\n255\n"), Header{PGM, 92, 112}, ""},
		{"pgm ascii", []byte("P2 3 2 15 0 1 2 3 4 5"), Header{PGM, 3, 2}, ""},
		{"pgm no numbers", []byte("P5\nabc"), Header{}, "expected a number"},
		{"pgm long number", []byte("P5 99999999999 1 255 "), Header{}, "too long"},
		{"pgm maxval", []byte("P5 1 1 70000 "), Header{}, "maxval"},
		{"j2k", j2kHeader(200, 250, 200, 250, 3), Header{JPEG2000, 200, 250}, ""},
		{"jp2", jp2File(j2kHeader(300, 400, 512, 512, 3)), Header{JPEG2000, 300, 400}, ""},
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
