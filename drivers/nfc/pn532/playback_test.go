package pn532_test

import (
	"context"
	"flag"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/conntest"
	"periph.io/x/conn/v3/i2c/i2ctest"
	"periph.io/x/conn/v3/spi/spitest"

	"github.com/edgeid/edgeid/drivers/internal/hextest"
	"github.com/edgeid/edgeid/drivers/nfc/pn532"
	"github.com/edgeid/edgeid/drivers/nfc/pn532/pn532sim"
	"github.com/edgeid/edgeid/drivers/nfc/pn532/pn532test"
	"github.com/edgeid/edgeid/drivers/nfc/pn532/transcript"
)

// Frames, hex. FW and FWr are the real GetFirmwareVersion frames of pn532_frames.txt S2/S3.
const (
	ack    = "00 00 ff 00 ff 00"
	nack   = "00 00 ff ff 00 00"
	sam    = "00 00 ff 05 fb d4 14 01 14 01 02 00"
	samR   = "00 00 ff 02 fe d5 15 16 00"
	fw     = "00 00 ff 02 fe d4 02 2a 00"
	fwR    = "00 00 ff 06 fa d5 03 32 01 06 07 e8 00"
	fwBad  = "00 00 ff 06 fa d5 03 31 01 06 07 e9 00"
	fwDCS  = "00 00 ff 06 fa d5 03 32 01 06 07 e9 00"
	rf5    = "00 00 ff 06 fa d4 32 05 ff 01 02 f3 00"
	rf2    = "00 00 ff 06 fa d4 32 02 00 0b 0a e3 00"
	rfR    = "00 00 ff 02 fe d5 33 f8 00"
	errFrm = "00 00 ff 01 ff 7f 81 00"
)

// i2cRead is the bytes of one I2C read of n frame bytes: ready status 01, the frame, padding.
func i2cRead(t testing.TB, frame string, n int) []byte {
	b := append([]byte{0x01}, hextest.Bytes(t, frame)...)
	for len(b) < n+1 {
		b = append(b, 0x00)
	}
	return b[:n+1]
}

// i2cExchange is the I2C traffic of one command when the PN532 is always ready: write, poll,
// read the ACK header; poll, read the response header and, when the response is longer than
// the 9-byte header, NACK and read it whole.
func i2cExchange(t testing.TB, cmd, resp string) []i2ctest.IO {
	ops := []i2ctest.IO{
		{Addr: 0x24, W: hextest.Bytes(t, cmd)},
		{Addr: 0x24, R: []byte{0x01}},
		{Addr: 0x24, R: i2cRead(t, ack, 9)},
		{Addr: 0x24, R: []byte{0x01}},
		{Addr: 0x24, R: i2cRead(t, resp, 9)},
	}
	if n := len(hextest.Bytes(t, resp)); n > 9 {
		ops = append(ops,
			i2ctest.IO{Addr: 0x24, W: hextest.Bytes(t, nack)},
			i2ctest.IO{Addr: 0x24, R: []byte{0x01}},
			i2ctest.IO{Addr: 0x24, R: i2cRead(t, resp, n)})
	}
	return ops
}

func join(parts ...[]i2ctest.IO) []i2ctest.IO {
	var out []i2ctest.IO
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestI2CPlayback(t *testing.T) {
	init := func(t testing.TB) []i2ctest.IO {
		return join(i2cExchange(t, sam, samR), i2cExchange(t, fw, fwR), i2cExchange(t, rf5, rfR), i2cExchange(t, rf2, rfR))
	}
	tests := []struct {
		name    string
		ops     func(t testing.TB) []i2ctest.IO
		wantErr string
	}{
		{"init", init, ""},
		{"not a PN532", func(t testing.TB) []i2ctest.IO {
			return join(i2cExchange(t, sam, samR), i2cExchange(t, fw, fwBad))
		}, "IC 0x31"},
		{"error frame", func(t testing.TB) []i2ctest.IO {
			return i2cExchange(t, sam, errFrm)
		}, "rejected the command"},
		{"bad DCS then NACK", func(t testing.TB) []i2ctest.IO {
			ops := join(i2cExchange(t, sam, samR), i2cExchange(t, fw, fwDCS))
			// The full read had the wrong DCS: the driver NACKs and reads the resent frame.
			ops = append(ops,
				i2ctest.IO{Addr: 0x24, W: hextest.Bytes(t, nack)},
				i2ctest.IO{Addr: 0x24, R: []byte{0x01}},
				i2ctest.IO{Addr: 0x24, R: i2cRead(t, fwR, 9)},
				i2ctest.IO{Addr: 0x24, W: hextest.Bytes(t, nack)},
				i2ctest.IO{Addr: 0x24, R: []byte{0x01}},
				i2ctest.IO{Addr: 0x24, R: i2cRead(t, fwR, 13)})
			return join(ops, i2cExchange(t, rf5, rfR), i2cExchange(t, rf2, rfR))
		}, ""},
		{"address NACK", func(t testing.TB) []i2ctest.IO { return nil }, "host link error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &i2ctest.Playback{Ops: tc.ops(t), DontPanic: true}
			o := fastOpts()
			o.Retries = 1
			d, err := pn532.NewI2C(context.Background(), p, o)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Firmware(); got != (pn532.Firmware{IC: 0x32, Ver: 1, Rev: 6, Support: 7}) {
				t.Errorf("firmware %v", got)
			}
			if err := p.Close(); err != nil {
				t.Errorf("playback not consumed: %v", err)
			}
		})
	}
}

