package emrtd

import (
	"os"
	"path/filepath"
	"testing"
)

// sharedDir returns ../shared/<sub> relative to the repository root (three levels above this
// package), or skips the test when the shared data is not there.
func sharedDir(t testing.TB, sub string) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", sub)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("shared test data %s is absent (it lives next to the repository in ../shared): %v", dir, err)
	}
	return dir
}

func readShared(t testing.TB, sub, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sharedDir(t, sub), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
