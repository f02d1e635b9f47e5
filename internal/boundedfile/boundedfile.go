// Package boundedfile reads files the project does not control (documents, images, configs,
// keys, templates, transcripts, trust imports) with two promises: only a regular file is read,
// so /dev/zero, a FIFO or a socket is refused instead of growing memory or blocking forever,
// and never more than a cap, so a file that is larger than its kind can be costs nothing.
package boundedfile

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"syscall"
)

var (
	// ErrNotRegular is returned for a device, FIFO, socket or folder.
	ErrNotRegular = errors.New("not a regular file")
	// ErrTooLarge is returned for a file larger than the cap.
	ErrTooLarge = errors.New("file too large")
	// ErrExposed is returned by ReadSecret for a file that group or others may read.
	ErrExposed = errors.New("readable by group or others")
)

// Caps for the kinds of file the project reads; callers with a better bound pass their own.
const (
	Config     = 1 << 20  // a configuration file
	Key        = 64 << 10 // a PEM key, certificate or token
	Document   = 1 << 20  // one elementary file of a document dump (DG2 photos are the largest)
	Template   = 64 << 10 // one face template
	Transcript = 16 << 20 // a recorded reader session
	TrustList  = 32 << 20 // a master list or CRL (national master lists run to a few MB)
)

// Open opens path for reading after checking that it is a regular file of at most max bytes.
// The check is made on the opened descriptor, so what is read is what was checked. O_NONBLOCK
// keeps the open of a FIFO from waiting for a writer.
func Open(path string, max int64) (*os.File, fs.FileInfo, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w (%s)", ErrNotRegular, kind(fi.Mode()))}
	}
	if fi.Size() > max {
		f.Close()
		return nil, nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w: %d bytes, over the %d-byte limit", ErrTooLarge, fi.Size(), max)}
	}
	return f, fi, nil
}

// ReadFile reads the regular file at path if it holds at most max bytes. A file that grows
// while it is read is cut at max+1 bytes and refused.
func ReadFile(path string, max int64) ([]byte, error) {
	f, _, err := Open(path, max)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readAll(f, path, max)
}

// ReadSecret is ReadFile for keys and tokens: the file must also not be readable by group or
// others, unless it is a systemd credential (under $CREDENTIALS_DIRECTORY, which systemd
// protects itself).
func ReadSecret(path string, max int64) ([]byte, error) {
	f, fi, err := Open(path, max)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	credDir := os.Getenv("CREDENTIALS_DIRECTORY")
	isCred := credDir != "" && strings.HasPrefix(path, strings.TrimSuffix(credDir, "/")+"/")
	if !isCred && fi.Mode().Perm()&0o077 != 0 {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w: mode %#o, want 0600 or stricter", ErrExposed, fi.Mode().Perm())}
	}
	return readAll(f, path, max)
}

func readAll(f *os.File, path string, max int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	if int64(len(b)) > max {
		return nil, &fs.PathError{Op: "read", Path: path, Err: fmt.Errorf("%w: over the %d-byte limit", ErrTooLarge, max)}
	}
	return b, nil
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	}
	return "mode " + m.String()
}
