package pcsc_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/edgeid/edgeid/drivers/nfc"
	"github.com/edgeid/edgeid/drivers/nfc/nfcsim"
	"github.com/edgeid/edgeid/drivers/nfc/pcsc"
	"github.com/edgeid/edgeid/drivers/nfc/pcsc/pcsctest"
)

// PC/SC part 3 ATR of a Type A ISO 14443-4 card whose ATS historical bytes announce extended
// Lc/Le (80 73 c0 21 40 00 00).
var atrA = []byte{0x3b, 0x87, 0x80, 0x01, 0x80, 0x73, 0xc0, 0x21, 0x40, 0x00, 0x00, 0x00}

func card() *pcsctest.Card {
	return &pcsctest.Card{
		ATR: atrA,
		UID: []byte{0x08, 0xaa, 0xbb, 0xcc},
		Chip: &nfcsim.FileCard{Files: map[uint16][]byte{
			0x0101: bytes.Repeat([]byte{0x42}, 1000),
		}},
	}
}

func opts() *pcsc.Opts {
	o := pcsc.DefaultOpts()
	o.StatusWait, o.Poll = 20*time.Millisecond, 5*time.Millisecond
	return &o
}

func TestPlugInsertReadRemove(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sys := pcsctest.New()
	sys.Plug("Some Keyboard Reader 00 00", false)
	o := opts()
	o.Name = "Contactless"
	r, err := pcsc.New(sys, o)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan nfc.Card, 1)
	go func() {
		c, err := r.WaitCard(ctx)
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	eventually(t, "Health reports the missing reader", func() bool {
		h := r.Health()
		return errors.Is(h, nfc.ErrReaderGone) && strings.Contains(h.Error(), `no reader named like "Contactless"`)
	})
	sys.Plug("HID Contactless 5022 00 00", false)
	time.Sleep(30 * time.Millisecond)
	sys.Insert("HID Contactless 5022 00 00", card())
	c := <-got
	if c == nil {
		t.Fatal("no card")
	}
	if h := r.Health(); h != nil {
		t.Errorf("Health = %v", h)
	}
	info := c.Info()
	if info.Protocol != nfc.TypeA || !bytes.Equal(info.UID, []byte{0x08, 0xaa, 0xbb, 0xcc}) || !info.ExtendedLength || !bytes.Equal(info.ATR, atrA) {
		t.Errorf("info %s", info)
	}
	resp, err := c.Transceive(ctx, []byte{0x00, 0xb0, 0x81, 0x00, 0x00, 0x03, 0xe8})
	if err != nil || len(resp) != 1002 || resp[1000] != 0x90 {
		t.Fatalf("extended READ BINARY: %d bytes, %v", len(resp), err)
	}
	done := make(chan error, 1)
	go func() { done <- c.WaitRemoved(ctx) }()
	sys.Remove("HID Contactless 5022 00 00")
	if err := <-done; err != nil {
		t.Errorf("WaitRemoved: %v", err)
	}
	if _, err := c.Transceive(ctx, []byte{0x00, 0xb0, 0x81, 0x00, 0x04}); !errors.Is(err, nfc.ErrCardRemoved) {
		t.Errorf("Transceive after removal: %v, want ErrCardRemoved", err)
	}
	if err := c.Close(ctx); err != nil {
		t.Error(err)
	}
	if err := r.Halt(); err != nil || !sys.Released() {
		t.Errorf("Halt: %v, released %v", err, sys.Released())
	}
	if _, err := r.WaitCard(ctx); !errors.Is(err, pcsc.ErrHalted) {
		t.Errorf("WaitCard after Halt: %v, want ErrHalted", err)
	}
}

