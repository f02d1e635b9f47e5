//go:build !linux

package pn532

import "errors"

// TTY is only implemented on Linux.
type TTY struct{}

// OpenTTY is only implemented on Linux.
func OpenTTY(path string, baud int) (*TTY, error) {
	return nil, errors.New("tty: serial ports are only supported on Linux")
}

// Read implements Port.
func (t *TTY) Read(p []byte) (int, error) { return 0, errors.New("tty: unsupported") }

// Write implements Port.
func (t *TTY) Write(p []byte) (int, error) { return 0, errors.New("tty: unsupported") }

// Close closes the port.
func (t *TTY) Close() error { return nil }
