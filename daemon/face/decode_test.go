package face

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testdataDir = "../../testdata/face"

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdataDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeFormats(t *testing.T) {
	tests := []struct {
		file   string
		format Format
		w, h   int
	}{
		{"astronaut.png", PNG, 512, 512},
		{"camera.png", PNG, 512, 512},
		{"astronaut-shifted.jpg", JPEG, 512, 512},
		{"astronaut-320.jp2", JPEG2000, 320, 320},
		{"astronaut-320.pgm", PGM, 320, 320},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			img, h, err := Decode(readTestdata(t, tt.file), DefaultLimits(), tt.file)
			if err != nil {
				t.Fatal(err)
			}
			defer img.Close()
			if h.Format != tt.format || img.Cols() != tt.w || img.Rows() != tt.h || img.Channels() != 3 {
				t.Errorf("got %s %dx%dx%d, want %s %dx%dx3", h.Format, img.Cols(), img.Rows(), img.Channels(), tt.format, tt.w, tt.h)
			}
		})
	}
}

func TestDecodeRefuses(t *testing.T) {
	jp2 := readTestdata(t, "astronaut-320.jp2")
	jpg := readTestdata(t, "astronaut-shifted.jpg")
	corruptJP2 := append([]byte{}, jp2...)
	for i := 200; i < len(corruptJP2); i += 7 {
		corruptJP2[i] ^= 0x5a
	}
	small := Limits{MaxBytes: 1 << 20, MaxSide: 400, MaxPixels: 100_000}
	tests := []struct {
		name    string
		b       []byte
		lim     Limits
		wantErr string
	}{
		{"zero bytes", nil, DefaultLimits(), "empty file"},
		{"text", []byte("this is not an image"), DefaultLimits(), "not a JPEG"},
		{"huge png header", pngHeader(30000, 30000), DefaultLimits(), "exceeds the limit"},
		{"huge jpeg header", jpegHeader(30000, 30000), DefaultLimits(), "exceeds the limit"},
		{"huge j2k header", jp2File(j2kHeader(30000, 30000, 30000, 30000, 3)), DefaultLimits(), "exceeds the limit"},
		{"too many bytes", jpg, Limits{MaxBytes: 1000, MaxSide: 8192, MaxPixels: 1 << 24}, "larger than"},
		{"too many pixels", jpg, small, "exceeds the limit"},
		{"png header only", pngHeader(64, 64), DefaultLimits(), "png 64x64: png: IHDR: CRC error"},
		{"jpeg header only", jpegHeader(64, 64), DefaultLimits(), "jpeg 64x64"},
		{"truncated jp2", jp2[:300], DefaultLimits(), "jpeg2000"},
		{"corrupt jp2", corruptJP2, DefaultLimits(), "jpeg2000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, _, err := Decode(tt.b, tt.lim, "input")
			if err == nil {
				img.Close()
				t.Fatalf("Decode succeeded, want an error containing %q", tt.wantErr)
			}
			var ie *ImageError
			if !errors.As(err, &ie) || ie.Source != "input" {
				t.Errorf("error %v is not an *ImageError naming the input", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Decode: %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestReadFileLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(path, make([]byte, 2000), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(path, Limits{MaxBytes: 1000}); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Errorf("ReadFile of a 2000-byte file with a 1000-byte limit: %v", err)
	}
	if _, err := ReadFile(filepath.Join(t.TempDir(), "missing"), DefaultLimits()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v, want ErrNotExist", err)
	}
}

// FuzzDecode drives untrusted bytes through the whole decode path, OpenCV's decoders included.
// Limits are small so that each input costs little; what matters is that nothing crashes.
func FuzzDecode(f *testing.F) {
	f.Add(readTestdata(f, "astronaut-320.jp2"))
	f.Add(pngHeader(16, 16))
	f.Add(jpegHeader(16, 16))
	f.Add([]byte("P5 4 4 255 0123456789abcdef"))
	f.Add(jp2File(j2kHeader(64, 64, 64, 64, 3)))
	lim := Limits{MaxBytes: 64 << 10, MaxSide: 1024, MaxPixels: 1 << 18}
	f.Fuzz(func(t *testing.T, b []byte) {
		img, h, err := Decode(b, lim, "fuzz")
		if err != nil {
			return
		}
		defer img.Close()
		if img.Cols()*img.Rows() > lim.MaxPixels || h.Width <= 0 {
			t.Fatalf("decoded %dx%d past the limits", img.Cols(), img.Rows())
		}
	})
}

// Images come through the bounded reader: a device or a FIFO is refused, not read forever.
func TestReadFileRefusesDevices(t *testing.T) {
	for _, p := range []string{"/dev/zero", t.TempDir()} {
		if _, err := ReadFile(p, DefaultLimits()); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("ReadFile(%s): %v", p, err)
		}
	}
}
