package readers

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/physic"

	"github.com/edgeid/edgeid/drivers/nfc"
	"github.com/edgeid/edgeid/drivers/nfc/pcsc"
	"github.com/edgeid/edgeid/drivers/nfc/pcsc/pcsctest"
	"github.com/edgeid/edgeid/drivers/nfc/pn532"
	"github.com/edgeid/edgeid/drivers/nfc/pn532/pn532sim"
)

type transceiver interface {
	Transceive(context.Context, []byte) ([]byte, error)
}

// readEF selects an EF by identifier and reads size bytes with READ BINARY of le bytes each
// (extended Le above 256). It returns the data and the number of APDUs sent.
func readEF(ctx context.Context, tr transceiver, fid uint16, size, le int) ([]byte, int, error) {
	apdus := 1
	r, err := tr.Transceive(ctx, []byte{0x00, 0xa4, 0x02, 0x0c, 0x02, byte(fid >> 8), byte(fid)})
	if err != nil {
		return nil, apdus, err
	}
	if !bytes.Equal(r, []byte{0x90, 0x00}) {
		return nil, apdus, fmt.Errorf("SELECT %04x: SW % x", fid, r)
	}
	var out []byte
	for len(out) < size {
		n := min(le, size-len(out))
		cmd := []byte{0x00, 0xb0, byte(len(out) >> 8), byte(len(out)), byte(n)}
		if n > 256 {
			cmd = []byte{0x00, 0xb0, byte(len(out) >> 8), byte(len(out)), 0x00, byte(n >> 8), byte(n)}
		}
		r, err := tr.Transceive(ctx, cmd)
		apdus++
		if err != nil {
			return nil, apdus, err
		}
		if len(r) < 2 || r[len(r)-2] != 0x90 {
			return nil, apdus, fmt.Errorf("READ BINARY at %d: SW % x", len(out), r[max(0, len(r)-2):])
		}
		out = append(out, r[:len(r)-2]...)
	}
	return out, apdus, nil
}

