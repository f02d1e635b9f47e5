package lds

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/edgeid/edgeid/drivers/internal/readcap"
	"github.com/edgeid/edgeid/internal/atomicfile"
)

// MaxFileSize caps one elementary file read from a dump folder (or a chip). The largest
// real files (DG2 with a JPEG2000 portrait, DG3 fingerprints) stay well below it.
const MaxFileSize = 1 << 20

// maxDumpEntries bounds how many directory entries LoadDump looks at.
const maxDumpEntries = 4096

// FileNames lists the canonical dump names in order.
func FileNames() []string {
	names := []string{"EF.COM", "EF.SOD", "EF.CardAccess", "EF.CardSecurity"}
	for i := 1; i <= 16; i++ {
		names = append(names, fmt.Sprintf("DG%d", i))
	}
	return names
}

// canonicalName maps a file name from a dump folder to its canonical name: "EF.COM", "DG2"
// itself, and the names found in public sample sets: "EF_COM.bin", "EF_SOD.bin",
// "DG1.bin", "Datagroup1.bin", "EF.CardAccess.bin". It returns "" for other files.
func canonicalName(name string) string {
	base := strings.TrimSuffix(name, ".bin")
	base = strings.TrimSuffix(base, ".BIN")
	up := strings.ToUpper(strings.ReplaceAll(base, "_", "."))
	for _, c := range FileNames() {
		if up == strings.ToUpper(c) {
			return c
		}
	}
	for _, prefix := range []string{"DATAGROUP", "DG"} {
		if rest, ok := strings.CutPrefix(up, prefix); ok {
			var n int
			if _, err := fmt.Sscanf(rest, "%d", &n); err == nil && fmt.Sprint(n) == rest && n >= 1 && n <= 16 {
				return fmt.Sprintf("DG%d", n)
			}
		}
	}
	return ""
}

// LoadDump reads a dump folder. Files whose names are not eMRTD file names are ignored; two
// files that map to the same name, a file over MaxFileSize, or an empty folder are errors.
func LoadDump(dir string) (Files, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("dump: %w", err)
	}
	defer d.Close()
	ents, err := d.ReadDir(maxDumpEntries + 1)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("dump %s: %w", dir, err)
	}
	if len(ents) > maxDumpEntries {
		return nil, fmt.Errorf("dump %s: more than %d entries", dir, maxDumpEntries)
	}
	files := Files{}
	from := map[string]string{}
	for _, e := range ents {
		name := canonicalName(e.Name())
		if name == "" || !e.Type().IsRegular() {
			continue
		}
		if prev, dup := from[name]; dup {
			return nil, fmt.Errorf("dump %s: both %s and %s hold %s", dir, prev, e.Name(), name)
		}
		b, err := readcap.File(filepath.Join(dir, e.Name()), MaxFileSize)
		if err != nil {
			return nil, fmt.Errorf("dump %s: %w", dir, err)
		}
		files[name] = b
		from[name] = e.Name()
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("dump %s: no eMRTD files (EF.COM, EF.SOD, DG1 ...) found", dir)
	}
	return files, nil
}

// Names returns the file names present, in canonical order.
func (f Files) Names() []string {
	order := map[string]int{}
	for i, n := range FileNames() {
		order[n] = i
	}
	var out []string
	for n := range f {
		out = append(out, n)
	}
	sort.Slice(out, func(i, j int) bool {
		oi, iok := order[out[i]]
		oj, jok := order[out[j]]
		if iok != jok {
			return iok
		}
		if oi != oj {
			return oi < oj
		}
		return out[i] < out[j]
	})
	return out
}

// WriteDump writes every file into dir (created if needed) under its canonical name. Each
// file is written atomically: a temporary file, fsync, rename, then the directory is synced.
func (f Files) WriteDump(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("dump: %w", err)
	}
	for _, name := range f.Names() {
		if canonicalName(name) != name {
			return fmt.Errorf("dump: %q is not an eMRTD file name", name)
		}
		if err := atomicfile.WriteFile(filepath.Join(dir, name), f[name], 0o600); err != nil {
			return fmt.Errorf("dump: %w", err)
		}
	}
	return nil
}

// Files holds a document's raw elementary files keyed by their dump name: "EF.COM", "EF.SOD",
// "EF.CardAccess", "EF.CardSecurity", "DG1" ... "DG16". A dump folder holds the same names as files.
type Files map[string][]byte
