package camerahub

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"gocv.io/x/gocv"
)

// stepSource is a camera the test drives: each Read announces its number on started, then
// waits for the test's release (an error, or nil for a frame whose pixels carry the number).
type stepSource struct {
	started chan int
	release chan error
	n       int
}

func newStepSource() *stepSource {
	return &stepSource{started: make(chan int, 1), release: make(chan error)}
}

func (s *stepSource) Read(ctx context.Context) (gocv.Mat, error) {
	s.n++
	select {
	case s.started <- s.n:
	case <-ctx.Done():
		return gocv.Mat{}, ctx.Err()
	}
	select {
	case err := <-s.release:
		if err != nil {
			return gocv.Mat{}, err
		}
		return numbered(s.n), nil
	case <-ctx.Done():
		return gocv.Mat{}, ctx.Err()
	}
}

func numbered(n int) gocv.Mat {
	m := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(float64(n), 0, 0, 0), 48, 64, gocv.MatTypeCV8UC3)
	return m
}

func number(m gocv.Mat) int { return int(m.GetUCharAt(0, 0)) }

// freeSource gives numbered frames as fast as the hub asks.
type freeSource struct {
	mu sync.Mutex
	n  int
}

func (s *freeSource) Read(ctx context.Context) (gocv.Mat, error) {
	s.mu.Lock()
	s.n++
	n := s.n
	s.mu.Unlock()
	return numbered(n % 250), nil
}

func start(t *testing.T, src Source, o Opts) (*Hub, func()) {
	t.Helper()
	h := New(src, o)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.Run(ctx) }()
	return h, func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not stop")
		}
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func (h *Hub) waiters() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.waiting
}

type readResult struct {
	n   int
	err error
}

func readAsync(r *Reader) chan readResult {
	c := make(chan readResult, 1)
	go func() {
		m, err := r.Read(context.Background())
		if err != nil {
			c <- readResult{err: err}
			return
		}
		c <- readResult{n: number(m)}
		m.Close()
	}()
	return c
}

// A frame read before the kiosk asked, or whose read was under way when it asked, is stale:
// the kiosk gets the first frame whose read started after its Read call.
func TestReaderNeverGivesStaleFrames(t *testing.T) {
	src := newStepSource()
	h, stop := start(t, src, Opts{Interval: time.Millisecond})
	defer stop()
	r := h.Reader()

	<-src.started // read 1
	src.release <- nil
	<-src.started // read 2 is under way; frame 1 is held
	got := readAsync(r)
	waitFor(t, "the reader to wait", func() bool { return h.waiters() == 1 })
	src.release <- nil // frame 2: its read started before the Read call
	<-src.started      // read 3
	select {
	case res := <-got:
		t.Fatalf("Read returned frame %d (%v), whose read started before the call", res.n, res.err)
	case <-time.After(20 * time.Millisecond):
	}
	src.release <- nil
	if res := <-got; res.err != nil || res.n != 3 {
		t.Fatalf("Read gave frame %d, %v; want 3", res.n, res.err)
	}

	// A read that fails is reported to the reader that waited for it.
	<-src.started // read 4
	got = readAsync(r)
	waitFor(t, "the reader to wait", func() bool { return h.waiters() == 1 })
	src.release <- nil // frame 4 started before the call
	<-src.started
	boom := errors.New("camera unplugged")
	src.release <- boom
	if res := <-got; !errors.Is(res.err, boom) {
		t.Fatalf("Read after a failed device read: %d, %v", res.n, res.err)
	}
}

func TestReaderContextAndClose(t *testing.T) {
	src := newStepSource()
	h, stop := start(t, src, Opts{Interval: time.Millisecond})
	<-src.started
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := h.Reader().Read(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Read with an ended context: %v", err)
	}
	got := readAsync(h.Reader())
	waitFor(t, "the reader to wait", func() bool { return h.waiters() == 1 })
	stop()
	if res := <-got; !errors.Is(res.err, ErrClosed) {
		t.Fatalf("Read on a stopped hub: %d, %v", res.n, res.err)
	}
	next, done := h.Watch()
	defer done()
	if _, err := next(context.Background()); !errors.Is(err, ErrClosed) {
		t.Fatalf("watch on a stopped hub: %v", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.last.has || h.jpeg != nil {
		t.Error("a stopped hub still holds a frame")
	}
}

// The stream's JPEG is encoded only while someone watches, once per frame for all watchers,
// and each watcher gets frames newer than its last.
func TestWatchEncodesOnlyWhileWatched(t *testing.T) {
	h, stop := start(t, &freeSource{}, Opts{Interval: 2 * time.Millisecond, MaxWidth: 32})
	defer stop()
	time.Sleep(30 * time.Millisecond)
	h.mu.Lock()
	unwatched := h.jpeg
	h.mu.Unlock()
	if unwatched != nil {
		t.Fatal("a JPEG was encoded with nobody watching")
	}
	next1, stop1 := h.Watch()
	next2, stop2 := h.Watch()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	a, err := next1(ctx)
	if err != nil || !bytes.HasPrefix(a, []byte{0xff, 0xd8}) {
		t.Fatalf("first picture: %d bytes, %v", len(a), err)
	}
	img, err := gocv.IMDecode(a, gocv.IMReadColor)
	if err != nil || img.Cols() != 32 || img.Rows() != 24 {
		t.Fatalf("picture %dx%d (%v), want scaled to 32x24", img.Cols(), img.Rows(), err)
	}
	img.Close()
	b, err := next1(ctx)
	if err != nil || &b[0] == &a[0] {
		t.Fatalf("second picture is the first again (%v)", err)
	}
	if _, err := next2(ctx); err != nil {
		t.Fatal(err)
	}
	// Two watchers, one encoding per frame at most.
	h.mu.Lock()
	encodes, reads := h.encodes, h.begun
	h.mu.Unlock()
	if encodes > reads {
		t.Errorf("%d encodings for %d frames with two watchers", encodes, reads)
	}
	stop1()
	stop1() // twice is once
	if h.Watchers() != 1 {
		t.Fatalf("%d watchers after one stopped", h.Watchers())
	}
	stop2()
	h.mu.Lock()
	left := h.jpeg
	h.mu.Unlock()
	if left != nil {
		t.Error("the last picture outlived its last watcher")
	}
	time.Sleep(20 * time.Millisecond)
	h.mu.Lock()
	left = h.jpeg
	h.mu.Unlock()
	if left != nil {
		t.Error("a JPEG was encoded after the last watcher left")
	}
}

// Many readers and watchers at once against a free-running camera (run with -race).
func TestConcurrentUse(t *testing.T) {
	h, stop := start(t, &freeSource{}, Opts{Interval: time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(2)
		go func() {
			defer wg.Done()
			r := h.Reader()
			for j := 0; j < 20; j++ {
				m, err := r.Read(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				m.Close()
			}
		}()
		go func() {
			defer wg.Done()
			next, done := h.Watch()
			defer done()
			for j := 0; j < 10; j++ {
				if _, err := next(ctx); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	stop()
}

// The hub does not read faster than its interval, whatever the source.
func TestInterval(t *testing.T) {
	src := &freeSource{}
	_, stop := start(t, src, Opts{Interval: 20 * time.Millisecond})
	time.Sleep(210 * time.Millisecond)
	stop()
	src.mu.Lock()
	n := src.n
	src.mu.Unlock()
	if n < 5 || n > 12 {
		t.Errorf("%d reads in 210 ms at a 20 ms interval", n)
	}
}
