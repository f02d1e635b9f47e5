// Package pcsc drives USB contactless readers (ACS ACR122U, HID Omnikey, Identiv, ...) through
// pcsc-lite with github.com/ebfe/scard. It enumerates readers, waits for cards with
// SCardGetStatusChange, follows readers being plugged and unplugged while it runs, detects
// whether extended-length APDUs get through, and says clearly when pcscd is not running.
//
// Building needs the pcsc-lite headers (Debian libpcsclite-dev); the target needs pcscd.
package pcsc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/ebfe/scard"

	"github.com/edgeid/edgeid/drivers/nfc"
)

// ErrNoService means pcscd is not running (SCARD_E_NO_SERVICE).
var ErrNoService = errors.New("pcscd is not running")

// ErrExtendedUnsupported is returned by Transceive for an extended-length APDU once the reader
// has shown that it cannot carry one; callers fall back to short APDUs.
var ErrExtendedUnsupported = errors.New("reader does not carry extended-length APDUs")

// System is the part of the PC/SC API the driver uses. Open returns the real one; pcsctest has
// a fake.
type System interface {
	ListReaders() ([]string, error)
	GetStatusChange(states []scard.ReaderState, timeout time.Duration) error
	Connect(reader string) (Conn, error)
	Release() error
}

// Conn is a connection to a card.
type Conn interface {
	Transmit(cmd []byte) ([]byte, error)
	Status() (*scard.CardStatus, error)
	Disconnect(d scard.Disposition) error
}

// Reestablisher is a System that can open a fresh PC/SC context, needed after pcscd restarts
// (the old context then answers SCARD_E_INVALID_HANDLE or SCARD_E_NO_SERVICE).
type Reestablisher interface {
	Reestablish() error
}

type system struct {
	mu  sync.Mutex
	ctx *scard.Context
}

var _ Reestablisher = &system{}

// Open establishes a PC/SC context. When pcscd is not running the error wraps ErrNoService and
// says how to start it.
func Open() (System, error) {
	ctx, err := scard.EstablishContext()
	if err != nil {
		return nil, explain(err)
	}
	return &system{ctx: ctx}, nil
}

func explain(err error) error {
	if errors.Is(err, ErrNoService) {
		return err
	}
	if errors.Is(err, scard.ErrNoService) {
		return fmt.Errorf("pcsc: %w (SCARD_E_NO_SERVICE): install and start it, e.g. apt-get install pcscd && systemctl enable --now pcscd.socket", ErrNoService)
	}
	return fmt.Errorf("pcsc: %w", err)
}

func (s *system) context() *scard.Context {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ctx
}

func (s *system) ListReaders() ([]string, error) {
	r, err := s.context().ListReaders()
	if errors.Is(err, scard.ErrNoReadersAvailable) {
		return nil, nil
	}
	return r, err
}

func (s *system) GetStatusChange(states []scard.ReaderState, timeout time.Duration) error {
	return s.context().GetStatusChange(states, timeout)
}

func (s *system) Connect(reader string) (Conn, error) {
	return s.context().Connect(reader, scard.ShareShared, scard.ProtocolAny)
}

func (s *system) Release() error { return s.context().Release() }

// Reestablish releases the current context and establishes a new one.
func (s *system) Reestablish() error {
	ctx, err := scard.EstablishContext()
	if err != nil {
		return explain(err)
	}
	s.mu.Lock()
	old := s.ctx
	s.ctx = ctx
	s.mu.Unlock()
	_ = old.Release()
	return nil
}

// List returns the names of the readers pcscd knows, in its order (the index of pcsc:<n>).
func List(sys System) ([]string, error) {
	r, err := sys.ListReaders()
	if err != nil {
		return nil, explain(err)
	}
	return r, nil
}

// Opts configures a Reader.
type Opts struct {
	// Index selects the reader by position when Name is empty.
	Index int
	// Name selects the first reader whose name contains it.
	Name string
	// StatusWait bounds one SCardGetStatusChange call, and so how late a cancelled context
	// is noticed. Poll is the pause between looks for a missing reader.
	StatusWait, Poll time.Duration
}

// DefaultOpts returns options that select the first reader.
func DefaultOpts() Opts {
	return Opts{StatusWait: 250 * time.Millisecond, Poll: 500 * time.Millisecond}
}

// Reader is one PC/SC reader, found again by name or index whenever it is plugged back.
type Reader struct {
	sys  System
	opts Opts

	mu      sync.Mutex
	health  error
	open    bool
	halted  bool
	noExt   map[string]bool // reader names seen failing an extended APDU
	current string
}

var _ nfc.Reader = &Reader{}

// New returns a reader over sys. It does not require the reader to be present yet.
func New(sys System, opts *Opts) (*Reader, error) {
	o := DefaultOpts()
	if opts != nil {
		o = *opts
	}
	if o.Index < 0 || o.StatusWait <= 0 || o.Poll <= 0 {
		return nil, fmt.Errorf("pcsc: invalid options %+v", o)
	}
	return &Reader{sys: sys, opts: o, noExt: map[string]bool{}}, nil
}

