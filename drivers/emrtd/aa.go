package emrtd

import (
	"context"
	"fmt"
	"io"

	"github.com/edgeid/edgeid/drivers/apdu"
)

// internalAuthenticate is the chip-side exchange of Active Authentication (ICAO 9303-11
// §6.1): an 8-byte random challenge in INTERNAL AUTHENTICATE, the chip's signature back.
func internalAuthenticate(ctx context.Context, c *channel, o *ReadOpts) (*AAExchange, error) {
	chal := make([]byte, 8)
	if _, err := io.ReadFull(o.Rand, chal); err != nil {
		return nil, fmt.Errorf("active authentication: randomness: %w", err)
	}
	ne := apdu.MaxShortNe
	if o.ExtendedLength {
		ne = apdu.MaxExtNe
	}
	sig, err := c.expectOK(ctx, "INTERNAL AUTHENTICATE", apdu.Command{INS: 0x88, Data: chal, Ne: ne})
	if err != nil {
		return &AAExchange{Challenge: chal}, err
	}
	if len(sig) == 0 {
		return &AAExchange{Challenge: chal}, fmt.Errorf("%w: INTERNAL AUTHENTICATE returned no signature", ErrProtocol)
	}
	return &AAExchange{Challenge: chal, Signature: sig}, nil
}
