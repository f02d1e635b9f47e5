package ecc

import (
	"crypto/sha512"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
)

// GenerateKey returns a private scalar d in [1, N−1] and its public point d·G.
func (c *Curve) GenerateKey(rand io.Reader) (*big.Int, Point, error) {
	d, err := c.randScalar(rand)
	if err != nil {
		return nil, Point{}, err
	}
	return d, c.Mul(c.Generator(), d), nil
}

// randScalar draws uniformly from [1, N−1] by rejection sampling.
func (c *Curve) randScalar(rand io.Reader) (*big.Int, error) {
	buf := make([]byte, c.OrderByteLen())
	excess := uint(len(buf)*8 - c.N.BitLen())
	for range 100 {
		if _, err := io.ReadFull(rand, buf); err != nil {
			return nil, fmt.Errorf("ecc: reading randomness: %w", err)
		}
		buf[0] &= 0xff >> excess
		k := new(big.Int).SetBytes(buf)
		if k.Sign() > 0 && k.Cmp(c.N) < 0 {
			return k, nil
		}
	}
	return nil, errors.New("ecc: random source keeps yielding out-of-range scalars")
}

// ECDH returns d·Q after checking that Q is a valid point; the shared secret of
// ICAO 9303 and TR-03111 is its x coordinate (MarshalField(point.X)).
func (c *Curve) ECDH(d *big.Int, q Point) (Point, error) {
	if q.IsInfinity() {
		return Point{}, ErrInfinity
	}
	if !c.IsOnCurve(q.X, q.Y) {
		return Point{}, ErrNotOnCurve
	}
	if d.Sign() <= 0 || d.Cmp(c.N) >= 0 {
		return Point{}, errors.New("ecc: private scalar out of range")
	}
	z := c.Mul(q, d)
	if z.IsInfinity() {
		return Point{}, fmt.Errorf("ecc: shared point is infinity: %w", ErrInfinity)
	}
	return z, nil
}

// hashToInt converts a digest to an integer per SEC 1 §4.1.3: the leftmost bitlen(N) bits.
func (c *Curve) hashToInt(hash []byte) *big.Int {
	orderBits := c.N.BitLen()
	orderBytes := (orderBits + 7) / 8
	if len(hash) > orderBytes {
		hash = hash[:orderBytes]
	}
	e := new(big.Int).SetBytes(hash)
	if excess := len(hash)*8 - orderBits; excess > 0 {
		e.Rsh(e, uint(excess))
	}
	return e
}

// Verify checks an ECDSA signature (r, s) over a digest with public key q.
func (c *Curve) Verify(q Point, hash []byte, r, s *big.Int) bool {
	if q.IsInfinity() || !c.IsOnCurve(q.X, q.Y) || r == nil || s == nil {
		return false
	}
	if r.Sign() <= 0 || s.Sign() <= 0 || r.Cmp(c.N) >= 0 || s.Cmp(c.N) >= 0 {
		return false
	}
	e := c.hashToInt(hash)
	w := new(big.Int).ModInverse(s, c.N)
	if w == nil {
		return false
	}
	u1 := new(big.Int).Mul(e, w)
	u1.Mod(u1, c.N)
	u2 := new(big.Int).Mul(r, w)
	u2.Mod(u2, c.N)
	x := c.combinedMult(q, u1, u2)
	if x.IsInfinity() {
		return false
	}
	v := new(big.Int).Mod(x.X, c.N)
	return v.Cmp(r) == 0
}

// Sign makes an ECDSA signature over a digest with private scalar d. The nonce is drawn
// from rand and hedged with a hash of d and the digest, so a weak rand does not leak d.
func (c *Curve) Sign(rand io.Reader, d *big.Int, hash []byte) (r, s *big.Int, err error) {
	if d == nil || d.Sign() <= 0 || d.Cmp(c.N) >= 0 {
		return nil, nil, errors.New("ecc: private scalar out of range")
	}
	e := c.hashToInt(hash)
	for range 100 {
		entropy := make([]byte, 32)
		if _, err := io.ReadFull(rand, entropy); err != nil {
			return nil, nil, fmt.Errorf("ecc: reading randomness: %w", err)
		}
		k, err := c.randScalar(hedge(entropy, c.MarshalScalar(d), hash))
		if err != nil {
			return nil, nil, err
		}
		pt := c.Mul(c.Generator(), k)
		r = new(big.Int).Mod(pt.X, c.N)
		if r.Sign() == 0 {
			continue
		}
		s = new(big.Int).Mul(r, d)
		s.Add(s, e)
		s.Mul(s, new(big.Int).ModInverse(k, c.N))
		s.Mod(s, c.N)
		if s.Sign() != 0 {
			return r, s, nil
		}
	}
	return nil, nil, errors.New("ecc: could not produce a signature")
}

// hedge is a deterministic stream: SHA-512(counter || entropy || d || hash) blocks.
type hedgeReader struct {
	seed []byte
	ctr  uint32
	buf  []byte
}

func hedge(parts ...[]byte) io.Reader {
	var seed []byte
	for _, p := range parts {
		seed = append(seed, byte(len(p)>>8), byte(len(p)))
		seed = append(seed, p...)
	}
	return &hedgeReader{seed: seed}
}

func (h *hedgeReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(h.buf) == 0 {
			b := sha512.Sum512(append([]byte{byte(h.ctr >> 24), byte(h.ctr >> 16), byte(h.ctr >> 8), byte(h.ctr)}, h.seed...))
			h.ctr++
			h.buf = b[:]
		}
		m := copy(p[n:], h.buf)
		h.buf = h.buf[m:]
		n += m
	}
	return n, nil
}

// SignASN1 signs and encodes the signature as a DER SEQUENCE { r, s }.
func (c *Curve) SignASN1(rand io.Reader, d *big.Int, hash []byte) ([]byte, error) {
	r, s, err := c.Sign(rand, d, hash)
	if err != nil {
		return nil, err
	}
	return asn1.Marshal(struct{ R, S *big.Int }{r, s})
}

// VerifyASN1 checks a DER-encoded ECDSA signature.
func (c *Curve) VerifyASN1(q Point, hash, sig []byte) bool {
	var v struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(sig, &v)
	if err != nil || len(rest) != 0 {
		return false
	}
	return c.Verify(q, hash, v.R, v.S)
}

// SignPlain signs and encodes r || s, each OrderByteLen bytes (BSI TR-03111 plain format,
// used by Active Authentication).
func (c *Curve) SignPlain(rand io.Reader, d *big.Int, hash []byte) ([]byte, error) {
	r, s, err := c.Sign(rand, d, hash)
	if err != nil {
		return nil, err
	}
	return append(c.MarshalScalar(r), c.MarshalScalar(s)...), nil
}

// VerifyPlain checks a plain r || s signature.
func (c *Curve) VerifyPlain(q Point, hash, sig []byte) bool {
	if len(sig) == 0 || len(sig)%2 != 0 || len(sig) > 2*c.OrderByteLen() {
		return false
	}
	h := len(sig) / 2
	return c.Verify(q, hash, new(big.Int).SetBytes(sig[:h]), new(big.Int).SetBytes(sig[h:]))
}
