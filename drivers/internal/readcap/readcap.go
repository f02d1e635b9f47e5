// Package readcap reads files that must not be larger than a limit (dumps, trust files): it
// never reads more than limit+1 bytes, whatever the file's size.
package readcap

import (
	"fmt"
	"io"
	"os"
)

// File returns the content of path, or an error when it holds more than limit bytes.
func File(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s is larger than the %d byte limit", path, limit)
	}
	return b, nil
}
