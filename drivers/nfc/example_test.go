package nfc_test

import (
	"context"
	"fmt"
	"time"

	"github.com/edgeid/edgeid/drivers/nfc"
	"github.com/edgeid/edgeid/drivers/nfc/nfcsim"
	"github.com/edgeid/edgeid/drivers/nfc/nfctest"
)

// The kiosk's loop: wait for a card, talk to it, wait until it leaves, free the reader.
func ExampleReader() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var r nfc.Reader = nfctest.NewReader() // readers.Open(ctx, sel, opts) on a kiosk
	fake := r.(*nfctest.Reader)
	fake.Insert(nfc.CardInfo{Protocol: nfc.TypeB, UID: []byte{1, 2, 3, 4}},
		&nfcsim.FileCard{Files: map[uint16][]byte{0x0101: []byte("hello")}})

	card, err := r.WaitCard(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer card.Close(ctx)
	fmt.Println(card.Info().Protocol)
	resp, err := card.Transceive(ctx, []byte{0x00, 0xb0, 0x81, 0x00, 0x05}) // READ BINARY, SFI 1
	fmt.Printf("%q %x %v\n", resp[:len(resp)-2], resp[len(resp)-2:], err)
	go fake.Remove()
	fmt.Println(card.WaitRemoved(ctx))
	// Output:
	// ISO 14443-B
	// "hello" 9000 <nil>
	// <nil>
}
