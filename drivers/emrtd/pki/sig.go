package pki

import (
	"crypto"
	"crypto/rsa"
	_ "crypto/sha1" // SHA-1 is still used by real documents' SODs and certificates
	_ "crypto/sha256"
	_ "crypto/sha512"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"github.com/edgeid/edgeid/drivers/emrtd/asn1der"
	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
)

// ErrSignature is wrapped by every "the signature does not verify" error, as opposed to
// errors about unsupported or malformed algorithms and keys.
var ErrSignature = errors.New("signature does not verify")

type sigKind int

const (
	sigRSAPKCS1 sigKind = iota + 1
	sigRSAPSS
	sigECDSA      // DER SEQUENCE { r, s }
	sigECDSAPlain // r || s (BSI TR-03111)
)

// SigScheme is a resolved signature algorithm (ResolveSig), for VerifySig.
type SigScheme struct {
	kind sigKind
	hash crypto.Hash
	salt int // RSA-PSS salt length
}

func (s SigScheme) String() string {
	switch s.kind {
	case sigRSAPKCS1:
		return "RSA PKCS#1 v1.5 with " + s.hash.String()
	case sigRSAPSS:
		return fmt.Sprintf("RSA-PSS with %s (salt %d)", s.hash, s.salt)
	case sigECDSA:
		return "ECDSA with " + s.hash.String()
	case sigECDSAPlain:
		return "ECDSA (plain) with " + s.hash.String()
	}
	return "unknown"
}

var hashByOID = []struct {
	oid asn1.ObjectIdentifier
	h   crypto.Hash
}{
	{asn1der.OIDSHA1, crypto.SHA1}, {asn1der.OIDSHA224, crypto.SHA224}, {asn1der.OIDSHA256, crypto.SHA256},
	{asn1der.OIDSHA384, crypto.SHA384}, {asn1der.OIDSHA512, crypto.SHA512},
}

func HashFromOID(oid asn1.ObjectIdentifier) (crypto.Hash, error) {
	for _, e := range hashByOID {
		if e.oid.Equal(oid) {
			return e.h, nil
		}
	}
	return 0, fmt.Errorf("hash algorithm %v is not supported", oid)
}

var sigByOID = []struct {
	oid  asn1.ObjectIdentifier
	kind sigKind
	h    crypto.Hash
}{
	{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}, sigRSAPKCS1, crypto.SHA1},
	{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 14}, sigRSAPKCS1, crypto.SHA224},
	{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}, sigRSAPKCS1, crypto.SHA256},
	{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}, sigRSAPKCS1, crypto.SHA384},
	{asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}, sigRSAPKCS1, crypto.SHA512},
	{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}, sigECDSA, crypto.SHA1},
	{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 1}, sigECDSA, crypto.SHA224},
	{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}, sigECDSA, crypto.SHA256},
	{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}, sigECDSA, crypto.SHA384},
	{asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}, sigECDSA, crypto.SHA512},
	{asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 1, 1, 4, 1, 1}, sigECDSAPlain, crypto.SHA1},
	{asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 1, 1, 4, 1, 2}, sigECDSAPlain, crypto.SHA224},
	{asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 1, 1, 4, 1, 3}, sigECDSAPlain, crypto.SHA256},
	{asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 1, 1, 4, 1, 4}, sigECDSAPlain, crypto.SHA384},
	{asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 1, 1, 4, 1, 5}, sigECDSAPlain, crypto.SHA512},
}

// resolveSig turns a signature AlgorithmIdentifier into a scheme. digest is the hash to use
// when the identifier names only the key type (rsaEncryption or id-ecPublicKey), as CMS
// SignerInfos may; 0 if there is none.
func ResolveSig(a asn1der.AlgorithmIdentifier, digest crypto.Hash) (SigScheme, error) {
	for _, e := range sigByOID {
		if e.oid.Equal(a.OID) {
			return SigScheme{kind: e.kind, hash: e.h}, nil
		}
	}
	switch {
	case a.OID.Equal(asn1der.OIDRSAEncryption), a.OID.Equal(asn1der.OIDECPublicKey):
		if digest == 0 {
			return SigScheme{}, fmt.Errorf("signature algorithm %v names no hash", a.OID)
		}
		k := sigRSAPKCS1
		if a.OID.Equal(asn1der.OIDECPublicKey) {
			k = sigECDSA
		}
		return SigScheme{kind: k, hash: digest}, nil
	case a.OID.Equal(asn1der.OIDRSAPSS):
		return resolvePSS(a.Params)
	}
	return SigScheme{}, fmt.Errorf("signature algorithm %v is not supported", a.OID)
}

