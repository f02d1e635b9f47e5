package pn532

import (
	"bytes"
	"strings"
	"testing"

	"github.com/edgeid/edgeid/drivers/internal/hextest"
	"github.com/edgeid/edgeid/drivers/nfc"
)

func TestParseTargets(t *testing.T) {
	tests := []struct {
		name    string
		m       Modulation
		hex     string
		wantN   int
		wantUID string
		wantErr string
	}{
		{"none", TypeA106, "00", 0, "", ""},
		// S5 of pn532_frames.txt: a MIFARE Classic (SAK 08, no ATS).
		{"mifare classic", TypeA106, "01 01 04 00 08 04 82 ac b9 5d", 1, "82acb95d", ""},
		{"iso-dep with ats", TypeA106, "01 01 00 04 20 04 08 12 34 56 05 78 80 70 02", 1, "08123456", ""},
		{"7-byte uid", TypeA106, "01 01 00 44 20 07 04 11 22 33 44 55 66 01", 1, "04112233445566", ""},
		{"ats length 0", TypeA106, "01 01 00 44 20 07 04 11 22 33 44 55 66 00", 0, "", "ATS length 0"},
		{"type b", TypeB106, "01 01 50 1a 2b 3c 4d 00 00 00 00 80 81 e1 01 00", 1, "1a2b3c4d", ""},
		{"empty", TypeA106, "", 0, "", "NbTg missing"},
		{"nbtg 3", TypeA106, "03", 0, "", "NbTg=3"},
		{"truncated uid", TypeA106, "01 01 00 04 08 07 01 02", 0, "", "truncated"},
		{"uid length 5", TypeA106, "01 01 00 04 08 05 01 02 03 04 05", 0, "", "NFCID1 length 5"},
		{"ats missing", TypeA106, "01 01 00 04 20 04 01 02 03 04", 0, "", "ATS is missing"},
		{"ats overruns", TypeA106, "01 01 00 04 20 04 01 02 03 04 10 78", 0, "", "ATS length 16"},
		{"trailing bytes", TypeA106, "01 01 04 00 08 04 82 ac b9 5d ff", 0, "", "1 bytes after"},
		{"atqb not 50", TypeB106, "01 01 51 1a 2b 3c 4d 00 00 00 00 80 81 e1 00", 0, "", "starts 0x51"},
		{"attrib overruns", TypeB106, "01 01 50 1a 2b 3c 4d 00 00 00 00 80 81 e1 09 00", 0, "", "ATTRIB_RES of 9"},
		{"felica", Modulation(0x01), "01 01", 0, "", "not supported"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTargets(tc.m, hextest.Bytes(t, tc.hex))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("got %v, want error containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tc.wantN {
				t.Fatalf("got %d targets, want %d", len(got), tc.wantN)
			}
			if tc.wantN > 0 && !bytes.Equal(got[0].Info.UID, hextest.Bytes(t, tc.wantUID)) {
				t.Errorf("uid % x, want %s", got[0].Info.UID, tc.wantUID)
			}
		})
	}
}

func TestATSRates(t *testing.T) {
	tests := []struct {
		ats    string
		tx, rx int
	}{
		{"05 78 80 70 02", 106, 106}, // TA=80: same divisor, 106 only
		{"0c 78 22 81 02 80 73 c0 21 40 00 00", 424, 424},
		{"05 78 11 70 02", 212, 212},
		{"05 78 b3 70 02", 424, 424}, // same D required: min(424... ) -> 424,848 -> 424
		{"05 78 08 70 02", 106, 106}, // RFU bit set: ignored
		{"02 00", 106, 106},
		{"", 106, 106},
	}
	for _, tc := range tests {
		tx, rx := nfc.ATSBitRates(hextest.Bytes(t, tc.ats))
		if tx != tc.tx || rx != tc.rx {
			t.Errorf("ATS %s: got %d/%d, want %d/%d", tc.ats, tx, rx, tc.tx, tc.rx)
		}
	}
}

func FuzzParseTargets(f *testing.F) {
	f.Add(byte(0x00), hextest.Bytes(f, "01 01 04 00 08 04 82 ac b9 5d"))
	f.Add(byte(0x00), hextest.Bytes(f, "01 01 00 04 20 04 08 12 34 56 05 78 80 70 02"))
	f.Add(byte(0x03), hextest.Bytes(f, "01 01 50 1a 2b 3c 4d 00 00 00 00 80 81 e1 01 00"))
	f.Add(byte(0x00), hextest.Bytes(f, "02 01 00 04 20 04 08 12 34 56 01 02 04 00 08 04 82 ac b9 5d"))
	f.Fuzz(func(t *testing.T, m byte, b []byte) {
		ts, err := ParseTargets(Modulation(m), b)
		if err != nil {
			return
		}
		for _, tg := range ts {
			if len(tg.Info.UID) > 10 || len(tg.Info.ATS) > 255 || len(tg.Info.ATTRIB) > 255 {
				t.Fatalf("oversize target %+v", tg)
			}
		}
	})
}