// spiRev reverses bits: the PN532 is LSB first on SPI and the driver reverses in software.
func spiRev(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		var r byte
		for j := 0; j < 8; j++ {
			r = r<<1 | c>>j&1
		}
		out[i] = r
	}
	return out
}

func spiExchange(t testing.TB, cmd, resp string) []conntest.IO {
	z := func(n int) []byte { return make([]byte, n) }
	status := conntest.IO{W: spiRev([]byte{0x02, 0x00}), R: spiRev([]byte{0x00, 0x01})}
	read := func(frame string, n int) conntest.IO {
		r := append([]byte{0x00}, hextest.Bytes(t, frame)...)
		for len(r) < n+1 {
			r = append(r, 0)
		}
		return conntest.IO{W: spiRev(append([]byte{0x03}, z(n)...)), R: spiRev(r[:n+1])}
	}
	write := func(frame string) conntest.IO {
		w := append([]byte{0x01}, hextest.Bytes(t, frame)...)
		return conntest.IO{W: spiRev(w), R: z(len(w))}
	}
	ops := []conntest.IO{write(cmd), status, read(ack, 9), status, read(resp, 9)}
	if n := len(hextest.Bytes(t, resp)); n > 9 {
		ops = append(ops, write(nack), status, read(resp, n))
	}
	return ops
}

func TestSPIPlayback(t *testing.T) {
	tests := []struct {
		name    string
		ops     func(t testing.TB) []conntest.IO
		wantErr string
	}{
		{"init", func(t testing.TB) []conntest.IO {
			var ops []conntest.IO
			for _, e := range [][2]string{{sam, samR}, {fw, fwR}, {rf5, rfR}, {rf2, rfR}} {
				ops = append(ops, spiExchange(t, e[0], e[1])...)
			}
			return ops
		}, ""},
		{"error frame", func(t testing.TB) []conntest.IO { return spiExchange(t, sam, errFrm) }, "rejected the command"},
		{"bus error", func(t testing.TB) []conntest.IO { return nil }, "host link error"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &spitest.Playback{Playback: conntest.Playback{Ops: tc.ops(t), DontPanic: true}}
			o := fastOpts()
			o.Retries = 0
			d, err := pn532.NewSPI(context.Background(), p, o)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d.Firmware().IC != 0x32 {
				t.Errorf("firmware %v", d.Firmware())
			}
			if err := p.Close(); err != nil {
				t.Errorf("playback not consumed: %v", err)
			}
		})
	}
}

var update = flag.Bool("update", false, "re-record testdata/pn532_i2c_smoke_emulated.json from the emulator")

