package pn532

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"

	"github.com/edgeid/edgeid/drivers/nfc"
)

// Counters count the bytes and transactions on the host link, both directions, status polls
// included. They let callers model link time (see LinkTime).
type Counters struct {
	TxBytes, RxBytes atomic.Int64 // bytes clocked host->PN532 and PN532->host
	Transactions     atomic.Int64 // bus transactions (I2C start..stop, SPI CS assertion, UART write/read call)
}

// link moves frames between host and PN532 over one bus.
type link interface {
	// send writes one complete frame (wake-up bytes are added by the link when needed).
	send(ctx context.Context, frame []byte) error
	// recv returns the next frame, waiting at most until deadline.
	recv(ctx context.Context, deadline time.Time) (Frame, error)
	// resync discards whatever is buffered (UART) after a protocol error.
	resync()
	// asleep tells the link the PN532 was powered down, so the next send wakes it.
	asleep()
	String() string
	close() error
}

// packetIO is a bus where each read transaction starts at the beginning of the pending frame,
// preceded by a status byte (I2C read, SPI DR). Frames whose length is not known in advance
// are read in two steps: a header, then a NACK asks the PN532 to send the whole frame again.
type packetIO interface {
	writeFrame(frame []byte) error
	// status returns true when a frame is ready to be read.
	status() (bool, error)
	// readFrame reads n frame bytes; ok is false when the status byte says not ready.
	readFrame(n int) (b []byte, ok bool, err error)
}

// headerLen is enough to decode ACK/NACK and the length of normal and extended frames.
const headerLen = 9

func recvPacket(ctx context.Context, p packetIO, irq gpio.PinIn, poll time.Duration, deadline time.Time) (Frame, error) {
	n := headerLen
	for attempt := 0; attempt < 3; attempt++ {
		if err := waitReady(ctx, p, irq, poll, deadline); err != nil {
			return Frame{}, err
		}
		b, ok, err := p.readFrame(n)
		if err != nil {
			return Frame{}, err
		}
		if !ok {
			continue
		}
		f, _, err := Decode(b)
		var inc *IncompleteError
		if errors.As(err, &inc) && inc.Need > n && inc.Need <= MaxFrame {
			n = inc.Need
			if err := p.writeFrame(nackFrame()); err != nil {
				return Frame{}, err
			}
			continue
		}
		return f, err
	}
	return Frame{}, fmt.Errorf("frame still incomplete after re-reading %d bytes", n)
}

func waitReady(ctx context.Context, p packetIO, irq gpio.PinIn, poll time.Duration, deadline time.Time) error {
	for {
		if irq != nil && irq.Read() == gpio.High {
			// P70_IRQ is high while nothing is ready: wait for its falling edge, at most
			// 100 ms at a time so that a missed edge costs one status read, not the deadline.
			irq.WaitForEdge(max(0, min(time.Until(deadline), 100*time.Millisecond)))
		}
		ok, err := p.status()
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
		if !time.Now().Before(deadline) {
			return ErrTimeout
		}
		if err := nfc.Sleep(ctx, poll); err != nil {
			return err
		}
	}
}

// ---- I2C ----

// DefaultI2CAddr is the PN532's 7-bit I2C address.
const DefaultI2CAddr = 0x24

type i2cLink struct {
	dev      i2c.Dev
	irq      gpio.PinIn
	poll     time.Duration
	c        *Counters
	sleeping bool
}

func (l *i2cLink) String() string { return fmt.Sprintf("i2c %s %#02x", l.dev.Bus, l.dev.Addr) }

func (l *i2cLink) tx(w, r []byte) error {
	l.c.Transactions.Add(1)
	l.c.TxBytes.Add(int64(len(w)) + 1) // address byte
	l.c.RxBytes.Add(int64(len(r)))
	if err := l.dev.Tx(w, r); err != nil {
		return fmt.Errorf("i2c %#02x: %w: %w", l.dev.Addr, ErrLink, err)
	}
	return nil
}

func (l *i2cLink) writeFrame(frame []byte) error { return l.tx(frame, nil) }