// TestSimFullStack opens "sim" through the selection string, as `edgeid doctor` and the kiosk
// do, and reads the whole made-up passport over the PN532 frame protocol on the fake I2C bus.
func TestSimFullStack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sel, err := nfc.ParseSelector("sim")
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(ctx, sel, Opts{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Halt()
	c, err := r.WaitCard(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if info := c.Info(); info.Protocol != nfc.TypeA || info.BitRateRx != 424 {
		t.Errorf("sim card %s, want Type A at 424 kbit/s", info)
	}
	resp, err := c.Transceive(ctx, []byte{0x00, 0xa4, 0x04, 0x0c, 0x07, 0xa0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01})
	if err != nil || !bytes.Equal(resp, []byte{0x90, 0x00}) {
		t.Fatalf("SELECT eMRTD: % x %v", resp, err)
	}
	want := SimFiles()
	for _, f := range []struct {
		fid uint16
		le  int
	}{{0x011e, 0xe7}, {0x0101, 0xe7}, {0x0102, 0xe7}, {0x0102, 4096}} {
		got, _, err := readEF(ctx, c, f.fid, len(want[f.fid]), f.le)
		if err != nil {
			t.Fatalf("EF %04x Le %d: %v", f.fid, f.le, err)
		}
		if !bytes.Equal(got, want[f.fid]) {
			t.Errorf("EF %04x Le %d: content differs", f.fid, f.le)
		}
	}
	mrz := string(want[0x0101][5:])
	if !strings.HasPrefix(mrz, "P<UTOSPECIMEN<<SIM<READER") || len(mrz) != 88 || mrz[44+9] != '2' {
		// X00000001: X=33*7 + 1*1 = 232 -> check digit 2
		t.Errorf("MRZ %q: want the made-up TD3 with document number check digit 2", mrz)
	}
	if err := c.Close(ctx); err != nil {
		t.Error(err)
	}
}

// TestSimProbe is what `edgeid doctor -reader sim` prints.
func TestSimProbe(t *testing.T) {
	st := Probe(context.Background(), nfc.Selector{Driver: "sim"}, Opts{})
	if len(st) != 1 || !st[0].OK || !strings.Contains(st[0].Detail, "PN532 v1.6") {
		t.Errorf("Probe(sim) = %+v", st)
	}
	st = Probe(context.Background(), nfc.Selector{Driver: "pn532", Bus: "i2c", Path: "/nonexistent/i2c-9"}, Opts{})
	if len(st) != 1 || st[0].OK || !strings.Contains(st[0].Detail, "dtparam=i2c_arm=on") {
		t.Errorf("Probe(missing i2c) = %+v", st)
	}
	st = Probe(context.Background(), nfc.Selector{Driver: "pn532", Bus: "uart", Path: "/dev/null"}, Opts{})
	if len(st) != 1 || st[0].OK || !strings.Contains(st[0].Detail, "not a terminal") {
		t.Errorf("Probe(/dev/null as uart) = %+v", st)
	}
}

// rfTime models ISO 14443-4 Type A time on air for one APDU exchange: I-blocks of at most fsc
// bytes (PCB + INF + CRC_A 2), 9 bits per byte (parity), SOF+EOF 2 bits, and a frame delay time
// of 1236/fc (91 us) at each turn; R(ACK) blocks of 3 bytes acknowledge each chained block.
// The card's own processing time is left out.
func rfTime(cmd, resp, fsc, kbps int) time.Duration {
	blocks := func(n int) (frames, bytes int) {
		payload := fsc - 3
		frames = max(1, (n+payload-1)/payload)
		return frames, n + 3*frames
	}
	cf, cb := blocks(cmd)
	rf, rb := blocks(resp)
	frames := cf + rf + (cf - 1) + (rf - 1) // chained blocks are each acknowledged
	bytes := cb + rb + 3*((cf-1)+(rf-1))
	bits := float64(bytes*9 + frames*2)
	fdt := time.Duration(float64(frames) * 1236 / 13.56e6 * float64(time.Second))
	return time.Duration(bits/float64(kbps*1000)*float64(time.Second)) + fdt
}

// TestLinkModel reads a 20 000-byte DG2 through the emulator over each bus, counts the host-link
// bytes, and logs the modelled link time next to the modelled RF time. Run with -v to see the
// table (copied into README.md).
func TestLinkModel(t *testing.T) {
	const dg2 = 20000
	type row struct {
		bus   string
		freq  physic.Frequency
		ext   bool
		le    int
		apdus int
		c     *pn532.Counters
	}
	var rows []row
	for _, cfg := range []struct {
		ext bool
		le  int
	}{{false, 0xe7}, {true, 0xe7}, {false, 4096}, {true, 4096}} {
		for _, bus := range []string{"i2c", "spi", "uart"} {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			chip := pn532sim.New()
			chip.SetExtendedResponses(cfg.ext)
			chip.Insert(SimPassport())
			o := pn532.DefaultOpts()
			o.ExtendedFrames = cfg.ext
			var d *pn532.Dev
			var err error
			switch bus {
			case "i2c":
				d, err = pn532.NewI2C(ctx, chip.I2C(), &o)
			case "spi":
				d, err = pn532.NewSPI(ctx, chip.SPI(), &o)
			case "uart":
				d, err = pn532.NewUART(ctx, chip.UART(), "emulated", nil, &o)
			}
			if err != nil {
				t.Fatal(err)
			}
			r, _ := pn532.NewReader(d, nil)
			c, err := r.WaitCard(ctx)
			if err != nil {
				t.Fatal(err)
			}
			before := snapshot(d.Counters())
			got, apdus, err := readEF(ctx, c, 0x0102, dg2, cfg.le)
			if err != nil || len(got) != dg2 {
				t.Fatalf("%s: %d bytes, %v", bus, len(got), err)
			}
			delta := diff(d.Counters(), before)
			cancel()
			for _, f := range freqs(bus) {
				rows = append(rows, row{bus, f, cfg.ext, cfg.le, apdus, delta})
			}
		}
	}
	t.Logf("DG2 %d bytes; link bytes counted on the emulated bus (status polls included, PN532 processing excluded)", dg2)
	t.Logf("%-5s %-9s %-8s %-6s %6s %10s %10s %10s", "bus", "clock", "frames", "Le", "APDUs", "bytes", "B/APDU", "link ms")
	var i2cMs, spi5Ms float64
	for _, r := range rows {
		bytes := r.c.TxBytes.Load() + r.c.RxBytes.Load()
		if r.bus == "spi" {
			bytes = r.c.TxBytes.Load()
		}
		ms := float64(pn532.LinkTime(r.bus, r.freq, r.c)) / float64(time.Millisecond)
		fr := "normal"
		if r.ext {
			fr = "extended"
		}
		t.Logf("%-5s %-9s %-8s %-6d %6d %10d %10d %10.0f", r.bus, r.freq, fr, r.le, r.apdus, bytes, bytes/int64(r.apdus), ms)
		if r.ext && r.le == 4096 && r.bus == "i2c" {
			i2cMs = ms
		}
		if r.ext && r.le == 4096 && r.bus == "spi" && r.freq == 5*physic.MegaHertz {
			spi5Ms = ms
		}
	}
	for _, le := range []int{0xe7, 4096} {
		n := (dg2 + le - 1) / le
		for _, kbps := range []int{106, 424} {
			var d time.Duration
			for i := 0; i < n; i++ {
				d += rfTime(7, min(le, dg2-i*le)+2, 256, kbps)
			}
			t.Logf("RF  %3d kbit/s Le %-5d %3d APDUs: %5.0f ms (FSC 256, Type A, card processing excluded)", kbps, le, n, float64(d)/float64(time.Millisecond))
		}
	}
	if !(spi5Ms > 0 && i2cMs > spi5Ms) {
		t.Errorf("model: I2C 400kHz %.0f ms should exceed SPI 5MHz %.0f ms", i2cMs, spi5Ms)
	}
}

func freqs(bus string) []physic.Frequency {
	switch bus {
	case "i2c":
		return []physic.Frequency{400 * physic.KiloHertz}
	case "spi":
		return []physic.Frequency{physic.MegaHertz, 5 * physic.MegaHertz}
	}
	return []physic.Frequency{115200 * physic.Hertz}
}

func snapshot(c *pn532.Counters) *pn532.Counters {
	s := &pn532.Counters{}
	s.TxBytes.Store(c.TxBytes.Load())
	s.RxBytes.Store(c.RxBytes.Load())
	s.Transactions.Store(c.Transactions.Load())
	return s
}

func diff(c, before *pn532.Counters) *pn532.Counters {
	s := &pn532.Counters{}
	s.TxBytes.Store(c.TxBytes.Load() - before.TxBytes.Load())
	s.RxBytes.Store(c.RxBytes.Load() - before.RxBytes.Load())
	s.Transactions.Store(c.Transactions.Load() - before.Transactions.Load())
	return s
}

func TestProbePCSC(t *testing.T) {
	sys := pcsctest.New()
	o := Opts{OpenPCSC: func() (pcsc.System, error) { return sys, nil }}
	ctx := context.Background()
	tests := []struct {
		name  string
		setup func()
		sel   nfc.Selector
		want  []Status
	}{
		{"no readers", func() {}, nfc.Selector{Driver: "pcsc"},
			[]Status{{Reader: "pcsc:0", Detail: "pcscd runs but sees no reader (plugged in? lsusb; for an ACR122U blacklist the pn533_usb kernel module)"}}},
		{"two readers, by index", func() { sys.Plug("ACS ACR122U 00 00", true); sys.Plug("HID Global OMNIKEY 5422 01 00", false) },
			nfc.Selector{Driver: "pcsc", Index: 1},
			[]Status{{Reader: "pcsc:0", OK: true, Detail: "ACS ACR122U 00 00"}, {Reader: "pcsc:1", OK: true, Detail: "HID Global OMNIKEY 5422 01 00 (selected)"}}},
		{"by name", func() {}, nfc.Selector{Driver: "pcsc", Name: "ACR122"},
			[]Status{{Reader: "pcsc:0", OK: true, Detail: "ACS ACR122U 00 00 (selected)"}, {Reader: "pcsc:1", OK: true, Detail: "HID Global OMNIKEY 5422 01 00"}}},
		{"pcscd stopped", func() { sys.Stop() }, nfc.Selector{Driver: "pcsc"},
			[]Status{{Reader: "pcsc:0", Detail: "pcsc: pcscd is not running (SCARD_E_NO_SERVICE): install and start it, e.g. apt-get install pcscd && systemctl enable --now pcscd.socket"}}},
	}
	for _, tc := range tests {
		tc.setup()
		got := Probe(ctx, tc.sel, o)
		if len(got) != len(tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: line %d: got %+v, want %+v", tc.name, i, got[i], tc.want[i])
			}
		}
	}
}
