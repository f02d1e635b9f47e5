package nfctest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/edgeid/edgeid/drivers/internal/hextest"
	"github.com/edgeid/edgeid/drivers/nfc"
	"github.com/edgeid/edgeid/drivers/nfc/nfcsim"
)

func TestReader(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r := NewReader()
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Millisecond)
	if _, err := r.WaitCard(wctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("empty field: %v", err)
	}
	wcancel()
	got := make(chan nfc.Card, 1)
	go func() {
		c, err := r.WaitCard(ctx)
		if err != nil {
			t.Error(err)
		}
		got <- c
	}()
	fc := &nfcsim.FileCard{Files: map[uint16][]byte{0x0101: {1, 2}}}
	r.Insert(nfc.CardInfo{Protocol: nfc.TypeA, UID: []byte{8, 1, 2, 3}}, fc)
	c := <-got
	if c.Info().Protocol != nfc.TypeA {
		t.Errorf("info %v", c.Info())
	}
	if _, err := r.WaitCard(ctx); !errors.Is(err, nfc.ErrBusy) {
		t.Errorf("second WaitCard: %v, want ErrBusy", err)
	}
	if resp, err := c.Transceive(ctx, hextest.Bytes(t, "00 b0 81 00 02")); err != nil || !bytes.Equal(resp, hextest.Bytes(t, "01 02 90 00")) {
		t.Errorf("read: % x %v", resp, err)
	}
	done := make(chan error, 1)
	go func() { done <- c.WaitRemoved(ctx) }()
	r.Remove()
	if err := <-done; err != nil {
		t.Errorf("WaitRemoved: %v", err)
	}
	if _, err := c.Transceive(ctx, hextest.Bytes(t, "00 b0 81 00 02")); !errors.Is(err, nfc.ErrCardRemoved) {
		t.Errorf("after removal: %v", err)
	}
	if err := c.Close(ctx); err != nil {
		t.Error(err)
	}
}
