// Package pn532sim emulates a PN532 at the frame level on fake I2C, SPI and UART links, with a
// card in its field whose APDUs go to any responder (the virtual passport of
// drivers/emrtd/emrtdsim, or nfcsim.FileCard). Faults (lost ACK, corrupted frames, a silent or
// slow chip, an unplugged bus, garbage on the line) are injected by tests. It backs the "sim" reader of edgeid.
package pn532sim

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
	"github.com/edgeid/edgeid/drivers/nfc/pn532"
)

// Responder answers APDUs; drivers/emrtd.Transceiver has this shape.
type Responder interface {
	Transceive(ctx context.Context, command []byte) (response []byte, err error)
}

// Card is what sits in the emulated field.
type Card struct {
	Protocol nfc.Protocol
	UID      []byte
	ATQA     [2]byte
	SAK      byte
	ATS      []byte // Type A, TL included
	ATQB     []byte // Type B, 12 bytes starting 0x50
	ATTRIB   []byte
	Chip     Responder
}

// PassportA is a Type A ISO 14443-4 card with an ATS that offers 424 kbit/s both ways and
// announces extended length in its historical bytes.
func PassportA(chip Responder) *Card {
	return &Card{
		Protocol: nfc.TypeA,
		UID:      []byte{0x08, 0x12, 0x34, 0x56}, // random UID (08 ...), as passports use
		ATQA:     [2]byte{0x00, 0x04},
		SAK:      0x20,
		// TL T0(TA TB TC, FSCI=8) TA=0x22 (DS=DR=4) TB TC, historical 80 73 c0 21 40 (compact
		// TLV card capabilities, third byte 0x40: extended Lc/Le).
		ATS:  []byte{0x0c, 0x78, 0x22, 0x81, 0x02, 0x80, 0x73, 0xc0, 0x21, 0x40, 0x00, 0x00},
		Chip: chip,
	}
}

// PassportB is a Type B card.
func PassportB(chip Responder) *Card {
	return &Card{
		Protocol: nfc.TypeB,
		ATQB:     []byte{0x50, 0x1a, 0x2b, 0x3c, 0x4d, 0x00, 0x00, 0x00, 0x00, 0x80, 0x81, 0xe1},
		ATTRIB:   []byte{0x00},
		Chip:     chip,
	}
}

// Faults are injected once each and counted down.
type Faults struct {
	DropACK         int           // commands whose ACK is not sent (the command still runs)
	CorruptACK      int           // ACKs sent with a broken start code
	CorruptResponse int           // responses sent with a wrong DCS (a NACK gets a good copy)
	IgnoreCommands  int           // commands silently ignored (no ACK, no response)
	NACKCommands    int           // commands answered with NACK and not run
	Garbage         []byte        // bytes put on the line before the next frame (UART) or read (I2C/SPI)
	Delay           time.Duration // time between ACK and response
	Silent          bool          // never answer anything
	Unplugged       bool          // bus transactions fail (I2C address NACK, tty error)
}

// Chip is the emulated PN532.
type Chip struct {
	// NACKWhileAsleep makes the I2C transaction that wakes a powered-down chip fail, as
	// some modules do. Set it before use.
	NACKWhileAsleep bool

	mu         sync.Mutex
	sleepAfter bool
	fw         [4]byte
	card       *Card
	active     bool
	rate       [2]byte
	faults     Faults
	out        []outFrame // frames waiting for the host
	readyAt    time.Time
	last       []byte // last frame delivered, resent on NACK
	in         []byte // UART input stream
	stream     []byte // UART output stream
	rxChain    []byte
	txRemain   []byte
	asleep     bool
	ext        bool // answer with extended frames when data exceeds a normal frame
	cmds       []byte
	apdus      int
}

// outFrame is a frame queued for the host: wire is what is sent, good what a NACK resends.
type outFrame struct {
	wire, good []byte
	ack        bool
	sleep      bool // the chip powers down once this frame is delivered (PowerDown)
}

