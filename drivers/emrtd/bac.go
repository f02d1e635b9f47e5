package emrtd

import (
	"bytes"
	"context"
	"crypto/subtle"
	"fmt"
	"io"

	"github.com/edgeid/edgeid/drivers/apdu"
	"github.com/edgeid/edgeid/drivers/emrtd/internal/sm"
	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
)

// bac runs Basic Access Control (ICAO 9303-11 §4.3) and starts 3DES secure messaging.
func bac(ctx context.Context, c *channel, key mrz.AccessKey, rand io.Reader) error {
	if key.Kind() != mrz.KeyMRZ {
		return fmt.Errorf("bac: needs an MRZ key, got a %s", key)
	}
	seed := key.BACSeed()
	kenc := sm.KDF(sm.TDES, seed, sm.CounterEnc)
	kmac := sm.KDF(sm.TDES, seed, sm.CounterMAC)

	rndIC, err := c.expectOK(ctx, "bac: GET CHALLENGE", apdu.Command{INS: 0x84, Ne: 8})
	if err != nil {
		return err
	}
	if len(rndIC) != 8 {
		return fmt.Errorf("%w: bac: GET CHALLENGE returned %d bytes, want 8", ErrProtocol, len(rndIC))
	}
	buf := make([]byte, 24)
	if _, err := io.ReadFull(rand, buf); err != nil {
		return fmt.Errorf("bac: randomness: %w", err)
	}
	rndIFD, kIFD := buf[:8], buf[8:]
	s := append(append(append([]byte(nil), rndIFD...), rndIC...), kIFD...)
	eIFD, err := sm.TDES.Encrypt(kenc, nil, s)
	if err != nil {
		return err
	}
	mIFD, err := sm.TDES.MAC(kmac, sm.Pad(eIFD, 8))
	if err != nil {
		return err
	}
	r, err := c.transmit(ctx, apdu.Command{INS: 0x82, Data: append(eIFD, mIFD...), Ne: 40})
	if err != nil {
		return fmt.Errorf("bac: EXTERNAL AUTHENTICATE: %w", err)
	}
	switch {
	case r.SW == 0x6300 || r.SW == 0x6982 || r.SW>>8 == 0x63:
		return fmt.Errorf("bac: EXTERNAL AUTHENTICATE status %04X: %w", r.SW, ErrAccessDenied)
	case r.SW != 0x9000:
		return &StatusError{Op: "bac: EXTERNAL AUTHENTICATE", SW: r.SW}
	case len(r.Data) != 40:
		return fmt.Errorf("%w: bac: EXTERNAL AUTHENTICATE returned %d bytes, want 40", ErrProtocol, len(r.Data))
	}
	eIC, mIC := r.Data[:32], r.Data[32:]
	want, err := sm.TDES.MAC(kmac, sm.Pad(eIC, 8))
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(want, mIC) != 1 {
		return fmt.Errorf("bac: chip's cryptogram: %w", ErrMAC)
	}
	dec, err := sm.TDES.Decrypt(kenc, nil, eIC)
	if err != nil {
		return err
	}
	if !bytes.Equal(dec[:8], rndIC) || !bytes.Equal(dec[8:16], rndIFD) {
		return fmt.Errorf("%w: bac: chip's cryptogram does not hold our challenges", ErrProtocol)
	}
	kIC := dec[16:32]
	kseed := make([]byte, 16)
	subtle.XORBytes(kseed, kIFD, kIC)
	ssc := append(append([]byte(nil), rndIC[4:]...), rndIFD[4:]...)
	sess, err := sm.NewSession(sm.TDES, sm.KDF(sm.TDES, kseed, sm.CounterEnc), sm.KDF(sm.TDES, kseed, sm.CounterMAC), ssc)
	if err != nil {
		return err
	}
	c.sm = sess
	return nil
}
