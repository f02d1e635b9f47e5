// Package camera reads frames from the kiosk's camera through gocv: a V4L2 device, a GStreamer
// pipeline (libcamera on a Raspberry Pi), a video file or network stream, or a folder of images
// for tests and the demo. A camera that disappears is reopened with backoff, and its state is
// reported for the health page instead of stopping the daemon.
package camera

import (
	"context"
	"errors"
	"fmt"
	"github.com/edgeid/edgeid/internal/boundedfile"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"gocv.io/x/gocv"
	"periph.io/x/conn/v3"
)

// Opts configures a camera.
type Opts struct {
	// Source selects the camera:
	//   v4l2:/dev/video0   a V4L2 device (a bare /dev/video0 works too)
	//   gst:PIPELINE       a GStreamer pipeline ending in appsink
	//   file:PATH, rtsp://..., http(s)://...   a video file or stream
	//   folder:DIR         the images in DIR in name order, one per frame
	Source string
	// Width, Height and FPS are requested from devices that take them; 0 leaves the default.
	Width, Height, FPS int
	// Loop starts a file or folder over at its end instead of reporting the camera gone.
	Loop bool
	// Decode turns an image file's bytes into a BGR Mat; required for folder sources, so
	// that the caller's guarded, size-limited decoder is used on files it does not control.
	Decode func(b []byte) (gocv.Mat, error)
	// MaxFileBytes bounds an image file of a folder source.
	MaxFileBytes int64
	// RetryMin and RetryMax bound the reopen backoff.
	RetryMin, RetryMax time.Duration
}

// DefaultOpts reads /dev/video0 at 640x480.
func DefaultOpts() Opts {
	return Opts{Source: "v4l2:/dev/video0", Width: 640, Height: 480, FPS: 15, MaxFileBytes: 16 << 20,
		RetryMin: 250 * time.Millisecond, RetryMax: 10 * time.Second}
}

// ErrUnavailable is returned by Read while the camera is down; Status says why.
var ErrUnavailable = errors.New("camera unavailable")

// Status is the camera's health.
type Status struct {
	OK     bool
	Reason string    // why it is down, when it is
	Since  time.Time // when it last changed between up and down
	Frames uint64    // frames delivered since New
}

// source is one open camera.
type source interface {
	read(dst *gocv.Mat) error // io.EOF at the end of a file or folder
	close()
}

// Dev is a camera. Read is meant for one goroutine; Status may be called from any.
type Dev struct {
	opts Opts
	kind string // "v4l2", "gst", "file", "folder"
	arg  string

	src     source
	backoff time.Duration
	nextTry time.Time

	mu     sync.Mutex
	status Status
}

var _ conn.Resource = &Dev{}

// New checks the options. It does not fail when the camera is absent: the first Read tries
// to open it, and Status tells the health page.
func New(o *Opts) (*Dev, error) {
	if o == nil {
		d := DefaultOpts()
		o = &d
	}
	kind, arg, err := parseSource(o.Source)
	if err != nil {
		return nil, err
	}
	if kind == "folder" && o.Decode == nil {
		return nil, errors.New("camera: a folder source needs a Decode function")
	}
	if o.RetryMin <= 0 || o.RetryMax < o.RetryMin {
		return nil, fmt.Errorf("camera: retry backoff %v..%v is not a range", o.RetryMin, o.RetryMax)
	}
	if o.Width < 0 || o.Height < 0 || o.FPS < 0 || o.MaxFileBytes < 0 {
		return nil, errors.New("camera: size, rate and file limit must not be negative")
	}
	d := &Dev{opts: *o, kind: kind, arg: arg, backoff: o.RetryMin}
	d.status = Status{Reason: "not opened yet", Since: time.Now()}
	return d, nil
}

func parseSource(s string) (kind, arg string, err error) {
	switch {
	case strings.HasPrefix(s, "/dev/video"):
		return "v4l2", s, nil
	case strings.HasPrefix(s, "rtsp://"), strings.HasPrefix(s, "http://"), strings.HasPrefix(s, "https://"):
		return "file", s, nil
	}
	kind, arg, ok := strings.Cut(s, ":")
	if !ok || arg == "" {
		return "", "", fmt.Errorf("camera: source %q: want v4l2:DEVICE, gst:PIPELINE, file:PATH, folder:DIR or a stream URL", s)
	}
	switch kind {
	case "v4l2", "gst", "file", "folder":
		return kind, arg, nil
	}
	return "", "", fmt.Errorf("camera: source %q: unknown kind %q", s, kind)
}

func (d *Dev) open() (source, error) {
	switch d.kind {
	case "folder":
		return openFolder(d.arg, d.opts)
	case "v4l2":
		return openVideo(d.arg, gocv.VideoCaptureV4L2, d.opts)
	case "gst":
		return openVideo(d.arg, gocv.VideoCaptureGstreamer, d.opts)
	default:
		return openVideo(d.arg, gocv.VideoCaptureAny, d.opts)
	}
}

