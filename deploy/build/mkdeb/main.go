// Command mkdeb builds the edgeid Debian package from deploy/nfpm.yaml with nfpm used as a
// library (no prebuilt tool is downloaded). Before it writes the package it checks that the
// binaries are built for the package's architecture and that Depends names the package of every
// shared library they need (from this machine's dpkg, or from a cross build's sysroot).
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
)

func main() {
	cfgPath := flag.String("config", "deploy/nfpm.yaml", "nfpm configuration")
	arch := flag.String("arch", "amd64", "Debian architecture: amd64, arm64, armhf")
	version := flag.String("version", "0.0.0", "package version")
	bindir := flag.String("bindir", "bin", "folder holding edgeid and edgeidctl for that architecture")
	sysroot := flag.String("sysroot", "", "the cross build's sysroot (deploy/build/sysroot), which says what package ships each library; default: this machine's dpkg")
	out := flag.String("o", "", "output .deb (default: the conventional name in the current folder)")
	flag.Parse()
	if err := run(*cfgPath, *arch, *version, *bindir, *sysroot, *out); err != nil {
		fmt.Fprintln(os.Stderr, "mkdeb:", err)
		os.Exit(1)
	}
}

func run(cfgPath, arch, version, bindir, sysroot, out string) error {
	triplet, machine, err := archInfo(arch)
	if err != nil {
		return err
	}
	owner := hostOwners(triplet)
	if sysroot != "" {
		if owner, err = sysrootOwners(sysroot); err != nil {
			return err
		}
	}
	vars := map[string]string{"ARCH": arch, "VERSION": version, "BINDIR": bindir}
	cfg, err := nfpm.ParseFileWithEnvMapping(cfgPath, func(k string) string { return vars[k] })
	if err != nil {
		return err
	}
	info, err := cfg.Get("deb")
	if err != nil {
		return err
	}
	info = nfpm.WithDefaults(info)
	needs, err := scanBinaries(info, machine)
	if err != nil {
		return err
	}
	if len(needs.sonames) == 0 {
		return fmt.Errorf("no dynamically linked binary in the package (bindir %s)", bindir)
	}
	if err := checkDepends(info.Depends, needs, owner); err != nil {
		return err
	}
	pkg, err := nfpm.Get("deb")
	if err != nil {
		return err
	}
	if out == "" {
		out = pkg.ConventionalFileName(info)
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	if err := pkg.Package(info, f); err != nil {
		f.Close()
		os.Remove(out)
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Println(out)
	return nil
}
