package nfc

import (
	"encoding/hex"
	"strings"
	"testing"

	"github.com/edgeid/edgeid/drivers/internal/hextest"
)

func TestParseSelector(t *testing.T) {
	tests := []struct {
		in      string
		want    Selector
		wantErr string
	}{
		{"pn532:i2c:/dev/i2c-1", Selector{Driver: "pn532", Bus: "i2c", Path: "/dev/i2c-1"}, ""},
		{"pn532:i2c:/dev/i2c-1@0x24", Selector{Driver: "pn532", Bus: "i2c", Path: "/dev/i2c-1", Addr: 0x24}, ""},
		{"pn532:spi:/dev/spidev0.0", Selector{Driver: "pn532", Bus: "spi", Path: "/dev/spidev0.0"}, ""},
		{"pn532:uart:/dev/ttyAMA0", Selector{Driver: "pn532", Bus: "uart", Path: "/dev/ttyAMA0"}, ""},
		{"pn532:uart:/dev/ttyUSB0@921600", Selector{Driver: "pn532", Bus: "uart", Path: "/dev/ttyUSB0", Baud: 921600}, ""},
		{"pcsc:0", Selector{Driver: "pcsc"}, ""},
		{"pcsc:2", Selector{Driver: "pcsc", Index: 2}, ""},
		{"pcsc:ACS ACR122U", Selector{Driver: "pcsc", Name: "ACS ACR122U"}, ""},
		{"sim", Selector{Driver: "sim"}, ""},
		{"", Selector{}, "empty selection"},
		{"sim:1", Selector{}, "sim takes no parameters"},
		{"pcsc:", Selector{}, "want pcsc:<index>"},
		{"pcsc:-1", Selector{}, "out of range"},
		{"pcsc:64", Selector{}, "out of range"},
		{"pn532", Selector{}, "want pn532:<i2c|spi|uart>"},
		{"pn532:i2c:", Selector{}, "want pn532:<i2c|spi|uart>"},
		{"pn532:usb:/dev/x", Selector{}, "unknown pn532 bus \"usb\""},
		{"pn532:i2c:/dev/i2c-1@0x99", Selector{}, "not a 7-bit address"},
		{"pn532:i2c:/dev/i2c-1@zz", Selector{}, "not a 7-bit address"},
		{"pn532:i2c:@0x24", Selector{}, "empty device path"},
		{"pn532:spi:/dev/spidev0.0@1", Selector{}, "spi takes no @parameter"},
		{"pn532:uart:/dev/ttyS0@12345", Selector{}, "baud \"12345\""},
		{"acr:0", Selector{}, "unknown driver \"acr\""},
		{"pn532:i2c:/dev/i2c-1\n", Selector{}, "control character"},
		{strings.Repeat("x", 300), Selector{}, "longer than 256"},
	}
	for _, tc := range tests {
		got, err := ParseSelector(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseSelector(%q) = %+v, %v; want error containing %q", tc.in, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseSelector(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		again, err := ParseSelector(got.String())
		if err != nil || again != got {
			t.Errorf("round trip of %q via %q: %+v, %v", tc.in, got.String(), again, err)
		}
	}
}

func FuzzParseSelector(f *testing.F) {
	for _, s := range []string{"pn532:i2c:/dev/i2c-1@0x24", "pn532:uart:/dev/ttyAMA0@115200", "pcsc:0", "pcsc:ACS", "sim", "pn532:spi:/dev/spidev0.0"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := ParseSelector(s)
		if err != nil {
			return
		}
		again, err := ParseSelector(sel.String())
		if err != nil || again != sel {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, sel, sel.String(), again, err)
		}
	})
}

func TestHistorical(t *testing.T) {
	tests := []struct {
		name    string
		atr     string // ATR, or ATS when ats is true
		ats     bool
		hist    string
		ext     bool
		wantErr string
	}{
		// PC/SC part 3 contactless ATR: 3B 8n 80 01 hist TCK.
		{"pcsc atr ext", "3b 88 80 01 80 73 c0 21 40 00 00 00 00", false, "80 73 c0 21 40 00 00 00", true, ""},
		{"pcsc atr no caps", "3b 85 80 01 80 71 e1 00 00 00", false, "80 71 e1 00 00", false, ""},
		{"contact atr T=1", "3b f8 13 00 00 81 31 fe 45 4a 43 4f 50 76 32 34 31 b7", false, "4a 43 4f 50 76 32 34 31", false, ""},
		{"ats with caps", "0c 78 22 81 02 80 73 c0 21 40 00 00", true, "80 73 c0 21 40 00 00", true, ""},
		{"ats minimal", "01", true, "", false, ""},
		{"ats wrong TL", "05 78 80", true, "", false, "TL=5"},
		{"ats T0 overrun", "02 70", true, "", false, "beyond"},
		{"atr short", "3b", false, "", false, "at least TS T0"},
		{"atr bad TS", "3c 00", false, "", false, "TS=3c"},
		{"atr hist overrun", "3b 8f 80 01 80", false, "", false, "run past"},
		{"atr TD overrun", "3b 80", false, "", false, "run past"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var hist []byte
			var err error
			if tc.ats {
				hist, err = ATSHistorical(hextest.Bytes(t, tc.atr))
			} else {
				hist, err = ATRHistorical(hextest.Bytes(t, tc.atr))
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(hist); got != strings.ReplaceAll(tc.hist, " ", "") {
				t.Errorf("historical %s, want %s", got, tc.hist)
			}
			ext, err := HistoricalExtendedLength(hist)
			if err != nil || ext != tc.ext {
				t.Errorf("extended length %v, %v; want %v", ext, err, tc.ext)
			}
		})
	}
	if _, err := HistoricalExtendedLength(hextest.Bytes(t, "80 73 c0")); err == nil {
		t.Error("truncated card capabilities: no error")
	}
}

func FuzzHistorical(f *testing.F) {
	f.Add(hextest.Bytes(f, "3b 88 80 01 80 73 c0 21 40 00 00 00 00"))
	f.Add(hextest.Bytes(f, "3b f8 13 00 00 81 31 fe 45 4a 43 4f 50 76 32 34 31 b7"))
	f.Add(hextest.Bytes(f, "0c 78 22 81 02 80 73 c0 21 40 00 00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if h, err := ATRHistorical(b); err == nil {
			if len(h) > len(b) {
				t.Fatal("historical longer than ATR")
			}
			_, _ = HistoricalExtendedLength(h)
		}
		if h, err := ATSHistorical(b); err == nil {
			_, _ = HistoricalExtendedLength(h)
		}
		tx, rx := ATSBitRates(b)
		for _, r := range []int{tx, rx} {
			if r != 106 && r != 212 && r != 424 && r != 848 {
				t.Fatalf("bit rate %d", r)
			}
		}
	})
}

func TestCardInfoString(t *testing.T) {
	c := CardInfo{Protocol: TypeB, UID: []byte{1, 2, 3, 4}, ATQB: []byte{0x50}, BitRateTx: 106, BitRateRx: 106}
	if got, want := c.String(), "ISO 14443-B uid=01020304 atqb=50 attrib= rate=106/106kbps"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
