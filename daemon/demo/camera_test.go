package demo

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/kiosk"
	"github.com/edgeid/edgeid/daemon/mrzkey"
	"github.com/edgeid/edgeid/daemon/mrzocr/mrzsynth"
	"github.com/edgeid/edgeid/internal/testenv"
	"github.com/edgeid/edgeid/models"
)

// newCamera builds the demo and its camera at the given frame size, the stage in *stage.
func newCamera(t *testing.T, w, h int, stage *kiosk.Stage) (*Demo, *Camera) {
	t.Helper()
	if _, err := os.Stat(mrzsynth.FontDir); err != nil {
		testenv.Missing(t, "the OCR-B font (Debian package fonts-ocr-b): %v", err)
	}
	d, err := New(context.Background(), "../../testdata/face", time.Now(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Reader.Halt() })
	c, err := NewCamera(d, CameraOpts{Width: w, Height: h, FPS: 1000, Stage: func() kiosk.Stage { return *stage }, FaceDir: "../../testdata/face/live"})
	if err != nil {
		t.Fatal(err)
	}
	return d, c
}

// TestCameraShowsEachDocument: with document n on the reader and the kiosk waiting for the key,
// the camera shows n's data page, and the MRZ read from it (votes as the kiosk takes them) is
// n's key; from the face step on it shows faces, never a page. Frames to the first accepted
// read and the reader's time per frame are logged (the README's numbers).
func TestCameraShowsEachDocument(t *testing.T) {
	for _, size := range [][2]int{{640, 480}, {1280, 720}} {
		stage := kiosk.StageAccessKey
		d, c := newCamera(t, size[0], size[1], &stage)
		man, err := models.Builtin()
		if err != nil {
			t.Fatal(err)
		}
		rd, votes, err := mrzkey.NewReader(man, "../../models")
		if err != nil {
			t.Fatal(err)
		}
		frames, read := 0, time.Duration(0)
		for i := range d.Docs {
			d.mu.Lock()
			d.current = i
			d.mu.Unlock()
			stage = kiosk.StageAccessKey
			var st mrzkey.Stats
			src := &mrzkey.Source{Camera: c, Reader: rd, Keypad: kiosk.NewKeyPad(), Votes: votes, Timeout: 10 * time.Second,
				Stats: func(s mrzkey.Stats) { st = s }}
			key, err := src.AccessKey(context.Background())
			if err != nil {
				t.Fatalf("%dx%d doc %d: %v", size[0], size[1], i, err)
			}
			want := d.Docs[i].Key
			if key.Source != kiosk.KeyFromCamera || key.DocumentNumber != want.DocumentNumber || key.DateOfBirth != want.DateOfBirth ||
				key.DateOfExpiry != want.DateOfExpiry || key.IssuingState != d.Docs[i].State {
				t.Errorf("%dx%d doc %d: the camera's key is not the document's", size[0], size[1], i)
			}
			frames += st.Frames
			read += st.ReadTime
			stage = kiosk.StageCapture
			img, err := c.Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if res, _ := rd.Read(img); res != nil || c.phase.page {
				t.Errorf("doc %d: the first frame of the face step shows the data page", i)
			}
			img.Close()
		}
		t.Logf("%dx%d: %d documents read in %d frames (%.1f a document), %.1f ms a frame in the MRZ reader",
			size[0], size[1], len(d.Docs), frames, float64(frames)/float64(len(d.Docs)), float64(read.Microseconds())/1000/float64(frames))
	}
}
