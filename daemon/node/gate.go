package node

import (
	"context"
	"sync"
	"time"

	"github.com/edgeid/edgeid/daemon/kiosk"
	"gocv.io/x/gocv"
)

// gate stands between the reader and the kiosk: no new check starts while its audit record
// could not be written (a full state disk), nor once the node is stopping. The kiosk only
// sees a reader with no card on it.
type gate struct {
	r     kiosk.Reader
	ready func() error
	poll  time.Duration

	once   sync.Once
	closed chan struct{}
}

func newGate(r kiosk.Reader, ready func() error) *gate {
	return &gate{r: r, ready: ready, poll: time.Second, closed: make(chan struct{})}
}

// close stops new checks for good.
func (g *gate) close() { g.once.Do(func() { close(g.closed) }) }

// wait returns once checks may start; once the gate is closed it returns only when ctx ends.
func (g *gate) wait(ctx context.Context) error {
	for {
		select {
		case <-g.closed:
			<-ctx.Done() // stopping: no new check; the node cancels ctx next
			return ctx.Err()
		default:
		}
		if g.ready() == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-g.closed:
		case <-time.After(g.poll):
		}
	}
}

// WaitCard waits until checks may start, then for a card.
func (g *gate) WaitCard(ctx context.Context) (kiosk.Card, error) {
	if err := g.wait(ctx); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-g.closed:
			cancel()
		case <-wctx.Done():
		}
	}()
	card, err := g.r.WaitCard(wctx)
	select {
	case <-g.closed:
		if card != nil {
			card.Close(context.WithoutCancel(ctx))
		}
		<-ctx.Done()
		return nil, ctx.Err()
	default:
	}
	return card, err
}

// cameraGate is the gate of the enrolled flow, which starts a check when a face appears: while
// no check runs, frames wait for the gate; during a check they flow.
type cameraGate struct {
	kiosk.Camera
	g    *gate
	idle func() bool
}

func (c cameraGate) Read(ctx context.Context) (gocv.Mat, error) {
	if c.idle() {
		if err := c.g.wait(ctx); err != nil {
			return gocv.Mat{}, err
		}
	}
	return c.Camera.Read(ctx)
}
