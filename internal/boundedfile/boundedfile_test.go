package boundedfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadFile(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small")
	if err := os.WriteFile(small, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		max     int64
		want    string
		wantErr error
	}{
		{"regular", small, 5, "hello", nil},
		{"over the cap", small, 4, "", ErrTooLarge},
		{"dev zero", "/dev/zero", 1 << 20, "", ErrNotRegular},
		{"dev null", "/dev/null", 1 << 20, "", ErrNotRegular},
		{"fifo without a writer", fifo, 1 << 20, "", ErrNotRegular},
		{"folder", dir, 1 << 20, "", ErrNotRegular},
		{"missing", filepath.Join(dir, "nope"), 1, "", fs.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan struct{})
			var got []byte
			var err error
			go func() { got, err = ReadFile(tt.path, tt.max); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatalf("ReadFile(%s) blocked", tt.path)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ReadFile: %v, want %v", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.path) {
					t.Errorf("error %q does not name the file", err)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Fatalf("ReadFile = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestReadSecret(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "token")
	if err := os.WriteFile(p, []byte("s3cret"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSecret(p, Key); !errors.Is(err, ErrExposed) {
		t.Errorf("group-readable secret: %v, want ErrExposed", err)
	}
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := ReadSecret(p, Key); err != nil || string(b) != "s3cret" {
		t.Errorf("0600 secret: %q, %v", b, err)
	}
	if err := os.Chmod(p, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CREDENTIALS_DIRECTORY", dir)
	if _, err := ReadSecret(p, Key); err != nil {
		t.Errorf("systemd credential: %v", err)
	}
}