// resolvePSS reads RSASSA-PSS-params; absent fields take the RFC 4055 defaults (SHA-1, salt 20).
func resolvePSS(p *tlv.TLV) (SigScheme, error) {
	s := SigScheme{kind: sigRSAPSS, hash: crypto.SHA1, salt: 20}
	if p == nil {
		return s, nil
	}
	if p.Tag != asn1der.TagSequence {
		return s, fmt.Errorf("rsa-pss parameters at offset %d: not a sequence", p.Offset)
	}
	mgfHash := crypto.SHA1
	for i := range p.Children {
		c := &p.Children[i]
		switch c.Tag {
		case 0xA0:
			if len(c.Children) != 1 {
				return s, errors.New("rsa-pss parameters: bad hash algorithm")
			}
			a, err := asn1der.DecodeAlgID(&c.Children[0], "rsa-pss hash")
			if err != nil {
				return s, err
			}
			if s.hash, err = HashFromOID(a.OID); err != nil {
				return s, err
			}
		case 0xA1:
			if len(c.Children) != 1 {
				return s, errors.New("rsa-pss parameters: bad mask generation")
			}
			a, err := asn1der.DecodeAlgID(&c.Children[0], "rsa-pss mask generation")
			if err != nil {
				return s, err
			}
			if !a.OID.Equal(asn1der.OIDMGF1) || a.Params == nil {
				return s, fmt.Errorf("rsa-pss: mask generation %v is not supported", a.OID)
			}
			h, err := asn1der.DecodeAlgID(a.Params, "rsa-pss mgf1 hash")
			if err != nil {
				return s, err
			}
			if mgfHash, err = HashFromOID(h.OID); err != nil {
				return s, err
			}
		case 0xA2:
			if len(c.Children) != 1 {
				return s, errors.New("rsa-pss parameters: bad salt length")
			}
			n, err := asn1der.DecodeSmallInt(&c.Children[0], "rsa-pss salt length")
			if err != nil || n < 0 || n > 1024 {
				return s, errors.New("rsa-pss parameters: salt length out of range")
			}
			s.salt = n
		case 0xA3:
			if len(c.Children) != 1 {
				return s, errors.New("rsa-pss parameters: bad trailer field")
			}
			n, err := asn1der.DecodeSmallInt(&c.Children[0], "rsa-pss trailer field")
			if err != nil || n != 1 {
				return s, errors.New("rsa-pss parameters: trailer field must be 1")
			}
		}
	}
	if mgfHash != s.hash {
		return s, fmt.Errorf("rsa-pss: MGF1 hash %s differs from the message hash %s (not supported)", mgfHash, s.hash)
	}
	return s, nil
}

// verifySig verifies sig over msg with pub (from ParsePublicKeyInfo) under scheme s.
func VerifySig(pub any, s SigScheme, msg, sig []byte) error {
	if !s.hash.Available() {
		return fmt.Errorf("hash %v is not available", s.hash)
	}
	h := s.hash.New()
	h.Write(msg)
	return verifyDigest(pub, s, h.Sum(nil), sig)
}

func verifyDigest(pub any, s SigScheme, digest, sig []byte) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		switch s.kind {
		case sigRSAPKCS1:
			if err := rsa.VerifyPKCS1v15(k, s.hash, digest, sig); err != nil {
				return fmt.Errorf("%s: %w (%v)", s, ErrSignature, err)
			}
			return nil
		case sigRSAPSS:
			if err := rsa.VerifyPSS(k, s.hash, digest, sig, &rsa.PSSOptions{SaltLength: s.salt, Hash: s.hash}); err != nil {
				return fmt.Errorf("%s: %w (%v)", s, ErrSignature, err)
			}
			return nil
		}
		return fmt.Errorf("%s with an RSA key: algorithm and key do not match", s)
	case *ECPublicKey:
		var r, ss *big.Int
		switch s.kind {
		case sigECDSA:
			t, err := asn1der.ParseDER(sig, "ecdsa signature")
			if err != nil {
				return fmt.Errorf("%s: %w: %v", s, ErrSignature, err)
			}
			if t.Tag != asn1der.TagSequence || len(t.Children) != 2 {
				return fmt.Errorf("%s: %w: malformed signature value", s, ErrSignature)
			}
			if r, err = asn1der.DecodeInt(&t.Children[0], "ecdsa r"); err != nil {
				return fmt.Errorf("%s: %w: %v", s, ErrSignature, err)
			}
			if ss, err = asn1der.DecodeInt(&t.Children[1], "ecdsa s"); err != nil {
				return fmt.Errorf("%s: %w: %v", s, ErrSignature, err)
			}
		case sigECDSAPlain:
			if len(sig) == 0 || len(sig)%2 != 0 {
				return fmt.Errorf("%s: %w: plain signature of odd length %d", s, ErrSignature, len(sig))
			}
			r = new(big.Int).SetBytes(sig[:len(sig)/2])
			ss = new(big.Int).SetBytes(sig[len(sig)/2:])
		default:
			return fmt.Errorf("%s with an EC key: algorithm and key do not match", s)
		}
		if !verifyECDSA(k, digest, r, ss) {
			return fmt.Errorf("%s on %s: %w", s, KeyDescription(k), ErrSignature)
		}
		return nil
	}
	return fmt.Errorf("public key type %T is not supported", pub)
}

// ForChipSignature returns s for a signature made by a chip (Active Authentication): chips
// return r||s even under the X9.62 OIDs, whose signatures are DER sequences elsewhere.
func (s SigScheme) ForChipSignature(sig []byte) SigScheme {
	if s.kind == sigECDSA && len(sig) > 0 && sig[0] != 0x30 {
		s.kind = sigECDSAPlain
	}
	return s
}
