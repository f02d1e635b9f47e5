// Package elffile opens the ELF files among others (a package's contents, a sysroot's
// libraries, where scripts and linker scripts sit next to binaries).
package elffile

import (
	"debug/elf"
	"io"
	"os"
)

// Open opens path as ELF. A file that is not ELF gives nil and no error. Close the file.
func Open(path string) (*elf.File, error) {
	r, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	magic := make([]byte, len(elf.ELFMAG))
	_, err = io.ReadFull(r, magic)
	r.Close()
	if err != nil || string(magic) != elf.ELFMAG {
		return nil, nil
	}
	return elf.Open(path)
}