func (l *i2cLink) status() (bool, error) {
	var s [1]byte
	if err := l.tx(nil, s[:]); err != nil {
		return false, err
	}
	return s[0]&0x01 != 0, nil
}

func (l *i2cLink) readFrame(n int) ([]byte, bool, error) {
	b := make([]byte, n+1)
	if err := l.tx(nil, b); err != nil {
		return nil, false, err
	}
	return b[1:], b[0]&0x01 != 0, nil
}

func (l *i2cLink) send(ctx context.Context, frame []byte) error {
	err := l.writeFrame(frame)
	if err != nil && l.sleeping {
		// A powered-down PN532 may not acknowledge the address that wakes it: give it the
		// wake-up time (UM0701: about 1 ms) and write again.
		if serr := nfc.Sleep(ctx, 2*time.Millisecond); serr != nil {
			return serr
		}
		err = l.writeFrame(frame)
	}
	if err == nil {
		l.sleeping = false
	}
	return err
}
func (l *i2cLink) recv(ctx context.Context, deadline time.Time) (Frame, error) {
	return recvPacket(ctx, l, l.irq, l.poll, deadline)
}
func (l *i2cLink) resync()      {}
func (l *i2cLink) asleep()      { l.sleeping = true }
func (l *i2cLink) close() error { return nil }

// ---- SPI ----

// SPI data-link bytes (UM0701 6.2.5), sent LSB first like everything on the PN532's SPI.
const (
	spiDataWrite  = 0x01
	spiStatusRead = 0x02
	spiDataRead   = 0x03
)

// rev reverses the bit order of a byte: the PN532 shifts LSB first, which many SPI masters
// (the Raspberry Pi's among them) cannot do, so the driver reverses in software.
func rev(b byte) byte {
	b = b>>4 | b<<4
	b = (b&0xcc)>>2 | (b&0x33)<<2
	return (b&0xaa)>>1 | (b&0x55)<<1
}

type spiLink struct {
	conn spi.Conn
	name string
	irq  gpio.PinIn
	poll time.Duration
	c    *Counters
}

func (l *spiLink) String() string { return "spi " + l.name }

func (l *spiLink) tx(w []byte) ([]byte, error) {
	l.c.Transactions.Add(1)
	l.c.TxBytes.Add(int64(len(w)))
	l.c.RxBytes.Add(int64(len(w)))
	r := make([]byte, len(w))
	for i := range w {
		w[i] = rev(w[i])
	}
	if err := l.conn.Tx(w, r); err != nil {
		return nil, fmt.Errorf("spi %s: %w: %w", l.name, ErrLink, err)
	}
	for i := range r {
		r[i] = rev(r[i])
	}
	return r, nil
}

func (l *spiLink) writeFrame(frame []byte) error {
	w := make([]byte, 1+len(frame))
	w[0] = spiDataWrite
	copy(w[1:], frame)
	_, err := l.tx(w)
	return err
}

func (l *spiLink) status() (bool, error) {
	r, err := l.tx([]byte{spiStatusRead, 0x00})
	if err != nil {
		return false, err
	}
	return r[1]&0x01 != 0, nil
}

func (l *spiLink) readFrame(n int) ([]byte, bool, error) {
	w := make([]byte, n+1)
	w[0] = spiDataRead
	r, err := l.tx(w)
	if err != nil {
		return nil, false, err
	}
	return r[1:], true, nil
}

func (l *spiLink) send(_ context.Context, frame []byte) error { return l.writeFrame(frame) }
func (l *spiLink) recv(ctx context.Context, deadline time.Time) (Frame, error) {
	return recvPacket(ctx, l, l.irq, l.poll, deadline)
}
func (l *spiLink) resync()      {}
func (l *spiLink) asleep()      {}
func (l *spiLink) close() error { return nil }

// ---- UART (HSU) ----

// Port is a serial port in raw mode whose Read returns after a short timeout with n == 0 when
// nothing arrived (termios VMIN=0 VTIME>0 does this; see OpenTTY).
type Port interface {
	io.Reader
	io.Writer
}

