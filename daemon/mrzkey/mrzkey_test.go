package mrzkey_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/kiosk"
	"github.com/edgeid/edgeid/daemon/mrzkey"
	"github.com/edgeid/edgeid/daemon/mrzocr"
	"github.com/edgeid/edgeid/daemon/mrzocr/mrzsynth"
	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
	"github.com/edgeid/edgeid/internal/testenv"
	"github.com/edgeid/edgeid/models"
	"gocv.io/x/gocv"
)

func newReader(t *testing.T) (*mrzocr.Reader, int) {
	t.Helper()
	man, err := models.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	r, votes, err := mrzkey.NewReader(man, "../../models")
	if err != nil {
		t.Fatal(err)
	}
	return r, votes
}

// camera gives frames from next, or an empty grey frame; down makes it fail.
type camera struct {
	next func() (gocv.Mat, error)
	down bool
}

func (c *camera) Read(ctx context.Context) (gocv.Mat, error) {
	if err := ctx.Err(); err != nil {
		return gocv.Mat{}, err
	}
	time.Sleep(5 * time.Millisecond)
	if c.down {
		return gocv.Mat{}, errors.New("camera unplugged")
	}
	if c.next != nil {
		return c.next()
	}
	return gocv.NewMatWithSizeFromScalar(gocv.NewScalar(128, 128, 128, 0), 480, 640, gocv.MatTypeCV8UC3), nil
}

// recorder keeps the reported details.
type recorder struct {
	mu      sync.Mutex
	details []string
	prog    []float64
}

func (r *recorder) report(d string, p float64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.details) == 0 || r.details[len(r.details)-1] != d {
		r.details = append(r.details, d)
	}
	r.prog = append(r.prog, p)
}

func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.details)
}

// TestReadsThePage: frames of a hand-held data page give the page's key, marked as the
// camera's, with its issuing state; the screen saw the search and then the read.
func TestReadsThePage(t *testing.T) {
	font, err := mrzsynth.LoadFont(mrzsynth.FontDir)
	if err != nil {
		testenv.Missing(t, "the OCR-B font (Debian package fonts-ocr-b): %v", err)
	}
	rd, votes := newReader(t)
	r := rand.New(rand.NewPCG(3, 16))
	d := mrzsynth.RandomDoc(r, mrz.TD3)
	want, err := mrz.ParseMRZ(d.Lines[0] + "\n" + d.Lines[1])
	if err != nil {
		t.Fatal(err)
	}
	page, err := font.Page(r, d)
	if err != nil {
		t.Fatal(err)
	}
	i := 0
	cam := &camera{next: func() (gocv.Mat, error) {
		i++
		if i <= 2 { // the person is still bringing the page
			return gocv.NewMatWithSizeFromScalar(gocv.NewScalar(90, 100, 110, 0), 720, 1280, gocv.MatTypeCV8UC3), nil
		}
		return mrzsynth.Scene(r, page, mrzsynth.Capture{Width: 1280, Height: 720, Fill: 0.8, Rotate: 3, Perspective: 0.01, Blur: 0.6, Noise: 3})
	}}
	var st mrzkey.Stats
	src := &mrzkey.Source{Camera: cam, Reader: rd, Keypad: kiosk.NewKeyPad(), Votes: votes, Stats: func(s mrzkey.Stats) { st = s }}
	rec := &recorder{}
	key, err := src.AccessKeyReporting(context.Background(), rec.report)
	if err != nil {
		t.Fatal(err)
	}
	if key.Source != kiosk.KeyFromCamera || key.DocumentNumber != want.DocumentNumber || key.DateOfBirth != want.DateOfBirth ||
		key.DateOfExpiry != want.DateOfExpiry || key.IssuingState != want.IssuingState || key.CAN != "" {
		t.Error("the key is not the page's")
	}
	if got := rec.seen(); got[0] != kiosk.KeyShowDocument || got[len(got)-1] != kiosk.KeyRead || slices.Contains(got, kiosk.KeyKeypad) {
		t.Errorf("reported %v", got)
	}
	if !st.Read || st.Frames < 3 {
		t.Errorf("stats %+v: want a read after the two empty frames", st)
	}
	t.Logf("read after %d frames, %.1f ms a frame", st.Frames, float64(st.ReadTime.Microseconds())/1000/float64(st.Frames))
}

// run runs src in the background and returns its result channel.
func run(src *mrzkey.Source, rec *recorder, ctx context.Context) <-chan error {
	done := make(chan error, 1)
	go func() {
		k, err := src.AccessKeyReporting(ctx, rec.report)
		if err == nil && (k.Source != kiosk.KeyFromKeypad || k.CAN != "123456") {
			err = errors.New("not the typed CAN")
		}
		done <- err
	}()
	return done
}

func waitFor(t *testing.T, rec *recorder, detail string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !slices.Contains(rec.seen(), detail) {
		if time.Now().After(deadline) {
			t.Fatalf("never reported %s (saw %v)", detail, rec.seen())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestKeypadFallback: after the time limit without a read, or as soon as the person asks,
// the screen is told "keypad" and the typed key (here a CAN) opens the chip; a key typed
// while the camera still searches is taken at once; a camera that is down leaves the keypad.
func TestKeypadFallback(t *testing.T) {
	rd, votes := newReader(t)
	cases := []struct {
		name    string
		timeout time.Duration
		ask     bool
		down    bool
		early   bool // typed while the camera searches
	}{
		{name: "time limit", timeout: 150 * time.Millisecond},
		{name: "asked", timeout: time.Hour, ask: true},
		{name: "typed while searching", timeout: time.Hour, early: true},
		{name: "camera down", timeout: 150 * time.Millisecond, down: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pad := kiosk.NewKeyPad()
			src := &mrzkey.Source{Camera: &camera{down: tc.down}, Reader: rd, Keypad: pad, Votes: votes, Timeout: tc.timeout}
			rec := &recorder{}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			done := run(src, rec, ctx)
			for !pad.Waiting() {
				time.Sleep(time.Millisecond)
			}
			if tc.ask {
				if err := pad.AskKeypad(); err != nil {
					t.Fatal(err)
				}
			}
			if !tc.early {
				waitFor(t, rec, kiosk.KeyKeypad)
			}
			if err := pad.Submit(kiosk.AccessKey{CAN: "123456"}); err != nil {
				t.Fatal(err)
			}
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if tc.early && slices.Contains(rec.seen(), kiosk.KeyKeypad) {
				t.Error("a key typed while the camera searched went through the fallback")
			}
		})
	}
}

// TestEndsWithContext: the kiosk's time limit ends the wait, camera and keypad alike, and a
// request for the keypad made before the check is not this check's.
func TestEndsWithContext(t *testing.T) {
	rd, votes := newReader(t)
	pad := kiosk.NewKeyPad()
	if err := pad.AskKeypad(); !errors.Is(err, kiosk.ErrNotWaiting) {
		t.Fatalf("asking with no check waiting: %v", err)
	}
	src := &mrzkey.Source{Camera: &camera{}, Reader: rd, Keypad: pad, Votes: votes, Timeout: time.Hour}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	rec := &recorder{}
	if _, err := src.AccessKeyReporting(ctx, rec.report); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the deadline", err)
	}
	if slices.Contains(rec.seen(), kiosk.KeyKeypad) {
		t.Error("fell back to the keypad without a reason")
	}
	if pad.Waiting() {
		t.Error("the keypad still waits after the check gave up")
	}
	if _, err := (&mrzkey.Source{}).AccessKey(context.Background()); err == nil {
		t.Error("a source without parts read a key")
	}
}
