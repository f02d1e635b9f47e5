package demo

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/edgeid/edgeid/daemon/face"
	"github.com/edgeid/edgeid/daemon/kiosk"
	"github.com/edgeid/edgeid/daemon/mrzocr/mrzsynth"
	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
	"gocv.io/x/gocv"
)

// FaceFrames gives frame i (0, 1, ... from the start of the face step) of the person who
// presents document doc (an index into Demo.Docs; -1 when no document is on the reader) while
// the kiosk prompts move (its current event's detail, such as "move_turn_left"). The caller
// closes the Mat. LiveFrames and Heads.Frame are two.
type FaceFrames func(doc, i int, move string) (gocv.Mat, error)

// CameraOpts configure the simulation's camera.
type CameraOpts struct {
	Width, Height, FPS int // frame size of the data pages, frame rate (15 when 0)
	// Stage is the kiosk's current stage, read for every frame: the camera shows the data
	// page while the kiosk waits for the access key, the face from the face step on.
	Stage func() kiosk.Stage
	// Prompt is the detail of the kiosk's current event (nil: none), for FaceFrames.
	Prompt func() string
	// FaceFrames gives the face frames; LiveFrames(dir) when nil.
	FaceFrames FaceFrames
	FaceDir    string // testdata/face/live, for the default FaceFrames
	FontDir    string // OCR-B (mrzsynth.FontDir when empty)
}

// Camera is the simulation's camera, in step with the emulated reader: while document n is on
// the reader and the kiosk waits for its key, it shows n's data page held to the camera (its
// MRZ rendered in OCR-B, a little tilted and blurred as a hand holds it); from the face step
// on, the face frames of n's holder. Each frame is made when it is asked for, from the
// kiosk's stage at that moment: a frame made before the face step began is never handed out
// after it (a buffered page frame once made the holder "jump" in the face check).
type Camera struct {
	d    *Demo
	o    CameraOpts
	font *mrzsynth.Font

	mu    sync.Mutex
	pages map[int]*image.RGBA // each document's page, rendered once
	rng   *rand.Rand
	next  time.Time // when the next frame is due
	phase phase     // what the last frame showed
	n     int       // frames of this phase so far
}

type phase struct {
	doc  int
	page bool
}

// NewCamera makes the camera for d's documents (d may be nil: face frames only).
func NewCamera(d *Demo, o CameraOpts) (*Camera, error) {
	if o.Stage == nil {
		return nil, errors.New("demo camera: the kiosk's stage is required")
	}
	if o.FPS <= 0 {
		o.FPS = 15
	}
	if o.Width <= 0 || o.Height <= 0 {
		o.Width, o.Height = 1280, 720
	}
	if o.FontDir == "" {
		o.FontDir = mrzsynth.FontDir
	}
	if o.FaceFrames == nil {
		ff, err := LiveFrames(o.FaceDir)
		if err != nil {
			return nil, err
		}
		o.FaceFrames = ff
	}
	c := &Camera{d: d, o: o, pages: map[int]*image.RGBA{}, rng: rand.New(rand.NewPCG(16, 2)), phase: phase{doc: -2}}
	if d != nil {
		f, err := mrzsynth.LoadFont(o.FontDir)
		if err != nil {
			return nil, fmt.Errorf("demo camera: %w", err)
		}
		c.font = f
	}
	return c, nil
}

// LiveFrames gives the images of dir (JPEG or PNG, in name order) in a loop, the same for every
// document: the demo's holder.
func LiveFrames(dir string) (FaceFrames, error) {
	var files []string
	for _, pat := range []string{"*.jpg", "*.jpeg", "*.png"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		files = append(files, m...)
	}
	slices.Sort(files)
	if len(files) == 0 {
		return nil, fmt.Errorf("demo camera: no face frames in %s", dir)
	}
	imgs := make([][]byte, len(files))
	for i, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("demo camera: %w", err)
		}
		imgs[i] = b
	}
	return func(_, i int, _ string) (gocv.Mat, error) {
		m, _, err := face.Decode(imgs[i%len(imgs)], face.DefaultLimits(), "demo face frame")
		return m, err
	}, nil
}

// Read waits for the next frame time and makes the frame.
func (c *Camera) Read(ctx context.Context) (gocv.Mat, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if wait := time.Until(c.next); wait > 0 {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return gocv.Mat{}, ctx.Err()
		}
	}
	c.next = time.Now().Add(time.Second / time.Duration(c.o.FPS))
	// The stage is read now, after the wait: the frame shows what the kiosk is doing now.
	p := phase{doc: -1}
	if c.d != nil {
		p.doc = c.d.Current()
	}
	p.page = p.doc >= 0 && showsPage(c.o.Stage())
	if p != c.phase {
		c.phase, c.n = p, 0
	}
	i := c.n
	c.n++
	if !p.page {
		move := ""
		if c.o.Prompt != nil {
			move = c.o.Prompt()
		}
		return c.o.FaceFrames(p.doc, i, move)
	}
	return c.pageFrame(p.doc)
}

// showsPage: the stages in which the person holds the data page to the camera.
func showsPage(s kiosk.Stage) bool {
	return s == kiosk.StageDocument || s == kiosk.StageAccessKey
}

// pageFrame photographs document doc's page as a hand holds it: small tilts, a little blur
// and noise, from frame to frame.
func (c *Camera) pageFrame(doc int) (gocv.Mat, error) {
	page, ok := c.pages[doc]
	if !ok {
		r := rand.New(rand.NewPCG(uint64(doc), 9303))
		var err error
		if page, err = c.font.Page(r, mrzsynth.Doc{Type: mrz.TD3, Lines: c.d.Docs[doc].mrz}); err != nil {
			return gocv.Mat{}, err
		}
		c.pages[doc] = page
	}
	r := c.rng
	capt := mrzsynth.Capture{Width: c.o.Width, Height: c.o.Height, Fill: 0.75 + 0.1*r.Float64(),
		Rotate: (r.Float64()*2 - 1) * 4, Perspective: 0.015 * r.Float64(), Blur: 0.4 + 0.6*r.Float64(), Noise: 2 + 4*r.Float64()}
	return mrzsynth.Scene(r, page, capt)
}

// Close drops the rendered pages.
func (c *Camera) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	clear(c.pages)
	return nil
}

// String names the camera for the log.
func (c *Camera) String() string { return "demo (data pages, then " + c.o.FaceDir + ")" }
