// Package pn532 drives an NXP PN532 NFC controller over I2C, SPI (periph.io) or a UART in HSU
// mode, following the NXP user manual UM0701: normal and extended information frames,
// ACK/NACK/error frames with LCS/DCS checks on every frame, the I2C ready byte, SPI status reads
// and the HSU wake-up. Commands cover what an e-passport reader needs: GetFirmwareVersion,
// SAMConfiguration, RFConfiguration, InListPassiveTarget (106 kbit/s Type A and B), InPSL,
// InDataExchange with chaining, InDeselect, InRelease, Diagnose and PowerDown.
//
// Recovery: a lost or corrupted ACK makes the driver resend the command; a corrupted response
// is requested again with NACK (the PN532 resends it without running the command twice); a
// command that times out is aborted with an ACK and, when it is safe to repeat, sent again.
// InDataExchange is never repeated after the PN532 acknowledged it: a repeated APDU would
// desynchronise secure messaging. All retries are bounded by Opts.
package pn532

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"
	"periph.io/x/conn/v3/spi"

	"github.com/edgeid/edgeid/drivers/nfc"
)

// Errors a caller may match with errors.Is.
var (
	// ErrLink: the bus itself failed (I2C NACK on the address, SPI or tty error).
	ErrLink = errors.New("host link error")
	// ErrTimeout: no ACK or response within the configured time after all retries.
	ErrTimeout = errors.New("pn532 timeout")
	// ErrProtocol: the PN532 answered with something that is not the expected frame.
	ErrProtocol = errors.New("pn532 protocol error")
	// ErrSyntax: the PN532 sent its application-level error frame (it rejected the command).
	ErrSyntax = errors.New("pn532 rejected the command (error frame)")
)

// StatusError is a non-zero status byte in a PN532 response (UM0701 7.1, table 4).
type StatusError struct {
	Cmd    byte
	Status byte
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("pn532 command %#02x: status %#02x (%s)", e.Cmd, e.Status, statusText(e.Status&0x3f))
}

func statusText(s byte) string {
	switch s {
	case 0x01:
		return "target timeout"
	case 0x02:
		return "CRC error"
	case 0x03:
		return "parity error"
	case 0x04:
		return "wrong bit count during anticollision"
	case 0x05:
		return "framing error"
	case 0x06:
		return "bit collision"
	case 0x07:
		return "communication buffer too small"
	case 0x09:
		return "RF buffer overflow"
	case 0x0a:
		return "RF field not switched on in time"
	case 0x0b:
		return "RF protocol error"
	case 0x0d:
		return "temperature error"
	case 0x0e:
		return "internal buffer overflow"
	case 0x10:
		return "invalid parameter"
	case 0x12:
		return "command not supported by the target"
	case 0x13:
		return "wrong data format"
	case 0x14:
		return "mifare authentication error"
	case 0x23:
		return "wrong UID check byte"
	case 0x25:
		return "invalid device state"
	case 0x26:
		return "operation not allowed in this configuration"
	case 0x27:
		return "command not acceptable in this context"
	case 0x29:
		return "target released"
	case 0x2a:
		return "card ID mismatch"
	case 0x2b:
		return "card disappeared"
	case 0x2c:
		return "NFCID3 mismatch"
	case 0x2d:
		return "over-current"
	case 0x2e:
		return "NAD missing"
	}
	return "unknown"
}

// Opts configures a Dev.
type Opts struct {
	// Addr is the 7-bit I2C address (I2C only).
	Addr uint16
	// Speed is the bus clock: I2C up to 400 kHz, SPI up to 5 MHz. 0 keeps the bus default
	// for I2C and uses 1 MHz for SPI.
	Speed physic.Frequency
	// ExtendedFrames lets the host send extended information frames, so that one
	// InDataExchange carries up to 262 data bytes instead of 252.
	ExtendedFrames bool
	// ACKTimeout bounds the wait for the ACK of a command; CommandTimeout bounds the wait for a
	// response (InListPassiveTarget and InDataExchange get RFTimeout instead).
	ACKTimeout, CommandTimeout, RFTimeout time.Duration
	// Retries bounds resends after a lost ACK, NACK, a checksum error or a timeout.
	Retries int
	// Poll is the interval between I2C/SPI status polls.
	Poll time.Duration
	// Reset, when set, is the RSTPDN line (active low); New pulses it before talking.
	Reset gpio.PinOut
	// IRQ, when set, is the P70_IRQ line (active low when a frame is ready); the driver waits
	// for its falling edge instead of polling the status byte as often.
	IRQ gpio.PinIn
}

