package pki

import (
	"encoding/asn1"
	"fmt"
	"math/big"

	"github.com/edgeid/edgeid/drivers/emrtd/internal/ecc"
)

// curveByOID resolves a named curve (NIST or brainpool) through the ecc package.
func curveByOID(oid asn1.ObjectIdentifier) (*ECCurve, error) {
	c, err := ecc.ByOID(oid)
	if err != nil {
		return nil, fmt.Errorf("ec public key: named curve %v is not supported", oid)
	}
	return fromECC(c), nil
}

func fromECC(c *ecc.Curve) *ECCurve {
	name := c.Name
	if c.OID == nil {
		name = ""
	}
	return &ECCurve{Name: name, OID: c.OID, P: c.P, A: c.A, B: c.B, Gx: c.Gx, Gy: c.Gy, N: c.N, H: int(c.H.Int64()), impl: c}
}

// validateCurve checks explicit domain parameters (prime field, non-singular, base point of
// prime order) and replaces them by the named curve they equal, if any.
func validateCurve(c *ECCurve) (*ECCurve, error) {
	// Most explicit parameters are a named curve spelled out: compare first, which is far
	// cheaper than validating (primality tests and n·G).
	for _, n := range ecc.Named() {
		if c.P.Cmp(n.P) == 0 && c.A.Cmp(n.A) == 0 && c.B.Cmp(n.B) == 0 && c.Gx.Cmp(n.Gx) == 0 &&
			c.Gy.Cmp(n.Gy) == 0 && c.N.Cmp(n.N) == 0 && int64(c.H) == n.H.Int64() {
			return fromECC(n), nil
		}
	}
	e, err := ecc.NewCurve(c.P, c.A, c.B, c.Gx, c.Gy, c.N, big.NewInt(int64(c.H)))
	if err != nil {
		return nil, fmt.Errorf("ec parameters: %w", err)
	}
	if m := ecc.Match(e); m != nil {
		return fromECC(m), nil
	}
	return fromECC(e), nil
}

// verifyECDSA checks an ECDSA signature (r, s) over digest with an EC public key on any
// curve, named or explicit.
func verifyECDSA(pub *ECPublicKey, digest []byte, r, s *big.Int) bool {
	c := pub.Curve.impl
	if c == nil {
		var err error
		c, err = ecc.NewCurve(pub.Curve.P, pub.Curve.A, pub.Curve.B, pub.Curve.Gx, pub.Curve.Gy, pub.Curve.N, big.NewInt(int64(pub.Curve.H)))
		if err != nil {
			return false
		}
	}
	return c.Verify(ecc.Point{X: pub.X, Y: pub.Y}, digest, r, s)
}
