package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeid/edgeid/drivers/emrtd/emrtdsim"
	"github.com/edgeid/edgeid/internal/testenv"
)

const cliMRZ = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<L898902C36UTO7408122F1204159ZE184226B<<<<<10"

func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func writeDoc(t *testing.T, o emrtdsim.DocumentOpts) (dump, trust string) {
	t.Helper()
	o.MRZ, o.AAKey = cliMRZ, emrtdsim.AANone
	doc, err := emrtdsim.GenerateDocument(&o)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	dump, trust = filepath.Join(dir, "dump"), filepath.Join(dir, "trust")
	if err := doc.Files.WriteDump(dump); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(trust, 0o700)
	for n, b := range doc.TrustFiles {
		os.WriteFile(filepath.Join(trust, n), b, 0o600)
	}
	return dump, trust
}

func TestDocVerify(t *testing.T) {
	now := time.Now().UTC()
	at := now.Format(time.RFC3339)
	good, goodTrust := writeDoc(t, emrtdsim.DocumentOpts{Now: now})
	bad, badTrust := writeDoc(t, emrtdsim.DocumentOpts{Now: now, Tamper: "DG1"})
	empty := t.TempDir()
	tests := []struct {
		name     string
		args     []string
		code     int
		inOut    string
		inStderr string
	}{
		{"pass", []string{"doc", "verify", good, "--trust", goodTrust, "--at", at, "--state", empty}, 0, "document authenticated", ""},
		{"sod file alone", []string{"doc", "verify", filepath.Join(good, "EF.SOD"), "--trust", goodTrust, "--state", empty}, 0, "dg-hash *", ""},
		{"tampered", []string{"doc", "verify", bad, "--trust", badTrust, "--state", empty}, 1, "altered", "NOT authenticated: dg-hash DG1"},
		{"wrong trust", []string{"doc", "verify", good, "--trust", badTrust, "--state", empty}, 1, "", "csca-chain"},
		{"no trust", []string{"doc", "verify", good, "--state", empty}, 0, "no trust store given", ""},
		{"bad time", []string{"doc", "verify", good, "--at", "yesterday"}, 2, "", "--at"},
		{"no args", []string{"doc", "verify"}, 2, "", "want exactly one"},
		{"missing dir", []string{"doc", "verify", filepath.Join(empty, "nope"), "--state", empty}, 2, "", "no such file"},
		{"expired at", []string{"doc", "verify", good, "--trust", goodTrust, "--at", now.AddDate(1, 0, 0).Format(time.RFC3339), "--state", empty}, 1, "", "ds-validity"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(out, tt.inOut) || !strings.Contains(errs, tt.inStderr) {
				t.Errorf("got exit %d, stdout %q, stderr %q; want exit %d, stdout containing %q, stderr containing %q", code, out, errs, tt.code, tt.inOut, tt.inStderr)
			}
		})
	}
	code, out, _ := runCLI(t, "doc", "verify", good, "--json", "--trust", goodTrust)
	var rep struct {
		Passed bool `json:"passed"`
		Checks []struct{ Name, Status, Reason string }
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || code != 0 || !rep.Passed || len(rep.Checks) < 9 {
		t.Errorf("--json: exit %d, %v, %+v", code, err, rep)
	}
}

func TestTrustImportList(t *testing.T) {
	state := t.TempDir()
	now := time.Now().UTC()
	good, trust := writeDoc(t, emrtdsim.DocumentOpts{Now: now, RevokeDS: true})
	code, out, errs := runCLI(t, "trust", "import", filepath.Join(trust, "csca.cer"), filepath.Join(trust, "csca.crl"), "--state", state)
	if code != 0 || !strings.Contains(out, "sha256 ") || !strings.Contains(out, "CRL of") {
		t.Fatalf("import: exit %d, %q, %q", code, out, errs)
	}
	code, out, _ = runCLI(t, "trust", "list", "--state", state)
	if code != 0 || !strings.Contains(out, "1 trusted CSCA certificates, 1 CRLs") || !strings.Contains(out, "UT ") {
		t.Errorf("list: exit %d, %q", code, out)
	}
	// doc verify uses the state's trust folder by default; the DS is revoked there.
	code, _, errs = runCLI(t, "doc", "verify", good, "--state", state)
	if code != 1 || !strings.Contains(errs, "ds-revocation") {
		t.Errorf("verify with the imported CRL: exit %d, %q", code, errs)
	}
	if !strings.Contains(out, "CRL C=UT") || !strings.Contains(out, "1 revoked") {
		t.Errorf("list: CRL line missing: %q", out)
	}
	// A CRL no trusted CSCA signed is refused.
	_, otherTrust := writeDoc(t, emrtdsim.DocumentOpts{Now: now, RevokeDS: true})
	if code, _, errs := runCLI(t, "trust", "import", filepath.Join(otherTrust, "csca.crl"), "--state", state); code != 2 || !strings.Contains(errs, "signed this CRL") {
		t.Errorf("foreign CRL: exit %d, %q", code, errs)
	}
	// A file that is no trust material is refused, and nothing is written.
	junk := filepath.Join(t.TempDir(), "junk.cer")
	os.WriteFile(junk, []byte("not a certificate"), 0o600)
	if code, _, errs := runCLI(t, "trust", "import", junk, "--state", state); code != 2 || !strings.Contains(errs, "neither a certificate") {
		t.Errorf("junk import: exit %d, %q", code, errs)
	}
	ents, _ := os.ReadDir(filepath.Join(state, "trust"))
	if len(ents) != 2 {
		t.Errorf("trust folder holds %d files, want 2", len(ents))
	}
	if code, _, _ := runCLI(t, "trust", "import", "--state", state); code != 2 {
		t.Errorf("import without files: exit %d, want 2", code)
	}
}

func TestTrustImportMasterList(t *testing.T) {
	shared := filepath.Join("..", "..", "..", "..", "shared", "trust")
	if _, err := os.Stat(shared); err != nil {
		testenv.Missing(t, "shared trust lists absent (../shared next to the repository): %v", err)
	}
	state := t.TempDir()
	// The list alone is refused: nothing vouches for its signer yet.
	code, _, errs := runCLI(t, "trust", "import", filepath.Join(shared, "NL_ML_2026-07-22.ml"), "--state", state)
	if code != 2 || !strings.Contains(errs, "refused") {
		t.Fatalf("list without root: exit %d, %q", code, errs)
	}
	code, out, errs := runCLI(t, "trust", "import", filepath.Join(shared, "NL_ROOT_CA.cer"), filepath.Join(shared, "NL_ML_2026-07-22.ml"), "--state", state)
	if code != 0 || !strings.Contains(out, "411 CSCAs, signature and chain verified") {
		t.Fatalf("import: exit %d, %q, %q", code, out, errs)
	}
	code, out, _ = runCLI(t, "trust", "list", "--state", state, "--json")
	var l struct{ CSCAs []json.RawMessage }
	if err := json.Unmarshal([]byte(out), &l); code != 0 || err != nil || len(l.CSCAs) < 411 {
		t.Errorf("list: exit %d, %v, %d CSCAs", code, err, len(l.CSCAs))
	}
}