// New returns a PN532 v1.6 with an empty field.
func New() *Chip {
	return &Chip{fw: [4]byte{0x32, 0x01, 0x06, 0x07}, ext: true}
}

// SetExtendedResponses chooses whether InDataExchange answers use extended frames (up to 262
// data bytes) or stop at normal frames (252) and chain with MI.
func (c *Chip) SetExtendedResponses(on bool) {
	c.mu.Lock()
	c.ext = on
	c.mu.Unlock()
}

// Insert puts a card in the field (nil removes it).
func (c *Chip) Insert(card *Card) {
	c.mu.Lock()
	c.card, c.active = card, false
	c.mu.Unlock()
}

// Remove takes the card out of the field.
func (c *Chip) Remove() { c.Insert(nil) }

// SetFaults replaces the fault settings.
func (c *Chip) SetFaults(f Faults) {
	c.mu.Lock()
	c.faults = f
	c.mu.Unlock()
}

// Faults returns what is left of the injected faults.
func (c *Chip) Faults() Faults {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.faults
}

// Commands returns the command codes executed so far.
func (c *Chip) Commands() []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]byte(nil), c.cmds...)
}

// APDUs counts the APDUs forwarded to the card.
func (c *Chip) APDUs() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.apdus
}

// Asleep reports whether the chip is powered down.
func (c *Chip) Asleep() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.asleep
}

// input handles one complete host frame (I2C write, SPI DW). Caller holds mu.
func (c *Chip) input(b []byte) {
	f, _, err := pn532.Decode(b)
	if err != nil {
		return // a PN532 ignores what it cannot decode
	}
	c.asleep = false
	c.handle(f)
}

func (c *Chip) handle(f pn532.Frame) {
	switch f.Kind {
	case pn532.ACK:
		c.out, c.rxChain = nil, nil // abort
		return
	case pn532.NACK:
		if c.last != nil {
			wire := c.last
			if c.faults.CorruptResponse > 0 {
				c.faults.CorruptResponse--
				wire = append([]byte(nil), wire...)
				wire[len(wire)-2]++
			}
			c.out = append([]outFrame{{wire: wire, good: c.last}}, c.out...)
		}
		return
	case pn532.Info:
	default:
		return
	}
	if f.TFI != pn532.TFIHost || len(f.Data) == 0 {
		return
	}
	if c.faults.IgnoreCommands > 0 {
		c.faults.IgnoreCommands--
		return
	}
	if c.faults.NACKCommands > 0 {
		c.faults.NACKCommands--
		nack := []byte{0x00, 0x00, 0xff, 0xff, 0x00, 0x00}
		c.out = []outFrame{{wire: nack, good: nack, ack: true}}
		return
	}
	c.out = nil
	switch {
	case c.faults.DropACK > 0:
		c.faults.DropACK--
	case c.faults.CorruptACK > 0:
		c.faults.CorruptACK--
		bad := []byte{0x00, 0x00, 0xfe, 0x00, 0xff, 0x00}
		c.out = append(c.out, outFrame{wire: bad, good: bad, ack: true})
	default:
		ack := []byte{0x00, 0x00, 0xff, 0x00, 0xff, 0x00}
		c.out = append(c.out, outFrame{wire: ack, good: ack, ack: true})
	}
	c.cmds = append(c.cmds, f.Data[0])
	resp := c.exec(f.Data[0], f.Data[1:])
	var frame []byte
	if resp == nil {
		frame = []byte{0x00, 0x00, 0xff, 0x01, 0xff, 0x7f, 0x81, 0x00}
	} else {
		frame, _ = pn532.AppendFrame(nil, pn532.TFIChip, append([]byte{f.Data[0] + 1}, resp...), false)
	}
	wire := frame
	if c.faults.CorruptResponse > 0 {
		c.faults.CorruptResponse--
		wire = append([]byte(nil), frame...)
		wire[len(wire)-2]++
	}
	c.out = append(c.out, outFrame{wire: wire, good: frame, sleep: c.sleepAfter})
	c.sleepAfter = false
	c.readyAt = time.Now().Add(c.faults.Delay)
}

