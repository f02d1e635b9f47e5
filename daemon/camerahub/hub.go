// Package camerahub shares one camera between the kiosk and its screen. One goroutine reads the
// camera at its own rate and keeps only the newest frame: the kiosk takes frames through a
// Reader, which hands out only frames whose device read started after its Read call began (a
// frame buffered before the request may show anything, the data page during a face capture),
// and the kiosk's screen takes the newest frame as JPEG, encoded once per frame and only while
// someone watches. Memory is one frame and one JPEG; no frame is ever written anywhere.
package camerahub

import (
	"context"
	"errors"
	"image"
	"sync"
	"time"

	"gocv.io/x/gocv"
)

// Source gives frames; the caller closes each. drivers/camera satisfies it, and so does
// kiosk.Camera.
type Source interface {
	Read(ctx context.Context) (gocv.Mat, error)
}

// ErrClosed is returned once the hub has stopped.
var ErrClosed = errors.New("camerahub: stopped")

// Opts configures a hub.
type Opts struct {
	// Interval is the shortest time between two device reads: a camera's frame period (a
	// device blocks for its frame anyway; an image folder would otherwise spin). 0: 1/15 s.
	Interval time.Duration
	// MaxWidth bounds the streamed picture: wider frames are scaled down before encoding (0: 640).
	MaxWidth int
	// Quality is the stream's JPEG quality (0: 70).
	Quality int
}

// Hub owns the camera's reads. Run drives it; Reader and Watch may be used from any goroutine.
type Hub struct {
	src Source
	o   Opts

	mu       sync.Mutex
	begun    uint64        // device reads started
	last     result        // the newest read's outcome
	jpeg     []byte        // the newest frame as JPEG, while watched
	jpegSeq  uint64        // the read jpeg came from
	changed  chan struct{} // closed and replaced at each new result
	watchers int
	encodes  uint64 // JPEG encodings (for tests)
	waiting  int    // readers and watchers waiting for a frame (for tests)
	closed   bool
}

// result is one device read: a frame, or why there is none.
type result struct {
	seq   uint64 // the read's number: it started after every read numbered below it ended
	frame gocv.Mat
	has   bool
	err   error
}

// New builds a hub on src; nothing is read until Run.
func New(src Source, o Opts) *Hub {
	if o.Interval <= 0 {
		o.Interval = time.Second / 15
	}
	if o.MaxWidth <= 0 {
		o.MaxWidth = 640
	}
	if o.Quality <= 0 || o.Quality > 100 {
		o.Quality = 70
	}
	return &Hub{src: src, o: o, changed: make(chan struct{})}
}

// Run reads the camera until ctx ends, then releases the last frame; readers and watchers get
// ErrClosed from then on. It returns nil when ctx ends.
func (h *Hub) Run(ctx context.Context) error {
	defer h.Close()
	next := time.Now()
	for ctx.Err() == nil {
		if wait := time.Until(next); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return nil
			case <-t.C:
			}
		}
		next = time.Now().Add(h.o.Interval)
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			return nil
		}
		h.begun++
		seq := h.begun
		h.mu.Unlock()
		m, err := h.src.Read(ctx)
		if err != nil && ctx.Err() != nil {
			return nil
		}
		h.publish(seq, m, err)
	}
	return nil
}

// publish makes a read's outcome the newest, encoding it for the screen when someone watches.
func (h *Hub) publish(seq uint64, m gocv.Mat, err error) {
	var jpeg []byte
	h.mu.Lock()
	watched := h.watchers > 0
	h.mu.Unlock()
	if err == nil && watched {
		jpeg = h.encode(m) // outside the lock: readers need not wait for the encoder
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		if err == nil {
			m.Close()
		}
		return
	}
	if h.last.has {
		h.last.frame.Close()
	}
	h.last = result{seq: seq, frame: m, has: err == nil, err: err}
	if jpeg != nil && h.watchers > 0 {
		h.jpeg, h.jpegSeq = jpeg, seq
		h.encodes++
	}
	close(h.changed)
	h.changed = make(chan struct{})
}

// encode gives the frame as JPEG, scaled down to MaxWidth; nil when it cannot.
func (h *Hub) encode(m gocv.Mat) []byte {
	if m.Empty() {
		return nil
	}
	img := m
	if m.Cols() > h.o.MaxWidth {
		small := gocv.NewMat()
		defer small.Close()
		gocv.Resize(m, &small, image.Pt(h.o.MaxWidth, m.Rows()*h.o.MaxWidth/m.Cols()), 0, 0, gocv.InterpolationArea)
		img = small
	}
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, img, []int{gocv.IMWriteJpegQuality, h.o.Quality})
	if err != nil {
		return nil
	}
	defer buf.Close()
	return append([]byte(nil), buf.GetBytes()...)
}

// Close stops the hub (Run returns at its next frame) and releases the frame it holds. It may
// be called more than once.
func (h *Hub) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	if h.last.has {
		h.last.frame.Close()
	}
	h.last = result{}
	h.jpeg = nil
	close(h.changed)
	return nil
}

// Reader gives the kiosk the hub's frames; it satisfies kiosk.Camera.
func (h *Hub) Reader() *Reader { return &Reader{h: h} }

// Reader reads frames from the hub. Each Read returns a frame (a copy the caller closes) of a
// device read that started after the Read call began, or that read's error.
type Reader struct{ h *Hub }

// Read waits for the first device read that starts after this call and returns its frame.
func (r *Reader) Read(ctx context.Context) (gocv.Mat, error) {
	h := r.h
	h.mu.Lock()
	after := h.begun
	for {
		if h.closed {
			h.mu.Unlock()
			return gocv.Mat{}, ErrClosed
		}
		if h.last.seq > after {
			res := h.last
			if !res.has {
				h.mu.Unlock()
				return gocv.Mat{}, res.err
			}
			m := res.frame.Clone()
			h.mu.Unlock()
			return m, nil
		}
		if err := h.await(ctx); err != nil {
			return gocv.Mat{}, err
		}
	}
}

// await waits, with h.mu held, for the next result; it returns with h.mu held unless ctx ended.
func (h *Hub) await(ctx context.Context) error {
	ch := h.changed
	h.waiting++
	h.mu.Unlock()
	select {
	case <-ctx.Done():
		h.mu.Lock()
		h.waiting--
		h.mu.Unlock()
		return ctx.Err()
	case <-ch:
	}
	h.mu.Lock()
	h.waiting--
	return nil
}

// Watch starts watching the picture: next waits for a JPEG of a frame newer than the one it
// returned last and returns it (the caller must not change it); stop ends the watch, and the
// hub stops encoding when nobody watches.
func (h *Hub) Watch() (next func(ctx context.Context) ([]byte, error), stop func()) {
	h.mu.Lock()
	h.watchers++
	h.mu.Unlock()
	var once sync.Once
	var seen uint64
	next = func(ctx context.Context) ([]byte, error) {
		h.mu.Lock()
		for {
			if h.closed {
				h.mu.Unlock()
				return nil, ErrClosed
			}
			if h.jpeg != nil && h.jpegSeq > seen {
				b := h.jpeg
				seen = h.jpegSeq
				h.mu.Unlock()
				return b, nil
			}
			if err := h.await(ctx); err != nil {
				return nil, err
			}
		}
	}
	stop = func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			if h.watchers--; h.watchers == 0 {
				h.jpeg = nil // no picture outlives its last viewer
			}
		})
	}
	return next, stop
}

// Watchers is how many are watching the picture now.
func (h *Hub) Watchers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.watchers
}
