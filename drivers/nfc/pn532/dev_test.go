package pn532_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"

	"github.com/edgeid/edgeid/drivers/nfc"
	"github.com/edgeid/edgeid/drivers/nfc/nfcsim"
	"github.com/edgeid/edgeid/drivers/nfc/pn532"
	"github.com/edgeid/edgeid/drivers/nfc/pn532/pn532sim"
)

// testFiles is a made-up document: EF.COM and a 20000-byte DG2-sized file of pattern bytes.
func testFiles() *nfcsim.FileCard {
	dg2 := make([]byte, 20000)
	for i := range dg2 {
		dg2[i] = byte(i*7 + i>>8)
	}
	return &nfcsim.FileCard{
		AID: []byte{0xa0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01},
		Files: map[uint16][]byte{
			0x011e: {0x60, 0x05, 0x5f, 0x01, 0x02, 0x30, 0x31},
			0x0102: dg2,
		},
	}
}

func fastOpts() *pn532.Opts {
	o := pn532.DefaultOpts()
	o.ACKTimeout = 20 * time.Millisecond
	o.CommandTimeout = 50 * time.Millisecond
	o.RFTimeout = 100 * time.Millisecond
	o.Poll = 200 * time.Microsecond
	return &o
}

type bus struct {
	name string
	open func(ctx context.Context, c *pn532sim.Chip, o *pn532.Opts) (*pn532.Dev, error)
}

var buses = []bus{
	{"i2c", func(ctx context.Context, c *pn532sim.Chip, o *pn532.Opts) (*pn532.Dev, error) {
		return pn532.NewI2C(ctx, c.I2C(), o)
	}},
	{"spi", func(ctx context.Context, c *pn532sim.Chip, o *pn532.Opts) (*pn532.Dev, error) {
		return pn532.NewSPI(ctx, c.SPI(), o)
	}},
	{"uart", func(ctx context.Context, c *pn532sim.Chip, o *pn532.Opts) (*pn532.Dev, error) {
		return pn532.NewUART(ctx, c.UART(), "fake-tty", nil, o)
	}},
}

// readFile selects fid and reads it whole with READ BINARY of le bytes (extended when le>256).
func readFile(ctx context.Context, t *testing.T, tr interface {
	Transceive(context.Context, []byte) ([]byte, error)
}, fid uint16, size, le int) []byte {
	t.Helper()
	r, err := tr.Transceive(ctx, []byte{0x00, 0xa4, 0x02, 0x0c, 0x02, byte(fid >> 8), byte(fid)})
	if err != nil || !bytes.Equal(r, []byte{0x90, 0x00}) {
		t.Fatalf("SELECT %04x: % x, %v", fid, r, err)
	}
	var out []byte
	for len(out) < size {
		n := min(le, size-len(out))
		cmd := []byte{0x00, 0xb0, byte(len(out) >> 8), byte(len(out)), byte(n)}
		if n > 255 {
			cmd = []byte{0x00, 0xb0, byte(len(out) >> 8), byte(len(out)), 0x00, byte(n >> 8), byte(n)}
		}
		r, err := tr.Transceive(ctx, cmd)
		if err != nil {
			t.Fatalf("READ BINARY at %d: %v", len(out), err)
		}
		if len(r) < 2 || r[len(r)-2] != 0x90 {
			t.Fatalf("READ BINARY at %d: SW % x", len(out), r[max(0, len(r)-2):])
		}
		out = append(out, r[:len(r)-2]...)
	}
	return out
}