// DefaultOpts returns the settings used when a constructor gets nil.
func DefaultOpts() Opts {
	return Opts{
		Addr:           DefaultI2CAddr,
		ExtendedFrames: true,
		ACKTimeout:     30 * time.Millisecond,
		CommandTimeout: 200 * time.Millisecond,
		RFTimeout:      1500 * time.Millisecond,
		Retries:        3,
		Poll:           time.Millisecond,
	}
}

func (o *Opts) validate() error {
	if o.ACKTimeout <= 0 || o.CommandTimeout <= 0 || o.RFTimeout <= 0 {
		return errors.New("pn532: timeouts must be positive")
	}
	if o.Retries < 0 || o.Retries > 10 {
		return fmt.Errorf("pn532: Retries=%d, want 0-10", o.Retries)
	}
	if o.Poll <= 0 || o.Poll > 100*time.Millisecond {
		return fmt.Errorf("pn532: Poll=%s, want 1ns-100ms", o.Poll)
	}
	return nil
}

// Dev is a PN532.
type Dev struct {
	mu   sync.Mutex // one command at a time
	opts Opts
	link link
	c    Counters
	fw   Firmware
}

var _ conn.Resource = &Dev{}

func newDev(ctx context.Context, opts *Opts, mk func(o *Opts, c *Counters) (link, error)) (*Dev, error) {
	o := DefaultOpts()
	if opts != nil {
		o = *opts
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	d := &Dev{opts: o}
	if o.IRQ != nil {
		if err := o.IRQ.In(gpio.PullUp, gpio.FallingEdge); err != nil {
			return nil, fmt.Errorf("pn532: IRQ pin %s: %w", o.IRQ, err)
		}
	}
	l, err := mk(&d.opts, &d.c)
	if err != nil {
		return nil, err
	}
	d.link = l
	if err := d.Init(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

// NewI2C opens a PN532 on an I2C bus and initialises it (Init).
func NewI2C(ctx context.Context, b i2c.Bus, opts *Opts) (*Dev, error) {
	return newDev(ctx, opts, func(o *Opts, c *Counters) (link, error) {
		if o.Addr == 0 {
			o.Addr = DefaultI2CAddr
		}
		if o.Addr > 0x7f {
			return nil, fmt.Errorf("pn532: I2C address %#x is not 7-bit", o.Addr)
		}
		if o.Speed > 0 {
			if o.Speed > 400*physic.KiloHertz {
				return nil, fmt.Errorf("pn532: I2C speed %s above the PN532's 400kHz", o.Speed)
			}
			if err := b.SetSpeed(o.Speed); err != nil {
				return nil, fmt.Errorf("pn532: set I2C speed: %w", err)
			}
		}
		return &i2cLink{dev: i2c.Dev{Bus: b, Addr: o.Addr}, irq: o.IRQ, poll: o.Poll, c: c}, nil
	})
}

// NewSPI opens a PN532 on an SPI port (mode 0, bytes bit-reversed in software) and
// initialises it.
func NewSPI(ctx context.Context, p spi.Port, opts *Opts) (*Dev, error) {
	return newDev(ctx, opts, func(o *Opts, c *Counters) (link, error) {
		if o.Speed == 0 {
			o.Speed = physic.MegaHertz
		}
		if o.Speed > 5*physic.MegaHertz {
			return nil, fmt.Errorf("pn532: SPI speed %s above the PN532's 5MHz", o.Speed)
		}
		cn, err := p.Connect(o.Speed, spi.Mode0, 8)
		if err != nil {
			return nil, fmt.Errorf("pn532: connect SPI: %w", err)
		}
		return &spiLink{conn: cn, name: fmt.Sprint(p), irq: o.IRQ, poll: o.Poll, c: c}, nil
	})
}

// NewUART opens a PN532 in HSU mode on a serial port and initialises it. name is used in
// messages; closer (may be nil) is closed by Halt.
func NewUART(ctx context.Context, p Port, name string, closer interface{ Close() error }, opts *Opts) (*Dev, error) {
	return newDev(ctx, opts, func(o *Opts, c *Counters) (link, error) {
		return &uartLink{port: p, name: name, closer: closer, c: c, sleepin: true}, nil
	})
}

// Firmware is the answer to GetFirmwareVersion.
type Firmware struct {
	IC, Ver, Rev, Support byte
}

func (f Firmware) String() string {
	return fmt.Sprintf("PN5%02x v%d.%d (support %#02x)", f.IC, f.Ver, f.Rev, f.Support)
}

// Init resets (when Opts.Reset is set), wakes the PN532, checks the firmware and configures the
// SAM (normal mode) and RF retries so that polls return quickly.
func (d *Dev) Init(ctx context.Context) error {
	if d.opts.Reset != nil {
		if err := d.opts.Reset.Out(gpio.Low); err != nil {
			return fmt.Errorf("pn532: reset low: %w", err)
		}
		if err := nfc.Sleep(ctx, 10*time.Millisecond); err != nil {
			return err
		}
		if err := d.opts.Reset.Out(gpio.High); err != nil {
			return fmt.Errorf("pn532: reset high: %w", err)
		}
		if err := nfc.Sleep(ctx, 10*time.Millisecond); err != nil {
			return err
		}
		d.link.asleep()
	}
	// In HSU mode SAMConfiguration must be the first command after a wake-up.
	if err := d.SAMConfiguration(ctx); err != nil {
		return err
	}
	fw, err := d.FirmwareVersion(ctx)
	if err != nil {
		return err
	}
	if fw.IC != 0x32 {
		return fmt.Errorf("pn532: firmware reports IC %#02x, want 0x32 (PN532): %w", fw.IC, ErrProtocol)
	}
	d.fw = fw
	// MxRtyATR=0xff (default), MxRtyPSL=0x01, MxRtyPassiveActivation=0x02: a poll returns fast.
	if err := d.RFConfiguration(ctx, 0x05, []byte{0xff, 0x01, 0x02}); err != nil {
		return err
	}
	// RFU, ATR_RES timeout 102 ms (0x0b), retry timeout 51.2 ms (0x0a) for InDataExchange waits.
	return d.RFConfiguration(ctx, 0x02, []byte{0x00, 0x0b, 0x0a})
}

// String describes the device: "pn532(i2c /dev/i2c-1 0x24)".
func (d *Dev) String() string { return "pn532(" + d.link.String() + ")" }

// Counters gives the host-link traffic so far.
func (d *Dev) Counters() *Counters { return &d.c }

// Firmware is the version read by Init.
func (d *Dev) Firmware() Firmware { return d.fw }

// Halt switches the RF field off and powers the PN532 down (it wakes on the next command),
// then closes the tty of a UART device.
func (d *Dev) Halt() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	err := d.RFConfiguration(ctx, 0x01, []byte{0x00})
	if _, e := d.Exec(ctx, cmdPowerDown, []byte{0xb0}); e != nil && err == nil { // wake on I2C, SPI, HSU
		err = e
	}
	d.link.asleep()
	if e := d.link.close(); e != nil && err == nil {
		err = e
	}
	return err
}

// Command codes.
const (
	cmdDiagnose            = 0x00
	cmdGetFirmwareVersion  = 0x02
	cmdSetParameters       = 0x12
	cmdSAMConfiguration    = 0x14
	cmdPowerDown           = 0x16
	cmdRFConfiguration     = 0x32
	cmdInDataExchange      = 0x40
	cmdInDeselect          = 0x44
	cmdInListPassiveTarget = 0x4a
	cmdInPSL               = 0x4e
	cmdInRelease           = 0x52
)

// Exec runs one command: it sends D4 cmd params, waits for the ACK and the response D5 cmd+1,
// and returns the response parameters. Commands other than InDataExchange are repeated after a
// timeout.
func (d *Dev) Exec(ctx context.Context, cmd byte, params []byte) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.exec(ctx, cmd, params)
}

func (d *Dev) exec(ctx context.Context, cmd byte, params []byte) ([]byte, error) {
	data := make([]byte, 0, 1+len(params))
	data = append(append(data, cmd), params...)
	frame, err := AppendFrame(nil, TFIHost, data, false)
	if err != nil {
		return nil, fmt.Errorf("pn532 command %#02x: %w", cmd, err)
	}
	timeout := d.opts.CommandTimeout
	repeatable := true
	switch cmd {
	case cmdInListPassiveTarget, cmdInDataExchange, cmdInPSL, cmdDiagnose:
		timeout = d.opts.RFTimeout
	}
	if cmd == cmdInDataExchange {
		repeatable = false
	}
	var lastErr error
	for attempt := 0; attempt <= d.opts.Retries; attempt++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := d.link.send(ctx, frame); err != nil {
			return nil, err
		}
		f, err := d.link.recv(ctx, time.Now().Add(d.opts.ACKTimeout))
		acked := false
		switch {
		case err != nil && (errors.Is(err, ErrLink) || ctx.Err() != nil):
			return nil, err
		case err == nil && f.Kind == ACK:
			acked = true
		case err == nil && f.Kind == NACK:
			// The PN532 asks for the command again: it did not run it.
			lastErr = fmt.Errorf("command %#02x: NACK from the PN532: %w", cmd, ErrProtocol)
			continue
		case err == nil && isResponse(f, cmd):
			return f.Data[1:], nil // the ACK was lost, the response was not
		default:
			// No ACK, a corrupted one, a NACK or some other frame. The command may still have
			// run: listen for its response (which may already be buffered) before sending it
			// again.
		}
		resp, again, err := d.response(ctx, cmd, timeout)
		if err == nil {
			return resp, nil
		}
		lastErr = err
		if !acked && errors.Is(err, ErrTimeout) {
			// Neither ACK nor response: the PN532 most likely never decoded the command, so
			// sending it again is safe even for InDataExchange.
			lastErr = fmt.Errorf("no ACK and no response: %w", err)
			continue
		}
		if !again || !repeatable {
			return nil, err
		}
	}
	return nil, fmt.Errorf("pn532 command %#02x failed %d times: %w", cmd, d.opts.Retries+1, lastErr)
}

