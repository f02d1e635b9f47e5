package nfcsim

import (
	"bytes"
	"context"
	"testing"

	"github.com/edgeid/edgeid/drivers/internal/hextest"
)

func TestFileCard(t *testing.T) {
	c := &FileCard{
		AID:   hextest.Bytes(t, "a0 00 00 02 47 10 01"),
		Files: map[uint16][]byte{0x011e: hextest.Bytes(t, "60 03 5f 01 00"), 0x0101: bytes.Repeat([]byte{0x61}, 300)},
	}
	steps := []struct{ cmd, want string }{
		{"00 b0 00 00 04", "69 86"},
		{"00 a4 04 0c 07 a0 00 00 02 47 10 01", "90 00"},
		{"00 a4 04 0c 07 a0 00 00 02 47 10 02", "6a 82"},
		{"00 a4 02 0c 02 01 1e", "90 00"},
		{"00 b0 00 00 04", "60 03 5f 01 90 00"},
		{"00 b0 00 03 08", "01 00 62 82"},
		{"00 b0 00 06 01", "6b 00"},
		{"00 b0 9e 01 02", "03 5f 90 00"},
		{"00 b0 9f 00 02", "6a 82"},
		{"00 a4 02 0c 02 01 99", "6a 82"},
		{"00 a4 02 0c 01 01", "6a 87"},
		{"0c b0 00 00 04", "68 82"},
		{"00 84 00 00 08", "00 00 00 00 00 00 00 00 90 00"},
		{"00 ca 00 00", "6d 00"},
		{"00 a4", "67 00"},
	}
	for _, s := range steps {
		got, err := c.Transceive(context.Background(), hextest.Bytes(t, s.cmd))
		if err != nil || !bytes.Equal(got, hextest.Bytes(t, s.want)) {
			t.Errorf("%s: got % x %v, want %s", s.cmd, got, err, s.want)
		}
	}
}