func TestReadOverEachBus(t *testing.T) {
	for _, b := range buses {
		for _, typ := range []nfc.Protocol{nfc.TypeA, nfc.TypeB} {
			t.Run(b.name+"/"+typ.String(), func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				chip := pn532sim.New()
				files := testFiles()
				card := pn532sim.PassportA(files)
				if typ == nfc.TypeB {
					card = pn532sim.PassportB(files)
				}
				chip.Insert(card)
				dev, err := b.open(ctx, chip, fastOpts())
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if got, want := dev.Firmware().String(), "PN532 v1.6 (support 0x07)"; got != want {
					t.Errorf("firmware %q, want %q", got, want)
				}
				r, err := pn532.NewReader(dev, nil)
				if err != nil {
					t.Fatal(err)
				}
				c, err := r.WaitCard(ctx)
				if err != nil {
					t.Fatalf("WaitCard: %v", err)
				}
				info := c.Info()
				if info.Protocol != typ {
					t.Errorf("protocol %s, want %s", info.Protocol, typ)
				}
				if typ == nfc.TypeA {
					if !bytes.Equal(info.UID, card.UID) || !bytes.Equal(info.ATS, card.ATS) || info.SAK != 0x20 {
						t.Errorf("info %s, want uid % x ats % x", info, card.UID, card.ATS)
					}
					if info.BitRateTx != 424 || info.BitRateRx != 424 || !info.ExtendedLength {
						t.Errorf("info %s: want 424/424 kbit/s after InPSL and extended length", info)
					}
				} else if !bytes.Equal(info.ATQB, card.ATQB) || !bytes.Equal(info.UID, card.ATQB[1:5]) || info.BitRateTx != 106 {
					t.Errorf("info %s, want atqb % x at 106 kbit/s", info, card.ATQB)
				}
				got := readFile(ctx, t, c, 0x0102, 20000, 1024)
				if !bytes.Equal(got, files.Files[0x0102]) {
					t.Errorf("DG2 differs from the card's file")
				}
				if err := c.Close(ctx); err != nil {
					t.Errorf("Close: %v", err)
				}
				if err := r.Halt(); err != nil {
					t.Errorf("Halt: %v", err)
				}
				if !chip.Asleep() {
					t.Error("chip not powered down after Halt")
				}
			})
		}
	}
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name      string
		faults    pn532sim.Faults
		wantErr   error // nil: the exchange succeeds
		wantAPDUs int   // APDUs the card saw (InDataExchange must never be repeated)
	}{
		{"clean", pn532sim.Faults{}, nil, 1},
		{"lost ACK", pn532sim.Faults{DropACK: 1}, nil, 1},
		{"corrupt ACK", pn532sim.Faults{CorruptACK: 1}, nil, 1},
		{"corrupt response then NACK", pn532sim.Faults{CorruptResponse: 2}, nil, 1},
		{"command lost", pn532sim.Faults{IgnoreCommands: 2}, nil, 1},
		{"command NACKed", pn532sim.Faults{NACKCommands: 2}, nil, 1},
		{"garbage on the line", pn532sim.Faults{Garbage: []byte{0x13, 0x37, 0xff}}, nil, 1},
		{"slow but in time", pn532sim.Faults{Delay: 30 * time.Millisecond}, nil, 1},
		{"corrupt every response", pn532sim.Faults{CorruptResponse: 100}, pn532.ErrChecksum, 1},
		{"too slow", pn532sim.Faults{Delay: 500 * time.Millisecond}, pn532.ErrTimeout, 1},
		// A chip that runs commands but whose replies never arrive gets each command again:
		// with neither ACK nor response nothing shows that it ran.
		{"silent", pn532sim.Faults{Silent: true}, pn532.ErrTimeout, 4},
		{"NACK forever", pn532sim.Faults{NACKCommands: 100}, pn532.ErrProtocol, 0},
		{"unplugged", pn532sim.Faults{Unplugged: true}, pn532.ErrLink, 0},
	}
	for _, b := range buses {
		for _, tc := range tests {
			t.Run(b.name+"/"+tc.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				chip := pn532sim.New()
				files := testFiles()
				chip.Insert(pn532sim.PassportA(files))
				dev, err := b.open(ctx, chip, fastOpts())
				if err != nil {
					t.Fatal(err)
				}
				r, _ := pn532.NewReader(dev, nil)
				c, err := r.WaitCard(ctx)
				if err != nil {
					t.Fatal(err)
				}
				before := chip.APDUs()
				chip.SetFaults(tc.faults)
				start := time.Now()
				resp, err := c.Transceive(ctx, []byte{0x00, 0xb0, 0x9e, 0x00, 0x05}) // READ BINARY SFI 1E (EF.COM)
				elapsed := time.Since(start)
				if tc.wantErr == nil {
					if err != nil {
						t.Fatalf("Transceive: %v", err)
					}
					if want := []byte{0x60, 0x05, 0x5f, 0x01, 0x02, 0x90, 0x00}; !bytes.Equal(resp, want) {
						t.Errorf("got % x, want % x", resp, want)
					}
				} else if !errors.Is(err, tc.wantErr) {
					t.Fatalf("got %v, want %v", err, tc.wantErr)
				}
				if errors.Is(err, pn532.ErrLink) && (!errors.Is(err, nfc.ErrReaderGone) || r.Health() == nil) {
					t.Errorf("link failure %v: want nfc.ErrReaderGone and an unhealthy reader (health %v)", err, r.Health())
				}
				if got := chip.APDUs() - before; got != tc.wantAPDUs {
					t.Errorf("card saw %d APDUs, want %d", got, tc.wantAPDUs)
				}
				// Worst case: 4 attempts of ACK (20ms) + response (100ms) + abort; the rest is
				// slack for a loaded CI machine. An unbounded wait runs into the 10s context.
				if elapsed > 5*time.Second {
					t.Errorf("took %s: waits are not bounded", elapsed)
				}
			})
		}
	}
}

