// Command sysroot builds a Debian bookworm sysroot for one ARM architecture, for cross-compiling
// edgeid's cgo code (gocv, the cvguard shim, PC/SC) and for running the result under qemu-user.
//
// libopencv-dev:arm64 cannot be installed next to the amd64 one, so the packages are downloaded
// with apt-get under a private state directory (own sources list, empty dpkg status, the target
// architecture) and unpacked with dpkg-deb -x. What is downloaded:
//
//   - the -dev packages given with -dev, as they are (headers, the .so links the linker opens);
//     their own dependencies are not followed;
//   - the runtime packages given with -run and the closure of the shared libraries they load:
//     a dependency is unpacked only when it ships a library some unpacked library names in
//     DT_NEEDED, which is what the dynamic loader (and the linker's check of shared libraries'
//     own dependencies) reads. Data packages, dlopen()ed plugins and their libraries stay out.
//
// The sysroot is cached in CACHE/sysroot-ARCH-KEY, KEY a hash of the package lists and of this
// program's source, so a repeat build on the same machine costs nothing and any change to what
// shapes the sysroot builds a new one. With -env it prints the shell assignments for
// `go build` (CC, CXX, --sysroot, pkg-config) instead of the path.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
)

func main() {
	var o opts
	flag.StringVar(&o.arch, "arch", "", "Debian architecture: arm64 or armhf")
	flag.StringVar(&o.cache, "cache", defaultCache(), "folder that keeps sysroots between builds ($EDGEID_CACHE)")
	dev := flag.String("dev", "", "packages unpacked as they are (headers, .so links), space-separated")
	run := flag.String("run", "", "runtime packages whose shared-library closure is unpacked, space-separated")
	opencv := flag.String("opencv", "", "OpenCV modules the generated opencv4.pc links, space-separated")
	flag.StringVar(&o.mirror, "mirror", "http://deb.debian.org", "Debian mirror (debian and debian-security below it)")
	env := flag.Bool("env", false, "print shell assignments for a cgo cross build instead of the sysroot's path")
	flag.Parse()
	o.dev, o.run, o.opencv = strings.Fields(*dev), strings.Fields(*run), strings.Fields(*opencv)
	if flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "sysroot: no arguments expected, only flags")
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	dir, err := build(ctx, &o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "sysroot:", err)
		os.Exit(1)
	}
	if *env {
		t, _ := targetOf(o.arch)
		fmt.Print(shellEnv(t, dir))
		return
	}
	fmt.Println(dir)
}

// defaultCache is $EDGEID_CACHE, else /var/cache/edgeid for root, else the user's cache folder.
func defaultCache() string {
	if d := os.Getenv("EDGEID_CACHE"); d != "" {
		return d
	}
	if os.Geteuid() == 0 {
		return "/var/cache/edgeid"
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "edgeid")
	}
	return filepath.Join(os.TempDir(), "edgeid-cache")
}

// target is what differs between the ARM architectures.
type target struct {
	deb     string // Debian architecture
	triplet string // multiarch triplet: library folders and the cross compilers' prefix
	goarch  string
	goarm   string
	qemu    string // qemu-user binary that runs it
}

func targetOf(arch string) (target, error) {
	switch arch {
	case "arm64":
		return target{deb: "arm64", triplet: "aarch64-linux-gnu", goarch: "arm64", qemu: "qemu-aarch64-static"}, nil
	case "armhf":
		// Debian armhf is ARMv7 with VFPv3-D16 and the hard-float ABI: GOARM=7.
		return target{deb: "armhf", triplet: "arm-linux-gnueabihf", goarch: "arm", goarm: "7", qemu: "qemu-arm-static"}, nil
	}
	return target{}, fmt.Errorf("unknown architecture %q (want arm64 or armhf)", arch)
}

// libDirs are the folders, relative to the sysroot, where the loader and linker look for a
// library by its soname, in their order.
func (t target) libDirs() []string {
	return []string{"lib/" + t.triplet, "usr/lib/" + t.triplet, "lib", "usr/lib"}
}

// shellEnv is the environment for `go build` of the cgo packages against the sysroot.
func shellEnv(t target, dir string) string {
	// The linker also checks the undefined symbols of the libraries it links against, so it
	// opens their own dependencies: the Debian cross binutils look in the multiarch folders
	// under --sysroot, where the closure is.
	flags := "-O2 -g --sysroot=" + dir
	vars := [][2]string{
		{"GOOS", "linux"}, {"GOARCH", t.goarch}, {"GOARM", t.goarm}, {"CGO_ENABLED", "1"},
		{"CC", t.triplet + "-gcc"}, {"CXX", t.triplet + "-g++"},
		{"CGO_CFLAGS", flags}, {"CGO_CXXFLAGS", flags}, {"CGO_LDFLAGS", flags},
		{"PKG_CONFIG_SYSROOT_DIR", dir}, {"PKG_CONFIG_PATH", ""},
		{"PKG_CONFIG_LIBDIR", dir + "/usr/lib/" + t.triplet + "/pkgconfig:" + dir + "/usr/share/pkgconfig"},
		{"EDGEID_SYSROOT", dir}, {"EDGEID_QEMU", t.qemu},
	}
	var b strings.Builder
	for _, v := range vars {
		fmt.Fprintf(&b, "export %s=%s\n", v[0], shellQuote(v[1]))
	}
	return b.String()
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
