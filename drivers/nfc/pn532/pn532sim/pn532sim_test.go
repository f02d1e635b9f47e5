package pn532sim

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/edgeid/edgeid/drivers/internal/hextest"
)

// TestRealLogs sends the host frames of real PN532 sessions (pn532_frames.txt S1, S3, S4:
// libnfc, nfcpy and node-pn532 logs, HSU wake-up padding included) to the emulator over its UART
// and expects the bytes the real chip sent back.
func TestRealLogs(t *testing.T) {
	tests := []struct {
		name   string
		tx, rx string
	}{
		{"S3 GetFirmwareVersion", "00 00 00 00 00 00 00 00 00 00 00 00 ff 02 fe d4 02 2a 00",
			"00 00 ff 00 ff 00 00 00 ff 06 fa d5 03 32 01 06 07 e8 00"},
		{"S3 SAMConfiguration", "00 00 00 00 00 00 00 00 00 00 00 00 ff 05 fb d4 14 01 00 00 17 00",
			"00 00 ff 00 ff 00 00 00 ff 02 fe d5 15 16 00"},
		{"S4 SAMConfiguration", "00 00 ff 05 fb d4 14 01 00 01 16 00",
			"00 00 ff 00 ff 00 00 00 ff 02 fe d5 15 16 00"},
		{"S1 InListPassiveTarget 106A, empty field", "00 00 ff 04 fc d4 4a 01 00 e1 00",
			"00 00 ff 00 ff 00 00 00 ff 03 fd d5 4b 00 e0 00"},
		{"S1 InListPassiveTarget 106B, empty field", "00 00 ff 05 fb d4 4a 01 03 00 de 00",
			"00 00 ff 00 ff 00 00 00 ff 03 fd d5 4b 00 e0 00"},
		{"S1 InDeselect", "00 00 ff 03 fd d4 44 00 e8 00",
			"00 00 ff 00 ff 00 00 00 ff 03 fd d5 45 00 e6 00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := New()
			c.asleep = true // a fresh HSU chip needs the 0x55 wake-up before anything
			u := c.UART()
			if _, err := u.Write(hextest.Bytes(t, "55 55 00 00 00")); err != nil {
				t.Fatal(err)
			}
			if _, err := u.Write(hextest.Bytes(t, tc.tx)); err != nil {
				t.Fatal(err)
			}
			want := hextest.Bytes(t, tc.rx)
			var got []byte
			buf := make([]byte, 64)
			for deadline := time.Now().Add(time.Second); len(got) < len(want) && time.Now().Before(deadline); {
				n, err := u.Read(buf)
				if err != nil {
					t.Fatal(err)
				}
				got = append(got, buf[:n]...)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("got  % x\nwant % x", got, want)
			}
		})
	}
}

// TestAsleepIgnoresFramesWithoutWakeup: in HSU mode a powered-down PN532 needs 0x55 first.
func TestAsleepIgnoresFramesWithoutWakeup(t *testing.T) {
	c := New()
	c.asleep = true
	u := c.UART()
	if _, err := u.Write(hextest.Bytes(t, "00 00 ff 02 fe d4 02 2a 00")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if n, _ := u.Read(buf); n != 0 {
		t.Errorf("asleep chip answered % x", buf[:n])
	}
}

// FuzzEmulator throws arbitrary host bytes at the emulated PN532 (it backs the "sim" reader of
// the edgeid binary): over I2C writes, SPI transfers and the UART stream it must answer or stay
// silent, never panic, and keep its output bounded.
func FuzzEmulator(f *testing.F) {
	f.Add([]byte{0x00, 0x00, 0xff, 0x04, 0xfc, 0xd4, 0x4a, 0x01, 0x00, 0xe1, 0x00})
	f.Add([]byte{0x00, 0x00, 0xff, 0x05, 0xfb, 0xd4, 0x40, 0x41, 0x00, 0xa4, 0x46, 0x00})
	f.Add([]byte{0x55, 0x55, 0x00, 0x00, 0xff, 0xff, 0xff, 0x00, 0x03, 0xfd, 0xd4, 0x40, 0x01, 0xeb, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		c := New()
		c.Insert(PassportA(responder{}))
		// Each chunk of up to 32 bytes is one I2C write, one SPI DW transfer and UART input.
		for len(b) > 0 {
			n := min(len(b), 32)
			chunk := b[:n]
			b = b[n:]
			_ = c.I2C().Tx(0x24, chunk, nil)
			r := make([]byte, 300)
			_ = c.I2C().Tx(0x24, nil, r)
			conn, _ := c.SPI().Connect(1000000, 0, 8)
			w := append([]byte{0x80}, chunk...) // DW, bit-reversed 0x01
			_ = conn.Tx(w, make([]byte, len(w)))
			_, _ = c.UART().Write(chunk)
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(c.out) > 8 || len(c.in) > 4096 || len(c.rxChain) > 70000 {
			t.Fatalf("emulator state grew: %d frames queued, %d input bytes, %d chained", len(c.out), len(c.in), len(c.rxChain))
		}
	})
}

type responder struct{}

func (responder) Transceive(_ context.Context, cmd []byte) ([]byte, error) {
	return append(append([]byte(nil), cmd...), 0x90, 0x00), nil
}
