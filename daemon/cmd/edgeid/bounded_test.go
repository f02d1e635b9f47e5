package main

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Issue 15 item 4: `doc verify /dev/zero` grew to 24 GB (st.Size() is 0 for a device, then
// os.ReadFile read forever) and a FIFO blocked forever.
func TestDocVerifyRefusesDevicesAndFIFOs(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"/dev/zero", "/dev/urandom", fifo} {
		type result struct {
			code int
			errs string
		}
		done := make(chan result, 1)
		go func() {
			code, _, errs := runCLI(t, "doc", "verify", p)
			done <- result{code, errs}
		}()
		select {
		case r := <-done:
			if r.code != 2 || !strings.Contains(r.errs, "not a regular file") {
				t.Errorf("doc verify %s: exit %d, stderr %q; want 2 and \"not a regular file\"", p, r.code, r.errs)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("doc verify %s did not return", p)
		}
	}
}