// hsuWakeup wakes a PN532 in HSU mode from power-down (UM0701 7.2.11: 0x55 then a long
// enough preamble); frames sent while awake need none.
func hsuWakeup() []byte {
	return []byte{0x55, 0x55, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00}
}

// maxGarbage bounds the bytes a UART link skips while looking for a frame.
const maxGarbage = 512

type uartLink struct {
	port    Port
	name    string
	closer  io.Closer
	c       *Counters
	buf     []byte
	sleepin bool
}

func (l *uartLink) String() string { return "uart " + l.name }

func (l *uartLink) asleep() { l.sleepin = true }

func (l *uartLink) send(_ context.Context, frame []byte) error {
	w := frame
	if l.sleepin {
		w = append(hsuWakeup(), frame...)
	}
	l.c.Transactions.Add(1)
	l.c.TxBytes.Add(int64(len(w)))
	if _, err := l.port.Write(w); err != nil {
		return fmt.Errorf("uart %s: %w: %w", l.name, ErrLink, err)
	}
	l.sleepin = false
	return nil
}

func (l *uartLink) resync() { l.buf = l.buf[:0] }

func (l *uartLink) recv(ctx context.Context, deadline time.Time) (Frame, error) {
	skipped, expired := 0, false
	var chunk [128]byte
	for {
		if len(l.buf) > 0 {
			f, n, err := Decode(l.buf)
			var inc *IncompleteError
			switch {
			case err == nil:
				l.buf = append(l.buf[:0], l.buf[n:]...)
				return f, nil
			case errors.As(err, &inc):
				if len(l.buf) > MaxFrame+maxGarbage {
					// Endless preamble bytes: do not buffer without bound.
					n := len(l.buf)
					l.buf = l.buf[:0]
					return Frame{}, fmt.Errorf("uart %s: %d bytes without a complete frame: %w", l.name, n, ErrGarbage)
				}
			case errors.Is(err, ErrGarbage):
				skipped += n
				l.buf = append(l.buf[:0], l.buf[n:]...)
				if skipped > maxGarbage {
					return Frame{}, fmt.Errorf("uart %s: %d bytes without a frame: %w", l.name, skipped, err)
				}
				continue
			default:
				l.buf = append(l.buf[:0], l.buf[n:]...)
				return Frame{}, err
			}
		}
		if err := ctx.Err(); err != nil {
			return Frame{}, err
		}
		if expired {
			return Frame{}, ErrTimeout
		}
		// One more read after the deadline: on a loaded host the answer may have arrived
		// while this goroutine was not running.
		expired = !time.Now().Before(deadline)
		n, err := l.port.Read(chunk[:])
		l.c.RxBytes.Add(int64(n))
		if n > 0 {
			l.c.Transactions.Add(1)
		}
		l.buf = append(l.buf, chunk[:n]...)
		if err != nil && !errors.Is(err, io.EOF) {
			return Frame{}, fmt.Errorf("uart %s: %w: %w", l.name, ErrLink, err)
		}
		if errors.Is(err, io.EOF) {
			return Frame{}, fmt.Errorf("uart %s: port closed: %w", l.name, ErrLink)
		}
	}
}

func (l *uartLink) close() error {
	if l.closer != nil {
		return l.closer.Close()
	}
	return nil
}

// LinkTime models the time a host link needs to move the traffic in c: I2C with 9 clocks per
// byte plus start/stop (about 2 clocks) per transaction, SPI with 8 clocks per byte, UART with
// 10 bit times per byte (8N1). It ignores the PN532's own processing and the RF exchange.
func LinkTime(bus string, f physic.Frequency, c *Counters) time.Duration {
	bytes := float64(c.TxBytes.Load() + c.RxBytes.Load())
	hz := float64(f) / float64(physic.Hertz)
	var bits float64
	switch bus {
	case "i2c":
		bits = bytes*9 + float64(c.Transactions.Load())*2
	case "spi":
		bits = float64(c.TxBytes.Load()) * 8 // full duplex: rx bytes are clocked by tx bytes
	case "uart":
		bits = bytes * 10
	default:
		return 0
	}
	return time.Duration(bits / hz * float64(time.Second))
}