func isResponse(f Frame, cmd byte) bool {
	return f.Kind == Info && f.TFI == TFIChip && len(f.Data) > 0 && f.Data[0] == cmd+1
}

// response waits for the response to cmd. again reports whether resending the command may help.
func (d *Dev) response(ctx context.Context, cmd byte, timeout time.Duration) (resp []byte, again bool, err error) {
	deadline := time.Now().Add(timeout)
	for nacks := 0; ; {
		f, err := d.link.recv(ctx, deadline)
		switch {
		case err == nil:
		case errors.Is(err, ErrLink) || ctx.Err() != nil:
			if ctx.Err() != nil {
				d.abort()
			}
			return nil, false, err
		case errors.Is(err, ErrTimeout):
			d.abort()
			return nil, true, fmt.Errorf("command %#02x: no response within %s: %w", cmd, timeout, err)
		default: // checksum, garbage, oversize, truncated: ask for the same frame again
			if nacks >= d.opts.Retries {
				d.abort()
				return nil, true, fmt.Errorf("command %#02x: bad response after %d NACKs: %w", cmd, nacks, err)
			}
			nacks++
			d.link.resync()
			if err := d.link.send(ctx, nackFrame()); err != nil {
				return nil, false, err
			}
			continue
		}
		switch {
		case f.Kind == ErrorFrame:
			return nil, false, fmt.Errorf("command %#02x: %w", cmd, ErrSyntax)
		case f.Kind != Info:
			// A stray ACK/NACK: keep waiting for the response within the same deadline.
			continue
		case f.TFI != TFIChip || len(f.Data) == 0:
			return nil, true, fmt.Errorf("command %#02x: response TFI %#02x with %d bytes: %w", cmd, f.TFI, len(f.Data), ErrProtocol)
		case f.Data[0] != cmd+1:
			// A late response to an earlier, aborted command: skip it.
			continue
		}
		return f.Data[1:], false, nil
	}
}

