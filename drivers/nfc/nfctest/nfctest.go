// Package nfctest holds test doubles for drivers/nfc: Reader, an nfc.Reader whose cards tests
// insert and remove. The simulated cards live in drivers/nfc/nfcsim.
package nfctest

import (
	"context"
	"sync"

	"github.com/edgeid/edgeid/drivers/nfc"
)

// Card is a card for Reader.
type Card struct {
	Desc nfc.CardInfo
	Chip interface {
		Transceive(ctx context.Context, command []byte) ([]byte, error)
	}
	r *Reader
}

// Reader is an nfc.Reader whose field tests fill with Insert and empty with Remove.
type Reader struct {
	mu      sync.Mutex
	changed chan struct{}
	card    *Card
	open    bool
	Err     error // returned by Health when set
}

var _ nfc.Reader = &Reader{}

// NewReader returns an empty reader.
func NewReader() *Reader { return &Reader{changed: make(chan struct{})} }

func (r *Reader) notify() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// Insert puts a card with info and chip in the field.
func (r *Reader) Insert(info nfc.CardInfo, chip interface {
	Transceive(ctx context.Context, command []byte) ([]byte, error)
}) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.card = &Card{Desc: info, Chip: chip, r: r}
	r.notify()
}

// Remove empties the field.
func (r *Reader) Remove() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.card = nil
	r.notify()
}

// WaitCard implements nfc.Reader.
func (r *Reader) WaitCard(ctx context.Context) (nfc.Card, error) {
	for {
		r.mu.Lock()
		if r.open {
			r.mu.Unlock()
			return nil, nfc.ErrBusy
		}
		c, ch := r.card, r.changed
		if c != nil {
			r.open = true
			r.mu.Unlock()
			return c, nil
		}
		r.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-ch:
		}
	}
}

// Health implements nfc.Reader.
func (r *Reader) Health() error { return r.Err }

// String implements nfc.Reader.
func (r *Reader) String() string { return "nfctest" }

// Halt implements nfc.Reader.
func (r *Reader) Halt() error { return nil }

// Info implements nfc.Card.
func (c *Card) Info() nfc.CardInfo { return c.Desc }

func (c *Card) present() bool {
	c.r.mu.Lock()
	defer c.r.mu.Unlock()
	return c.r.card == c
}

// Transceive implements nfc.Card.
func (c *Card) Transceive(ctx context.Context, command []byte) ([]byte, error) {
	if !c.present() {
		return nil, nfc.ErrCardRemoved
	}
	return c.Chip.Transceive(ctx, command)
}

// WaitRemoved implements nfc.Card.
func (c *Card) WaitRemoved(ctx context.Context) error {
	for {
		c.r.mu.Lock()
		gone, ch := c.r.card != c, c.r.changed
		c.r.mu.Unlock()
		if gone {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// Close implements nfc.Card.
func (c *Card) Close(context.Context) error {
	c.r.mu.Lock()
	c.r.open = false
	c.r.mu.Unlock()
	return nil
}
