package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
	"github.com/edgeid/edgeid/internal/testenv"
)

// simDumpDir writes a synthetic document (ICAO's fictitious Utopia specimen MRZ) to a folder.
func simDumpDir(t *testing.T) (string, lds.Files) {
	t.Helper()
	mrz := "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<L898902C36UTO7408122F1204159ZE184226B<<<<<10"
	files := lds.Files{
		"EF.COM": tlv.EncodeTLV(0x60, append(tlv.EncodeTLV(0x5F01, []byte("0107")), tlv.EncodeTLV(0x5C, []byte{0x61, 0x75})...)),
		"DG1":    tlv.EncodeTLV(0x61, tlv.EncodeTLV(0x5F1F, []byte(mrz))),
		"DG2":    tlv.EncodeTLV(0x75, bytes.Repeat([]byte{0x42}, 5000)),
		"EF.SOD": tlv.EncodeTLV(0x77, bytes.Repeat([]byte{0x30}, 300)),
	}
	dir := t.TempDir()
	if err := files.WriteDump(dir); err != nil {
		t.Fatal(err)
	}
	return dir, files
}

func TestDocReadSim(t *testing.T) {
	dir, files := simDumpDir(t)
	line2 := "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
	out := filepath.Join(t.TempDir(), "out")
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantAccess string
		wantErr    string
	}{
		{"PACE with MRZ line", []string{"--reader", "sim", "--sim-dump", dir, "--mrz", line2, "--json", "--dump", out}, 0, "PACE", ""},
		{"BAC with document fields", []string{"--reader", "sim", "--sim-dump", dir, "--doc", "L898902C3", "--dob", "740812", "--expiry", "120415", "--json", "--sim-pace", "none"}, 0, "BAC", ""},
		{"CAN", []string{"--reader", "sim", "--sim-dump", dir, "--can", "654321", "--sim-can", "654321", "--json", "--sim-pace", "AES-256:17"}, 0, "PACE", ""},
		{"extended length", []string{"--reader", "sim", "--sim-dump", dir, "--mrz", line2, "--json", "--extended", "--sim-extended"}, 0, "PACE", ""},
		{"wrong key", []string{"--reader", "sim", "--sim-dump", dir, "--doc", "L898902C3", "--dob", "740812", "--expiry", "120416"}, 1, "", "access denied"},
		{"two keys", []string{"--reader", "sim", "--sim-dump", dir, "--mrz", line2, "--can", "123456"}, 2, "", "exactly one access key"},
		{"bad check digit", []string{"--reader", "sim", "--sim-dump", dir, "--mrz", strings.Replace(line2, "C36", "C37", 1)}, 2, "", "check digit"},
		{"no reader", []string{"--mrz", line2}, 2, "", "--reader is required"},
		{"missing dump", []string{"--reader", "sim", "--sim-dump", filepath.Join(dir, "nope"), "--mrz", line2}, 2, "", "dump"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"doc", "read"}, tt.args...), &stdout, &stderr)
			if code != tt.wantCode {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.wantCode, stdout.String(), stderr.String())
			}
			if tt.wantErr != "" && !strings.Contains(stderr.String(), tt.wantErr) {
				t.Errorf("stderr %q does not mention %q", stderr.String(), tt.wantErr)
			}
			if tt.wantAccess == "" {
				return
			}
			var r readResult
			if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
				t.Fatalf("bad JSON %q: %v", stdout.String(), err)
			}
			if r.Access != tt.wantAccess {
				t.Errorf("access %q, want %q", r.Access, tt.wantAccess)
			}
			for _, n := range []string{"EF.COM", "DG1", "DG2", "EF.SOD"} {
				if r.Files[n] != len(files[n]) {
					t.Errorf("%s: %d bytes, want %d", n, r.Files[n], len(files[n]))
				}
			}
		})
	}
	got, err := os.ReadFile(filepath.Join(out, "DG2"))
	if err != nil || !bytes.Equal(got, files["DG2"]) {
		t.Errorf("--dump DG2: %d bytes, %v; want the chip's %d bytes", len(got), err, len(files["DG2"]))
	}
}

// The BSI reference data set with its published AA and CA keys: the chip proves both.
func TestDocReadSimSpecimenAACA(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "..", "shared", "emrtd-samples", "DE_BSI_TR03105-5_RefDataSet_HJP")
	if _, err := os.Stat(dir); err != nil {
		testenv.Missing(t, "specimen absent (../shared/emrtd-samples beside the checkout): %v", err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"doc", "read", "--reader", "sim", "--sim-dump", dir, "--json",
		"--mrz", "C11T002JM4D<<9608122F2310314<<<<<<<<<<<<<<<4",
		"--sim-aa-key", filepath.Join(dir, "DG15_sk.pkcs8"), "--sim-ca-key", filepath.Join(dir, "DG14_sk.pkcs8")}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var r readResult
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	if r.AA != "pass" || r.CA != "id-CA-ECDH-3DES-CBC-CBC" || !r.CAConfirmed {
		t.Errorf("AA %q (%s), CA %q confirmed %v; want pass and a confirmed 3DES CA", r.AA, r.AAError, r.CA, r.CAConfirmed)
	}
}

// A chip that does not hold its DG14 key (a clone) is a negative outcome: exit 1.
func TestDocReadSimCloneChip(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "..", "shared", "emrtd-samples", "DE_BSI_TR03105-5_RefDataSet_HJP")
	if _, err := os.Stat(dir); err != nil {
		testenv.Missing(t, "specimen absent (../shared/emrtd-samples beside the checkout): %v", err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	keyFile := filepath.Join(t.TempDir(), "other.pkcs8")
	if err := os.WriteFile(keyFile, der, 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"doc", "read", "--reader", "sim", "--sim-dump", dir,
		"--mrz", "C11T002JM4D<<9608122F2310314<<<<<<<<<<<<<<<4", "--sim-ca-key", keyFile}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "chip authentication failed") {
		t.Errorf("exit %d, stderr %q; want 1 and a chip authentication failure", code, stderr.String())
	}
}
