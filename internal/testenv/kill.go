package testenv

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"testing"
	"time"
)

// Child describes the test binary re-executed as a process a crash test can kill.
type Child struct {
	// Env is added to the test's environment; the test looks for it to play the child's part.
	Env []string
	// Stderr receives the child's standard error (nil: discarded).
	Stderr io.Writer
	// Limit kills a child that hangs (default 20 seconds).
	Limit time.Duration
}

// KillChild re-executes the test binary to run only t's test, with c.Env, and hands each line
// the child prints to until. When until returns true, when the output ends, or after c.Limit,
// the child is killed with SIGKILL (no chance to clean up, as in a power cut); KillChild
// returns once the child has been reaped.
func KillChild(t testing.TB, c Child, until func(line string) bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), c.Env...)
	cmd.Stderr = c.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	limit := c.Limit
	if limit <= 0 {
		limit = 20 * time.Second
	}
	watchdog := time.AfterFunc(limit, func() { _ = cmd.Process.Kill() })
	defer watchdog.Stop()
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if until(sc.Text()) {
			break
		}
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	_ = cmd.Wait()
}