func (r *Reader) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	sel := fmt.Sprintf("#%d", r.opts.Index)
	if r.opts.Name != "" {
		sel = fmt.Sprintf("%q", r.opts.Name)
	}
	if r.current != "" {
		return fmt.Sprintf("pcsc(%s %s)", sel, r.current)
	}
	return fmt.Sprintf("pcsc(%s)", sel)
}

// Health is nil while the reader is plugged in and pcscd answers.
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

// ErrHalted is returned by WaitCard after Halt.
var ErrHalted = errors.New("pcsc: reader halted")

// Halt releases the PC/SC context; WaitCard then returns ErrHalted.
func (r *Reader) Halt() error {
	r.mu.Lock()
	r.halted = true
	r.mu.Unlock()
	return r.sys.Release()
}

// resolve finds the selected reader's current name.
func (r *Reader) resolve() (string, error) {
	names, err := List(r.sys)
	if err != nil {
		return "", err
	}
	if r.opts.Name != "" {
		for _, n := range names {
			if strings.Contains(n, r.opts.Name) {
				return n, nil
			}
		}
		return "", fmt.Errorf("pcsc: no reader named like %q among %q: %w", r.opts.Name, names, nfc.ErrReaderGone)
	}
	if r.opts.Index >= len(names) {
		return "", fmt.Errorf("pcsc: reader %d not present (%d readers: %q): %w", r.opts.Index, len(names), names, nfc.ErrReaderGone)
	}
	return names[r.opts.Index], nil
}

func readerGone(err error) bool {
	return errors.Is(err, scard.ErrUnknownReader) || errors.Is(err, scard.ErrReaderUnavailable) ||
		errors.Is(err, scard.ErrNoReadersAvailable) || errors.Is(err, scard.ErrNoService) ||
		errors.Is(err, scard.ErrInvalidHandle)
}

func cardGone(err error) bool {
	return errors.Is(err, scard.ErrRemovedCard) || errors.Is(err, scard.ErrResetCard) ||
		errors.Is(err, scard.ErrNoSmartcard) || errors.Is(err, scard.ErrUnpoweredCard)
}

// WaitCard waits for a card on the selected reader, plugging in included.
func (r *Reader) WaitCard(ctx context.Context) (nfc.Card, error) {
	r.mu.Lock()
	if r.open {
		r.mu.Unlock()
		return nil, nfc.ErrBusy
	}
	r.mu.Unlock()
	var name string
	known := scard.StateUnaware
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r.mu.Lock()
		halted := r.halted
		r.mu.Unlock()
		if halted {
			return nil, ErrHalted
		}
		if name == "" {
			n, err := r.resolve()
			if err != nil && (errors.Is(err, ErrNoService) || errors.Is(err, scard.ErrInvalidHandle)) {
				if re, ok := r.sys.(Reestablisher); ok {
					if rerr := re.Reestablish(); rerr == nil {
						n, err = r.resolve()
					}
				}
			}
			if err != nil {
				r.setHealth(err)
				if err := nfc.Sleep(ctx, r.opts.Poll); err != nil {
					return nil, err
				}
				continue
			}
			name, known = n, scard.StateUnaware
			r.mu.Lock()
			r.current = n
			r.mu.Unlock()
			r.setHealth(nil)
		}
		st := []scard.ReaderState{{Reader: name, CurrentState: known}}
		err := r.sys.GetStatusChange(st, r.opts.StatusWait)
		switch {
		case errors.Is(err, scard.ErrTimeout):
			continue
		case err != nil && readerGone(err):
			r.setHealth(fmt.Errorf("pcsc: reader %q: %w: %w", name, nfc.ErrReaderGone, explain(err)))
			name = ""
			continue
		case err != nil:
			return nil, fmt.Errorf("pcsc: status of %q: %w", name, explain(err))
		}
		ev := st[0].EventState
		known = ev &^ scard.StateChanged
		if ev&scard.StateUnavailable != 0 || ev&scard.StateUnknown != 0 {
			r.setHealth(fmt.Errorf("pcsc: reader %q unplugged: %w", name, nfc.ErrReaderGone))
			name = ""
			continue
		}
		if ev&scard.StatePresent == 0 || ev&scard.StateMute != 0 {
			continue
		}
		c, err := r.connect(name)
		if err != nil {
			if cardGone(err) {
				continue
			}
			if readerGone(err) {
				name = ""
				continue
			}
			return nil, err
		}
		r.mu.Lock()
		r.open = true
		r.mu.Unlock()
		return c, nil
	}
}