func TestReconnect(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	chip := pn532sim.New()
	dev, err := pn532.NewI2C(ctx, chip.I2C(), fastOpts())
	if err != nil {
		t.Fatal(err)
	}
	ro := pn532.DefaultReaderOpts()
	ro.Poll, ro.MinBackoff, ro.MaxBackoff = time.Millisecond, time.Millisecond, 20*time.Millisecond
	r, _ := pn532.NewReader(dev, &ro)
	chip.SetFaults(pn532sim.Faults{Unplugged: true})

	wctx, wcancel := context.WithTimeout(ctx, 100*time.Millisecond)
	_, err = r.WaitCard(wctx)
	wcancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitCard on an unplugged reader: %v, want deadline exceeded", err)
	}
	if h := r.Health(); !errors.Is(h, nfc.ErrReaderGone) || !errors.Is(h, pn532.ErrLink) {
		t.Fatalf("Health = %v, want ErrReaderGone wrapping ErrLink", h)
	}
	chip.SetFaults(pn532sim.Faults{})
	chip.Insert(pn532sim.PassportB(testFiles()))
	c, err := r.WaitCard(ctx)
	if err != nil {
		t.Fatalf("WaitCard after replug: %v", err)
	}
	if h := r.Health(); h != nil {
		t.Errorf("Health after replug = %v", h)
	}
	if _, err := r.WaitCard(ctx); !errors.Is(err, nfc.ErrBusy) {
		t.Errorf("second WaitCard: %v, want ErrBusy", err)
	}
	done := make(chan error, 1)
	go func() { done <- c.WaitRemoved(ctx) }()
	time.Sleep(20 * time.Millisecond)
	chip.Remove()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("WaitRemoved: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("WaitRemoved did not notice the removal")
	}
	if _, err := c.Transceive(ctx, []byte{0x00, 0xa4, 0x04, 0x0c}); !errors.Is(err, nfc.ErrCardRemoved) {
		t.Errorf("Transceive after removal: %v, want ErrCardRemoved", err)
	}
	if err := c.Close(ctx); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestMifareIgnored(t *testing.T) {
	chip := pn532sim.New()
	chip.Insert(&pn532sim.Card{Protocol: nfc.TypeA, UID: []byte{0x82, 0xac, 0xb9, 0x5d}, ATQA: [2]byte{0x04, 0x00}, SAK: 0x08})
	dev, err := pn532.NewI2C(context.Background(), chip.I2C(), fastOpts())
	if err != nil {
		t.Fatal(err)
	}
	r, _ := pn532.NewReader(dev, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if c, err := r.WaitCard(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("WaitCard with a MIFARE Classic: %v %v, want no card until the deadline", c, err)
	}
}

func TestChaining(t *testing.T) {
	for _, tc := range []struct {
		name     string
		ext      bool
		extResp  bool
		le       int
		wantCmds int // InDataExchange commands for SELECT and one 4096-byte READ BINARY
	}{
		{"extended frames", true, true, 4096, 1 + 16}, // 4098/262 -> 16 frames
		{"normal frames", false, false, 4096, 1 + 17}, // 4098/252 -> 17 frames
		{"normal out, ext in", false, true, 4096, 1 + 16},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			chip := pn532sim.New()
			chip.SetExtendedResponses(tc.extResp)
			files := testFiles()
			chip.Insert(pn532sim.PassportA(files))
			o := fastOpts()
			o.ExtendedFrames = tc.ext
			dev, err := pn532.NewI2C(ctx, chip.I2C(), o)
			if err != nil {
				t.Fatal(err)
			}
			r, _ := pn532.NewReader(dev, nil)
			c, err := r.WaitCard(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_ = readFile(ctx, t, c, 0x0102, 0, 1)
			n0 := count(chip.Commands(), 0x40)
			got := readFile(ctx, t, c, 0x0102, tc.le, tc.le)
			if !bytes.Equal(got, files.Files[0x0102][:tc.le]) {
				t.Fatal("data differs")
			}
			if n := count(chip.Commands(), 0x40) - n0; n != tc.wantCmds {
				t.Errorf("%d InDataExchange commands, want %d", n, tc.wantCmds)
			}
			// A long command APDU (extended Lc of 600 bytes) is chained with MI on the way out.
			long := append([]byte{0x00, 0xd6, 0x00, 0x00, 0x00, 0x02, 0x58}, make([]byte, 600)...)
			resp, err := c.Transceive(ctx, long)
			if err != nil || !bytes.Equal(resp, []byte{0x6d, 0x00}) {
				t.Errorf("long APDU: % x %v, want 6d00 from the card", resp, err)
			}
		})
	}
}

