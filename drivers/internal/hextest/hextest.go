// Package hextest turns the hex strings of the drivers' tests (APDUs, frames, chip files, with
// spaces between bytes as the standards print them) into bytes.
package hextest

import (
	"encoding/hex"
	"strings"
	"testing"
)

// Bytes decodes s, ignoring spaces; a malformed string fails the test.
func Bytes(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}
