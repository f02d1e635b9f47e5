package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeid/edgeid/drivers/nfc/pn532/transcript"
)

func TestDoctor(t *testing.T) {
	tests := []struct {
		args     []string
		wantCode int
		wantOut  string
		wantErr  string
	}{
		{[]string{"doctor", "-reader", "sim"}, 0, "ok    sim                          PN532 v1.6", ""},
		{[]string{"doctor", "-reader", "pn532:i2c:/nonexistent/i2c-7"}, 1, "dtparam=i2c_arm=on", "no working NFC reader"},
		{[]string{"doctor", "-reader", "pn532:uart:/dev/null", "-reader", "sim"}, 0, "not a terminal", ""},
		{[]string{"doctor", "-reader", "pn532:usb:/dev/x"}, 2, "", "unknown pn532 bus"},
		{[]string{"doctor", "extra"}, 2, "", "takes no arguments"},
	}
	for _, tc := range tests {
		var out, errb bytes.Buffer
		code := run(context.Background(), tc.args, &out, &errb)
		if code != tc.wantCode || !strings.Contains(out.String(), tc.wantOut) || !strings.Contains(errb.String(), tc.wantErr) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d, stdout with %q, stderr with %q",
				tc.args, code, out.String(), errb.String(), tc.wantCode, tc.wantOut, tc.wantErr)
		}
	}
}

func TestNFCSmokeRecord(t *testing.T) {
	path := filepath.Join(t.TempDir(), "smoke.json")
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"nfc", "smoke", "-reader", "sim", "-record", path}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.Contains(out.String(), "SW 9000") || !strings.Contains(out.String(), "recorded") {
		t.Errorf("output %q", out.String())
	}
	tr, err := transcript.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Ops) < 20 || !strings.Contains(tr.Comment, "PN532 v1.6") {
		t.Errorf("transcript: %d ops, comment %q", len(tr.Ops), tr.Comment)
	}
	code = run(context.Background(), []string{"nfc", "smoke", "-reader", "pcsc:0"}, &out, &errb)
	if code != 2 {
		t.Errorf("smoke on pcsc: exit %d, want 2", code)
	}
}
