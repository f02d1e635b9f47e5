package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
)

func TestParseDepends(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want [][]string
	}{
		{"", nil},
		{"libc6 (>= 2.34)", [][]string{{"libc6"}}},
		{"libblas3 | libblas.so.3, liblapack3 | liblapack.so.3", [][]string{{"libblas3", "libblas.so.3"}, {"liblapack3", "liblapack.so.3"}}},
		{"python3:any, libfoo:arm64 (= 1:2.0-1)", [][]string{{"python3"}, {"libfoo"}}},
		{"libgcc-s1 (>= 3.0),\n libstdc++6(>=12)", [][]string{{"libgcc-s1"}, {"libstdc++6"}}},
	} {
		if got := parseDepends(tc.in); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("parseDepends(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseStanzas(t *testing.T) {
	out := []byte(`Package: libopencv-core406
Version: 4.6.0+dfsg-12
Size: 848560
Pre-Depends: dpkg (>= 1.15)
Depends: libc6 (>= 2.34),
 libtbb12 (>= 2021)
Description: computer vision core library
 A continuation line: with a colon.

Package: libpcsclite1
Version: 1.9.9-2
Size: 51000
`)
	got, err := parseStanzas(out)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*pkgInfo{
		"libopencv-core406": {name: "libopencv-core406", version: "4.6.0+dfsg-12", size: 848560, depends: [][]string{{"dpkg"}, {"libc6"}, {"libtbb12"}}},
		"libpcsclite1":      {name: "libpcsclite1", version: "1.9.9-2", size: 51000},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("parseStanzas = %+v, want %+v", got, want)
	}
	if _, err := parseStanzas([]byte("Version: 1\n\n")); err == nil {
		t.Error("a stanza without Package: no error")
	}
	if _, err := parseStanzas([]byte("Package: x\nSize: many\n")); err == nil {
		t.Error("a bad Size: no error")
	}
}

func TestFailedIndices(t *testing.T) {
	stderr := `W: something else
E: Failed to fetch http://deb.debian.org/debian-security/dists/bookworm-security/main/binary-armhf/Packages.xz  File has unexpected size (334084 != 351504). Mirror sync in progress? [IP: 203.0.113.80 80]
   Hashes of expected file:
E: Some index files failed to download. They have been ignored, or old ones used instead.
`
	want := []string{"http://deb.debian.org/debian-security/dists/bookworm-security/main/binary-armhf/Packages.xz"}
	if got := failedIndices(stderr); !reflect.DeepEqual(got, want) {
		t.Errorf("failedIndices = %q, want %q", got, want)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"": "''", "/var/cache/x": "'/var/cache/x'", "it's": `'it'\''s'`} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
	cmd := exec.Command("bash", "-c", shellEnv(target{deb: "arm64", triplet: "aarch64-linux-gnu", goarch: "arm64", qemu: "qemu-aarch64-static"}, "/tmp/it's")+`printf %s "$CGO_LDFLAGS"`)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "-O2 -g --sysroot=/tmp/it's"; string(out) != want {
		t.Errorf("CGO_LDFLAGS after eval = %q, want %q", out, want)
	}
}

func TestCacheKey(t *testing.T) {
	a := &opts{arch: "arm64", mirror: "m", dev: []string{"x", "y"}, run: []string{"z"}}
	b := &opts{arch: "arm64", mirror: "m", dev: []string{"y", "x"}, run: []string{"z"}}
	c := &opts{arch: "armhf", mirror: "m", dev: []string{"x", "y"}, run: []string{"z"}}
	ka, _ := cacheKey(a)
	kb, _ := cacheKey(b)
	kc, err := cacheKey(c)
	if err != nil {
		t.Fatal(err)
	}
	if ka != kb {
		t.Errorf("the order of a package list changed the key: %s, %s", ka, kb)
	}
	if ka == kc {
		t.Errorf("arm64 and armhf share the key %s", ka)
	}
}

// TestUnpack builds a package with dpkg-deb holding what Debian's libraries hold: an absolute
// symlink (libc6-dev's libm.so -> /lib/...) and a library in an alternatives folder
// (libblas3's blas/libblas.so.3), and checks that both resolve inside the sysroot.
func TestUnpack(t *testing.T) {
	if _, err := exec.LookPath("dpkg-deb"); err != nil {
		t.Skip("dpkg-deb not installed")
	}
	tr, _ := targetOf("arm64")
	pkg := t.TempDir()
	for path, body := range map[string]string{
		"DEBIAN/control":                              "Package: libfake1\nVersion: 1.0\nArchitecture: arm64\nMaintainer: t <t@t>\nDescription: fake\n",
		"lib/aarch64-linux-gnu/libfake.so.1":          "not really ELF",
		"usr/lib/aarch64-linux-gnu/blas/libblas.so.3": "not ELF either",
	} {
		p := filepath.Join(pkg, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("/lib/aarch64-linux-gnu/libfake.so.1", filepath.Join(pkg, "usr/lib/aarch64-linux-gnu/libfake.so")); err != nil {
		t.Fatal(err)
	}
	deb := filepath.Join(t.TempDir(), "libfake1.deb")
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "-b", pkg, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb -b: %v\n%s", err, out)
	}

	s := &sysroot{root: t.TempDir(), t: tr, owner: map[string]string{}, byBase: map[string][]string{}, pkgs: map[string]*unpacked{},
		fetched: map[string]string{"libfake1": deb}, info: map[string]*pkgInfo{"libfake1": {name: "libfake1", version: "1.0"}}}
	if err := s.unpack(context.Background(), "libfake1", "run"); err != nil {
		t.Fatal(err)
	}
	link, err := os.Readlink(filepath.Join(s.root, "usr/lib/aarch64-linux-gnu/libfake.so"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "../../../lib/aarch64-linux-gnu/libfake.so.1"; link != want {
		t.Errorf("libfake.so -> %s, want %s", link, want)
	}
	if b, err := os.ReadFile(filepath.Join(s.root, "usr/lib/aarch64-linux-gnu/libfake.so")); err != nil || string(b) != "not really ELF" {
		t.Errorf("reading through the rewritten link: %q, %v", b, err)
	}

	if p, ok := s.resolve("libfake.so.1"); !ok || p != "lib/aarch64-linux-gnu/libfake.so.1" {
		t.Errorf("resolve(libfake.so.1) = %s, %v", p, ok)
	}
	p, ok := s.resolve("libblas.so.3")
	if !ok || p != "usr/lib/aarch64-linux-gnu/libblas.so.3" || s.owner[p] != "libfake1" {
		t.Fatalf("resolve(libblas.so.3) = %s, %v (owner %q)", p, ok, s.owner[p])
	}
	if b, err := os.ReadFile(filepath.Join(s.root, p)); err != nil || string(b) != "not ELF either" {
		t.Errorf("reading the alternatives link: %q, %v", b, err)
	}
	if _, ok := s.resolve("libmissing.so.9"); ok {
		t.Error("resolve(libmissing.so.9) succeeded")
	}
	if n, err := elfNeeded(filepath.Join(s.root, p)); err != nil || n != nil {
		t.Errorf("elfNeeded(not ELF) = %q, %v; want nothing, no error", n, err)
	}
}
