package main

import (
	"bytes"
	"errors"
)

// isBiometricRecord tells a DG2 file (tag 0x75) or a bare ISO/IEC 19794-5 record from an image.
func isBiometricRecord(b []byte) bool {
	return (len(b) > 2 && b[0] == 0x75) || bytes.HasPrefix(b, []byte("FAC\x00"))
}

func imageFromDG2(b []byte) ([]byte, error) {
	return nil, errors.New("DG2 parsing not wired yet")
}
