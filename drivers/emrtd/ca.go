package emrtd

import (
	"context"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/edgeid/edgeid/drivers/apdu"
	"github.com/edgeid/edgeid/drivers/emrtd/internal/ecc"
	"github.com/edgeid/edgeid/drivers/emrtd/internal/sm"
	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/drivers/emrtd/pki"
	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
)

// caChoice is the Chip Authentication protocol and static chip key taken from DG14.
type caChoice struct {
	oid    asn1.ObjectIdentifier
	name   string
	cipher sm.Cipher
	keyID  int // -1: none
	curve  *ecc.Curve
	pub    ecc.Point
}

// chooseCA picks an ECDH Chip Authentication from DG14 (ICAO 9303-11 §6.2): the
// strongest cipher whose ChipAuthenticationInfo has a matching ECDH public key. A DG14 with
// keys but no ChipAuthenticationInfo is a version 1 chip: ECDH with 3DES is implied.
func chooseCA(dg14 []byte) (caChoice, error) {
	si, err := lds.ParseSecurityInfos(dg14)
	if err != nil {
		return caChoice{}, fmt.Errorf("DG14: %w", err)
	}
	return chooseCAFrom(si)
}

// caV1ECDH is id-CA-ECDH-3DES-CBC-CBC, implied for version 1 chips.
var caV1ECDH = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 3, 2, 1}

func chooseCAFrom(si *lds.SecurityInfos) (caChoice, error) {
	if len(si.ChipAuthKeys) == 0 {
		return caChoice{}, errors.New("DG14 offers no Chip Authentication")
	}
	infos := si.ChipAuth
	if len(infos) == 0 {
		infos = []lds.ChipAuthenticationInfo{{Protocol: caV1ECDH, Version: 1, KeyID: -1, KeyAgreement: "ECDH", Cipher: "3DES", KeyBits: 112}}
	}
	var best caChoice
	var why []string
	for _, info := range infos {
		if info.KeyAgreement != "ECDH" {
			why = append(why, "DH chip authentication is not supported")
			continue
		}
		cph := map[int]sm.Cipher{112: sm.TDES, 128: sm.AES128, 192: sm.AES192, 256: sm.AES256}[info.KeyBits]
		for _, k := range si.ChipAuthKeys {
			if info.KeyID >= 0 && k.KeyID >= 0 && info.KeyID != k.KeyID {
				continue
			}
			pub, ok := k.PublicKey.(*pki.ECPublicKey)
			if !ok {
				if k.KeyErr != nil {
					why = append(why, k.KeyErr.Error())
				}
				continue
			}
			c := pub.Curve.Arith()
			if c == nil {
				var err error
				if c, err = ecc.NewCurve(pub.Curve.P, pub.Curve.A, pub.Curve.B, pub.Curve.Gx, pub.Curve.Gy, pub.Curve.N, big.NewInt(int64(pub.Curve.H))); err != nil {
					why = append(why, err.Error())
					continue
				}
			}
			if !c.IsOnCurve(pub.X, pub.Y) {
				why = append(why, "chip authentication key is not on its curve")
				continue
			}
			if best.curve == nil || cph > best.cipher {
				kid := info.KeyID
				if kid < 0 {
					kid = k.KeyID
				}
				best = caChoice{oid: info.Protocol, name: caProtocolName(info.Protocol), cipher: cph, keyID: kid, curve: c, pub: ecc.Point{X: pub.X, Y: pub.Y}}
			}
		}
	}
	if best.curve == nil {
		return caChoice{}, fmt.Errorf("DG14 offers no usable ECDH Chip Authentication: %v", why)
	}
	return best, nil
}

func caProtocolName(oid asn1.ObjectIdentifier) string {
	if len(oid) != 11 {
		return oid.String()
	}
	c := map[int]string{1: "3DES-CBC-CBC", 2: "AES-CBC-CMAC-128", 3: "AES-CBC-CMAC-192", 4: "AES-CBC-CMAC-256"}[oid[10]]
	ka := map[int]string{1: "DH", 2: "ECDH"}[oid[9]]
	if c == "" || ka == "" {
		return oid.String()
	}
	return "id-CA-" + ka + "-" + c
}

// chipAuthenticate runs the key agreement of Chip Authentication and restarts secure
// messaging with the new keys. 3DES uses MSE:Set KAT; AES uses MSE:Set AT and GENERAL
// AUTHENTICATE. The chip proves its key only implicitly: the next protected response
// verifies under the new keys or fails with ErrMAC.
func chipAuthenticate(ctx context.Context, c *channel, ch caChoice, rnd io.Reader) error {
	if c.sm == nil {
		return errors.New("chip authentication: needs secure messaging first")
	}
	sk, pk, err := ch.curve.GenerateKey(rnd)
	if err != nil {
		return err
	}
	pkBytes := ch.curve.Marshal(pk)
	var kid []byte
	if ch.keyID >= 0 {
		kid = tlv.EncodeTLV(tlv.Tag(0x84), big.NewInt(int64(ch.keyID)).Bytes())
		if ch.keyID == 0 {
			kid = tlv.EncodeTLV(tlv.Tag(0x84), []byte{0})
		}
	}
	if ch.cipher == sm.TDES {
		data := append(tlv.EncodeTLV(tlv.Tag(0x91), pkBytes), kid...)
		if _, err := c.expectOK(ctx, "chip authentication: MSE:Set KAT", apdu.Command{INS: 0x22, P1: 0x41, P2: 0xA6, Data: data}); err != nil {
			return err
		}
	} else {
		oidDER, err := asn1.Marshal(ch.oid)
		if err != nil {
			return err
		}
		data := append(tlv.EncodeTLV(tlv.Tag(0x80), oidDER[2:]), kid...)
		if _, err := c.expectOK(ctx, "chip authentication: MSE:Set AT", apdu.Command{INS: 0x22, P1: 0x41, P2: 0xA4, Data: data}); err != nil {
			return err
		}
		resp, err := c.expectOK(ctx, "chip authentication: GENERAL AUTHENTICATE", apdu.Command{INS: 0x86, Data: tlv.EncodeTLV(tlv.Tag(0x7C), tlv.EncodeTLV(tlv.Tag(0x80), pkBytes)), Ne: 256})
		if err != nil {
			return err
		}
		if len(resp) > 0 {
			if _, err := tlv.ParseTLVExpect(resp, 0x7C); err != nil {
				return fmt.Errorf("%w: chip authentication: response: %v", ErrProtocol, err)
			}
		}
	}
	z, err := ch.curve.ECDH(sk, ch.pub)
	if err != nil {
		return fmt.Errorf("chip authentication: %w", err)
	}
	k := ch.curve.MarshalField(z.X)
	sess, err := sm.NewSession(ch.cipher, sm.KDF(ch.cipher, k, sm.CounterEnc), sm.KDF(ch.cipher, k, sm.CounterMAC), make([]byte, ch.cipher.BlockSize()))
	if err != nil {
		return err
	}
	c.sm = sess
	return nil
}
