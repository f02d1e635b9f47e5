package pn532

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"
)

// fuzzPort plays b as what the PN532 sends, then reports the port closed.
type fuzzPort struct{ b []byte }

func (p *fuzzPort) Write(w []byte) (int, error) { return len(w), nil }
func (p *fuzzPort) Read(r []byte) (int, error) {
	if len(p.b) == 0 {
		return 0, io.EOF
	}
	n := copy(r, p.b[:min(len(p.b), 7)]) // short reads split frames anywhere
	p.b = p.b[n:]
	return n, nil
}

// fuzzBus answers I2C reads with b, in order, then NACKs.
type fuzzBus struct{ b []byte }

func (f *fuzzBus) String() string                  { return "fuzz" }
func (f *fuzzBus) SetSpeed(physic.Frequency) error { return nil }
func (f *fuzzBus) Tx(_ uint16, _, r []byte) error {
	if len(r) == 0 {
		return nil
	}
	if len(f.b) == 0 {
		return errors.New("address NACK")
	}
	n := copy(r, f.b)
	f.b = f.b[n:]
	return nil
}

var _ i2c.Bus = &fuzzBus{}

// FuzzResponses feeds arbitrary PN532 output to a command and a data exchange over HSU and I2C:
// every outcome must be a result or an error, never a panic or an unbounded wait.
func FuzzResponses(f *testing.F) {
	f.Add(false, []byte{0x00, 0x00, 0xff, 0x00, 0xff, 0x00, 0x00, 0x00, 0xff, 0x06, 0xfa, 0xd5, 0x03, 0x32, 0x01, 0x06, 0x07, 0xe8, 0x00})
	f.Add(true, []byte{0x01, 0x00, 0x00, 0xff, 0x00, 0xff, 0x00, 0x00, 0x00, 0x00, 0x01, 0x01, 0x00, 0x00, 0xff, 0x04, 0xfc, 0xd5, 0x41, 0x00, 0x90, 0x00, 0x57, 0x00})
	f.Add(false, []byte{0x00, 0x00, 0xff, 0x00, 0xff, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x01, 0x0a, 0xf5})
	f.Add(true, []byte{0x01, 0x00, 0x00, 0xff, 0xff, 0xff, 0x01, 0x09, 0xf6, 0xd5, 0x41, 0x40})
	f.Fuzz(func(t *testing.T, i2cBus bool, b []byte) {
		o := DefaultOpts()
		o.ACKTimeout, o.CommandTimeout, o.RFTimeout, o.Poll = 2*time.Millisecond, 2*time.Millisecond, 2*time.Millisecond, time.Microsecond
		o.Retries = 1
		var c Counters
		var l link = &uartLink{port: &fuzzPort{b: b}, name: "fuzz", c: &c}
		if i2cBus {
			l = &i2cLink{dev: i2c.Dev{Bus: &fuzzBus{b: b}, Addr: 0x24}, poll: o.Poll, c: &c}
		}
		d := &Dev{opts: o, link: l}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		if r, err := d.Exec(ctx, cmdGetFirmwareVersion, nil); err == nil && len(r) > MaxExtendedLen {
			t.Fatalf("response of %d bytes", len(r))
		}
		if r, err := d.DataExchange(ctx, 1, []byte{0x00, 0xb0, 0x00, 0x00, 0x00}); err == nil && len(r) > maxExchange {
			t.Fatalf("exchange of %d bytes", len(r))
		}
		if time.Since(start) > 900*time.Millisecond {
			t.Fatalf("took %s", time.Since(start))
		}
	})
}

func TestUARTEndlessPreamble(t *testing.T) {
	var c Counters
	l := &uartLink{port: &zeroPort{}, name: "zeros", c: &c}
	_, err := l.recv(context.Background(), time.Now().Add(5*time.Second))
	if !errors.Is(err, ErrGarbage) {
		t.Fatalf("got %v, want ErrGarbage", err)
	}
	if cap(l.buf) > 4*MaxFrame {
		t.Errorf("buffer grew to %d bytes", cap(l.buf))
	}
}

// zeroPort sends 0x00 forever.
type zeroPort struct{}

func (zeroPort) Write(w []byte) (int, error) { return len(w), nil }
func (zeroPort) Read(r []byte) (int, error) {
	clear(r)
	return len(r), nil
}