// connect connects to the card in reader name and reads what PC/SC tells about it.
func (r *Reader) connect(name string) (*Card, error) {
	conn, err := r.sys.Connect(name)
	if err != nil {
		return nil, fmt.Errorf("pcsc: connect to %q: %w", name, err)
	}
	st, err := conn.Status()
	if err != nil {
		_ = conn.Disconnect(scard.LeaveCard)
		return nil, fmt.Errorf("pcsc: status of the card in %q: %w", name, err)
	}
	c := &Card{r: r, reader: name, conn: conn}
	c.info.ATR = append([]byte(nil), st.Atr...)
	// GET DATA UID (PC/SC part 3, supported by the usual contactless readers).
	if resp, err := conn.Transmit([]byte{0xff, 0xca, 0x00, 0x00, 0x00}); err == nil && len(resp) >= 2 &&
		resp[len(resp)-2] == 0x90 && resp[len(resp)-1] == 0x00 && len(resp) <= 12 {
		c.info.UID = append([]byte(nil), resp[:len(resp)-2]...)
	}
	if hist, err := nfc.ATRHistorical(st.Atr); err == nil {
		// PC/SC part 3: an ISO 14443-4 Type A card's ATR carries the ATS historical bytes;
		// a Type B card's carries ATQB application data, protocol info and MBLI (8 bytes
		// with no category indicator). Anything else is left as Unknown.
		switch {
		case len(st.Atr) >= 5 && st.Atr[2] == 0x80 && st.Atr[3] == 0x01 && len(hist) > 0 && hist[0] == 0x80:
			c.info.Protocol = nfc.TypeA
		}
		ext, _ := nfc.HistoricalExtendedLength(hist)
		r.mu.Lock()
		c.info.ExtendedLength = ext && !r.noExt[name]
		r.mu.Unlock()
	}
	return c, nil
}

// Card is a card connected through PC/SC.
type Card struct {
	r      *Reader
	reader string
	conn   Conn
	info   nfc.CardInfo

	mu     sync.Mutex
	closed bool
}

var _ nfc.Card = &Card{}

// Info implements nfc.Card.
func (c *Card) Info() nfc.CardInfo { return c.info }

// isExtended reports whether an APDU uses extended length fields.
func isExtended(apdu []byte) bool {
	return len(apdu) >= 7 && apdu[4] == 0x00
}

// Transceive implements nfc.Card. The first extended-length APDU that fails at the reader
// (rather than at the card) marks the reader as short-only: later ones get
// ErrExtendedUnsupported at once.
func (c *Card) Transceive(ctx context.Context, cmd []byte) ([]byte, error) {
	c.mu.Lock()
	closed := c.closed
	c.mu.Unlock()
	if closed {
		return nil, errors.New("pcsc: transceive on a closed card")
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	ext := isExtended(cmd)
	if ext {
		c.r.mu.Lock()
		no := c.r.noExt[c.reader]
		c.r.mu.Unlock()
		if no {
			return nil, fmt.Errorf("pcsc: %q: %w", c.reader, ErrExtendedUnsupported)
		}
	}
	resp, err := c.conn.Transmit(cmd)
	switch {
	case err == nil && len(resp) >= 2:
		return resp, nil
	case err == nil:
		return nil, fmt.Errorf("pcsc: %q: response of %d bytes, want at least SW1 SW2", c.reader, len(resp))
	case cardGone(err):
		return nil, fmt.Errorf("pcsc: %q: %w: %w", c.reader, nfc.ErrCardRemoved, err)
	case readerGone(err):
		c.r.setHealth(fmt.Errorf("pcsc: reader %q: %w: %w", c.reader, nfc.ErrReaderGone, err))
		return nil, fmt.Errorf("pcsc: %q: %w: %w", c.reader, nfc.ErrReaderGone, err)
	case ext && (errors.Is(err, scard.ErrNotTransacted) || errors.Is(err, scard.ErrInsufficientBuffer) || errors.Is(err, scard.ErrInvalidParameter) || errors.Is(err, scard.ErrCommError)):
		c.r.mu.Lock()
		c.r.noExt[c.reader] = true
		c.r.mu.Unlock()
		return nil, fmt.Errorf("pcsc: %q: %w: %w", c.reader, ErrExtendedUnsupported, err)
	}
	return nil, fmt.Errorf("pcsc: %q: transmit: %w", c.reader, err)
}

// WaitRemoved implements nfc.Card.
func (c *Card) WaitRemoved(ctx context.Context) error {
	known := scard.StatePresent
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		st := []scard.ReaderState{{Reader: c.reader, CurrentState: known}}
		err := c.r.sys.GetStatusChange(st, c.r.opts.StatusWait)
		switch {
		case errors.Is(err, scard.ErrTimeout):
			continue
		case err != nil && readerGone(err):
			return nil // the reader went, and the card with it
		case err != nil:
			return fmt.Errorf("pcsc: status of %q: %w", c.reader, err)
		}
		ev := st[0].EventState
		if ev&(scard.StateEmpty|scard.StateUnavailable|scard.StateUnknown) != 0 {
			return nil
		}
		known = ev &^ scard.StateChanged
	}
}

// Close implements nfc.Card: the card is reset so that the next session starts clean.
func (c *Card) Close(context.Context) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	err := c.conn.Disconnect(scard.ResetCard)
	c.r.mu.Lock()
	c.r.open = false
	c.r.mu.Unlock()
	if err != nil && !cardGone(err) && !readerGone(err) {
		return fmt.Errorf("pcsc: disconnect %q: %w", c.reader, err)
	}
	return nil
}
