// Package sharedtest finds the shared test data (../shared next to the repository: specimen
// documents, master lists, PN532 logs) for the driver tests, wherever the test package sits.
package sharedtest

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgeid/edgeid/internal/testenv"
)

// root returns ../shared relative to the module root, found by walking up to go.mod.
func root() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(filepath.Dir(dir), "shared"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Dir returns ../shared/<sub>, or skips the test when the shared data is not there (fails it
// when CI=true).
func Dir(t testing.TB, sub string) string {
	t.Helper()
	r, err := root()
	if err != nil {
		testenv.Missing(t, "shared test data: %v", err)
	}
	dir := filepath.Join(r, sub)
	if _, err := os.Stat(dir); err != nil {
		testenv.Missing(t, "shared test data %s is absent (it lives next to the repository in ../shared): %v", dir, err)
	}
	return dir
}

// Read returns ../shared/<sub>/<name>, skipping the test when the shared data is absent.
func Read(t testing.TB, sub, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Dir(t, sub), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Sample returns a shared file of at most limit bytes as a fuzz seed, or nil when it is absent
// or larger.
func Sample(sub, name string, limit int64) []byte {
	r, err := root()
	if err != nil {
		return nil
	}
	f, err := os.Open(filepath.Join(r, sub, name))
	if err != nil {
		return nil
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil || int64(len(b)) > limit {
		return nil
	}
	return b
}

// Path returns ../shared/<sub> and whether it exists, for fuzz seeds that are optional.
func Path(sub string) (string, bool) {
	r, err := root()
	if err != nil {
		return "", false
	}
	p := filepath.Join(r, sub)
	_, err = os.Stat(p)
	return p, err == nil
}

// AddSample adds Sample(sub, name, limit) to f's seed corpus when it is there.
func AddSample(f *testing.F, sub, name string, limit int64) {
	if b := Sample(sub, name, limit); b != nil {
		f.Add(b)
	}
}
