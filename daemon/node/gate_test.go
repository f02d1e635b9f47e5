package node

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/kiosk"
	"gocv.io/x/gocv"
)

type fakeCard struct{ closed atomic.Bool }

func (c *fakeCard) Transceive(context.Context, []byte) ([]byte, error) { return nil, nil }
func (c *fakeCard) WaitRemoved(context.Context) error                  { return nil }
func (c *fakeCard) Close(context.Context) error                        { c.closed.Store(true); return nil }

// fakeReader hands out the cards sent on ch.
type fakeReader struct {
	ch    chan kiosk.Card
	asked atomic.Int32
}

func (r *fakeReader) WaitCard(ctx context.Context) (kiosk.Card, error) {
	r.asked.Add(1)
	select {
	case c := <-r.ch:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// TestGate: no card is taken while the disk is short (the reader is not even asked), cards
// flow once it is not, and a closed gate takes none and returns only when its context ends.
func TestGate(t *testing.T) {
	var short atomic.Bool
	short.Store(true)
	r := &fakeReader{ch: make(chan kiosk.Card, 1)}
	g := newGate(r, func() error {
		if short.Load() {
			return errors.New("disk full")
		}
		return nil
	})
	g.poll = 10 * time.Millisecond
	r.ch <- &fakeCard{}
	got := make(chan kiosk.Card, 1)
	go func() { c, _ := g.WaitCard(context.Background()); got <- c }()
	time.Sleep(100 * time.Millisecond)
	if r.asked.Load() != 0 || len(got) != 0 {
		t.Fatal("a card was taken while the disk was short")
	}
	short.Store(false)
	select {
	case c := <-got:
		if c == nil {
			t.Fatal("no card once the disk had room")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the gate did not open when space returned")
	}

	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { _, err := g.WaitCard(ctx); errc <- err }()
	time.Sleep(50 * time.Millisecond)
	card := &fakeCard{}
	g.close()
	r.ch <- card
	time.Sleep(50 * time.Millisecond)
	if len(errc) != 0 {
		t.Fatal("a closed gate returned before its context ended")
	}
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("closed gate: %v", err)
	}
	if _, err := g.WaitCard(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("closed gate, second call: %v", err)
	}
}

type fakeCamera struct{ reads atomic.Int32 }

func (c *fakeCamera) Read(context.Context) (gocv.Mat, error) {
	c.reads.Add(1)
	return gocv.NewMat(), nil
}

// TestCameraGate: in the enrolled flow no frame starts a check while the disk is short, but a
// check in progress keeps its frames.
func TestCameraGate(t *testing.T) {
	cam := &fakeCamera{}
	var idle atomic.Bool
	idle.Store(true)
	g := newGate(nil, func() error { return errors.New("disk full") })
	g.poll = 10 * time.Millisecond
	cg := cameraGate{Camera: cam, g: g, idle: idle.Load}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := cg.Read(ctx); err == nil || cam.reads.Load() != 0 {
		t.Fatalf("idle with the disk short: err %v, %d frames read", err, cam.reads.Load())
	}
	idle.Store(false)
	m, err := cg.Read(context.Background())
	if err != nil {
		t.Fatalf("during a check: %v", err)
	}
	m.Close()
}
