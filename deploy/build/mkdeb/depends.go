package main

import (
	"bufio"
	"debug/elf"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/goreleaser/nfpm/v2"

	"github.com/edgeid/edgeid/deploy/build/internal/elffile"
)

// archInfo maps a Debian architecture to its multiarch triplet and ELF machine.
func archInfo(arch string) (triplet string, machine elf.Machine, err error) {
	switch arch {
	case "amd64":
		return "x86_64-linux-gnu", elf.EM_X86_64, nil
	case "arm64":
		return "aarch64-linux-gnu", elf.EM_AARCH64, nil
	case "armhf":
		return "arm-linux-gnueabihf", elf.EM_ARM, nil
	}
	return "", 0, fmt.Errorf("unknown architecture %q (want amd64, arm64 or armhf)", arch)
}

// owners finds the Debian package that ships a shared library, by soname.
type owners func(soname string) (string, error)

// sysrootOwners reads the soname -> package list deploy/build/sysroot writes.
func sysrootOwners(dir string) (owners, error) {
	f, err := os.Open(filepath.Join(dir, ".edgeid", "shlibs"))
	if err != nil {
		return nil, fmt.Errorf("sysroot: %w (build it with make cross)", err)
	}
	defer f.Close()
	m := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		so, pkg, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			return nil, fmt.Errorf("%s: bad line %q", f.Name(), sc.Text())
		}
		m[so] = pkg
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return func(soname string) (string, error) {
		if p, ok := m[soname]; ok {
			return p, nil
		}
		return "", fmt.Errorf("no package in the sysroot %s ships %s", dir, soname)
	}, nil
}

// hostOwners asks this machine's dpkg which installed package ships the library in the
// architecture's multiarch folders.
func hostOwners(triplet string) owners {
	return func(soname string) (string, error) {
		out, err := exec.Command("dpkg-query", "-S", "*/"+soname).Output()
		if err != nil {
			return "", fmt.Errorf("dpkg-query -S %s: %w (is the library's package installed?)", soname, err)
		}
		for _, line := range strings.Split(string(out), "\n") {
			pkgs, path, ok := strings.Cut(line, ": ")
			if !ok || (path != "/lib/"+triplet+"/"+soname && path != "/usr/lib/"+triplet+"/"+soname) {
				continue
			}
			pkg, _, _ := strings.Cut(pkgs, ",") // "pkg:arch, other:arch" when diverted: the first
			pkg, _, _ = strings.Cut(strings.TrimSpace(pkg), ":")
			return pkg, nil
		}
		return "", fmt.Errorf("no installed package ships %s in /lib/%s or /usr/lib/%s", soname, triplet, triplet)
	}
}

// binaryNeeds is what the package's ELF files ask of the system: the sonames in DT_NEEDED and
// the newest GLIBC_ symbol version they import.
type binaryNeeds struct {
	sonames map[string][]string // soname -> files that need it
	glibc   string
}

// scanBinaries reads every packaged ELF file, checks that it is built for the architecture
// and collects what it needs.
func scanBinaries(info *nfpm.Info, machine elf.Machine) (*binaryNeeds, error) {
	n := &binaryNeeds{sonames: map[string][]string{}}
	for _, c := range info.Contents {
		if c.Source == "" || c.Type != "" {
			continue
		}
		f, err := elffile.Open(c.Source)
		if err != nil {
			return nil, err
		}
		if f == nil {
			continue
		}
		err = n.add(f, c.Source, machine)
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return n, nil
}

func (n *binaryNeeds) add(f *elf.File, path string, machine elf.Machine) error {
	if f.Machine != machine {
		return fmt.Errorf("%s is built for %s, the package for %s", path, f.Machine, machine)
	}
	needed, err := f.DynString(elf.DT_NEEDED)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, so := range needed {
		n.sonames[so] = append(n.sonames[so], filepath.Base(path))
	}
	syms, err := f.ImportedSymbols()
	if err != nil && !errors.Is(err, elf.ErrNoSymbols) {
		return fmt.Errorf("%s: %w", path, err)
	}
	for _, s := range syms {
		if v, ok := strings.CutPrefix(s.Version, "GLIBC_"); ok && numericLess(n.glibc, v) {
			n.glibc = v
		}
	}
	return nil
}

var dependRE = regexp.MustCompile(`^\s*([a-z0-9][a-z0-9+.-]*)\s*(?:\(\s*(<<|<=|=|>=|>>)\s*([^)\s]+)\s*\))?\s*$`)

// checkDepends makes sure the Depends name the package of every library the binaries need,
// and libc6 at least at the newest GLIBC_ version they import: the question dpkg-shlibdeps
// answers, asked of a list kept by hand.
func checkDepends(depends []string, n *binaryNeeds, owner owners) error {
	declared := map[string]string{} // name -> minimum version (>=), "" if none
	for _, d := range depends {
		for _, alt := range strings.Split(d, "|") {
			m := dependRE.FindStringSubmatch(alt)
			if m == nil {
				return fmt.Errorf("depends: cannot read %q", d)
			}
			if m[2] == ">=" || m[2] == "=" {
				declared[m[1]] = m[3]
			} else if _, ok := declared[m[1]]; !ok {
				declared[m[1]] = ""
			}
		}
	}
	var problems []string
	sonames := make([]string, 0, len(n.sonames))
	for so := range n.sonames {
		sonames = append(sonames, so)
	}
	sort.Strings(sonames)
	for _, so := range sonames {
		pkg, err := owner(so)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		if _, ok := declared[pkg]; !ok {
			problems = append(problems, fmt.Sprintf("%s (needed by %s) is in %s, which Depends does not name", so, strings.Join(n.sonames[so], ", "), pkg))
		}
	}
	if n.glibc != "" {
		if v, ok := declared["libc6"]; !ok || numericLess(v, n.glibc) {
			problems = append(problems, fmt.Sprintf("the binaries import GLIBC_%s symbols: Depends wants libc6 (>= %s), not %q", n.glibc, n.glibc, "libc6 (>= "+v+")"))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("dependencies do not cover the binaries:\n  %s", strings.Join(problems, "\n  "))
	}
	return nil
}

// numericLess compares the leading dotted numbers of two versions ("2.34" < "2.36-9"); an
// empty version is less than any other.
func numericLess(a, b string) bool {
	pa, pb := numericParts(a), numericParts(b)
	for i := 0; i < len(pa) || i < len(pb); i++ {
		var x, y int
		if i < len(pa) {
			x = pa[i]
		}
		if i < len(pb) {
			y = pb[i]
		}
		if x != y {
			return x < y
		}
	}
	return false
}

func numericParts(v string) []int {
	if _, rest, ok := strings.Cut(v, ":"); ok { // epoch
		v = rest
	}
	end := strings.IndexFunc(v, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if end >= 0 {
		v = v[:end]
	}
	var parts []int
	for _, f := range strings.Split(v, ".") {
		if n, err := strconv.Atoi(f); err == nil {
			parts = append(parts, n)
		}
	}
	return parts
}
