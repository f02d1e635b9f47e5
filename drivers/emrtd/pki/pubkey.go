package pki

import (
	"crypto/rsa"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"github.com/edgeid/edgeid/drivers/emrtd/asn1der"
	"github.com/edgeid/edgeid/drivers/emrtd/internal/ecc"
	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
)

// ECCurve is a short Weierstrass curve y² = x³ + ax + b over GF(p), either named by OID or
// given with explicit parameters (as many real DS and CSCA certificates and DG15/DG14 keys do).
type ECCurve struct {
	Name               string                // "brainpoolP256r1", "P-256"; "" if unknown
	OID                asn1.ObjectIdentifier // nil for explicit parameters that match no named curve
	P, A, B, Gx, Gy, N *big.Int
	H                  int

	impl *ecc.Curve // validated arithmetic, set by the parsers
}

// ByteLen is the length in bytes of a field element.
func (c *ECCurve) ByteLen() int { return (c.P.BitLen() + 7) / 8 }

// ECPublicKey is an elliptic-curve public key on an ECCurve.
type ECPublicKey struct {
	Curve *ECCurve
	X, Y  *big.Int
	// Explicit is set when the key carried explicit curve parameters.
	Explicit bool
}

// Bytes returns the uncompressed point encoding 04 || X || Y.
func (k *ECPublicKey) Bytes() []byte {
	n := k.Curve.ByteLen()
	out := make([]byte, 1+2*n)
	out[0] = 4
	k.X.FillBytes(out[1 : 1+n])
	k.Y.FillBytes(out[1+n:])
	return out
}

// KeyDescription describes a parsed public key briefly: "RSA 2048", "ECDSA brainpoolP256r1 (explicit)".
func KeyDescription(pub any) string {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ECPublicKey:
		name := k.Curve.Name
		if name == "" {
			name = fmt.Sprintf("unnamed %d-bit curve", k.Curve.P.BitLen())
		}
		if k.Explicit {
			name += " (explicit parameters)"
		}
		return "EC " + name
	}
	return fmt.Sprintf("%T", pub)
}

// ParsePublicKeyInfo parses an X.509 SubjectPublicKeyInfo holding an RSA key (rsaEncryption
// or RSASSA-PSS) or an EC key with a named curve or explicit parameters. It returns
// *rsa.PublicKey or *ECPublicKey.
func ParsePublicKeyInfo(der []byte) (any, error) {
	t, err := asn1der.ParseDER(der, "public key info")
	if err != nil {
		return nil, err
	}
	return ParseSPKI(t)
}

func ParseSPKI(t *tlv.TLV) (any, error) {
	if t.Tag != asn1der.TagSequence {
		return nil, fmt.Errorf("public key info at offset %d: not a sequence", t.Offset)
	}
	a, err := asn1der.Child(t, 0, asn1der.TagSequence, "public key algorithm")
	if err != nil {
		return nil, err
	}
	alg, err := asn1der.DecodeAlgID(a, "public key algorithm")
	if err != nil {
		return nil, err
	}
	bs, err := asn1der.Child(t, 1, asn1der.TagBitString, "public key bits")
	if err != nil {
		return nil, err
	}
	key, err := asn1der.BitStringBytes(bs, "public key bits")
	if err != nil {
		return nil, err
	}
	switch {
	case alg.OID.Equal(asn1der.OIDRSAEncryption), alg.OID.Equal(asn1der.OIDRSAPSS):
		k, err := parseRSAKey(key)
		if err != nil {
			return nil, err // a nil interface, not a nil *rsa.PublicKey inside one
		}
		return k, nil
	case alg.OID.Equal(asn1der.OIDECPublicKey):
		if alg.Params == nil {
			return nil, errors.New("ec public key: implicitly-CA parameters are not supported (no curve given)")
		}
		curve, explicit, err := parseECParams(alg.Params)
		if err != nil {
			return nil, err
		}
		x, y, err := decodePoint(curve, key)
		if err != nil {
			return nil, fmt.Errorf("ec public key: %w", err)
		}
		return &ECPublicKey{Curve: curve, X: x, Y: y, Explicit: explicit}, nil
	}
	return nil, fmt.Errorf("public key algorithm %v is not supported", alg.OID)
}

