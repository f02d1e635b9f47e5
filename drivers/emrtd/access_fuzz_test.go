package emrtd

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
)

func FuzzChoosePACE(f *testing.F) {
	f.Add([]byte{0x31, 0x14, 0x30, 0x12, 0x06, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, 0x02, 0x02, 0x02, 0x01, 0x02, 0x02, 0x01, 0x0D})
	f.Add([]byte{0x31, 0x00})
	f.Add([]byte{0x31, 0x80, 0x30, 0x80, 0x00, 0x00, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		ch, err := choosePACE(b)
		if err == nil && (ch.curve == nil || ch.cipher < 1 || ch.cipher > 4) {
			t.Fatalf("choice without curve or cipher: %+v", ch)
		}
		_, _ = comDataGroups(b)
		_, _ = tlvTotalLen(b, "fuzz")
	})
}

// hostile is a chip that answers with fuzzer-chosen responses.
type hostile struct {
	resp [][]byte
	n    int
}

func (h *hostile) Transceive(context.Context, []byte) ([]byte, error) {
	if h.n >= len(h.resp) {
		return nil, errors.New("card removed")
	}
	h.n++
	return h.resp[h.n-1], nil
}

// FuzzReadHostileChip feeds Read arbitrary chip answers (split on 0xFF 0xFE 0xFD): it must
// return an error or files, never panic or loop.
func FuzzReadHostileChip(f *testing.F) {
	sep := []byte{0xFF, 0xFE, 0xFD}
	f.Add(bytes.Join([][]byte{{0x6A, 0x82}, {0x90, 0x00}, {1, 2, 3, 4, 5, 6, 7, 8, 0x90, 0x00}, {0x63, 0x00}}, sep))
	f.Add(bytes.Join([][]byte{{0x31, 0x14, 0x30, 0x12, 0x06, 0x0A, 0x04, 0x00, 0x7F, 0x00, 0x07, 0x02, 0x02, 0x04, 0x02, 0x02, 0x02, 0x01, 0x02, 0x02, 0x01, 0x0D, 0x90, 0x00}, {0x90, 0x00}, {0x7C, 0x02, 0x80, 0x00, 0x90, 0x00}}, sep))
	f.Add([]byte{0x67, 0x00})
	key, _ := mrz.NewMRZKey("L898902C", "690806", "940623")
	can, _ := mrz.NewCANKey("123456")
	f.Fuzz(func(t *testing.T, b []byte) {
		resp := bytes.Split(b, sep)
		if len(resp) > 64 {
			resp = resp[:64]
		}
		for _, k := range []mrz.AccessKey{key, can} {
			h := &hostile{resp: resp}
			_, _, _ = Read(context.Background(), h, k, &ReadOpts{Rand: bytes.NewReader(make([]byte, 4096))})
		}
	})
}
