package ecc

import (
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
)

func oidPrimeField() asn1.ObjectIdentifier  { return asn1.ObjectIdentifier{1, 2, 840, 10045, 1, 1} }
func oidECPublicKey() asn1.ObjectIdentifier { return asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1} }

type explicitParams struct {
	Version int
	FieldID struct {
		Type  asn1.ObjectIdentifier
		Prime *big.Int
	}
	Curve struct {
		A, B []byte
		Seed asn1.BitString `asn1:"optional"`
	}
	Base     []byte
	Order    *big.Int
	Cofactor *big.Int `asn1:"optional"`
}

// ParseParameters decodes ECParameters (SEC 1 / RFC 3279): a named curve OID or explicit
// prime-field parameters, which are validated and replaced by the named curve they equal.
func ParseParameters(der []byte) (*Curve, error) {
	var raw asn1.RawValue
	rest, err := asn1.Unmarshal(der, &raw)
	if err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: EC parameters are not one DER object", ErrBadParameter)
	}
	if raw.Class == asn1.ClassUniversal && raw.Tag == asn1.TagOID {
		var oid asn1.ObjectIdentifier
		if _, err := asn1.Unmarshal(der, &oid); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadParameter, err)
		}
		return ByOID(oid)
	}
	var e explicitParams
	if rest, err := asn1.Unmarshal(der, &e); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: explicit EC parameters: %v", ErrBadParameter, err)
	}
	if !e.FieldID.Type.Equal(oidPrimeField()) {
		return nil, fmt.Errorf("%w: field type %v is not prime-field", ErrBadParameter, e.FieldID.Type)
	}
	p := e.FieldID.Prime
	if p == nil || p.Sign() <= 0 || p.BitLen() > maxFieldBits {
		return nil, fmt.Errorf("%w: bad field prime", ErrBadParameter)
	}
	tmp := &Curve{P: p, A: new(big.Int).SetBytes(e.Curve.A), B: new(big.Int).SetBytes(e.Curve.B), byteLen: (p.BitLen() + 7) / 8}
	if tmp.A.Cmp(p) >= 0 || tmp.B.Cmp(p) >= 0 {
		return nil, fmt.Errorf("%w: a or b not reduced", ErrBadParameter)
	}
	g, err := tmp.Unmarshal(e.Base)
	if err != nil {
		return nil, fmt.Errorf("%w: base point: %v", ErrBadParameter, err)
	}
	c := &Curve{P: p, A: tmp.A, B: tmp.B, Gx: g.X, Gy: g.Y, N: e.Order, H: e.Cofactor}
	if c.H == nil {
		c.H = big.NewInt(1)
	}
	if c.N == nil {
		return nil, fmt.Errorf("%w: no order", ErrBadParameter)
	}
	for _, n := range Named() {
		if n.Same(c) {
			return n, nil
		}
	}
	return NewCurve(c.P, c.A, c.B, c.Gx, c.Gy, c.N, c.H)
}

// ParsePrivateKey decodes an EC private key in PKCS#8 or SEC 1 (RFC 5915) DER, with named
// or explicit domain parameters, and checks the public key if one is included.
func ParsePrivateKey(der []byte) (*Curve, *big.Int, error) {
	var p8 struct {
		Version int
		Algo    struct {
			Algorithm  asn1.ObjectIdentifier
			Parameters asn1.RawValue `asn1:"optional"`
		}
		PrivateKey []byte
	}
	if rest, err := asn1.Unmarshal(der, &p8); err == nil && len(rest) == 0 {
		if !p8.Algo.Algorithm.Equal(oidECPublicKey()) {
			return nil, nil, fmt.Errorf("ecc: PKCS#8 key algorithm %v is not id-ecPublicKey", p8.Algo.Algorithm)
		}
		c, err := ParseParameters(p8.Algo.Parameters.FullBytes)
		if err != nil {
			return nil, nil, err
		}
		return parseSEC1(p8.PrivateKey, c)
	}
	return parseSEC1(der, nil)
}

func parseSEC1(der []byte, c *Curve) (*Curve, *big.Int, error) {
	var k struct {
		Version    int
		PrivateKey []byte
		Params     asn1.RawValue  `asn1:"optional,explicit,tag:0"`
		Public     asn1.BitString `asn1:"optional,explicit,tag:1"`
	}
	if rest, err := asn1.Unmarshal(der, &k); err != nil || len(rest) != 0 {
		return nil, nil, fmt.Errorf("ecc: not an EC private key: %v", err)
	}
	if k.Version != 1 {
		return nil, nil, fmt.Errorf("ecc: EC private key version %d, want 1", k.Version)
	}
	if c == nil {
		if len(k.Params.FullBytes) == 0 {
			return nil, nil, errors.New("ecc: EC private key without domain parameters")
		}
		pb := k.Params.FullBytes
		if k.Params.Class == asn1.ClassContextSpecific {
			pb = k.Params.Bytes // the [0] wrapper was kept
		}
		var err error
		if c, err = ParseParameters(pb); err != nil {
			return nil, nil, err
		}
	}
	d := new(big.Int).SetBytes(k.PrivateKey)
	if d.Sign() <= 0 || d.Cmp(c.N) >= 0 {
		return nil, nil, errors.New("ecc: private scalar out of range")
	}
	if len(k.Public.Bytes) > 0 {
		q, err := c.Unmarshal(k.Public.Bytes)
		if err != nil {
			return nil, nil, fmt.Errorf("ecc: public key in the private key: %w", err)
		}
		if !c.Mul(c.Generator(), d).Equal(q) {
			return nil, nil, errors.New("ecc: public key does not match the private key")
		}
	}
	return c, d, nil
}
