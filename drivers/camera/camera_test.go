package camera

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gocv.io/x/gocv"
)

// decodeTrusted decodes the repository's own test images; production passes the face
// package's guarded decoder.
func decodeTrusted(b []byte) (gocv.Mat, error) {
	m, err := gocv.IMDecode(b, gocv.IMReadColor)
	if err != nil || m.Empty() {
		m.Close()
		return gocv.Mat{}, errors.New("cannot decode")
	}
	return m, nil
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func fastOpts(source string) Opts {
	o := DefaultOpts()
	o.Source = source
	o.Decode = decodeTrusted
	o.RetryMin, o.RetryMax = time.Millisecond, 5*time.Millisecond
	return o
}

func readSize(t *testing.T, d *Dev) (image.Point, error) {
	t.Helper()
	m, err := d.Read(context.Background())
	if err != nil {
		return image.Point{}, err
	}
	defer m.Close()
	return image.Pt(m.Cols(), m.Rows()), nil
}

func TestFolderSourceOrderBadFileAndLoop(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, "../../testdata/face/astronaut.png", filepath.Join(dir, "1.png"))
	os.WriteFile(filepath.Join(dir, "2.jpg"), []byte("not a jpeg"), 0o644)
	copyFile(t, "../../testdata/face/astronaut-320.pgm", filepath.Join(dir, "3.pgm"))
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("ignored"), 0o644)
	o := fastOpts("folder:" + dir)
	o.Loop = true
	d, err := New(&o)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Halt()
	want := []string{"512x512", "bad", "320x320", "512x512", "bad", "320x320"}
	for i, w := range want {
		sz, err := readSize(t, d)
		got := "bad"
		if err == nil {
			got = fmt.Sprintf("%dx%d", sz.X, sz.Y)
		} else if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "2.jpg") {
			t.Fatalf("frame %d: %v, want ErrUnavailable naming 2.jpg", i, err)
		}
		if got != w {
			t.Fatalf("frame %d: got %s, want %s", i, got, w)
		}
	}
	if st := d.Status(); !st.OK || st.Frames != 4 {
		t.Errorf("status %+v, want OK with 4 frames", st)
	}
}

func TestFolderSourceGoneAndBack(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "frames")
	o := fastOpts("folder:" + dir)
	d, err := New(&o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := readSize(t, d); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("missing folder: %v, want ErrUnavailable", err)
	}
	if st := d.Status(); st.OK || !strings.Contains(st.Reason, "no such file") {
		t.Errorf("status %+v, want down with the reason", st)
	}
	os.Mkdir(dir, 0o755)
	copyFile(t, "../../testdata/face/camera.png", filepath.Join(dir, "a.png"))
	deadline := time.Now().Add(2 * time.Second)
	for {
		if _, err := readSize(t, d); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("camera did not come back after the folder appeared")
		}
		time.Sleep(time.Millisecond)
	}
	if !d.Status().OK {
		t.Error("status not OK after a frame")
	}
	// Without Loop the end of the folder is the camera going away.
	if _, err := readSize(t, d); !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "end of the source") {
		t.Errorf("after the last image: %v", err)
	}
}

func TestVideoFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clip.avi")
	w, err := gocv.VideoWriterFile(path, "MJPG", 10, 320, 240, true)
	if err != nil {
		t.Fatal(err)
	}
	frame := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(40, 80, 120, 0), 240, 320, gocv.MatTypeCV8UC3)
	defer frame.Close()
	for i := 0; i < 5; i++ {
		if err := w.Write(frame); err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	o := fastOpts("file:" + path)
	d, err := New(&o)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Halt()
	n := 0
	for ; n < 10; n++ {
		sz, err := readSize(t, d)
		if err != nil {
			break
		}
		if sz != image.Pt(320, 240) {
			t.Fatalf("frame %d is %v", n, sz)
		}
	}
	if n != 5 {
		t.Errorf("read %d frames of 5", n)
	}
}

func TestMissingDevice(t *testing.T) {
	o := fastOpts("v4l2:/dev/video-edgeid-absent")
	d, err := New(&o)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Read(context.Background()); !errors.Is(err, ErrUnavailable) {
		t.Errorf("absent device: %v, want ErrUnavailable", err)
	}
	if st := d.Status(); st.OK || st.Reason == "" {
		t.Errorf("status %+v", st)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := d.Read(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled read: %v", err)
	}
}

func TestParseSource(t *testing.T) {
	tests := []struct{ in, kind, arg string }{
		{"/dev/video0", "v4l2", "/dev/video0"},
		{"v4l2:/dev/video2", "v4l2", "/dev/video2"},
		{"gst:libcamerasrc ! videoconvert ! appsink", "gst", "libcamerasrc ! videoconvert ! appsink"},
		{"rtsp://10.0.0.1/stream", "file", "rtsp://10.0.0.1/stream"},
		{"file:/tmp/a.mp4", "file", "/tmp/a.mp4"},
		{"folder:testdata", "folder", "testdata"},
	}
	for _, tt := range tests {
		k, a, err := parseSource(tt.in)
		if err != nil || k != tt.kind || a != tt.arg {
			t.Errorf("parseSource(%q) = %q, %q, %v", tt.in, k, a, err)
		}
	}
	for _, bad := range []string{"", "webcam", "usb:1", "folder:"} {
		if _, _, err := parseSource(bad); err == nil {
			t.Errorf("parseSource(%q) accepted", bad)
		}
	}
	o := DefaultOpts()
	o.Source = "folder:x"
	if _, err := New(&o); err == nil {
		t.Error("folder source without Decode accepted")
	}
}
