package face

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/face/internal/cvguard"
	"gocv.io/x/gocv"
)

// encodeJPEG encodes a test image as a baseline or progressive JPEG.
func encodeJPEG(t testing.TB, progressive bool) []byte {
	t.Helper()
	src := gocv.IMRead(testdataDir+"/astronaut.png", gocv.IMReadColor)
	if src.Empty() {
		t.Fatal("astronaut.png unreadable")
	}
	defer src.Close()
	p := 0
	if progressive {
		p = 1
	}
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, src, []int{gocv.IMWriteJpegQuality, 90, gocv.IMWriteJpegProgressive, p})
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	return append([]byte(nil), buf.GetBytes()...)
}

// The project's libpng decode gives the pixels cv::imdecode gives, for colour, grey, 16-bit
// and alpha images.
func TestDecodePNGMatchesOpenCV(t *testing.T) {
	src := gocv.IMRead(testdataDir+"/astronaut.png", gocv.IMReadColor)
	defer src.Close()
	gray, deep, alpha := gocv.NewMat(), gocv.NewMat(), gocv.NewMat()
	defer gray.Close()
	defer deep.Close()
	defer alpha.Close()
	gocv.CvtColor(src, &gray, gocv.ColorBGRToGray)
	src.ConvertToWithParams(&deep, gocv.MatTypeCV16UC3, 257, 0)
	gocv.CvtColor(src, &alpha, gocv.ColorBGRToBGRA)
	for name, m := range map[string]gocv.Mat{"colour": src, "grey": gray, "16-bit": deep, "alpha": alpha} {
		buf, err := gocv.IMEncode(gocv.PNGFileExt, m)
		if err != nil {
			t.Fatal(err)
		}
		b := append([]byte(nil), buf.GetBytes()...)
		buf.Close()
		ours, _, err := Decode(b, DefaultLimits(), name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		theirs, err := gocv.IMDecode(b, gocv.IMReadColor)
		if err != nil {
			t.Fatal(err)
		}
		diff := gocv.NewMat()
		gocv.AbsDiff(ours, theirs, &diff)
		if n := gocv.CountNonZero(diff.Reshape(1, 0)); n != 0 {
			t.Errorf("%s: %d bytes differ from cv::imdecode", name, n)
		}
		diff.Close()
		ours.Close()
		theirs.Close()
	}
}

// The project's libjpeg decode gives the same pixels as OpenCV's, since both use the same
// library with the same settings; only its error handling differs.
func TestDecodeJPEGMatchesOpenCV(t *testing.T) {
	for _, prog := range []bool{false, true} {
		b := encodeJPEG(t, prog)
		ours, h, err := Decode(b, DefaultLimits(), "astronaut")
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := gocv.IMDecode(b, gocv.IMReadColor)
		if err != nil {
			t.Fatal(err)
		}
		diff := gocv.NewMat()
		gocv.AbsDiff(ours, theirs, &diff)
		if n := gocv.CountNonZero(diff.Reshape(1, 0)); n != 0 {
			t.Errorf("progressive=%v: %d bytes differ from cv::imdecode", prog, n)
		}
		if want := map[bool]int{false: 1, true: 10}[prog]; h.Scans != want {
			t.Errorf("progressive=%v: probe counted %d scans, want %d", prog, h.Scans, want)
		}
		diff.Close()
		ours.Close()
		theirs.Close()
	}
}

// Issue 15 item 3: a file cut short "matched" and was enrolled; libjpeg's warning went to
// stderr and the missing rows were filled with grey.
func TestDecodeRefusesTruncatedJPEG(t *testing.T) {
	b := encodeJPEG(t, false)
	// Cut in the scan: the probe sees no end-of-image marker.
	if _, _, err := Decode(b[:len(b)*28/100], DefaultLimits(), "cut"); err == nil || !strings.Contains(err.Error(), "truncated") {
		t.Errorf("file cut to 28%%: %v, want a truncation error", err)
	}
	// Cut in the scan but given an end-of-image marker: only the decoder can tell that data
	// is missing. libjpeg's "premature end of data segment" warning must be an error.
	forged := append(append([]byte(nil), b[:len(b)*28/100]...), 0xff, 0xd9)
	if i := bytes.LastIndex(forged[:len(forged)-2], []byte{0xff}); i >= len(forged)-4 {
		forged = append(forged[:i], 0xff, 0xd9) // do not leave half a marker before EOI
	}
	_, _, err := Decode(forged, DefaultLimits(), "cut")
	if err == nil || !strings.Contains(err.Error(), "premature end") {
		t.Errorf("file cut to 28%% with an EOI appended: %v, want libjpeg's premature-end warning as an error", err)
	}
}

// Issue 15 item 3: libjpeg's, libpng's and OpenCV's messages must not reach stderr beside
// our one-line error. Run in a child process whose stderr is captured.
func TestDecodersPrintNothing(t *testing.T) {
	if os.Getenv("EDGEID_DECODE_CHILD") == "1" {
		jpg := encodeJPEG(t, false)
		png := readTestdata(t, "astronaut.png")
		jp2 := readTestdata(t, "astronaut-320.jp2")
		badCRC := append([]byte(nil), png...)
		badCRC[29] ^= 0xff // IHDR's CRC
		corruptJP2 := append([]byte(nil), jp2...)
		for i := 200; i < len(corruptJP2); i += 7 {
			corruptJP2[i] ^= 0x5a
		}
		for name, b := range map[string][]byte{
			"cut jpeg":    append(append([]byte(nil), jpg[:len(jpg)/2]...), 0xff, 0xd9),
			"cut png":     png[:len(png)/2],
			"png bad crc": badCRC,
			"corrupt jp2": corruptJP2,
			"cut jp2":     jp2[:len(jp2)/2],
		} {
			_, _, err := Decode(b, DefaultLimits(), name)
			if err == nil {
				t.Fatalf("%s decoded", name)
			}
			os.Stdout.WriteString("decode-error: " + err.Error() + "\n")
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestDecodersPrintNothing$", "-test.count=1")
	cmd.Env = append(os.Environ(), "EDGEID_DECODE_CHILD=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "decode-error: ") {
		t.Fatalf("child did not decode: %s", stdout.String())
	}
	if stderr.Len() != 0 {
		t.Errorf("the decoder wrote to stderr: %q", stderr.String())
	}
}

// Issue 15 item 2: scans are bounded by the probe, and inside the decoder as a second wall.
func TestDecodeBoundsScans(t *testing.T) {
	b := encodeJPEG(t, true) // libjpeg's default progression: 10 scans
	lim := DefaultLimits()
	lim.MaxScans = 9
	if _, _, err := Decode(b, lim, "progressive"); err == nil || !strings.Contains(err.Error(), "10 scans exceeds the limit of 9") {
		t.Errorf("10 scans with a limit of 9: %v", err)
	}
	m := gocv.NewMat()
	defer m.Close()
	err := cvguard.DecodeJPEG(b, cvguard.JPEGLimits{MaxPixels: 1 << 20, MaxScans: 4, MaxTime: time.Minute, MaxMemory: 64 << 20}, &m)
	if err == nil || !strings.Contains(err.Error(), "more than 4 scans") {
		t.Errorf("decoder with a limit of 4 scans: %v", err)
	}
	err = cvguard.DecodeJPEG(b, cvguard.JPEGLimits{MaxPixels: 1 << 20, MaxScans: 32, MaxTime: time.Nanosecond, MaxMemory: 64 << 20}, &m)
	if err == nil || !strings.Contains(err.Error(), "time limit") {
		t.Errorf("decoder with a 1 ns limit: %v", err)
	}
	err = cvguard.DecodeJPEG(b, cvguard.JPEGLimits{MaxPixels: 1 << 20, MaxScans: 32, MaxTime: time.Minute, MaxMemory: 64 << 10}, &m)
	if err == nil || !strings.Contains(err.Error(), "working memory limit") {
		t.Errorf("progressive decode with 64 KiB of working memory: %v", err)
	}
}

// Issue 15 item 1, second wall: the decoder refuses a size beyond its own limit whatever the
// probe said (here the probe is bypassed).
func TestDecoderPixelLimit(t *testing.T) {
	b := encodeJPEG(t, false) // 512x512
	m := gocv.NewMat()
	defer m.Close()
	err := cvguard.DecodeJPEG(b, cvguard.JPEGLimits{MaxPixels: 512*512 - 1, MaxScans: 32, MaxTime: time.Minute, MaxMemory: 64 << 20}, &m)
	if err == nil || !strings.Contains(err.Error(), "exceeds the decoder's limit") {
		t.Errorf("512x512 with a limit of 512*512-1 pixels: %v", err)
	}
}

// The frame header hidden behind FF 00 (issue 15 item 1) never reaches a decoder.
func TestDecodeRefusesHiddenFrame(t *testing.T) {
	b := encodeJPEG(t, false)
	big := jpegFrame(30000, 30000)[8:]
	hidden := cat([]byte{0xff, 0xd8, 0xff, 0x00, 0x00, byte(2 + len(big))}, big, b[2:])
	if _, _, err := Decode(hidden, DefaultLimits(), "hidden"); err == nil || !strings.Contains(err.Error(), "stuffed zero") {
		t.Errorf("hidden frame header: %v", err)
	}
}

// EXIF orientation is applied as cv::imdecode applies it.
func TestDecodeJPEGOrientation(t *testing.T) {
	b := encodeJPEG(t, false)
	for _, o := range []uint16{3, 6, 8} {
		oriented := cat(b[:2], exifSegment(o), b[2:])
		ours, h, err := Decode(oriented, DefaultLimits(), "oriented")
		if err != nil {
			t.Fatal(err)
		}
		theirs, err := gocv.IMDecode(oriented, gocv.IMReadColor)
		if err != nil {
			t.Fatal(err)
		}
		diff := gocv.NewMat()
		gocv.AbsDiff(ours, theirs, &diff)
		if h.Orientation != int(o) || gocv.CountNonZero(diff.Reshape(1, 0)) != 0 {
			t.Errorf("orientation %d: probe %d, pixels differ from cv::imdecode", o, h.Orientation)
		}
		diff.Close()
		ours.Close()
		theirs.Close()
	}
}

// FuzzProbeAgainstDecoder holds the probe to the truth: whatever the probe accepts, OpenCV's
// own decoder (the one the hidden-frame file fooled) decodes to the probed size or fails.
// Inputs whose probed size is large are skipped to keep each run cheap.
func FuzzProbeAgainstDecoder(f *testing.F) {
	f.Add(encodeJPEG(f, false))
	f.Add(encodeJPEG(f, true))
	f.Add(jpegHeader(16, 16))
	f.Add(cat([]byte{0xff, 0xd8, 0xff, 0x00, 0x00, 0x15}, jpegFrame(300, 300)[8:], jpegFrame(64, 64)[8:], jpegSOS, []byte{1, 0xff, 0xd9}))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := probe(b)
		if err != nil || h.Format != JPEG || h.Width*h.Height > 1<<20 {
			return
		}
		m := gocv.NewMat()
		defer m.Close()
		if err := cvguard.Decode(b, gocv.IMReadColor|gocv.IMReadIgnoreOrientation, &m); err != nil {
			return
		}
		if m.Cols() != h.Width || m.Rows() != h.Height {
			t.Fatalf("probe said %dx%d, cv::imdecode decoded %dx%d", h.Width, h.Height, m.Cols(), m.Rows())
		}
		if m2, _, err := Decode(b, Limits{MaxBytes: 1 << 20, MaxSide: 1024, MaxPixels: 1 << 20}, "fuzz"); err == nil {
			m2.Close()
		}
	})
}

// BenchmarkProbeJPEGWorstCase measures the probe's cost per input byte on the inputs that make
// it work hardest: scan data that is all stuffed zeros and restart markers, and many scans.
func BenchmarkProbeJPEGWorstCase(b *testing.B) {
	const size = 16 << 20
	stuffed := cat(jpegFrame(64, 64), jpegSOS)
	for len(stuffed) < size-2 {
		stuffed = append(stuffed, 0xff, 0x00, 0xff, 0xd0)
	}
	stuffed = append(stuffed, 0xff, 0xd9)
	scans := jpegFrame(64, 64)
	for len(scans) < size-12 {
		scans = append(scans, jpegSOS...)
		scans = append(scans, 0)
	}
	scans = append(scans, 0xff, 0xd9)
	segs := []byte{0xff, 0xd8}
	for len(segs) < size-8 {
		segs = append(segs, 0xff, 0xfe, 0, 2)
	}
	segs = append(cat(segs, jpegFrame(64, 64)[2:]), jpegSOS...)
	segs = append(segs, 1, 0xff, 0xd9)
	for _, in := range []struct {
		name string
		b    []byte
	}{{"stuffed-scan", stuffed}, {"many-scans", scans}, {"empty-segments", segs}} {
		b.Run(in.name, func(b *testing.B) {
			b.SetBytes(int64(len(in.b)))
			for i := 0; i < b.N; i++ {
				probe(in.b)
			}
		})
	}
}

// BenchmarkScanBomb compares, on the same progressive JPEG with its smallest scan repeated 2,000
// times (a 512x512 scan bomb), what edgeid's Decode costs with what cv::imdecode costs (the
// peer: what decoded such files before).
func BenchmarkScanBomb(b *testing.B) {
	prog := encodeJPEG(b, true)
	// The smallest scan of the file, repeated.
	var sos []int
	for i := 0; ; {
		k := bytes.Index(prog[i:], []byte{0xff, 0xda})
		if k < 0 {
			break
		}
		sos = append(sos, i+k)
		i += k + 2
	}
	sos = append(sos, len(prog)-2)
	scan := prog[sos[0]:sos[1]]
	for i := 1; i+1 < len(sos); i++ {
		if sos[i+1]-sos[i] < len(scan) {
			scan = prog[sos[i]:sos[i+1]]
		}
	}
	bomb := append([]byte(nil), prog[:len(prog)-2]...)
	for i := 0; i < 2000; i++ {
		bomb = append(bomb, scan...)
	}
	bomb = append(bomb, 0xff, 0xd9)
	b.Logf("bomb: %d bytes", len(bomb))
	b.Run("edgeid", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			if m, _, err := Decode(bomb, DefaultLimits(), "bomb"); err == nil {
				m.Close()
				b.Fatal("scan bomb decoded")
			}
		}
	})
	b.Run("opencv-imdecode", func(b *testing.B) {
		m := gocv.NewMat()
		defer m.Close()
		for i := 0; i < b.N; i++ {
			cvguard.Decode(bomb, gocv.IMReadColor, &m)
		}
	})
}
