package pn532

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/edgeid/edgeid/drivers/nfc"
)

// ReaderOpts configures a Reader.
type ReaderOpts struct {
	// Poll is the pause between two rounds of polling for Type A then Type B.
	Poll time.Duration
	// PresencePoll is the interval between presence checks in WaitRemoved.
	PresencePoll time.Duration
	// HighSpeed switches Type A cards to 212/424 kbit/s with InPSL when their ATS allows.
	HighSpeed bool
	// MinBackoff and MaxBackoff bound the wait between reconnection attempts.
	MinBackoff, MaxBackoff time.Duration
}

// DefaultReaderOpts returns the settings used when NewReader gets nil.
func DefaultReaderOpts() ReaderOpts {
	return ReaderOpts{
		Poll:         50 * time.Millisecond,
		PresencePoll: 100 * time.Millisecond,
		HighSpeed:    true,
		MinBackoff:   100 * time.Millisecond,
		MaxBackoff:   5 * time.Second,
	}
}

// Reader adapts a Dev to nfc.Reader: it polls for Type A and Type B cards, activates them,
// and reconnects with backoff when the PN532 stops answering.
type Reader struct {
	dev  *Dev
	opts ReaderOpts

	mu      sync.Mutex
	health  error
	card    *Card
	backoff time.Duration
}

var _ nfc.Reader = &Reader{}

// NewReader wraps d.
func NewReader(d *Dev, opts *ReaderOpts) (*Reader, error) {
	o := DefaultReaderOpts()
	if opts != nil {
		o = *opts
	}
	if o.Poll <= 0 || o.PresencePoll <= 0 || o.MinBackoff <= 0 || o.MaxBackoff < o.MinBackoff {
		return nil, errors.New("pn532: reader intervals must be positive and MaxBackoff >= MinBackoff")
	}
	return &Reader{dev: d, opts: o, backoff: o.MinBackoff}, nil
}

// Dev is the underlying device.
func (r *Reader) Dev() *Dev { return r.dev }

func (r *Reader) String() string { return r.dev.String() }

// Health is nil while the PN532 answers.
func (r *Reader) Health() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.health
}

func (r *Reader) setHealth(err error) {
	r.mu.Lock()
	r.health = err
	r.mu.Unlock()
}

// Halt powers the PN532 down.
func (r *Reader) Halt() error { return r.dev.Halt() }

// gone reports whether err means the PN532 itself is not answering.
func gone(err error) bool { return errors.Is(err, ErrLink) || errors.Is(err, ErrTimeout) }

// WaitCard polls until an ISO 14443-4 card is activated. A PN532 that stops answering is
// marked unhealthy and re-initialised with exponential backoff until it answers or ctx ends.
func (r *Reader) WaitCard(ctx context.Context) (nfc.Card, error) {
	r.mu.Lock()
	busy := r.card != nil
	r.mu.Unlock()
	if busy {
		return nil, nfc.ErrBusy
	}
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if r.Health() != nil {
			r.mu.Lock()
			wait := r.backoff
			r.backoff = min(2*r.backoff, r.opts.MaxBackoff)
			r.mu.Unlock()
			if err := nfc.Sleep(ctx, wait); err != nil {
				return nil, err
			}
			if err := r.dev.Init(ctx); err != nil {
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				r.setHealth(fmt.Errorf("%s: %w: %w", r.dev, nfc.ErrReaderGone, err))
				continue
			}
			r.mu.Lock()
			r.health, r.backoff = nil, r.opts.MinBackoff
			r.mu.Unlock()
		}
		c, err := r.poll(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if gone(err) {
				r.setHealth(fmt.Errorf("%s: %w: %w", r.dev, nfc.ErrReaderGone, err))
				continue
			}
			// A card that fails activation (moved away, bad ATS): try again.
		}
		if c != nil {
			r.mu.Lock()
			r.card = c
			r.mu.Unlock()
			return c, nil
		}
		if err := nfc.Sleep(ctx, r.opts.Poll); err != nil {
			return nil, err
		}
	}
}