// abort sends an ACK, which makes the PN532 abort the command in progress (UM0701 6.2.1.3).
func (d *Dev) abort() {
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_ = d.link.send(ctx, ackFrame())
	d.link.resync()
}

// FirmwareVersion runs GetFirmwareVersion.
func (d *Dev) FirmwareVersion(ctx context.Context) (Firmware, error) {
	r, err := d.Exec(ctx, cmdGetFirmwareVersion, nil)
	if err != nil {
		return Firmware{}, err
	}
	if len(r) != 4 {
		return Firmware{}, fmt.Errorf("GetFirmwareVersion: %d bytes, want 4: %w", len(r), ErrProtocol)
	}
	return Firmware{IC: r[0], Ver: r[1], Rev: r[2], Support: r[3]}, nil
}

// SAMConfiguration selects normal mode (no SAM), timeout 1 s, IRQ line used.
func (d *Dev) SAMConfiguration(ctx context.Context) error {
	_, err := d.Exec(ctx, cmdSAMConfiguration, []byte{0x01, 0x14, 0x01})
	return err
}

// RFConfiguration sets one configuration item (1 RF field, 2 timings, 5 max retries, ...).
func (d *Dev) RFConfiguration(ctx context.Context, item byte, data []byte) error {
	_, err := d.Exec(ctx, cmdRFConfiguration, append([]byte{item}, data...))
	return err
}

