// Command mkdeb builds the edgeid Debian package from deploy/nfpm.yaml with nfpm used as a
// library (no prebuilt tool is downloaded).
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
	out := flag.String("o", "", "output .deb (default: the conventional name in the current folder)")
	flag.Parse()
	if err := run(*cfgPath, *arch, *version, *bindir, *out); err != nil {
		fmt.Fprintln(os.Stderr, "mkdeb:", err)
		os.Exit(1)
	}
}

func run(cfgPath, arch, version, bindir, out string) error {
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