// poll runs one round of Type A then Type B; nil, nil when no ISO 14443-4 card answered.
func (r *Reader) poll(ctx context.Context) (*Card, error) {
	for _, m := range []Modulation{TypeA106, TypeB106} {
		ts, err := r.dev.ListPassiveTarget(ctx, m)
		if err != nil {
			return nil, err
		}
		if len(ts) == 0 {
			continue
		}
		t := ts[0]
		if m == TypeA106 && t.Info.SAK&0x20 == 0 {
			// Not ISO 14443-4 (a MIFARE Classic, say): not a travel document.
			if err := r.dev.InRelease(ctx, t.Tg); err != nil {
				return nil, err
			}
			continue
		}
		if m == TypeA106 && r.opts.HighSpeed {
			tx, rx := nfc.ATSBitRates(t.Info.ATS)
			tx, rx = min(tx, 424), min(rx, 424) // the PN532 stops at 424 kbit/s
			if tx > 106 || rx > 106 {
				if err := r.dev.InPSL(ctx, t.Tg, brCode(tx), brCode(rx)); err == nil {
					t.Info.BitRateTx, t.Info.BitRateRx = tx, rx
				} else if gone(err) {
					return nil, err
				}
			}
		}
		if m == TypeA106 {
			hist, err := nfc.ATSHistorical(t.Info.ATS)
			if err == nil {
				t.Info.ExtendedLength, _ = nfc.HistoricalExtendedLength(hist)
			}
		}
		return &Card{r: r, tg: t.Tg, info: t.Info}, nil
	}
	return nil, nil
}

func brCode(kbps int) byte {
	switch kbps {
	case 424:
		return BR424
	case 212:
		return BR212
	}
	return BR106
}

// ListPassiveTarget runs InListPassiveTarget for one target with modulation m.
func (d *Dev) ListPassiveTarget(ctx context.Context, m Modulation) ([]Target, error) {
	p := []byte{0x01, byte(m)}
	if m == TypeB106 {
		p = append(p, 0x00) // AFI 0: all application families
	}
	resp, err := d.Exec(ctx, cmdInListPassiveTarget, p)
	if err != nil {
		return nil, err
	}
	return ParseTargets(m, resp)
}

// Card is an activated target on a PN532.
type Card struct {
	r    *Reader
	tg   byte
	info nfc.CardInfo

	mu     sync.Mutex
	closed bool
}

var _ nfc.Card = &Card{}

// Info describes the card.
func (c *Card) Info() nfc.CardInfo { return c.info }

// Transceive exchanges one APDU with InDataExchange.
func (c *Card) Transceive(ctx context.Context, command []byte) ([]byte, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return nil, errors.New("pn532: transceive on a closed card")
	}
	resp, err := c.r.dev.DataExchange(ctx, c.tg, command)
	if err != nil {
		var se *StatusError
		if errors.As(err, &se) && (se.Status&0x3f == 0x01 || se.Status&0x3f == 0x2b || se.Status&0x3f == 0x29) {
			return nil, fmt.Errorf("%w: %w", nfc.ErrCardRemoved, err)
		}
		if errors.Is(err, ErrLink) {
			err = fmt.Errorf("%s: %w: %w", c.r.dev, nfc.ErrReaderGone, err)
			c.r.setHealth(err)
		}
		return nil, err
	}
	if len(resp) < 2 {
		return nil, fmt.Errorf("pn532: card answered %d bytes, want at least SW1 SW2: %w", len(resp), ErrProtocol)
	}
	return resp, nil
}

// WaitRemoved polls the card's presence until it stops answering.
func (c *Card) WaitRemoved(ctx context.Context) error {
	for {
		err := c.r.dev.Present(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			if gone(err) {
				c.r.setHealth(fmt.Errorf("%s: %w: %w", c.r.dev, nfc.ErrReaderGone, err))
			}
			return nil
		}
		if err := nfc.Sleep(ctx, c.r.opts.PresencePoll); err != nil {
			return err
		}
	}
}

// Close releases the target and frees the reader.
func (c *Card) Close(ctx context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	err := c.r.dev.InRelease(ctx, c.tg)
	c.r.mu.Lock()
	c.r.card = nil
	c.r.mu.Unlock()
	var se *StatusError
	if errors.As(err, &se) {
		return nil // already gone from the field
	}
	return err
}
