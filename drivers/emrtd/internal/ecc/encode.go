package ecc

import (
	"fmt"
	"math/big"
)

// Marshal encodes p uncompressed (0x04 || X || Y, each ByteLen bytes), the encoding of
// SEC 1 and BSI TR-03111. The point at infinity encodes as the single byte 0x00.
func (c *Curve) Marshal(p Point) []byte {
	if p.IsInfinity() {
		return []byte{0}
	}
	out := make([]byte, 1+2*c.byteLen)
	out[0] = 4
	p.X.FillBytes(out[1 : 1+c.byteLen])
	p.Y.FillBytes(out[1+c.byteLen:])
	return out
}

// MarshalCompressed encodes p as 0x02/0x03 || X.
func (c *Curve) MarshalCompressed(p Point) []byte {
	if p.IsInfinity() {
		return []byte{0}
	}
	out := make([]byte, 1+c.byteLen)
	out[0] = 2 | byte(p.Y.Bit(0))
	p.X.FillBytes(out[1:])
	return out
}

// Unmarshal decodes an uncompressed or compressed point and checks that it lies on the curve.
// The point at infinity is refused: no protocol here sends it legitimately.
func (c *Curve) Unmarshal(data []byte) (Point, error) {
	if len(data) == 0 {
		return Point{}, fmt.Errorf("%w: empty", ErrBadEncoding)
	}
	switch data[0] {
	case 0:
		return Point{}, ErrInfinity
	case 4:
		if len(data) != 1+2*c.byteLen {
			return Point{}, fmt.Errorf("%w: uncompressed point of %d bytes, want %d for %s", ErrBadEncoding, len(data), 1+2*c.byteLen, c)
		}
		x := new(big.Int).SetBytes(data[1 : 1+c.byteLen])
		y := new(big.Int).SetBytes(data[1+c.byteLen:])
		if !c.IsOnCurve(x, y) {
			return Point{}, ErrNotOnCurve
		}
		return Point{X: x, Y: y}, nil
	case 2, 3:
		if len(data) != 1+c.byteLen {
			return Point{}, fmt.Errorf("%w: compressed point of %d bytes, want %d for %s", ErrBadEncoding, len(data), 1+c.byteLen, c)
		}
		x := new(big.Int).SetBytes(data[1:])
		if x.Cmp(c.P) >= 0 {
			return Point{}, ErrNotOnCurve
		}
		y := new(big.Int).ModSqrt(c.rhs(x), c.P)
		if y == nil {
			return Point{}, ErrNotOnCurve
		}
		if y.Bit(0) != uint(data[0]&1) {
			y.Sub(c.P, y)
			y.Mod(y, c.P)
		}
		if !c.IsOnCurve(x, y) {
			return Point{}, ErrNotOnCurve
		}
		return Point{X: x, Y: y}, nil
	default:
		return Point{}, fmt.Errorf("%w: unknown point format 0x%02x", ErrBadEncoding, data[0])
	}
}

// MarshalScalar encodes k as a big-endian scalar of OrderByteLen bytes.
func (c *Curve) MarshalScalar(k *big.Int) []byte {
	out := make([]byte, c.OrderByteLen())
	new(big.Int).Mod(k, c.N).FillBytes(out)
	return out
}

// MarshalField encodes a field element as ByteLen bytes (e.g. an ECDH shared secret's x).
func (c *Curve) MarshalField(x *big.Int) []byte {
	out := make([]byte, c.byteLen)
	new(big.Int).Mod(x, c.P).FillBytes(out)
	return out
}
