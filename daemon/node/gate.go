package node

import (
	"context"
	"sync"
	"time"

	"github.com/edgeid/edgeid/daemon/kiosk"
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

// WaitCard waits until checks may start, then for a card.
func (g *gate) WaitCard(ctx context.Context) (kiosk.Card, error) {
	for g.ready() != nil {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-g.closed:
			<-ctx.Done()
			return nil, ctx.Err()
		case <-time.After(g.poll):
		}
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
		<-ctx.Done() // stopping: no new check; the node cancels ctx next
		return nil, ctx.Err()
	default:
	}
	return card, err
}
