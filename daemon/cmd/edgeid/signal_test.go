package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgeid/edgeid/drivers/emrtd/emrtdsim"
)

// signalChild is the process TestSignals signals: it sets up signals as main does, reports
// the first one, then keeps "working" without looking at the context, like a decode inside
// OpenCV.
func signalChild() {
	ctx, stop := signalContext(context.Background(), os.Stderr, os.Exit)
	defer stop()
	fmt.Println("ready")
	<-ctx.Done()
	fmt.Println("stopping:", context.Cause(ctx))
	time.Sleep(time.Minute)
	fmt.Println("finished without a second signal")
}

// Issue 15 item 5: Ctrl-C and SIGTERM were ignored. The first signal ends the context; the
// second ends the process at once with 128+signal. A real process, real signals.
func TestSignals(t *testing.T) {
	if os.Getenv("EDGEID_SIGNAL_CHILD") == "1" {
		signalChild()
		os.Exit(0)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestSignals$")
			cmd.Env = append(os.Environ(), "EDGEID_SIGNAL_CHILD=1")
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			lines := bufio.NewScanner(out)
			expect := func(prefix string) {
				t.Helper()
				if !lines.Scan() || !strings.HasPrefix(lines.Text(), prefix) {
					t.Fatalf("child said %q (%v), want %q; stderr %q", lines.Text(), lines.Err(), prefix, stderr.String())
				}
			}
			expect("ready")
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			expect("stopping: interrupted by")
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != 128+int(sig) {
					t.Errorf("child ended with %v, want exit status %d", err, 128+int(sig))
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the second signal did not end the process")
			}
			if !strings.Contains(stderr.String(), "again to stop at once") {
				t.Errorf("stderr %q does not say what a second signal does", stderr.String())
			}
		})
	}
}

// After a signal, trust import stops between files and writes nothing.
func TestTrustImportStopsOnSignal(t *testing.T) {
	state := t.TempDir()
	_, trust := writeDoc(t, emrtdsim.DocumentOpts{Now: time.Now().UTC()})
	ctx, cancel := context.WithCancelCause(context.Background())
	cancel(fmt.Errorf("%w by interrupt", errInterrupted))
	var out, errb bytes.Buffer
	code := run(ctx, []string{"trust", "import", filepath.Join(trust, "csca.cer"), "--state", state}, &out, &errb)
	if code != 2 || !strings.Contains(errb.String(), "interrupted") {
		t.Errorf("exit %d, stderr %q; want 2 and an interruption", code, errb.String())
	}
	if ents, _ := os.ReadDir(filepath.Join(state, "trust")); len(ents) != 0 {
		t.Errorf("%d files written after the signal", len(ents))
	}
}