func TestUnplugWhileOpen(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sys := pcsctest.New()
	sys.Plug("ACS ACR122U 00 00", true)
	sys.Insert("ACS ACR122U 00 00", card())
	r, _ := pcsc.New(sys, opts())
	c, err := r.WaitCard(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.WaitCard(ctx); !errors.Is(err, nfc.ErrBusy) {
		t.Errorf("second WaitCard: %v", err)
	}
	// The ACR122U does not pass extended APDUs: the first one fails at the reader, the next
	// is refused without reaching it, and a short one still works.
	ext := []byte{0x00, 0xb0, 0x81, 0x00, 0x00, 0x01, 0x00}
	if _, err := c.Transceive(ctx, ext); !errors.Is(err, pcsc.ErrExtendedUnsupported) {
		t.Fatalf("extended APDU: %v, want ErrExtendedUnsupported", err)
	}
	n := sys.Transmits()
	if _, err := c.Transceive(ctx, ext); !errors.Is(err, pcsc.ErrExtendedUnsupported) || sys.Transmits() != n {
		t.Errorf("second extended APDU: %v, transmits %d -> %d", err, n, sys.Transmits())
	}
	if resp, err := c.Transceive(ctx, []byte{0x00, 0xb0, 0x81, 0x00, 0x02}); err != nil || !bytes.Equal(resp, []byte{0x42, 0x42, 0x90, 0x00}) {
		t.Errorf("short APDU: % x %v", resp, err)
	}
	sys.Unplug("ACS ACR122U 00 00")
	if _, err := c.Transceive(ctx, []byte{0x00, 0xb0, 0x81, 0x00, 0x02}); !errors.Is(err, nfc.ErrReaderGone) {
		t.Errorf("after unplug: %v, want ErrReaderGone", err)
	}
	if err := c.WaitRemoved(ctx); err != nil {
		t.Errorf("WaitRemoved after unplug: %v", err)
	}
	_ = c.Close(ctx)
	// Plugged back with a card: found again, and known not to carry extended APDUs.
	sys.Plug("ACS ACR122U 00 00", true)
	sys.Insert("ACS ACR122U 00 00", card())
	c, err = r.WaitCard(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c.Info().ExtendedLength {
		t.Error("ExtendedLength true on a reader that failed extended APDUs")
	}
	_ = c.Close(ctx)
}

func TestNoService(t *testing.T) {
	sys := pcsctest.New()
	sys.Stop()
	if _, err := pcsc.List(sys); !errors.Is(err, pcsc.ErrNoService) || !strings.Contains(err.Error(), "systemctl enable --now pcscd") {
		t.Errorf("List with pcscd down: %v", err)
	}
	r, _ := pcsc.New(sys, opts())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := r.WaitCard(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitCard: %v", err)
	}
	if h := r.Health(); !errors.Is(h, pcsc.ErrNoService) {
		t.Errorf("Health = %v, want ErrNoService", h)
	}
}

func TestIndexOutOfRange(t *testing.T) {
	sys := pcsctest.New()
	sys.Plug("Reader A", false)
	o := opts()
	o.Index = 1
	r, _ := pcsc.New(sys, o)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	go func() { _, _ = r.WaitCard(ctx) }()
	eventually(t, "Health names the missing index", func() bool {
		h := r.Health()
		return h != nil && strings.Contains(h.Error(), `reader 1 not present (1 readers: ["Reader A"])`)
	})
	cancel()
	if _, err := pcsc.New(sys, &pcsc.Opts{Index: -1}); err == nil {
		t.Error("New with Index -1 succeeded")
	}
}

// TestRealService talks to the real pcsc-lite library: with no pcscd running (as on CI) the
// error must say so; with one running, listing must work.
func TestRealService(t *testing.T) {
	sys, err := pcsc.Open()
	if err != nil {
		if !errors.Is(err, pcsc.ErrNoService) {
			t.Fatalf("Open: %v, want nil or ErrNoService", err)
		}
		if !strings.Contains(err.Error(), "pcscd is not running") {
			t.Errorf("message %q does not name pcscd", err)
		}
		return
	}
	defer sys.Release()
	names, err := pcsc.List(sys)
	if err != nil {
		t.Fatalf("List with pcscd running: %v", err)
	}
	t.Logf("pcscd running, %d readers: %q", len(names), names)
}

func TestPCSCDRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	sys := pcsctest.New()
	sys.Plug("Identiv uTrust 3700 F", false)
	r, _ := pcsc.New(sys, opts())
	sys.Stop()
	got := make(chan nfc.Card, 1)
	go func() {
		c, err := r.WaitCard(ctx)
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	eventually(t, "Health reports pcscd down", func() bool { return errors.Is(r.Health(), pcsc.ErrNoService) })
	sys.Start()
	sys.Insert("Identiv uTrust 3700 F", card())
	c := <-got
	if c == nil {
		t.Fatal("no card after pcscd restarted")
	}
	if resp, err := c.Transceive(ctx, []byte{0x00, 0xb0, 0x81, 0x00, 0x01}); err != nil || !bytes.Equal(resp, []byte{0x42, 0x90, 0x00}) {
		t.Errorf("after restart: % x %v", resp, err)
	}
	if h := r.Health(); h != nil {
		t.Errorf("Health = %v", h)
	}
	_ = c.Close(ctx)
}

// eventually waits up to 5 s for cond, which a background WaitCard makes true.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(2 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Errorf("after 5 s: not true: %s", what)
}