// exec runs a command; nil means "answer with the error frame".
func (c *Chip) exec(cmd byte, p []byte) []byte {
	switch cmd {
	case 0x00: // Diagnose
		if len(p) == 0 {
			return nil
		}
		switch p[0] {
		case 0x00:
			return append([]byte(nil), p[1:]...)
		case 0x06:
			if c.card != nil && c.active {
				return []byte{0x00}
			}
			return []byte{0x01}
		}
		return []byte{0x10}
	case 0x02:
		return c.fw[:]
	case 0x12, 0x14:
		return []byte{}
	case 0x16:
		c.active, c.sleepAfter = false, true
		return []byte{0x00}
	case 0x32:
		if len(p) == 0 {
			return nil
		}
		return []byte{}
	case 0x4a:
		if len(p) < 2 || p[0] < 1 || p[0] > 2 {
			return nil
		}
		c.active = false
		k := c.card
		switch {
		case k == nil:
			return []byte{0x00}
		case p[1] == 0x00 && k.Protocol == nfc.TypeA:
			r := []byte{0x01, 0x01, k.ATQA[0], k.ATQA[1], k.SAK, byte(len(k.UID))}
			r = append(r, k.UID...)
			if k.SAK&0x20 != 0 {
				r = append(r, k.ATS...)
			}
			c.active = true
			return r
		case p[1] == 0x03 && k.Protocol == nfc.TypeB:
			r := append([]byte{0x01, 0x01}, k.ATQB...)
			r = append(r, byte(len(k.ATTRIB)))
			c.active = true
			return append(r, k.ATTRIB...)
		}
		return []byte{0x00}
	case 0x4e:
		if len(p) != 3 || p[1] > 2 || p[2] > 2 {
			return []byte{0x10}
		}
		if !c.active || c.card.Protocol != nfc.TypeA {
			return []byte{0x27}
		}
		c.rate = [2]byte{p[1], p[2]}
		return []byte{0x00}
	case 0x40:
		return c.dataExchange(p)
	case 0x44, 0x52:
		c.active, c.rxChain, c.txRemain = false, nil, nil
		return []byte{0x00}
	}
	return nil
}

func (c *Chip) dataExchange(p []byte) []byte {
	if len(p) == 0 {
		return nil
	}
	if c.card == nil {
		c.active = false
		return []byte{0x01} // timeout: nobody answered
	}
	if !c.active {
		return []byte{0x27}
	}
	if p[0]&0x40 != 0 {
		if len(c.rxChain)+len(p)-1 > 65544 {
			return []byte{0x0e}
		}
		c.rxChain = append(c.rxChain, p[1:]...)
		return []byte{0x00}
	}
	var resp []byte
	if len(p) == 1 && c.txRemain != nil {
		resp, c.txRemain = c.txRemain, nil
	} else {
		apdu := append(c.rxChain, p[1:]...)
		c.rxChain = nil
		c.apdus++
		r, err := c.card.Chip.Transceive(context.Background(), apdu)
		if err != nil {
			return []byte{0x01}
		}
		resp = r
	}
	max := pn532.MaxNormalLen - 3
	if c.ext {
		max = pn532.MaxExtendedLen - 3
	}
	if len(resp) > max {
		c.txRemain = append([]byte(nil), resp[max:]...)
		return append([]byte{0x40}, resp[:max]...)
	}
	return append([]byte{0x00}, resp...)
}

// ready reports whether a frame may be read now. Caller holds mu.
func (c *Chip) ready() bool {
	if c.faults.Silent || len(c.out) == 0 {
		return false
	}
	// The ACK is ready at once, the response after Delay.
	if c.out[0].ack {
		return true
	}
	return !time.Now().Before(c.readyAt)
}

