package main

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/files"
)

func TestCheckDepends(t *testing.T) {
	owner := func(so string) (string, error) {
		m := map[string]string{"libc.so.6": "libc6", "libm.so.6": "libc6", "libopencv_core.so.406": "libopencv-core406", "libpcsclite.so.1": "libpcsclite1"}
		if p, ok := m[so]; ok {
			return p, nil
		}
		return "", fmt.Errorf("no package ships %s", so)
	}
	needs := &binaryNeeds{sonames: map[string][]string{"libc.so.6": {"edgeid"}, "libm.so.6": {"edgeid"}, "libopencv_core.so.406": {"edgeid"}, "libpcsclite.so.1": {"edgeid"}}, glibc: "2.34"}
	for _, tc := range []struct {
		name    string
		depends []string
		want    []string // substrings of the error; none: no error
	}{
		{"covered", []string{"adduser", "libc6 (>= 2.34)", "libopencv-core406", "libpcsclite1"}, nil},
		{"newer libc6 is fine", []string{"libc6 (>= 2.36-9)", "libopencv-core406", "libpcsclite1"}, nil},
		{"an alternative counts", []string{"libc6 (>= 2.34)", "libopencv-core406", "libpcsclite1 | libpcsclite-fake"}, nil},
		{"missing library package", []string{"libc6 (>= 2.34)", "libpcsclite1"}, []string{"libopencv_core.so.406 (needed by edgeid) is in libopencv-core406"}},
		{"libc6 unversioned", []string{"libc6", "libopencv-core406", "libpcsclite1"}, []string{"wants libc6 (>= 2.34)"}},
		{"libc6 too old", []string{"libc6 (>= 2.31)", "libopencv-core406", "libpcsclite1"}, []string{"wants libc6 (>= 2.34)"}},
		{"libc6 absent", []string{"libopencv-core406", "libpcsclite1"}, []string{"libc.so.6", "libm.so.6", "wants libc6"}},
		{"unreadable", []string{"libc6 (>= 2.34", "libopencv-core406"}, []string{"cannot read"}},
	} {
		err := checkDepends(tc.depends, needs, owner)
		if len(tc.want) == 0 {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error, want %q", tc.name, tc.want)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not say %q", tc.name, err, w)
			}
		}
	}
	unknown := &binaryNeeds{sonames: map[string][]string{"libnowhere.so.1": {"edgeid"}}}
	if err := checkDepends([]string{"libc6"}, unknown, owner); err == nil || !strings.Contains(err.Error(), "no package ships libnowhere.so.1") {
		t.Errorf("a library no package ships: %v", err)
	}
}

func TestNumericLess(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"2.34", "2.36", true}, {"2.36", "2.34", false}, {"2.34", "2.34", false},
		{"2.9", "2.34", true}, {"", "2.17", true}, {"2.34", "2.36-9+deb12u4", true},
		{"1:2.36", "2.34", false}, {"2.3.4", "2.3", false},
	} {
		if got := numericLess(tc.a, tc.b); got != tc.want {
			t.Errorf("numericLess(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

// TestScanBinaries reads this test binary, which is ELF for this machine, beside a file that
// is not ELF.
func TestScanBinaries(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	text := filepath.Join(t.TempDir(), "README.md")
	if err := os.WriteFile(text, []byte("not a binary"), 0o644); err != nil {
		t.Fatal(err)
	}
	info := &nfpm.Info{Overridables: nfpm.Overridables{Contents: files.Contents{
		{Source: exe, Destination: "/usr/bin/x"},
		{Source: text, Destination: "/usr/share/doc/x/README.md"},
	}}}
	machine := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64, "arm": elf.EM_ARM}[runtime.GOARCH]
	if machine == 0 {
		t.Skipf("no ELF machine known for %s", runtime.GOARCH)
	}
	if _, err := scanBinaries(info, machine); err != nil {
		t.Errorf("scanBinaries on this machine's binary: %v", err)
	}
	other := elf.EM_AARCH64
	if machine == other {
		other = elf.EM_X86_64
	}
	if _, err := scanBinaries(info, other); err == nil || !strings.Contains(err.Error(), "is built for") {
		t.Errorf("scanBinaries for another machine: %v, want a refusal", err)
	}
}
