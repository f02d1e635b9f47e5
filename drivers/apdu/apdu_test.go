package apdu

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/edgeid/edgeid/drivers/internal/hextest"
)

// Every ISO 7816-3 case, short and extended, encodes to the expected bytes and parses back.
func TestCommandRoundTrip(t *testing.T) {
	tests := []struct {
		c    Command
		want string
	}{
		{Command{INS: 0x84, Ne: 8}, "0084000008"},
		{Command{INS: 0xB0, Ne: 256}, "00B0000000"},
		{Command{INS: 0xA4, P1: 2, P2: 0x0C, Data: []byte{1, 0x1E}}, "00A4020C02011E"},
		{Command{INS: 0xA4, P1: 4, Data: []byte{0xA0, 0}, Ne: 16}, "00A4040002A00010"},
		{Command{INS: 0xA4, P1: 2, P2: 0x0C}, "00A4020C"},
		{Command{INS: 0xB0, Ne: 1000}, "00B00000" + "0003E8"},
		{Command{INS: 0xB0, Ne: 65536}, "00B00000" + "000000"},
		{Command{INS: 0xB1, Data: make([]byte, 300), Ne: 300}, "00B10000" + "00012C" + strings.Repeat("00", 300) + "012C"},
		{Command{INS: 0xB1, Data: make([]byte, 256)}, "00B10000" + "000100" + strings.Repeat("00", 256)},
		{Command{INS: 0xB1, Data: []byte{0x54, 1, 0}, Ne: 256}, "00B100000354010000"},
	}
	for _, tt := range tests {
		got, err := tt.c.Bytes()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, hextest.Bytes(t, tt.want)) {
			t.Errorf("%+v.Bytes() = %X, want %s", tt.c, got, tt.want)
		}
		back, err := ParseCommand(got)
		if err != nil {
			t.Fatalf("ParseCommand(%X): %v", got, err)
		}
		if back.CLA != tt.c.CLA || back.INS != tt.c.INS || back.P1 != tt.c.P1 || back.P2 != tt.c.P2 ||
			back.Ne != tt.c.Ne || !bytes.Equal(back.Data, tt.c.Data) {
			t.Errorf("ParseCommand(%X) = %+v, want %+v", got, back, tt.c)
		}
	}
}

// Extended encodings of commands that would fit a short APDU are accepted too: readers and
// inspection systems send them.
func TestParseExtendedForm(t *testing.T) {
	tests := []struct {
		in   string
		data string
		ne   int
	}{
		{"00 b0 00 00 00 04 00", "", 1024},
		{"00 b0 00 00 00 00 00", "", 65536},
		{"00 d6 00 00 00 00 02 aa bb", "aabb", 0},
		{"00 d6 00 00 00 00 02 aa bb 01 00", "aabb", 256},
	}
	for _, tc := range tests {
		c, err := ParseCommand(hextest.Bytes(t, tc.in))
		if err != nil || hex.EncodeToString(c.Data) != tc.data || c.Ne != tc.ne {
			t.Errorf("%s: got %+v %v, want data %q Ne %d", tc.in, c, err, tc.data, tc.ne)
		}
	}
}

func TestParseCommandRefuses(t *testing.T) {
	for _, tc := range []struct{ in, why string }{
		{"", "at least CLA"},
		{"00 a4", "at least CLA"},
		{"00 a4 02 0c 03 01 1e", "Lc 3 but 3 body bytes"},
		{"00 a4 02 0c 05 01 1e", "Lc 5"},
		{"00 b0 00 00 00 04", "truncated"},
		{"00 b0 00 00 00 00 00 00", "extended Lc of 0"},
		{"00 d6 00 00 00 00 03 aa bb", "extended Lc 3"},
		{"00 b0 00 00 00 00 02 aa", "extended Lc 2"},
	} {
		_, err := ParseCommand(hextest.Bytes(t, tc.in))
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.why) {
			t.Errorf("ParseCommand(%s) = %v, want ErrMalformed saying %q", tc.in, err, tc.why)
		}
	}
}

func TestBytesRefusesOutOfRange(t *testing.T) {
	for _, c := range []Command{{Ne: -1}, {Ne: MaxExtNe + 1}, {Data: make([]byte, MaxExtData+1)}} {
		if _, err := c.Bytes(); err == nil {
			t.Errorf("Bytes of data %d bytes, Ne %d: no error", len(c.Data), c.Ne)
		}
	}
}

func TestResponse(t *testing.T) {
	r, err := ParseResponse(hextest.Bytes(t, "0102 9000"))
	if err != nil || !bytes.Equal(r.Data, []byte{1, 2}) || r.SW != 0x9000 {
		t.Fatalf("ParseResponse: %+v %v", r, err)
	}
	if got := r.Bytes(); !bytes.Equal(got, hextest.Bytes(t, "01029000")) {
		t.Errorf("Bytes = %X", got)
	}
	if r.Data = append(r.Data, 3); r.SW != 0x9000 {
		t.Error("appending to Data overwrote the status word")
	}
	if _, err := ParseResponse([]byte{0x90}); !errors.Is(err, ErrMalformed) {
		t.Errorf("ParseResponse of 1 byte: %v, want ErrMalformed", err)
	}
}

// Anything that parses encodes and parses back to the same command.
func FuzzParseCommand(f *testing.F) {
	f.Add([]byte{0x00, 0xB0, 0x00, 0x00, 0x00})
	f.Add([]byte{0x00, 0xB1, 0x00, 0x00, 0x00, 0x00, 0x03, 0x54, 0x01, 0x00, 0x00, 0x00})
	f.Add([]byte{0x0C, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x1E, 0x00})
	f.Add([]byte{0x00, 0xD6, 0x00, 0x00, 0x00, 0x00, 0x02, 0xAA, 0xBB, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCommand(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if len(c.Data) > len(b) {
			t.Fatalf("data of %d bytes from %d input bytes", len(c.Data), len(b))
		}
		enc, err := c.Bytes()
		if err != nil {
			t.Fatalf("parsed command does not encode: %v", err)
		}
		back, err := ParseCommand(enc)
		if err != nil || back.CLA != c.CLA || back.INS != c.INS || back.P1 != c.P1 || back.P2 != c.P2 ||
			back.Ne != c.Ne || !bytes.Equal(back.Data, c.Data) {
			t.Fatalf("round trip %X -> %+v -> %X -> %+v (%v)", b, c, enc, back, err)
		}
	})
}