// Read returns the next frame, which the caller closes. While the camera is down it returns
// ErrUnavailable at once, and tries to reopen it when the backoff allows.
func (d *Dev) Read(ctx context.Context) (gocv.Mat, error) {
	if err := ctx.Err(); err != nil {
		return gocv.Mat{}, err
	}
	if d.src == nil {
		if time.Now().Before(d.nextTry) {
			return gocv.Mat{}, d.unavailable()
		}
		src, err := d.open()
		if err != nil {
			d.down(err)
			return gocv.Mat{}, d.unavailable()
		}
		d.src = src
	}
	m := gocv.NewMat()
	err := d.src.read(&m)
	if err == errEOF && d.opts.Loop {
		// Start the file or folder over.
		d.src.close()
		d.src = nil
		d.nextTry = time.Time{}
		m.Close()
		return d.Read(ctx)
	}
	var bad *badFrame
	if errors.As(err, &bad) {
		// One unreadable image: report it and go on with the next.
		m.Close()
		d.down(err)
		return gocv.Mat{}, d.unavailable()
	}
	if err != nil {
		m.Close()
		d.src.close()
		d.src = nil
		d.down(err)
		return gocv.Mat{}, d.unavailable()
	}
	d.up()
	return m, nil
}

func (d *Dev) unavailable() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return fmt.Errorf("%w: %s", ErrUnavailable, d.status.Reason)
}

func (d *Dev) down(err error) {
	d.nextTry = time.Now().Add(d.backoff)
	d.backoff = min(2*d.backoff, d.opts.RetryMax)
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.status.OK || d.status.Reason != err.Error() {
		d.status.Since = time.Now()
	}
	d.status.OK, d.status.Reason = false, err.Error()
}

func (d *Dev) up() {
	d.backoff = d.opts.RetryMin
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.status.OK {
		d.status.Since = time.Now()
	}
	d.status.OK, d.status.Reason = true, ""
	d.status.Frames++
}

// Status reports the camera's health.
func (d *Dev) Status() Status {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.status
}

// Halt closes the camera; a later Read opens it again.
func (d *Dev) Halt() error {
	if d.src != nil {
		d.src.close()
		d.src = nil
	}
	return nil
}

// String names the source.
func (d *Dev) String() string { return "camera(" + d.kind + ":" + d.arg + ")" }

// errEOF marks the end of a file or folder.
var errEOF = errors.New("end of the source")

// badFrame is one frame that could not be read from a source that can go on.
type badFrame struct{ err error }

func (b *badFrame) Error() string { return b.err.Error() }
func (b *badFrame) Unwrap() error { return b.err }

type videoSource struct{ vc *gocv.VideoCapture }

func openVideo(arg string, api gocv.VideoCaptureAPI, o Opts) (source, error) {
	vc, err := gocv.VideoCaptureFileWithAPI(arg, api)
	if err != nil || !vc.IsOpened() {
		if vc != nil {
			vc.Close()
		}
		return nil, fmt.Errorf("cannot open %s", arg)
	}
	if o.Width > 0 && o.Height > 0 {
		vc.Set(gocv.VideoCaptureFrameWidth, float64(o.Width))
		vc.Set(gocv.VideoCaptureFrameHeight, float64(o.Height))
	}
	if o.FPS > 0 {
		vc.Set(gocv.VideoCaptureFPS, float64(o.FPS))
	}
	return &videoSource{vc: vc}, nil
}

func (s *videoSource) read(dst *gocv.Mat) error {
	if !s.vc.Read(dst) || dst.Empty() {
		// A device that stops giving frames and a file at its end look alike from here;
		// position tells them apart for files.
		if s.vc.Get(gocv.VideoCaptureFrameCount) > 0 && s.vc.Get(gocv.VideoCapturePosFrames) >= s.vc.Get(gocv.VideoCaptureFrameCount) {
			return errEOF
		}
		return errors.New("no frame from the camera")
	}
	return nil
}

func (s *videoSource) close() { s.vc.Close() }

type folderSource struct {
	files  []string
	next   int
	decode func([]byte) (gocv.Mat, error)
	max    int64
}

var imageExt = map[string]bool{".jpg": true, ".jpeg": true, ".png": true, ".pgm": true, ".jp2": true}

func openFolder(dir string, o Opts) (source, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range ents {
		if e.Type().IsRegular() && imageExt[strings.ToLower(filepath.Ext(e.Name()))] {
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no images in %s", dir)
	}
	sort.Strings(files)
	return &folderSource{files: files, decode: o.Decode, max: o.MaxFileBytes}, nil
}

// maxFrameFile bounds one image of a folder source when no MaxFileBytes is set.
const maxFrameFile = 64 << 20

func (s *folderSource) read(dst *gocv.Mat) error {
	if s.next >= len(s.files) {
		return errEOF
	}
	path := s.files[s.next]
	s.next++
	st, err := os.Stat(path)
	if err != nil {
		return err // the folder changed under us: reopen it
	}
	if s.max > 0 && st.Size() > s.max {
		return &badFrame{fmt.Errorf("%s: %d bytes is over the %d-byte limit", path, st.Size(), s.max)}
	}
	limit := s.max
	if limit <= 0 {
		limit = maxFrameFile
	}
	b, err := boundedfile.ReadFile(path, limit)
	if errors.Is(err, boundedfile.ErrNotRegular) || errors.Is(err, boundedfile.ErrTooLarge) {
		return &badFrame{err}
	}
	if err != nil {
		return err
	}
	m, err := s.decode(b)
	if err != nil {
		return &badFrame{fmt.Errorf("%s: %w", path, err)}
	}
	defer m.Close()
	m.CopyTo(dst)
	return nil
}

func (s *folderSource) close() {}
