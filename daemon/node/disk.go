package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// diskCheck watches the free space of the state disk.
type diskCheck struct {
	dir string
	min uint64
}

// free is the space an unprivileged writer may still use on the disk holding dir (or, before
// dir exists, its nearest existing parent).
func (d *diskCheck) free() (uint64, error) {
	dir := d.dir
	for {
		var st syscall.Statfs_t
		err := syscall.Statfs(dir, &st)
		if err == nil {
			return st.Bavail * uint64(st.Bsize), nil
		}
		parent := filepath.Dir(dir)
		if !errors.Is(err, os.ErrNotExist) || parent == dir {
			return 0, fmt.Errorf("state disk: %w", err)
		}
		dir = parent
	}
}

// enough refuses a disk with less than the minimum free, with a message an operator can act on.
func (d *diskCheck) enough() error {
	free, err := d.free()
	if err != nil {
		return err
	}
	if free < d.min {
		return fmt.Errorf("state disk: %s has %s free, the kiosk needs at least %s",
			d.dir, mib(free), mib(d.min))
	}
	return nil
}

// ready is enough for the gate: nil when a check's audit record can be written.
func (d *diskCheck) ready() error { return d.enough() }

// atStart is enough for New, which refuses to start rather than crash later.
func (d *diskCheck) atStart() error {
	if err := d.enough(); err != nil {
		return fmt.Errorf("%w: free some space; nothing was started", err)
	}
	return nil
}

func mib(b uint64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }
