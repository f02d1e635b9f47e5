package readcap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("12345"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b, err := File(path, 5); err != nil || string(b) != "12345" {
		t.Errorf("File(limit 5) = %q, %v; want the content", b, err)
	}
	if _, err := File(path, 4); err == nil || !strings.Contains(err.Error(), "larger than the 4 byte limit") {
		t.Errorf("File(limit 4) error = %v, want the limit named", err)
	}
	if _, err := File(filepath.Join(t.TempDir(), "none"), 4); !os.IsNotExist(err) {
		t.Errorf("File(missing) error = %v, want not-exist", err)
	}
}
