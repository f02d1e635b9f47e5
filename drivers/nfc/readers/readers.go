// Package readers opens an nfc.Reader from a selection string (nfc.ParseSelector): a PN532 on
// a real I2C, SPI or UART bus through periph.io, a PC/SC reader, or "sim", a PN532 emulator on a
// fake I2C bus with a made-up passport in its field. It is the one place that knows every driver.
package readers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2creg"
	"periph.io/x/conn/v3/spi"
	"periph.io/x/conn/v3/spi/spireg"
	"periph.io/x/host/v3"

	"github.com/edgeid/edgeid/drivers/nfc"
	"github.com/edgeid/edgeid/drivers/nfc/pcsc"
	"github.com/edgeid/edgeid/drivers/nfc/pn532"
	"github.com/edgeid/edgeid/drivers/nfc/pn532/pn532sim"
)

// Opts configures Open.
type Opts struct {
	// PN532 and PN532Reader configure PN532 devices (nil: the drivers' defaults).
	PN532       *pn532.Opts
	PN532Reader *pn532.ReaderOpts
	// PCSC configures PC/SC readers (the index or name comes from the selector).
	PCSC *pcsc.Opts
	// SimCard is what "sim" puts in the emulated field; nil puts SimPassport().
	SimCard *pn532sim.Card
	// WrapI2C and WrapSPI, when set, wrap the bus of a PN532 (for recording a transcript).
	WrapI2C func(i2c.Bus) i2c.Bus
	WrapSPI func(spi.PortCloser) spi.PortCloser
	// OpenPCSC opens the PC/SC service; nil means pcsc.Open (tests pass a pcsctest fake).
	OpenPCSC func() (pcsc.System, error)
}

func (o Opts) openPCSC() (pcsc.System, error) {
	if o.OpenPCSC != nil {
		return o.OpenPCSC()
	}
	return pcsc.Open()
}

// Open opens the reader sel names. For a PN532 it initialises the chip, so a wrong bus,
// address or wiring fails here with the reason.
func Open(ctx context.Context, sel nfc.Selector, o Opts) (nfc.Reader, error) {
	switch sel.Driver {
	case "sim":
		r, _, err := OpenSim(ctx, o)
		return r, err
	case "pcsc":
		sys, err := o.openPCSC()
		if err != nil {
			return nil, err
		}
		po := pcsc.DefaultOpts()
		if o.PCSC != nil {
			po = *o.PCSC
		}
		po.Index, po.Name = sel.Index, sel.Name
		r, err := pcsc.New(sys, &po)
		if err != nil {
			_ = sys.Release()
			return nil, err
		}
		return r, nil
	case "pn532":
		d, err := OpenPN532(ctx, sel, o)
		if err != nil {
			return nil, err
		}
		return pn532.NewReader(d, o.PN532Reader)
	}
	return nil, fmt.Errorf("readers: unknown driver %q", sel.Driver)
}

// hostInit loads periph's host drivers (host.Init does the work once and caches the result).
func hostInit() error {
	_, err := host.Init()
	return err
}

// OpenPN532 opens and initialises a PN532 on a real bus.
func OpenPN532(ctx context.Context, sel nfc.Selector, o Opts) (*pn532.Dev, error) {
	po := pn532.DefaultOpts()
	if o.PN532 != nil {
		po = *o.PN532
	}
	if _, err := os.Stat(sel.Path); err != nil {
		return nil, fmt.Errorf("%s: %w%s", sel, err, hint(sel))
	}
	switch sel.Bus {
	case "i2c":
		if err := hostInit(); err != nil {
			return nil, fmt.Errorf("%s: periph host init: %w", sel, err)
		}
		b, err := i2creg.Open(sel.Path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w%s", sel, err, hint(sel))
		}
		if sel.Addr != 0 {
			po.Addr = sel.Addr
		}
		var bus i2c.Bus = b
		if o.WrapI2C != nil {
			bus = o.WrapI2C(b)
		}
		d, err := pn532.NewI2C(ctx, bus, &po)
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("%s: %w%s", sel, err, hint(sel))
		}
		return d, nil
	case "spi":
		if err := hostInit(); err != nil {
			return nil, fmt.Errorf("%s: periph host init: %w", sel, err)
		}
		p, err := spireg.Open(sel.Path)
		if err != nil {
			return nil, fmt.Errorf("%s: %w%s", sel, err, hint(sel))
		}
		if o.WrapSPI != nil {
			p = o.WrapSPI(p)
		}
		d, err := pn532.NewSPI(ctx, p, &po)
		if err != nil {
			p.Close()
			return nil, fmt.Errorf("%s: %w%s", sel, err, hint(sel))
		}
		return d, nil
	case "uart":
		baud := sel.Baud
		if baud == 0 {
			baud = 115200
		}
		tty, err := pn532.OpenTTY(sel.Path, baud)
		if err != nil {
			return nil, fmt.Errorf("%s: %w%s", sel, err, hint(sel))
		}
		d, err := pn532.NewUART(ctx, tty, sel.Path, tty, &po)
		if err != nil {
			tty.Close()
			return nil, fmt.Errorf("%s: %w%s", sel, err, hint(sel))
		}
		return d, nil
	}
	return nil, fmt.Errorf("%s: unknown bus %q", sel, sel.Bus)
}

