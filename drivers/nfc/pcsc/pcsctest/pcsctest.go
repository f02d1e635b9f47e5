// Package pcsctest is a fake PC/SC service for drivers/nfc/pcsc: readers are plugged and
// unplugged, cards inserted and removed, and APDUs go to any responder.
package pcsctest

import (
	"context"
	"sync"
	"time"

	"github.com/ebfe/scard"

	"github.com/edgeid/edgeid/drivers/nfc/pcsc"
)

// Responder answers APDUs; drivers/emrtd.Transceiver has this shape.
type Responder interface {
	Transceive(ctx context.Context, command []byte) (response []byte, err error)
}

// Card sits on a fake reader.
type Card struct {
	ATR  []byte
	UID  []byte
	Chip Responder
}

type slot struct {
	card    *Card
	noExt   bool
	plugged bool
}

// System is a fake pcscd.
type System struct {
	mu       sync.Mutex
	order    []string
	slots    map[string]*slot
	changed  chan struct{}
	down     bool
	epoch    int // bumped when the service restarts
	ctxEpoch int // epoch of the caller's context
	released bool
	tx       int
}

var (
	_ pcsc.System        = &System{}
	_ pcsc.Reestablisher = &System{}
)

// New returns a service with no readers.
func New() *System {
	return &System{slots: map[string]*slot{}, changed: make(chan struct{})}
}

func (s *System) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Plug adds a reader; noExtended makes it fail extended-length APDUs like an ACR122U.
func (s *System) Plug(name string, noExtended bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.slots[name]; !ok {
		s.order = append(s.order, name)
	}
	s.slots[name] = &slot{noExt: noExtended, plugged: true}
	s.notify()
}

// Unplug removes a reader (and its card).
func (s *System) Unplug(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, n := range s.order {
		if n == name {
			s.order = append(s.order[:i], s.order[i+1:]...)
		}
	}
	if sl, ok := s.slots[name]; ok {
		sl.plugged, sl.card = false, nil
	}
	delete(s.slots, name)
	s.notify()
}

// Insert puts a card on a reader.
func (s *System) Insert(name string, c *Card) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sl, ok := s.slots[name]; ok {
		sl.card = c
	}
	s.notify()
}

// Remove takes the card off a reader.
func (s *System) Remove(name string) { s.Insert(name, nil) }

// Stop makes every call fail as when pcscd exits.
func (s *System) Stop() {
	s.mu.Lock()
	s.down = true
	s.notify()
	s.mu.Unlock()
}

// Start brings the service back after Stop. Like pcscd, the old context stays invalid
// (SCARD_E_INVALID_HANDLE) until the caller establishes a new one.
func (s *System) Start() {
	s.mu.Lock()
	s.down = false
	s.epoch++
	s.notify()
	s.mu.Unlock()
}

// Reestablish implements pcsc.Reestablisher.
func (s *System) Reestablish() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return scard.ErrNoService
	}
	s.ctxEpoch = s.epoch
	return nil
}

// err is the error every call gets when the service or the context is unusable. Caller holds mu.
func (s *System) err() error {
	if s.down {
		return scard.ErrNoService
	}
	if s.ctxEpoch != s.epoch {
		return scard.ErrInvalidHandle
	}
	return nil
}

// Transmits counts the APDUs sent.
func (s *System) Transmits() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tx
}

// ListReaders implements pcsc.System.
func (s *System) ListReaders() ([]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.err(); err != nil {
		return nil, err
	}
	return append([]string(nil), s.order...), nil
}

func (s *System) state(name string) scard.StateFlag {
	sl, ok := s.slots[name]
	switch {
	case !ok:
		return scard.StateUnknown | scard.StateUnavailable
	case sl.card != nil:
		return scard.StatePresent
	}
	return scard.StateEmpty
}

// GetStatusChange implements pcsc.System.
func (s *System) GetStatusChange(states []scard.ReaderState, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		s.mu.Lock()
		if err := s.err(); err != nil {
			s.mu.Unlock()
			return err
		}
		changed := false
		for i := range states {
			st := s.state(states[i].Reader)
			if _, ok := s.slots[states[i].Reader]; !ok && states[i].CurrentState == scard.StateUnaware {
				s.mu.Unlock()
				return scard.ErrUnknownReader
			}
			if st != states[i].CurrentState&^scard.StateChanged {
				states[i].EventState = st | scard.StateChanged
				if c := s.slots[states[i].Reader]; c != nil && c.card != nil {
					states[i].Atr = c.card.ATR
				}
				changed = true
			} else {
				states[i].EventState = st
			}
		}
		ch := s.changed
		s.mu.Unlock()
		if changed {
			return nil
		}
		select {
		case <-ch:
		case <-deadline.C:
			return scard.ErrTimeout
		}
	}
}

// Connect implements pcsc.System.
func (s *System) Connect(reader string) (pcsc.Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.err(); err != nil {
		return nil, err
	}
	sl, ok := s.slots[reader]
	if !ok {
		return nil, scard.ErrUnknownReader
	}
	if sl.card == nil {
		return nil, scard.ErrNoSmartcard
	}
	return &conn{s: s, reader: reader, card: sl.card, sl: sl}, nil
}

// Release implements pcsc.System.
func (s *System) Release() error {
	s.mu.Lock()
	s.released = true
	s.mu.Unlock()
	return nil
}

// Released reports whether Release was called.
func (s *System) Released() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.released
}

type conn struct {
	s      *System
	reader string
	card   *Card
	sl     *slot
}

func (c *conn) check() error {
	if err := c.s.err(); err != nil {
		return err
	}
	if sl, ok := c.s.slots[c.reader]; !ok || sl != c.sl {
		return scard.ErrReaderUnavailable
	}
	if c.sl.card != c.card {
		return scard.ErrRemovedCard
	}
	return nil
}

func (c *conn) Transmit(cmd []byte) ([]byte, error) {
	c.s.mu.Lock()
	if err := c.check(); err != nil {
		c.s.mu.Unlock()
		return nil, err
	}
	c.s.tx++
	noExt := c.sl.noExt
	c.s.mu.Unlock()
	if len(cmd) == 5 && cmd[0] == 0xff && cmd[1] == 0xca {
		return append(append([]byte(nil), c.card.UID...), 0x90, 0x00), nil
	}
	if noExt && len(cmd) >= 7 && cmd[4] == 0x00 {
		return nil, scard.ErrNotTransacted
	}
	return c.card.Chip.Transceive(context.Background(), cmd)
}

func (c *conn) Status() (*scard.CardStatus, error) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	if err := c.check(); err != nil {
		return nil, err
	}
	return &scard.CardStatus{Reader: c.reader, State: scard.Present | scard.Specific, ActiveProtocol: scard.ProtocolT1, Atr: c.card.ATR}, nil
}

func (c *conn) Disconnect(scard.Disposition) error { return nil }
