package lds

import (
	"bytes"
	"strings"
	"testing"

	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
	"github.com/edgeid/edgeid/drivers/internal/sharedtest"
)

// tinyJPEG is the start of a JPEG: SOI, then a baseline SOF0 frame header of 40x60 pixels.
var tinyJPEG = []byte{0xFF, 0xD8, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 60, 0x00, 40, 0x03, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1, 0xFF, 0xD9}

func TestParseDG2Samples(t *testing.T) {
	tests := []struct {
		dir, file     string
		width, height int
		minImage      int
		imgW, imgH    int // from the JPEG2000 header; the DE records' headers disagree with their images
	}{
		{"emrtd-samples/NL_Sdu_specimen_2006_Meulendijk", "DG2.bin", 449, 598, 10000, 449, 598},
		{"emrtd-samples/DE_BSI_TR03105-5_RefDataSet_HJP", "Datagroup2.bin", 337, 449, 10000, 413, 531},
		{"emrtd-samples/DE_BDR_TEST_2008_Mustermann", "Datagroup2.bin", 337, 449, 10000, 413, 531},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			b := sharedtest.Read(t, tt.dir, tt.file)
			d, err := ParseDG2(b)
			if err != nil {
				t.Fatalf("ParseDG2: %v", err)
			}
			if len(d.Faces) != 1 {
				t.Fatalf("got %d faces, want 1", len(d.Faces))
			}
			f := d.Faces[0]
			if f.Format != ImageJPEG2000 || f.Width != tt.width || f.Height != tt.height || len(f.Image) < tt.minImage {
				t.Errorf("got %s %dx%d with %d image bytes, want jpeg2000 %dx%d with >= %d", f.Format, f.Width, f.Height, len(f.Image), tt.width, tt.height, tt.minImage)
			}
			w, h, err := imageSize(f.Image)
			if err != nil || w != tt.imgW || h != tt.imgH {
				t.Errorf("image header says %dx%d (%v), want %dx%d", w, h, err, tt.imgW, tt.imgH)
			}
		})
	}
}

func TestEncodeParseDG2(t *testing.T) {
	in := FaceImage{Format: ImageJPEG, Width: 40, Height: 60, Image: tinyJPEG, Gender: 2}
	b, err := EncodeDG2([]FaceImage{in})
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []struct {
		name string
		b    []byte
	}{{"whole DG2", b}, {"bare record", b[bytes.Index(b, []byte("FAC\x00")):]}} {
		d, err := ParseDG2(src.b)
		if err != nil {
			t.Fatalf("%s: %v", src.name, err)
		}
		f := d.Faces[0]
		if f.Format != ImageJPEG || f.Width != 40 || f.Height != 60 || f.Gender != 2 || !bytes.Equal(f.Image, tinyJPEG) || f.FaceImageType != 1 {
			t.Errorf("%s: got %+v", src.name, f)
		}
	}
	if w, h, err := imageSize(tinyJPEG); err != nil || w != 40 || h != 60 {
		t.Errorf("imageSize(tinyJPEG): got %dx%d %v, want 40x60", w, h, err)
	}
}

func TestParseDG2_39794(t *testing.T) {
	// A minimal 39794-5 shaped block: 7F2E { A1 { 30 { A1 { A0 { 80 <jpeg> } } } } }.
	inner := tlv.EncodeConstructed(0xA1, tlv.EncodeConstructed(0x30, tlv.EncodeConstructed(0xA1, tlv.EncodeConstructed(0xA0, tlv.EncodeTLV(0x80, tinyJPEG)))))
	dg2 := tlv.EncodeTLV(0x75, tlv.EncodeConstructed(0x7F61, tlv.EncodeTLV(0x02, []byte{1}), tlv.EncodeConstructed(0x7F60, tlv.EncodeTLV(0x7F2E, inner))))
	d, err := ParseDG2(dg2)
	if err != nil {
		t.Fatal(err)
	}
	if f := d.Faces[0]; f.Standard != "ISO/IEC 39794-5" || f.Format != ImageJPEG || f.Width != 40 || f.Height != 60 {
		t.Errorf("got %+v", f)
	}
}

func TestParseDG2Errors(t *testing.T) {
	good, err := EncodeDG2([]FaceImage{{Format: ImageJPEG, Width: 40, Height: 60, Image: tinyJPEG}})
	if err != nil {
		t.Fatal(err)
	}
	rec := good[bytes.Index(good, []byte("FAC\x00")):]
	mut := func(f func(b []byte)) []byte {
		c := append([]byte(nil), rec...)
		f(c)
		return c
	}
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "tlv"},
		{"wrong tag", []byte{0x61, 0x00}, "want tag 75"},
		{"no group", tlv.EncodeTLV(0x75, nil), "no biometric information group"},
		{"short header", []byte("FAC\x00010"), "general header needs 14 bytes"},
		{"record length too big", mut(func(b []byte) { b[8] = 0x7F }), "record length"},
		{"no faces", mut(func(b []byte) { b[13] = 0 }), "number of faces 0"},
		{"block length", mut(func(b []byte) { b[14] = 0x7F }), "block length"},
		{"feature points", mut(func(b []byte) { b[18], b[19] = 0x7F, 0xFF }), "feature points do not fit"},
		{"data type", mut(func(b []byte) { b[35] = 9 }), "unknown image data type 9"},
		{"format mismatch", mut(func(b []byte) { b[35] = 1 }), "header says jpeg2000 but the image bytes are jpeg"},
		{"no bit", tlv.EncodeTLV(0x75, tlv.EncodeConstructed(0x7F61, tlv.EncodeTLV(0x02, []byte{1}))), "no face record"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseDG2(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func FuzzParseDG2(f *testing.F) {
	good, err := EncodeDG2([]FaceImage{{Format: ImageJPEG, Width: 40, Height: 60, Image: tinyJPEG}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[bytes.Index(good, []byte("FAC\x00")):])
	f.Add(tlv.EncodeTLV(0x75, tlv.EncodeConstructed(0x7F61, tlv.EncodeConstructed(0x7F60, tlv.EncodeTLV(0x7F2E, tlv.EncodeTLV(0x80, tinyJPEG))))))
	f.Add([]byte("FAC\x00010\x00\x00\x00\x00\x0e\x00\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDG2(b)
		if err != nil {
			return
		}
		if len(d.Faces) == 0 || len(d.Faces) > maxFaces {
			t.Fatalf("%d faces accepted", len(d.Faces))
		}
		for _, f := range d.Faces {
			if len(f.Image) == 0 || sniffImage(f.Image) != f.Format {
				t.Fatalf("face with format %q and %d image bytes accepted", f.Format, len(f.Image))
			}
		}
	})
}