// hint says what usually causes a PN532 not to answer on this bus.
func hint(sel nfc.Selector) string {
	switch sel.Bus {
	case "i2c":
		return " (check: I2C enabled (dtparam=i2c_arm=on), the PN532's mode switches set to I2C (SEL0=1 SEL1=0), SDA/SCL wired to GPIO2/GPIO3, address 0x24 in i2cdetect)"
	case "spi":
		return " (check: SPI enabled (dtparam=spi=on), mode switches set to SPI (SEL0=0 SEL1=1), MOSI/MISO/SCK/CE0 wired to GPIO10/9/11/8)"
	case "uart":
		return " (check: serial console disabled on this UART, mode switches set to HSU (both 0), TX/RX crossed, 115200 baud)"
	}
	return ""
}

// OpenSim starts a PN532 emulator on a fake I2C bus with card (or SimPassport) in its field,
// and returns the reader and the emulator.
func OpenSim(ctx context.Context, o Opts) (*pn532.Reader, *pn532sim.Chip, error) {
	chip := pn532sim.New()
	card := o.SimCard
	if card == nil {
		card = SimPassport()
	}
	chip.Insert(card)
	var bus i2c.Bus = chip.I2C()
	if o.WrapI2C != nil {
		bus = o.WrapI2C(bus)
	}
	d, err := pn532.NewI2C(ctx, bus, o.PN532)
	if err != nil {
		return nil, nil, fmt.Errorf("sim: %w", err)
	}
	r, err := pn532.NewReader(d, o.PN532Reader)
	if err != nil {
		return nil, nil, err
	}
	return r, chip, nil
}

// Status is one line of a doctor report.
type Status struct {
	Reader string // selection string
	OK     bool
	Detail string // firmware, reader name, or what is wrong
}

// Probe opens sel briefly and reports what it found. For PC/SC it lists every reader.
func Probe(ctx context.Context, sel nfc.Selector, o Opts) []Status {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	switch sel.Driver {
	case "pcsc":
		sys, err := o.openPCSC()
		if err != nil {
			return []Status{{Reader: sel.String(), Detail: err.Error()}}
		}
		defer sys.Release()
		names, err := pcsc.List(sys)
		if err != nil {
			return []Status{{Reader: sel.String(), Detail: err.Error()}}
		}
		if len(names) == 0 {
			return []Status{{Reader: sel.String(), Detail: "pcscd runs but sees no reader (plugged in? lsusb; for an ACR122U blacklist the pn533_usb kernel module)"}}
		}
		var out []Status
		for i, n := range names {
			s := nfc.Selector{Driver: "pcsc", Index: i}
			match := (sel.Name == "" && i == sel.Index) || (sel.Name != "" && strings.Contains(n, sel.Name))
			d := n
			if match {
				d += " (selected)"
			}
			out = append(out, Status{Reader: s.String(), OK: true, Detail: d})
		}
		return out
	case "pn532", "sim":
		var d *pn532.Dev
		var err error
		if sel.Driver == "sim" {
			var r *pn532.Reader
			r, _, err = OpenSim(ctx, o)
			if err == nil {
				d = r.Dev()
			}
		} else {
			d, err = OpenPN532(ctx, sel, o)
		}
		if err != nil {
			return []Status{{Reader: sel.String(), Detail: err.Error()}}
		}
		defer d.Halt()
		return []Status{{Reader: sel.String(), OK: true, Detail: d.Firmware().String() + " on " + d.String()}}
	}
	return []Status{{Reader: sel.String(), Detail: "unknown driver"}}
}

// ErrNoReader is returned by callers that found no working reader.
var ErrNoReader = errors.New("no working NFC reader")
