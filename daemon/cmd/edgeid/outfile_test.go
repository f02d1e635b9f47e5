package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// `face template -o` refused nothing and kept an existing file's mode (issue 15 item 16).
func TestWriteNewFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "t.tmpl")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := writeNewFile(path, []byte("new"), false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("existing file without --force: %v, want a refusal naming --force", err)
	}
	if b, _ := os.ReadFile(path); string(b) != "old" {
		t.Fatalf("refused write changed the file to %q", b)
	}
	if err := writeNewFile(path, []byte("new"), true); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "new" || st.Mode().Perm() != 0o600 {
		t.Errorf("after --force: %q mode %v, want \"new\" mode 0600", b, st.Mode().Perm())
	}
	fresh := filepath.Join(dir, "fresh")
	if err := writeNewFile(fresh, []byte("x"), false); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(fresh); st.Mode().Perm() != 0o600 {
		t.Errorf("new file mode %v, want 0600", st.Mode().Perm())
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("%d files left in the folder, want 2 (no temporary files)", len(ents))
	}
}
