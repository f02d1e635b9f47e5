package lds

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/edgeid/edgeid/drivers/internal/sharedtest"
)

func TestCanonicalName(t *testing.T) {
	tests := map[string]string{
		"EF.COM": "EF.COM", "EF_COM.bin": "EF.COM", "EF_SOD.bin": "EF.SOD", "EF.SOD": "EF.SOD",
		"DG1": "DG1", "DG1.bin": "DG1", "Datagroup14.bin": "DG14", "DG16": "DG16",
		"EF.CardAccess": "EF.CardAccess", "EF_CardSecurity.bin": "EF.CardSecurity",
		"DG17": "", "DG0": "", "DG01": "", "README.md": "", "DSC_from_SOD.der": "", "Datagroup1x.bin": "",
	}
	for in, want := range tests {
		if got := canonicalName(in); got != want {
			t.Errorf("canonicalName(%q): got %q, want %q", in, got, want)
		}
	}
}

func TestLoadDumpSamples(t *testing.T) {
	f, err := LoadDump(sharedtest.Dir(t, "emrtd-samples/DE_BSI_TR03105-5_RefDataSet_HJP"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"EF.COM", "EF.SOD", "DG1", "DG2", "DG3", "DG4", "DG14", "DG15"}
	if got := f.Names(); !reflect.DeepEqual(got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}

func TestWriteLoadDump(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	in := Files{"EF.COM": {0x60, 0x00}, "DG1": {0x61, 0x00}, "EF.SOD": {0x77, 0x00}}
	if err := in.WriteDump(dir); err != nil {
		t.Fatal(err)
	}
	got, err := LoadDump(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Errorf("got %v, want %v", got, in)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 3 {
		t.Errorf("got %d entries (temporary files left?), want 3", len(ents))
	}
	if err := (Files{"passport.jpg": nil}).WriteDump(dir); err == nil {
		t.Error("WriteDump with a non-eMRTD name: got no error")
	}
}

func TestLoadDumpErrors(t *testing.T) {
	dup := t.TempDir()
	os.WriteFile(filepath.Join(dup, "DG1"), []byte{1}, 0o600)
	os.WriteFile(filepath.Join(dup, "Datagroup1.bin"), []byte{1}, 0o600)
	big := t.TempDir()
	os.WriteFile(filepath.Join(big, "DG2"), bytes.Repeat([]byte{0}, MaxFileSize+1), 0o600)
	empty := t.TempDir()
	os.WriteFile(filepath.Join(empty, "notes.txt"), []byte("x"), 0o600)
	tests := []struct{ name, dir, want string }{
		{"duplicate", dup, "hold DG1"},
		{"too big", big, "larger than the 1048576 byte limit"},
		{"nothing", empty, "no eMRTD files"},
		{"missing", filepath.Join(empty, "nope"), "no such file"},
	}
	for _, tt := range tests {
		_, err := LoadDump(tt.dir)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}
