package emrtdsim

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
)

// oidECDSAPlainSHA256 is BSI TR-03111 ecdsa-plain-SHA256, named in DG14's ActiveAuthenticationInfo.
var (
	oidECDSAPlainSHA256 = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 1, 1, 4, 1, 3}
	oidAAInfo           = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 5}
)

func generateAA(o *DocumentOpts, doc *Document, dgs *[]string) error {
	var key crypto.Signer
	var err error
	switch o.AAKey {
	case AANone:
		return nil
	case AARSA1024:
		key, err = rsa.GenerateKey(o.Rand, 1024)
	case AAECP256:
		key, err = ecdsa.GenerateKey(elliptic.P256(), o.Rand)
	default:
		return fmt.Errorf("generate: unknown AA key type %q", o.AAKey)
	}
	if err != nil {
		return fmt.Errorf("generate: aa key: %w", err)
	}
	spki, err := x509.MarshalPKIXPublicKey(key.Public())
	if err != nil {
		return fmt.Errorf("generate: aa key: %w", err)
	}
	doc.AAKey = key
	doc.Files["DG15"] = tlv.EncodeTLV(0x6F, spki)
	if o.AAKey == AAECP256 {
		// DG14 must name the ECDSA Active Authentication signature algorithm.
		oid, _ := asn1.Marshal(oidAAInfo)
		alg, _ := asn1.Marshal(oidECDSAPlainSHA256)
		info := tlv.EncodeConstructed(0x30, oid, tlv.EncodeTLV(0x02, []byte{1}), alg)
		doc.Files["DG14"] = tlv.EncodeTLV(0x6E, tlv.EncodeConstructed(0x31, info))
		*dgs = append(*dgs, "DG14")
	}
	*dgs = append(*dgs, "DG15")
	return nil
}

// SignActiveAuthentication is the chip side of Active Authentication: it answers an
// INTERNAL AUTHENTICATE challenge with key. RSA keys sign with ISO/IEC 9796-2 scheme 1
// (SHA-1, trailer BC, a random recoverable part); EC keys with plain ECDSA over SHA-256.
func SignActiveAuthentication(key crypto.Signer, challenge []byte, r io.Reader) ([]byte, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		size := (k.N.BitLen() + 7) / 8
		if k.N.BitLen()%8 != 0 {
			return nil, errors.New("aa: modulus must be a whole number of bytes")
		}
		h := crypto.SHA1
		m1 := make([]byte, size-2-h.Size())
		if _, err := io.ReadFull(r, m1); err != nil {
			return nil, err
		}
		d := h.New()
		d.Write(m1)
		d.Write(challenge)
		f := make([]byte, 0, size)
		f = append(f, 0x6A)
		f = append(f, m1...)
		f = d.Sum(f)
		f = append(f, 0xBC)
		m := new(big.Int).SetBytes(f)
		s := new(big.Int).Exp(m, k.D, k.N)
		return s.FillBytes(make([]byte, size)), nil
	case *ecdsa.PrivateKey:
		d := crypto.SHA256.New()
		d.Write(challenge)
		der, err := ecdsa.SignASN1(r, k, d.Sum(nil))
		if err != nil {
			return nil, err
		}
		var sig struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(der, &sig); err != nil {
			return nil, err
		}
		n := (k.Curve.Params().N.BitLen() + 7) / 8
		out := make([]byte, 2*n)
		sig.R.FillBytes(out[:n])
		sig.S.FillBytes(out[n:])
		return out, nil
	}
	return nil, fmt.Errorf("aa: key type %T not supported", key)
}