func count(b []byte, v byte) int { return bytes.Count(b, []byte{v}) }

func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	chip := pn532sim.New()
	chip.SetFaults(pn532sim.Faults{Silent: true})
	if _, err := pn532.NewUART(ctx, chip.UART(), "fake", nil, fastOpts()); err == nil {
		t.Fatal("New on a silent chip succeeded")
	}
	time.Sleep(10 * time.Millisecond)
	if after := runtime.NumGoroutine(); after > before {
		t.Errorf("goroutines %d -> %d", before, after)
	}
}

func TestResetAndIRQ(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, irq := range []bool{false, true} {
		chip := pn532sim.New()
		chip.Insert(pn532sim.PassportA(testFiles()))
		rst := &pn532sim.Pin{}
		o := fastOpts()
		o.Reset = rst
		o.Poll = time.Millisecond
		o.RFTimeout = time.Second
		if irq {
			o.IRQ = chip.IRQ()
		}
		d, err := pn532.NewI2C(ctx, chip.I2C(), o)
		if err != nil {
			t.Fatal(err)
		}
		if len(rst.Levels) != 2 || rst.Levels[0] != gpio.Low || rst.Levels[1] != gpio.High {
			t.Errorf("RSTPDN levels %v, want [Low High]", rst.Levels)
		}
		r, _ := pn532.NewReader(d, nil)
		c, err := r.WaitCard(ctx)
		if err != nil {
			t.Fatal(err)
		}
		chip.SetFaults(pn532sim.Faults{Delay: 200 * time.Millisecond})
		before := d.Counters().Transactions.Load()
		if _, err := c.Transceive(ctx, []byte{0x00, 0xb0, 0x9e, 0x00, 0x05}); err != nil {
			t.Fatal(err)
		}
		n := d.Counters().Transactions.Load() - before
		// One exchange: write, ACK poll+read, response poll+header, NACK, poll+read = 8
		// transactions, plus one status read per 100 ms IRQ wait, when the host waits on IRQ;
		// polling every 1 ms through a 200 ms delay takes many more status reads, even when a
		// loaded machine sleeps 10 ms at a time.
		if irq && n > 12 {
			t.Errorf("with IRQ: %d I2C transactions for one APDU, want at most 12", n)
		}
		if !irq && n < 15 {
			t.Errorf("without IRQ: %d I2C transactions, expected status polling during the 30 ms delay", n)
		}
	}
}

// TestWakeAfterHalt powers the chip down and uses it again: the first I2C write after
// PowerDown is not acknowledged on some modules and must be retried, not reported.
func TestWakeAfterHalt(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	chip := pn532sim.New()
	chip.NACKWhileAsleep = true
	chip.Insert(pn532sim.PassportB(testFiles()))
	d, err := pn532.NewI2C(ctx, chip.I2C(), fastOpts())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Halt(); err != nil {
		t.Fatal(err)
	}
	if !chip.Asleep() {
		t.Fatal("not asleep after Halt")
	}
	if err := d.Init(ctx); err != nil {
		t.Fatalf("Init after Halt: %v", err)
	}
	ts, err := d.ListPassiveTarget(ctx, pn532.TypeB106)
	if err != nil || len(ts) != 1 {
		t.Fatalf("poll after wake-up: %v %v", ts, err)
	}
	if err := d.InDeselect(ctx, ts[0].Tg); err != nil {
		t.Errorf("InDeselect: %v", err)
	}
	if err := d.InRelease(ctx, 0); err != nil {
		t.Errorf("InRelease: %v", err)
	}
	if err := d.InPSL(ctx, ts[0].Tg, pn532.BR424, pn532.BR424); err == nil {
		t.Error("InPSL on a released Type B target succeeded")
	}
}