// status checks the status byte that starts many responses.
func status(cmd byte, r []byte) ([]byte, error) {
	if len(r) == 0 {
		return nil, fmt.Errorf("command %#02x: empty response, status byte missing: %w", cmd, ErrProtocol)
	}
	if r[0]&0x3f != 0 {
		return nil, &StatusError{Cmd: cmd, Status: r[0]}
	}
	return r[1:], nil
}

// Bit rates for InPSL.
const (
	BR106 = 0x00
	BR212 = 0x01
	BR424 = 0x02
)

// InPSL changes the bit rates of an activated Type A target (initiator->target, target->initiator).
func (d *Dev) InPSL(ctx context.Context, tg, brit, brti byte) error {
	r, err := d.Exec(ctx, cmdInPSL, []byte{tg, brit, brti})
	if err != nil {
		return err
	}
	_, err = status(cmdInPSL, r)
	return err
}

// InDeselect deselects a target (it stays known to the PN532).
func (d *Dev) InDeselect(ctx context.Context, tg byte) error {
	r, err := d.Exec(ctx, cmdInDeselect, []byte{tg})
	if err != nil {
		return err
	}
	_, err = status(cmdInDeselect, r)
	return err
}

// InRelease releases a target (0 = all).
func (d *Dev) InRelease(ctx context.Context, tg byte) error {
	r, err := d.Exec(ctx, cmdInRelease, []byte{tg})
	if err != nil {
		return err
	}
	_, err = status(cmdInRelease, r)
	return err
}

// Present runs Diagnose test 6 (attention request / card presence) on the current ISO 14443-4
// target: nil when it answers.
func (d *Dev) Present(ctx context.Context) error {
	r, err := d.Exec(ctx, cmdDiagnose, []byte{0x06})
	if err != nil {
		return err
	}
	_, err = status(cmdDiagnose, r)
	return err
}

// maxDataOut is what one InDataExchange carries after Tg.
func (d *Dev) maxDataOut() int {
	if d.opts.ExtendedFrames {
		return MaxExtendedLen - 3 // TFI, command, Tg
	}
	return MaxNormalLen - 3
}

// maxExchange bounds a whole chained response (an extended-length APDU response is at most
// 65536 + 2 bytes).
const maxExchange = 65538

// DataExchange sends data to target tg with InDataExchange, chaining on the host link with the
// MI bit when it does not fit one frame, and collects a chained response.
func (d *Dev) DataExchange(ctx context.Context, tg byte, data []byte) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(data) > maxExchange {
		return nil, fmt.Errorf("InDataExchange: %d bytes, more than %d", len(data), maxExchange)
	}
	chunk := d.maxDataOut()
	var r []byte
	var err error
	for {
		n := min(len(data), chunk)
		t := tg
		if n < len(data) {
			t |= 0x40 // MI: more information follows
		}
		r, err = d.exec(ctx, cmdInDataExchange, append([]byte{t}, data[:n]...))
		if err != nil {
			return nil, err
		}
		data = data[n:]
		if len(data) == 0 {
			break
		}
		if _, err := status(cmdInDataExchange, r); err != nil {
			return nil, err
		}
	}
	var out []byte
	for {
		if len(r) == 0 {
			return nil, fmt.Errorf("InDataExchange: empty response: %w", ErrProtocol)
		}
		st := r[0]
		if st&0x3f != 0 {
			return nil, &StatusError{Cmd: cmdInDataExchange, Status: st}
		}
		if len(out)+len(r)-1 > maxExchange {
			return nil, fmt.Errorf("InDataExchange: chained response over %d bytes: %w", maxExchange, ErrProtocol)
		}
		out = append(out, r[1:]...)
		if st&0x40 == 0 {
			return out, nil
		}
		if r, err = d.exec(ctx, cmdInDataExchange, []byte{tg}); err != nil {
			return nil, err
		}
	}
}