func parseRSAKey(b []byte) (*rsa.PublicKey, error) {
	t, err := asn1der.ParseDER(b, "rsa public key")
	if err != nil {
		return nil, err
	}
	if t.Tag != asn1der.TagSequence {
		return nil, errors.New("rsa public key: not a sequence")
	}
	nt, err := asn1der.Child(t, 0, asn1der.TagInteger, "rsa modulus")
	if err != nil {
		return nil, err
	}
	et, err := asn1der.Child(t, 1, asn1der.TagInteger, "rsa exponent")
	if err != nil {
		return nil, err
	}
	n, err := asn1der.DecodeInt(nt, "rsa modulus")
	if err != nil {
		return nil, err
	}
	e, err := asn1der.DecodeInt(et, "rsa exponent")
	if err != nil {
		return nil, err
	}
	if n.Sign() <= 0 || n.BitLen() < 512 || n.BitLen() > 8192 {
		return nil, fmt.Errorf("rsa public key: modulus of %d bits out of range 512..8192", n.BitLen())
	}
	if e.Sign() <= 0 || e.BitLen() > 31 || e.Bit(0) == 0 {
		return nil, fmt.Errorf("rsa public key: exponent %v not acceptable", e)
	}
	return &rsa.PublicKey{N: n, E: int(e.Int64())}, nil
}

// parseECParams resolves a named curve OID or explicit ECParameters.
func parseECParams(p *tlv.TLV) (*ECCurve, bool, error) {
	if p.Tag == asn1der.TagOID {
		oid, err := asn1der.DecodeOID(p, "ec named curve")
		if err != nil {
			return nil, false, err
		}
		c, err := curveByOID(oid)
		if err != nil {
			return nil, false, err
		}
		return c, false, nil
	}
	if p.Tag != asn1der.TagSequence {
		return nil, false, fmt.Errorf("ec parameters at offset %d: tag %s is neither a curve OID nor explicit parameters", p.Offset, p.Tag)
	}
	// ECParameters ::= SEQUENCE { version, fieldID, curve, base, order, cofactor OPTIONAL }
	ft, err := asn1der.Child(p, 1, asn1der.TagSequence, "ec field id")
	if err != nil {
		return nil, false, err
	}
	fo, err := asn1der.Child(ft, 0, asn1der.TagOID, "ec field type")
	if err != nil {
		return nil, false, err
	}
	if oid, err := asn1der.DecodeOID(fo, "ec field type"); err != nil || !oid.Equal(asn1der.OIDPrimeField) {
		return nil, false, fmt.Errorf("ec parameters: field type %v is not a prime field", oid)
	}
	pt, err := asn1der.Child(ft, 1, asn1der.TagInteger, "ec prime")
	if err != nil {
		return nil, false, err
	}
	c := &ECCurve{H: 1}
	if c.P, err = asn1der.DecodeInt(pt, "ec prime"); err != nil {
		return nil, false, err
	}
	if c.P.Sign() <= 0 || c.P.BitLen() < 128 || c.P.BitLen() > 521 || c.P.Bit(0) == 0 {
		return nil, false, fmt.Errorf("ec parameters: prime of %d bits not acceptable", c.P.BitLen())
	}

	ct, err := asn1der.Child(p, 2, asn1der.TagSequence, "ec curve")
	if err != nil {
		return nil, false, err
	}
	at, err := asn1der.Child(ct, 0, asn1der.TagOctetString, "ec coefficient a")
	if err != nil {
		return nil, false, err
	}
	bt, err := asn1der.Child(ct, 1, asn1der.TagOctetString, "ec coefficient b")
	if err != nil {
		return nil, false, err
	}
	c.A = new(big.Int).SetBytes(at.Value)
	c.B = new(big.Int).SetBytes(bt.Value)
	if c.A.Cmp(c.P) >= 0 || c.B.Cmp(c.P) >= 0 {
		return nil, false, errors.New("ec parameters: coefficient not reduced modulo p")
	}
	gt, err := asn1der.Child(p, 3, asn1der.TagOctetString, "ec base point")
	if err != nil {
		return nil, false, err
	}
	nt, err := asn1der.Child(p, 4, asn1der.TagInteger, "ec order")
	if err != nil {
		return nil, false, err
	}
	if c.N, err = asn1der.DecodeInt(nt, "ec order"); err != nil {
		return nil, false, err
	}
	if c.N.Sign() <= 0 || c.N.BitLen() > c.P.BitLen()+1 {
		return nil, false, errors.New("ec parameters: order out of range")
	}
	if len(p.Children) > 5 && p.Children[5].Tag == asn1der.TagInteger {
		h, err := asn1der.DecodeSmallInt(&p.Children[5], "ec cofactor")
		if err != nil || h < 1 || h > 256 {
			return nil, false, errors.New("ec parameters: cofactor out of range")
		}
		c.H = h
	}
	// A compressed base point needs a square root modulo p, which need not terminate for a
	// composite p: check primality first (validateCurve checks it for every unnamed curve).
	if len(gt.Value) > 0 && gt.Value[0] != 4 && !c.P.ProbablyPrime(20) {
		return nil, false, errors.New("ec parameters: field modulus is not prime")
	}
	c.Gx, c.Gy, err = decodePoint(c, gt.Value)
	if err != nil {
		return nil, false, fmt.Errorf("ec parameters: base point: %w", err)
	}
	v, err := validateCurve(c)
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}

