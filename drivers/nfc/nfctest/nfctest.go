// Package nfctest holds test doubles for drivers/nfc: FileCard, a minimal ISO 7816-4 card with
// transparent files (SELECT and READ BINARY, no access control), and Reader, an nfc.Reader whose
// cards tests insert and remove.
package nfctest

import (
	"context"
	"sync"

	"github.com/edgeid/edgeid/drivers/apdu"
	"github.com/edgeid/edgeid/drivers/nfc"
)

// FileCard answers SELECT (by AID, by file identifier) and READ BINARY (short and extended Le,
// and short EF identifiers in P1) over a set of transparent files. It has no access control:
// it stands in for a passport whose secure messaging is not under test.
type FileCard struct {
	mu    sync.Mutex
	AID   []byte            // application selected by SELECT P1=04
	Files map[uint16][]byte // file identifier -> content
	cur   uint16
	sel   bool
	app   bool
}

// Transceive implements drivers/emrtd.Transceiver.
func (c *FileCard) Transceive(_ context.Context, raw []byte) ([]byte, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	a, err := apdu.ParseCommand(raw)
	if err != nil {
		return []byte{0x67, 0x00}, nil
	}
	switch {
	case a.CLA&0x0c != 0:
		return []byte{0x68, 0x82}, nil // secure messaging not supported
	case a.INS == 0xa4 && a.P1 == 0x04:
		if string(a.Data) != string(c.AID) {
			return []byte{0x6a, 0x82}, nil
		}
		c.app, c.sel = true, false
		return []byte{0x90, 0x00}, nil
	case a.INS == 0xa4 && (a.P1 == 0x00 || a.P1 == 0x02):
		if len(a.Data) != 2 {
			return []byte{0x6a, 0x87}, nil
		}
		fid := uint16(a.Data[0])<<8 | uint16(a.Data[1])
		if _, ok := c.Files[fid]; !ok {
			return []byte{0x6a, 0x82}, nil
		}
		c.cur, c.sel = fid, true
		return []byte{0x90, 0x00}, nil
	case a.INS == 0xb0:
		off := int(a.P1)<<8 | int(a.P2)
		if a.P1&0x80 != 0 { // short EF identifier
			fid := 0x0100 | uint16(a.P1&0x1f)
			if _, ok := c.Files[fid]; !ok {
				return []byte{0x6a, 0x82}, nil
			}
			c.cur, c.sel, off = fid, true, int(a.P2)
		}
		if !c.sel {
			return []byte{0x69, 0x86}, nil
		}
		f := c.Files[c.cur]
		if off > len(f) {
			return []byte{0x6b, 0x00}, nil
		}
		n := min(a.Ne, len(f)-off)
		out := append([]byte(nil), f[off:off+n]...)
		if n < a.Ne {
			return append(out, 0x62, 0x82), nil // end of file reached before Ne bytes
		}
		return append(out, 0x90, 0x00), nil
	case a.INS == 0x84:
		if a.Ne == 0 || a.Ne > 256 {
			return []byte{0x67, 0x00}, nil
		}
		return append(make([]byte, a.Ne), 0x90, 0x00), nil
	}
	return []byte{0x6d, 0x00}, nil
}

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