// readPacket fills r (status byte then frame bytes) for an I2C read or SPI DR.
func (c *Chip) readPacket(r []byte, withStatus bool) {
	clear(r)
	if !c.ready() {
		return
	}
	if withStatus && len(r) == 1 {
		r[0] = 0x01 // a status-only read leaves the frame in place
		return
	}
	of := c.out[0]
	c.out = c.out[1:]
	f := of.wire
	if len(c.faults.Garbage) > 0 {
		f = append(append([]byte(nil), c.faults.Garbage...), f...)
		c.faults.Garbage = nil
	}
	c.last = of.good
	if of.sleep {
		c.asleep = true
	}
	if withStatus {
		r[0] = 0x01
		r = r[1:]
	}
	copy(r, f)
}

// ---- I2C ----

// I2C returns an i2c.Bus with the chip at address 0x24.
func (c *Chip) I2C() *I2CBus { return &I2CBus{c: c} }

// I2CBus is a fake I2C bus.
type I2CBus struct{ c *Chip }

var _ i2c.Bus = &I2CBus{}

func (b *I2CBus) String() string { return "pn532sim-i2c" }

// SetSpeed implements i2c.Bus.
func (b *I2CBus) SetSpeed(physic.Frequency) error { return nil }

// Tx implements i2c.Bus.
func (b *I2CBus) Tx(addr uint16, w, r []byte) error {
	c := b.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.faults.Unplugged || addr != pn532.DefaultI2CAddr {
		return fmt.Errorf("i2c: no device at %#02x (address NACK)", addr)
	}
	if c.asleep && c.NACKWhileAsleep {
		// The address match wakes the chip, but this transaction is not acknowledged.
		c.asleep = false
		return fmt.Errorf("i2c: no device at %#02x (address NACK)", addr)
	}
	if len(w) > 0 {
		c.input(w)
	}
	if len(r) > 0 {
		c.readPacket(r, true)
	}
	return nil
}

// ---- SPI ----

// SPI returns an spi.Port for the chip.
func (c *Chip) SPI() *SPIPort { return &SPIPort{c: c} }

// SPIPort is a fake SPI port (mode 0, bytes LSB first on the wire).
type SPIPort struct{ c *Chip }

var _ spi.PortCloser = &SPIPort{}

// Close implements spi.PortCloser.
func (p *SPIPort) Close() error { return nil }

func (p *SPIPort) String() string { return "pn532sim-spi" }

// LimitSpeed implements spi.Port.
func (p *SPIPort) LimitSpeed(physic.Frequency) error { return nil }

// Connect implements spi.Port.
func (p *SPIPort) Connect(f physic.Frequency, mode spi.Mode, bits int) (spi.Conn, error) {
	if mode&3 != spi.Mode0 || bits != 8 || f > 5*physic.MegaHertz {
		return nil, fmt.Errorf("pn532sim: SPI wants mode 0, 8 bits, <=5MHz; got %s %d bits %s", mode, bits, f)
	}
	return &spiConn{c: p.c}, nil
}

type spiConn struct{ c *Chip }

func (s *spiConn) String() string      { return "pn532sim-spi" }
func (s *spiConn) Duplex() conn.Duplex { return conn.Full }
func (s *spiConn) TxPackets([]spi.Packet) error {
	return errors.New("pn532sim: TxPackets not emulated")
}

func rev(b byte) byte {
	var r byte
	for i := 0; i < 8; i++ {
		r = r<<1 | b&1
		b >>= 1
	}
	return r
}

// Tx implements spi.Conn.
func (s *spiConn) Tx(w, r []byte) error {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.faults.Unplugged {
		return errors.New("spi: transfer failed")
	}
	if len(w) == 0 || len(r) != len(w) {
		return fmt.Errorf("pn532sim: SPI Tx with w=%d r=%d bytes", len(w), len(r))
	}
	in := make([]byte, len(w))
	for i, b := range w {
		in[i] = rev(b)
	}
	clear(r)
	switch in[0] {
	case 0x01:
		c.input(in[1:])
	case 0x02:
		if len(r) > 1 && c.ready() {
			r[1] = rev(0x01)
		}
	case 0x03:
		c.readPacket(r[1:], false)
		for i := range r {
			r[i] = rev(r[i])
		}
	}
	return nil
}

