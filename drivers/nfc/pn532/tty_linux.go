package pn532

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// TTY is a serial port in raw 8N1 mode whose reads return after at most 100 ms (VMIN=0,
// VTIME=1), which keeps every wait of the UART link bounded. When the device fails (a USB-serial
// adapter unplugged), the TTY closes it and opens the path again on the next Read or Write, so
// that the reader's reconnection finds the adapter once it is plugged back.
type TTY struct {
	name string
	baud int

	mu     sync.Mutex
	f      *os.File // nil after a failure until reopened
	closed bool
}

func baudFlag(baud int) (uint32, bool) {
	switch baud {
	case 9600:
		return unix.B9600, true
	case 19200:
		return unix.B19200, true
	case 38400:
		return unix.B38400, true
	case 57600:
		return unix.B57600, true
	case 115200:
		return unix.B115200, true
	case 230400:
		return unix.B230400, true
	case 460800:
		return unix.B460800, true
	case 921600:
		return unix.B921600, true
	}
	return 0, false
}

// OpenTTY opens path (a UART such as /dev/ttyAMA0 or a USB-serial adapter) at baud.
func OpenTTY(path string, baud int) (*TTY, error) {
	t := &TTY{name: path, baud: baud}
	f, err := t.open()
	if err != nil {
		return nil, err
	}
	t.f = f
	return t, nil
}

func (t *TTY) open() (*os.File, error) {
	speed, ok := baudFlag(t.baud)
	if !ok {
		return nil, fmt.Errorf("tty %s: unsupported baud rate %d", t.name, t.baud)
	}
	f, err := os.OpenFile(t.name, os.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("tty: %w", err)
	}
	fd := int(f.Fd())
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("tty %s: not a terminal: %w", t.name, err)
	}
	tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF | unix.IXANY
	tio.Oflag &^= unix.OPOST
	tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	tio.Cflag &^= unix.CSIZE | unix.PARENB | unix.CSTOPB | unix.CRTSCTS | unix.CBAUD
	tio.Cflag |= unix.CS8 | unix.CREAD | unix.CLOCAL | speed
	tio.Ispeed, tio.Ospeed = speed, speed
	tio.Cc[unix.VMIN], tio.Cc[unix.VTIME] = 0, 1
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, tio); err != nil {
		f.Close()
		return nil, fmt.Errorf("tty %s: set raw %d 8N1: %w", t.name, t.baud, err)
	}
	// Back to blocking reads now that VMIN/VTIME bound them; drop stale input.
	if err := unix.SetNonblock(fd, false); err != nil {
		f.Close()
		return nil, fmt.Errorf("tty %s: %w", t.name, err)
	}
	_ = unix.IoctlSetInt(fd, unix.TCFLSH, unix.TCIOFLUSH)
	return f, nil
}

// file returns the open device, reopening it after a failure.
func (t *TTY) file() (*os.File, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return nil, fmt.Errorf("tty %s: %w", t.name, os.ErrClosed)
	}
	if t.f == nil {
		f, err := t.open()
		if err != nil {
			return nil, err
		}
		t.f = f
	}
	return t.f, nil
}

// fail closes f after an error so that the next call reopens the path.
func (t *TTY) fail(f *os.File) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.f == f {
		t.f.Close()
		t.f = nil
	}
}

// Read implements Port: n == 0 with a nil error means nothing arrived within 100 ms.
func (t *TTY) Read(p []byte) (int, error) {
	f, err := t.file()
	if err != nil {
		return 0, err
	}
	n, err := f.Read(p)
	if n == 0 && (err == nil || errors.Is(err, io.EOF)) {
		// VTIME expiry reads as EOF through os.File; so does a hung-up USB-serial adapter,
		// whose device node disappears.
		if _, serr := os.Stat(t.name); serr != nil {
			t.fail(f)
			return 0, fmt.Errorf("tty %s gone: %w", t.name, serr)
		}
		return 0, nil
	}
	if err != nil {
		t.fail(f)
	}
	return n, err
}

// Write implements Port.
func (t *TTY) Write(p []byte) (int, error) {
	f, err := t.file()
	if err != nil {
		return 0, err
	}
	n, err := f.Write(p)
	if err != nil {
		t.fail(f)
	}
	return n, err
}

// Close closes the port.
func (t *TTY) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.closed = true
	if t.f == nil {
		return nil
	}
	err := t.f.Close()
	t.f = nil
	return err
}

func (t *TTY) String() string { return t.name }