// decodePoint decodes an uncompressed (04) or compressed (02/03) point and checks that it
// lies on the curve.
func decodePoint(c *ECCurve, b []byte) (*big.Int, *big.Int, error) {
	n := c.ByteLen()
	var x, y *big.Int
	switch {
	case len(b) == 1+2*n && b[0] == 4:
		x = new(big.Int).SetBytes(b[1 : 1+n])
		y = new(big.Int).SetBytes(b[1+n:])
	case len(b) == 1+n && (b[0] == 2 || b[0] == 3):
		x = new(big.Int).SetBytes(b[1:])
		if x.Cmp(c.P) >= 0 {
			return nil, nil, errors.New("point x not reduced")
		}
		y = new(big.Int).ModSqrt(curveRHS(c, x), c.P)
		if y == nil {
			return nil, nil, errors.New("compressed point is not on the curve")
		}
		if y.Bit(0) != uint(b[0]&1) {
			y.Sub(c.P, y)
		}
	default:
		return nil, nil, fmt.Errorf("point encoding of %d bytes (first byte %#x) does not fit a %d-byte field", len(b), firstOr0(b), n)
	}
	if x.Cmp(c.P) >= 0 || y.Cmp(c.P) >= 0 || !onCurve(c, x, y) {
		return nil, nil, errors.New("point is not on the curve")
	}
	return x, y, nil
}

func firstOr0(b []byte) byte {
	if len(b) == 0 {
		return 0
	}
	return b[0]
}

func curveRHS(c *ECCurve, x *big.Int) *big.Int {
	r := new(big.Int).Mul(x, x)
	r.Mul(r, x)
	ax := new(big.Int).Mul(c.A, x)
	r.Add(r, ax)
	r.Add(r, c.B)
	return r.Mod(r, c.P)
}

func onCurve(c *ECCurve, x, y *big.Int) bool {
	l := new(big.Int).Mul(y, y)
	l.Mod(l, c.P)
	return l.Cmp(curveRHS(c, x)) == 0
}

// Arith returns the curve's validated arithmetic, nil for a curve the parsers did not build.
func (c *ECCurve) Arith() *ecc.Curve { return c.impl }
