package models

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuiltinManifestMatchesFiles(t *testing.T) {
	m, err := Builtin()
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Models) != 4 { // three face models and the MRZ glyph classifier
		t.Fatalf("got %d models, want 4", len(m.Models))
	}
	for _, md := range m.Models {
		if _, err := md.Load("."); err != nil {
			t.Errorf("Load(%s): %v", md.ID, err)
		}
		mp, err := md.Map(".")
		if err != nil {
			t.Errorf("Map(%s): %v", md.ID, err)
			continue
		}
		if int64(len(mp.Bytes())) != md.Bytes {
			t.Errorf("Map(%s): %d bytes", md.ID, len(mp.Bytes()))
		}
		mp.Close()
	}
}

func TestLoadRefusesWrongFiles(t *testing.T) {
	md := Model{ID: "x", File: "x.onnx", Bytes: 5, SHA256: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"} // sha256("hello")
	dir := t.TempDir()
	tests := []struct {
		name    string
		content *string
		wantErr string
	}{
		{"missing", nil, "no such file"},
		{"short", ptr("hell"), "wrong size"},
		{"long", ptr("hello!"), "wrong size"},
		{"altered", ptr("jello"), "refusing"},
		{"good", ptr("hello"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, md.File)
			os.Remove(path)
			if tt.content != nil {
				if err := os.WriteFile(path, []byte(*tt.content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := md.Load(dir)
			mp, merr := md.Map(dir)
			if merr == nil {
				mp.Close()
			}
			if (err == nil) != (merr == nil) {
				t.Fatalf("Load: %v, Map: %v: they disagree", err, merr)
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Load: %v, want success", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Load: %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseManifestStrict(t *testing.T) {
	bad := []string{
		`{"version":1,"models":[],"extra":1}`,
		`{"version":2,"models":[]}`,
		`{"version":1,"models":[{"id":"a","role":"detector","file":"../a","bytes":1,"sha256":"` + strings.Repeat("0", 64) + `"}]}`,
		`{"version":1,"models":[{"id":"a","role":"detector","file":"a","bytes":1,"sha256":"zz"}]}`,
		`{"version":1,"models":[{"id":"a","role":"detector","file":"a","bytes":0,"sha256":"` + strings.Repeat("0", 64) + `"}]}`,
	}
	for _, b := range bad {
		if _, err := ParseManifest([]byte(b)); err == nil {
			t.Errorf("ParseManifest(%s) succeeded, want error", b)
		}
	}
}

func ptr(s string) *string { return &s }
