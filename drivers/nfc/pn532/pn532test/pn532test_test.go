package pn532test

import (
	"bytes"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

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
			if _, err := u.Write(unhex(t, "55 55 00 00 00")); err != nil {
				t.Fatal(err)
			}
			if _, err := u.Write(unhex(t, tc.tx)); err != nil {
				t.Fatal(err)
			}
			want := unhex(t, tc.rx)
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
	if _, err := u.Write(unhex(t, "00 00 ff 02 fe d4 02 2a 00")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 16)
	if n, _ := u.Read(buf); n != 0 {
		t.Errorf("asleep chip answered % x", buf[:n])
	}
}
