package pn532

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// TTY is a serial port in raw 8N1 mode whose reads return after at most 100 ms (VMIN=0,
// VTIME=1), which keeps every wait of the UART link bounded.
type TTY struct {
	f    *os.File
	name string
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
	speed, ok := baudFlag(baud)
	if !ok {
		return nil, fmt.Errorf("tty %s: unsupported baud rate %d", path, baud)
	}
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("tty: %w", err)
	}
	fd := int(f.Fd())
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("tty %s: not a terminal: %w", path, err)
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON | unix.IXOFF | unix.IXANY
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB | unix.CSTOPB | unix.CRTSCTS | unix.CBAUD
	t.Cflag |= unix.CS8 | unix.CREAD | unix.CLOCAL | speed
	t.Ispeed, t.Ospeed = speed, speed
	t.Cc[unix.VMIN], t.Cc[unix.VTIME] = 0, 1
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		f.Close()
		return nil, fmt.Errorf("tty %s: set raw %d 8N1: %w", path, baud, err)
	}
	// Back to blocking reads now that VMIN/VTIME bound them; drop stale input.
	if err := unix.SetNonblock(fd, false); err != nil {
		f.Close()
		return nil, fmt.Errorf("tty %s: %w", path, err)
	}
	_ = unix.IoctlSetInt(fd, unix.TCFLSH, unix.TCIOFLUSH)
	return &TTY{f: f, name: path}, nil
}

// Read implements Port: n == 0 with a nil error means nothing arrived within 100 ms.
func (t *TTY) Read(p []byte) (int, error) {
	n, err := t.f.Read(p)
	if n == 0 && (err == nil || errors.Is(err, io.EOF)) {
		// VTIME expiry reads as EOF through os.File; so does a hung-up USB-serial adapter,
		// whose device node disappears.
		if _, serr := os.Stat(t.name); serr != nil {
			return 0, fmt.Errorf("tty %s gone: %w", t.name, serr)
		}
		return 0, nil
	}
	return n, err
}

// Write implements Port.
func (t *TTY) Write(p []byte) (int, error) { return t.f.Write(p) }

// Close closes the port.
func (t *TTY) Close() error { return t.f.Close() }

func (t *TTY) String() string { return t.name }
