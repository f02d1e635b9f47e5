package main

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeid/edgeid/drivers/emrtd/emrtdsim"
	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
)

// TestDocReadOverPN532 is the full-stack test of issue 4: `edgeid doc read --reader sim` runs
// PACE (or BAC) and secure messaging with the virtual passport chip of emrtdsim, every APDU
// crossing the PN532 frame protocol on the emulated I2C bus, and the files read must be the
// generated document's, a DG2 of 20 000 bytes included.
func TestDocReadOverPN532(t *testing.T) {
	mrz := "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<L898902C36UTO7408122F1204159ZE184226B<<<<<10"
	line2 := mrz[44:]
	dg2 := make([]byte, 20000)
	for i := range dg2 {
		dg2[i] = byte(i * 13)
	}
	files := lds.Files{
		"EF.COM": tlv.EncodeTLV(0x60, append(tlv.EncodeTLV(0x5F01, []byte("0107")), tlv.EncodeTLV(0x5C, []byte{0x61, 0x75})...)),
		"DG1":    tlv.EncodeTLV(0x61, tlv.EncodeTLV(0x5F1F, []byte(mrz))),
		"DG2":    tlv.EncodeTLV(0x75, dg2),
		"EF.SOD": tlv.EncodeTLV(0x77, bytes.Repeat([]byte{0x30}, 300)),
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
			if !strings.Contains(stderr.String(), "reader: pn532(i2c pn532sim-i2c 0x24)") {
				t.Errorf("stderr %q: the read did not go through the emulated PN532", stderr.String())
			}
			var res readResult
			if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
				t.Fatalf("json: %v: %s", err, stdout.String())
			}
			if res.Access != tc.wantAccess {
				t.Errorf("access %q, want %q", res.Access, tc.wantAccess)
			}
			got, err := lds.LoadDump(out)
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

// noiseJPEG is a synthetic 20-odd KB JPEG (pseudo-random pixels, no person) for DG2.
func noiseJPEG(t *testing.T) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 160, 200))
	x := uint32(2463534242)
	for i := range img.Pix {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		img.Pix[i] = byte(x)
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 60}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestDocReadVerifyOverPN532 reads a generated passport (CSCA, DS, signed EF.SOD, DG2 with a
// ~20 KB image) over the emulated PN532 on I2C, then verifies the dump with Passive
// Authentication: the untouched document passes, one altered after signing fails on DG2.
func TestDocReadVerifyOverPN532(t *testing.T) {
	face := noiseJPEG(t)
	if len(face) < 15000 {
		t.Fatalf("synthetic face is %d bytes, want a DG2 of about 20 KB", len(face))
	}
	now := time.Now().UTC()
	for _, tc := range []struct {
		name     string
		tamper   string
		wantCode int
		want     string
	}{
		{"genuine", "", 0, "document authenticated"},
		{"DG2 altered after signing", "DG2", 1, "dg-hash DG2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := emrtdsim.GenerateDocument(&emrtdsim.DocumentOpts{MRZ: cliMRZ, Face: face, Now: now, AAKey: emrtdsim.AANone, Tamper: tc.tamper})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			dump, trust, out := filepath.Join(dir, "dump"), filepath.Join(dir, "trust"), filepath.Join(dir, "out")
			if err := doc.Files.WriteDump(dump); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(trust, 0o700); err != nil {
				t.Fatal(err)
			}
			for n, b := range doc.TrustFiles {
				if err := os.WriteFile(filepath.Join(trust, n), b, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			code, _, errs := runCLI(t, "doc", "read", "--reader", "sim", "--sim-dump", dump, "--mrz", cliMRZ[44:], "--dump", out, "--extended", "--sim-extended")
			if code != 0 || !strings.Contains(errs, "reader: pn532(i2c pn532sim-i2c 0x24)") {
				t.Fatalf("doc read: exit %d, stderr %q", code, errs)
			}
			if got, err := os.ReadFile(filepath.Join(out, "DG2")); err != nil || len(got) < 15000 || !bytes.Equal(got, doc.Files["DG2"]) {
				t.Fatalf("DG2 read over PN532: %d bytes, %v; want the generated %d", len(got), err, len(doc.Files["DG2"]))
			}
			code, stdout, errs := runCLI(t, "doc", "verify", out, "--trust", trust, "--state", t.TempDir())
			if code != tc.wantCode || !strings.Contains(stdout+errs, tc.want) {
				t.Errorf("doc verify: exit %d, stdout %q, stderr %q; want exit %d with %q", code, stdout, errs, tc.wantCode, tc.want)
			}
		})
	}
}
