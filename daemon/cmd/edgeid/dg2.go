package main

import (
	"bytes"
	"errors"

	"github.com/edgeid/edgeid/drivers/emrtd/lds"
)

// isBiometricRecord tells a DG2 file (tag 0x75) or a bare ISO/IEC 19794-5 record from an image.
func isBiometricRecord(b []byte) bool {
	return (len(b) > 2 && b[0] == 0x75) || bytes.HasPrefix(b, []byte("FAC\x00"))
}

// imageFromDG2 returns the first face image of a DG2 file or a bare 19794-5 record.
func imageFromDG2(b []byte) ([]byte, error) {
	dg2, err := lds.ParseDG2(b)
	if err != nil {
		return nil, err
	}
	if len(dg2.Faces) == 0 || len(dg2.Faces[0].Image) == 0 {
		return nil, errors.New("dg2: no face image in the record")
	}
	return dg2.Faces[0].Image, nil
}
