package pn532

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY returns the master side and the slave's path of a new pseudo-terminal.
func openPTY(t *testing.T) (*os.File, string) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("skipping: no /dev/ptmx: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	return m, "/dev/pts/" + strconv.Itoa(n)
}

func TestTTY(t *testing.T) {
	m, slave := openPTY(t)
	tty, err := OpenTTY(slave, 115200)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	start := time.Now()
	buf := make([]byte, 16)
	n, err := tty.Read(buf)
	if n != 0 || err != nil {
		t.Fatalf("idle read: %d %v", n, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("idle read took %s, want about 100ms", d)
	}
	frame := []byte{0x00, 0x00, 0xff, 0x00, 0xff, 0x00, 0x0d, 0x11} // CR and XON must pass raw
	if _, err := m.Write(frame); err != nil {
		t.Fatal(err)
	}
	var got []byte
	for deadline := time.Now().Add(2 * time.Second); len(got) < len(frame) && time.Now().Before(deadline); {
		n, err := tty.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	if !bytes.Equal(got, frame) {
		t.Errorf("read % x, want % x (raw mode)", got, frame)
	}
	if _, err := tty.Write([]byte{0x55, 0x0a}); err != nil {
		t.Fatal(err)
	}
	n, err = m.Read(buf)
	if err != nil || !bytes.Equal(buf[:n], []byte{0x55, 0x0a}) {
		t.Errorf("master read % x %v, want 55 0a (no LF->CRLF)", buf[:n], err)
	}
}

func TestTTYErrors(t *testing.T) {
	_, slave := openPTY(t)
	tests := []struct {
		path    string
		baud    int
		wantErr string
	}{
		{slave, 12345, "unsupported baud rate 12345"},
		{"/dev/null", 115200, "not a terminal"},
		{"/nonexistent/ttyX", 115200, "no such file"},
	}
	for _, tc := range tests {
		_, err := OpenTTY(tc.path, tc.baud)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("OpenTTY(%s, %d) = %v, want error containing %q", tc.path, tc.baud, err, tc.wantErr)
		}
	}
}

// TestTTYReplug unplugs the "adapter" (the pty behind a symlink, like a udev name) and plugs
// another one in at the same path: the TTY reports the loss, then works again.
func TestTTYReplug(t *testing.T) {
	dir := t.TempDir()
	link := filepath.Join(dir, "ttyPN532")
	m1, s1 := openPTY(t)
	if err := os.Symlink(s1, link); err != nil {
		t.Fatal(err)
	}
	tty, err := OpenTTY(link, 115200)
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	m1.Close()
	os.Remove(link)
	buf := make([]byte, 8)
	var rerr error
	for i := 0; i < 5 && rerr == nil; i++ {
		_, rerr = tty.Read(buf)
	}
	if rerr == nil {
		t.Fatal("no error after unplugging")
	}
	if _, err := tty.Write([]byte{0x55}); err == nil {
		t.Fatal("write to an unplugged adapter succeeded")
	}
	m2, s2 := openPTY(t)
	if err := os.Symlink(s2, link); err != nil {
		t.Fatal(err)
	}
	if _, err := tty.Write([]byte{0x55, 0x00}); err != nil {
		t.Fatalf("write after replug: %v", err)
	}
	n, err := m2.Read(buf)
	if err != nil || !bytes.Equal(buf[:n], []byte{0x55, 0x00}) {
		t.Errorf("after replug the adapter got % x %v", buf[:n], err)
	}
	if err := tty.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := tty.Write([]byte{0x55}); !errors.Is(err, os.ErrClosed) {
		t.Errorf("write after Close: %v, want os.ErrClosed (no reopening)", err)
	}
}