// ---- UART ----

// UART returns a serial port whose Read waits at most 5 ms, like a tty with VTIME.
func (c *Chip) UART() *UARTPort { return &UARTPort{c: c} }

// UARTPort is a fake HSU link.
type UARTPort struct{ c *Chip }

// Write implements io.Writer.
func (u *UARTPort) Write(p []byte) (int, error) {
	c := u.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.faults.Unplugged {
		return 0, errors.New("write /dev/ttyUSB0: input/output error")
	}
	c.in = append(c.in, p...)
	for len(c.in) > 0 {
		f, n, err := pn532.Decode(c.in)
		var inc *pn532.IncompleteError
		if errors.As(err, &inc) {
			if len(c.in) > 2*pn532.MaxFrame {
				c.in = nil // endless preamble: drop it, as the chip's buffer would
			}
			break
		}
		woke := false
		for _, b := range c.in[:n] {
			if b == 0x55 {
				woke = true
			}
		}
		if woke {
			c.asleep = false
		}
		c.in = c.in[n:]
		if err == nil && !c.asleep {
			c.handle(f)
		}
		if n == 0 {
			c.in = nil
		}
	}
	return len(p), nil
}

// Read implements io.Reader.
func (u *UARTPort) Read(p []byte) (int, error) {
	c := u.c
	deadline := time.Now().Add(5 * time.Millisecond)
	for {
		c.mu.Lock()
		if c.faults.Unplugged {
			c.mu.Unlock()
			return 0, errors.New("read /dev/ttyUSB0: input/output error")
		}
		for len(c.stream) < len(p) && c.ready() {
			if len(c.faults.Garbage) > 0 {
				c.stream = append(c.stream, c.faults.Garbage...)
				c.faults.Garbage = nil
			}
			of := c.out[0]
			c.out = c.out[1:]
			c.stream = append(c.stream, of.wire...)
			c.last = of.good
			if of.sleep {
				c.asleep = true
			}
		}
		if len(c.stream) > 0 {
			n := copy(p, c.stream)
			c.stream = c.stream[n:]
			c.mu.Unlock()
			return n, nil
		}
		c.mu.Unlock()
		if !time.Now().Before(deadline) {
			return 0, nil
		}
		time.Sleep(200 * time.Microsecond)
	}
}

// Pin is a fake RSTPDN line that records its levels.
type Pin struct {
	gpio.PinOut
	mu     sync.Mutex
	Levels []gpio.Level
}

// Out implements gpio.PinOut.
func (p *Pin) Out(l gpio.Level) error {
	p.mu.Lock()
	p.Levels = append(p.Levels, l)
	p.mu.Unlock()
	return nil
}

// String implements gpio.PinOut.
func (p *Pin) String() string { return "fake-rstpdn" }

// IRQ returns the chip's P70_IRQ line: low while a frame waits for the host.
func (c *Chip) IRQ() *IRQPin { return &IRQPin{c: c} }

// IRQPin is the emulated P70_IRQ output, seen by the host as an input. Only the methods the
// driver uses are implemented; the embedded interface is nil.
type IRQPin struct {
	gpio.PinIn
	c *Chip
}

func (p *IRQPin) String() string { return "pn532sim-irq" }

// In implements gpio.PinIn.
func (p *IRQPin) In(gpio.Pull, gpio.Edge) error { return nil }

// Read implements gpio.PinIn.
func (p *IRQPin) Read() gpio.Level {
	p.c.mu.Lock()
	defer p.c.mu.Unlock()
	if p.c.ready() {
		return gpio.Low
	}
	return gpio.High
}

// WaitForEdge implements gpio.PinIn: it returns true when the line goes low within timeout.
func (p *IRQPin) WaitForEdge(timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for {
		if p.Read() == gpio.Low {
			return true
		}
		if !time.Now().Before(deadline) {
			return false
		}
		time.Sleep(100 * time.Microsecond)
	}
}
