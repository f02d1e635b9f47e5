package emrtdsim

import (
	"context"
	"testing"

	"github.com/edgeid/edgeid/drivers/emrtd/lds"
)

func TestNewValidates(t *testing.T) {
	for _, o := range []Opts{
		{BAC: true}, // no MRZ information
		{PACE: []PACEOffer{{Cipher: "AES-128", ParamID: 13}}}, // no password
		{MRZInformation: "L898902C<369080619406236", PACE: []PACEOffer{{Cipher: "AES-512", ParamID: 13}}},
		{MRZInformation: "L898902C<369080619406236", PACE: []PACEOffer{{Cipher: "AES-128", ParamID: 2}}},
		{MRZInformation: "L898902C<369080619406236", BAC: true, MaxLe: 4096},
	} {
		if _, err := New(&o); err == nil {
			t.Errorf("New(%+v) accepted", o)
		}
	}
}

// The chip side answers protocol violations with status words, never data.
func TestChipRefuses(t *testing.T) {
	c, err := New(&Opts{MRZInformation: "L898902C<369080619406236", BAC: true, Files: lds.Files{"DG1": {0x61, 0x01, 0x00}}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name string
		cmd  []byte
		want string
	}{
		{"select DG1 before access", []byte{0x00, 0xA4, 0x04, 0x0C, 0x07, 0xA0, 0x00, 0x00, 0x02, 0x47, 0x10, 0x01}, "9000"},
		{"select DG1 without SM", []byte{0x00, 0xA4, 0x02, 0x0C, 0x02, 0x01, 0x01}, "6982"},
		{"external authenticate without challenge", append([]byte{0x00, 0x82, 0x00, 0x00, 0x28}, make([]byte, 40)...), "6985"},
		{"protected command without session", []byte{0x0C, 0xB0, 0x00, 0x00, 0x00}, "6988"},
		{"garbage", []byte{0x00}, "6700"},
		{"extended APDU on a short chip", []byte{0x00, 0xB0, 0x00, 0x00, 0x00, 0x01, 0x00}, "6700"},
		{"unknown INS", []byte{0x00, 0xFE, 0x00, 0x00}, "6D00"},
	}
	for _, tt := range tests {
		r, err := c.Transceive(ctx, tt.cmd)
		if err != nil {
			t.Fatal(err)
		}
		if got := hexSW(r); got != tt.want || len(r) != 2 {
			t.Errorf("%s: response %X, want only SW %s", tt.name, r, tt.want)
		}
	}
}

func hexSW(r []byte) string {
	const digits = "0123456789ABCDEF"
	if len(r) < 2 {
		return ""
	}
	a, b := r[len(r)-2], r[len(r)-1]
	return string([]byte{digits[a>>4], digits[a&15], digits[b>>4], digits[b&15]})
}

func FuzzChip(f *testing.F) {
	f.Add([]byte{0x00, 0x84, 0x00, 0x00, 0x08})
	f.Add([]byte{0x00, 0x22, 0xC1, 0xA4, 0x0F, 0x80, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, 0x02, 0x02, 0x83, 0x01, 0x01})
	f.Add([]byte{0x10, 0x86, 0x00, 0x00, 0x02, 0x7C, 0x00, 0x00})
	f.Add([]byte{0x00, 0xB1, 0x00, 0x00, 0x03, 0x54, 0x01, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := New(&Opts{MRZInformation: "L898902C<369080619406236", BAC: true, ExtendedLength: true, MaxLe: 65536,
			PACE: []PACEOffer{{Cipher: "AES-128", ParamID: 13}}, Files: lds.Files{"DG1": {0x61, 0x01, 0x00}}})
		if err != nil {
			t.Fatal(err)
		}
		// Two rounds so a state set by the first command meets the second.
		for range 2 {
			r, err := c.Transceive(context.Background(), b)
			if err != nil || len(r) < 2 {
				t.Fatalf("chip answered %X, %v", r, err)
			}
		}
	})
}