// TestSmokeTranscript replays a recorded smoke session. The committed transcript was recorded
// from pn532sim (go test -run TestSmokeTranscript -update); a transcript recorded on hardware
// with `edgeid nfc smoke` replays the same way.
func TestSmokeTranscript(t *testing.T) {
	const path = "testdata/pn532_i2c_smoke_emulated.json"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if *update {
		recordSmokeI2C(ctx, t, path, "PN532 emulator (pn532sim), Type A passport, smoke session")
	}
	ops := loadI2C(t, path)
	rep, p := replaySmokeI2C(ctx, t, ops)
	if rep.SelectSW != "9000" || !strings.Contains(rep.Card, "uid=08123456") {
		t.Errorf("report %+v: want the Type A card and SW 9000", rep)
	}
	if err := p.Close(); err != nil {
		t.Errorf("transcript not consumed: %v", err)
	}
	// The same transcript with one response byte flipped must fail loudly, not silently.
	bad := append([]i2ctest.IO(nil), ops...)
	for i := len(bad) - 1; i >= 0; i-- {
		if len(bad[i].R) > 12 {
			r := append([]byte(nil), bad[i].R...)
			r[8] ^= 0x10
			bad[i].R = r
			break
		}
	}
	o := fastOpts()
	o.Retries = 0
	p = &i2ctest.Playback{Ops: bad, DontPanic: true}
	d, err := pn532.NewI2C(ctx, p, o)
	if err == nil {
		_, err = pn532.Smoke(ctx, d)
	}
	if err == nil {
		t.Error("corrupted transcript replayed without error")
	}
}

// TestSmokeTranscriptSPI records a smoke session over the emulated SPI port with
// transcript.SPIRecorder (what `edgeid nfc smoke -record` uses) and replays it with
// spitest.Playback.
func TestSmokeTranscriptSPI(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	chip := pn532sim.New()
	chip.Insert(pn532sim.PassportB(testFiles()))
	rec := &transcript.SPIRecorder{Port: chip.SPI()}
	d, err := pn532.NewSPI(ctx, rec, fastOpts())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pn532.Smoke(ctx, d); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "spi.json")
	if err := rec.Transcript("emulator").Save(path); err != nil {
		t.Fatal(err)
	}
	tr, err := transcript.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pn532test.I2C(tr); err == nil {
		t.Error("an SPI transcript converted to I2C operations")
	}
	ops, err := pn532test.SPI(tr)
	if err != nil {
		t.Fatal(err)
	}
	p := &spitest.Playback{Playback: conntest.Playback{Ops: ops, DontPanic: true}}
	d, err = pn532.NewSPI(ctx, p, fastOpts())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := pn532.Smoke(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rep.Card, "ISO 14443-B uid=1a2b3c4d") || rep.SelectSW != "9000" {
		t.Errorf("replayed report %+v: want the Type B card answering 9000", rep)
	}
	if err := p.Close(); err != nil {
		t.Errorf("transcript not consumed: %v", err)
	}
}

// TestRecordI2C records a smoke session with transcript.I2CRecorder (what `edgeid nfc smoke
// -record` uses on I2C), saves and loads it, and replays it with i2ctest.Playback.
func TestRecordI2C(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	path := filepath.Join(t.TempDir(), "i2c.json")
	want := recordSmokeI2C(ctx, t, path, "emulator")
	ops := loadI2C(t, path)
	if len(ops) < 4 {
		t.Fatalf("recorded %d operations, want a whole session", len(ops))
	}
	got, p := replaySmokeI2C(ctx, t, ops)
	if got.Card != want.Card || got.SelectSW != want.SelectSW {
		t.Errorf("replayed report %+v, recorded %+v", got, want)
	}
	if err := p.Close(); err != nil {
		t.Errorf("transcript not consumed: %v", err)
	}
}

// recordSmokeI2C runs a smoke session on the emulator with a Type A passport, recording the
// I2C bus into path.
func recordSmokeI2C(ctx context.Context, t *testing.T, path, comment string) pn532.SmokeReport {
	t.Helper()
	chip := pn532sim.New()
	chip.Insert(pn532sim.PassportA(testFiles()))
	rec := &transcript.I2CRecorder{Bus: chip.I2C()}
	d, err := pn532.NewI2C(ctx, rec, fastOpts())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := pn532.Smoke(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.Transcript(comment).Save(path); err != nil {
		t.Fatal(err)
	}
	return rep
}

func loadI2C(t *testing.T, path string) []i2ctest.IO {
	t.Helper()
	tr, err := transcript.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	ops, err := pn532test.I2C(tr)
	if err != nil {
		t.Fatal(err)
	}
	return ops
}

// replaySmokeI2C runs a smoke session against a playback of ops.
func replaySmokeI2C(ctx context.Context, t *testing.T, ops []i2ctest.IO) (pn532.SmokeReport, *i2ctest.Playback) {
	t.Helper()
	p := &i2ctest.Playback{Ops: ops, DontPanic: true}
	d, err := pn532.NewI2C(ctx, p, fastOpts())
	if err != nil {
		t.Fatal(err)
	}
	rep, err := pn532.Smoke(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	return rep, p
}
