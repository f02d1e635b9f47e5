package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeid/edgeid/drivers/emrtd"
)

// TestDocReadOverPN532 is the full-stack test of issue 4: `edgeid doc read --reader sim` runs
// PACE (or BAC) and secure messaging with the virtual passport chip of emrtdtest, every APDU
// crossing the PN532 frame protocol on the emulated I2C bus, and the files read must be the
// generated document's, a DG2 of 20 000 bytes included.
func TestDocReadOverPN532(t *testing.T) {
	mrz := "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<L898902C36UTO7408122F1204159ZE184226B<<<<<10"
	line2 := mrz[44:]
	dg2 := make([]byte, 20000)
	for i := range dg2 {
		dg2[i] = byte(i * 13)
	}
	files := emrtd.Files{
		"EF.COM": emrtd.EncodeTLV(0x60, append(emrtd.EncodeTLV(0x5F01, []byte("0107")), emrtd.EncodeTLV(0x5C, []byte{0x61, 0x75})...)),
		"DG1":    emrtd.EncodeTLV(0x61, emrtd.EncodeTLV(0x5F1F, []byte(mrz))),
		"DG2":    emrtd.EncodeTLV(0x75, dg2),
		"EF.SOD": emrtd.EncodeTLV(0x77, bytes.Repeat([]byte{0x30}, 300)),
	}
	dir := t.TempDir()
	if err := files.WriteDump(dir); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		args       []string
		wantAccess string
	}{
		{"PACE short APDUs", []string{"--mrz", line2}, "PACE"},
		{"BAC", []string{"--mrz", line2, "--sim-pace", "none"}, "BAC"},
		{"PACE extended length", []string{"--mrz", line2, "--extended", "--sim-extended"}, "PACE"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			args := append([]string{"doc", "read", "--reader", "sim", "--sim-dump", dir, "--json", "--dump", out}, tc.args...)
			var stdout, stderr bytes.Buffer
			if code := run(context.Background(), args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), "reader: pn532(i2c pn532test-i2c 0x24)") {
				t.Errorf("stderr %q: the read did not go through the emulated PN532", stderr.String())
			}
			var res readResult
			if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
				t.Fatalf("json: %v: %s", err, stdout.String())
			}
			if res.Access != tc.wantAccess {
				t.Errorf("access %q, want %q", res.Access, tc.wantAccess)
			}
			got, err := emrtd.LoadDump(out)
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range files {
				if !bytes.Equal(got[name], want) {
					t.Errorf("%s: read %d bytes, differs from the generated %d", name, len(got[name]), len(want))
				}
			}
		})
	}
}

func TestDocReadReaderErrors(t *testing.T) {
	tests := []struct {
		reader  string
		wantErr string
	}{
		{"pn532:i2c:/nonexistent/i2c-3", "dtparam=i2c_arm=on"},
		{"pn532:uart:/dev/null", "not a terminal"},
		{"nfc0", "unknown driver"},
	}
	for _, tc := range tests {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), []string{"doc", "read", "--reader", tc.reader, "--can", "123456"}, &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), tc.wantErr) {
			t.Errorf("--reader %s: exit %d, stderr %q; want 2 and %q", tc.reader, code, stderr.String(), tc.wantErr)
		}
	}
}
