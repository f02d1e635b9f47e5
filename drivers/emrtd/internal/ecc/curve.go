// Package ecc is elliptic-curve arithmetic over math/big for short-Weierstrass curves
// y² = x³ + ax + b (mod p): the named curves eMRTDs use (brainpool r1 curves, which Go lacks,
// and the NIST curves), and curves given by explicit domain parameters as they appear in
// DS certificates, DG14 and DG15. It offers point encoding, ECDH, and ECDSA verify and sign.
//
// The arithmetic is not constant time. It serves the inspection-system side (one-time
// ephemeral keys, public-key verification) and the virtual chip in tests; it must not guard
// long-term secrets on hardware an attacker can time.
package ecc

import (
	"crypto/elliptic"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"
)

// Curve holds the domain parameters of a short-Weierstrass curve over a prime field.
// A Curve is immutable after construction; methods never modify its fields.
type Curve struct {
	Name   string   // "brainpoolP256r1", "P-256", or "explicit"
	P      *big.Int // field prime
	A, B   *big.Int // coefficients
	Gx, Gy *big.Int // base point
	N      *big.Int // order of the base point
	H      *big.Int // cofactor
	OID    asn1.ObjectIdentifier

	byteLen int // bytes of a field element
}

// Point is an affine point; the zero Point (nil X and Y) is the point at infinity.
type Point struct {
	X, Y *big.Int
}

// IsInfinity reports whether p is the point at infinity.
func (p Point) IsInfinity() bool { return p.X == nil || p.Y == nil }

// Equal reports whether p and q are the same point.
func (p Point) Equal(q Point) bool {
	if p.IsInfinity() || q.IsInfinity() {
		return p.IsInfinity() && q.IsInfinity()
	}
	return p.X.Cmp(q.X) == 0 && p.Y.Cmp(q.Y) == 0
}

// Errors a caller may match.
var (
	ErrNotOnCurve   = errors.New("ecc: point is not on the curve")
	ErrInfinity     = errors.New("ecc: point at infinity")
	ErrBadEncoding  = errors.New("ecc: bad point encoding")
	ErrBadParameter = errors.New("ecc: bad domain parameters")
)

// ByteLen is the length in bytes of one encoded field element.
func (c *Curve) ByteLen() int { return c.byteLen }

// OrderByteLen is the length in bytes of one scalar modulo N.
func (c *Curve) OrderByteLen() int { return (c.N.BitLen() + 7) / 8 }

// Generator returns the base point G.
func (c *Curve) Generator() Point {
	return Point{X: new(big.Int).Set(c.Gx), Y: new(big.Int).Set(c.Gy)}
}

func (c *Curve) String() string {
	if c.Name != "" {
		return c.Name
	}
	return fmt.Sprintf("explicit curve (%d-bit p)", c.P.BitLen())
}

// maxFieldBits bounds explicit parameters so untrusted input cannot ask for huge arithmetic.
const maxFieldBits = 1024

// NewCurve validates explicit domain parameters and returns the curve. It checks that p is
// an odd prime of at most 1024 bits, a and b are reduced, the curve is not singular, G lies
// on it, n is prime and n·G is the point at infinity. h may be nil (taken as 1).
func NewCurve(p, a, b, gx, gy, n, h *big.Int) (*Curve, error) {
	for _, v := range []struct {
		name string
		x    *big.Int
	}{{"p", p}, {"a", a}, {"b", b}, {"Gx", gx}, {"Gy", gy}, {"n", n}} {
		if v.x == nil || v.x.Sign() < 0 {
			return nil, fmt.Errorf("%w: %s missing or negative", ErrBadParameter, v.name)
		}
	}
	if p.BitLen() > maxFieldBits || p.BitLen() < 16 {
		return nil, fmt.Errorf("%w: field prime has %d bits, want 16..%d", ErrBadParameter, p.BitLen(), maxFieldBits)
	}
	if p.Bit(0) == 0 || !p.ProbablyPrime(20) {
		return nil, fmt.Errorf("%w: p is not an odd prime", ErrBadParameter)
	}
	if a.Cmp(p) >= 0 || b.Cmp(p) >= 0 || gx.Cmp(p) >= 0 || gy.Cmp(p) >= 0 {
		return nil, fmt.Errorf("%w: a, b or G not reduced modulo p", ErrBadParameter)
	}
	if n.BitLen() > p.BitLen()+1 || n.Cmp(big.NewInt(2)) < 0 || !n.ProbablyPrime(20) {
		return nil, fmt.Errorf("%w: order n is not a prime of at most p's size", ErrBadParameter)
	}
	if h == nil {
		h = big.NewInt(1)
	}
	if h.Sign() <= 0 || h.BitLen() > 64 {
		return nil, fmt.Errorf("%w: cofactor out of range", ErrBadParameter)
	}
	// 4a³ + 27b² != 0 (mod p)
	d := new(big.Int).Exp(a, big.NewInt(3), p)
	d.Mul(d, big.NewInt(4))
	t := new(big.Int).Mul(b, b)
	t.Mul(t, big.NewInt(27))
	d.Add(d, t).Mod(d, p)
	if d.Sign() == 0 {
		return nil, fmt.Errorf("%w: singular curve (4a³+27b² = 0)", ErrBadParameter)
	}
	c := &Curve{
		Name: "explicit",
		P:    new(big.Int).Set(p), A: new(big.Int).Set(a), B: new(big.Int).Set(b),
		Gx: new(big.Int).Set(gx), Gy: new(big.Int).Set(gy),
		N: new(big.Int).Set(n), H: new(big.Int).Set(h),
		byteLen: (p.BitLen() + 7) / 8,
	}
	if !c.IsOnCurve(gx, gy) {
		return nil, fmt.Errorf("%w: base point not on the curve", ErrBadParameter)
	}
	if !c.ScalarMult(c.Generator(), n.Bytes()).IsInfinity() {
		return nil, fmt.Errorf("%w: n·G is not the point at infinity", ErrBadParameter)
	}
	return c, nil
}

// Same reports whether c and d have the same domain parameters (names and OIDs aside).
func (c *Curve) Same(d *Curve) bool {
	return c.P.Cmp(d.P) == 0 && c.A.Cmp(d.A) == 0 && c.B.Cmp(d.B) == 0 &&
		c.Gx.Cmp(d.Gx) == 0 && c.Gy.Cmp(d.Gy) == 0 && c.N.Cmp(d.N) == 0
}

// IsOnCurve reports whether (x, y) is a reduced affine point satisfying the curve equation.
func (c *Curve) IsOnCurve(x, y *big.Int) bool {
	if x == nil || y == nil || x.Sign() < 0 || y.Sign() < 0 || x.Cmp(c.P) >= 0 || y.Cmp(c.P) >= 0 {
		return false
	}
	lhs := new(big.Int).Mul(y, y)
	lhs.Mod(lhs, c.P)
	return lhs.Cmp(c.rhs(x)) == 0
}

// rhs returns x³ + ax + b mod p.
func (c *Curve) rhs(x *big.Int) *big.Int {
	r := new(big.Int).Mul(x, x)
	r.Add(r, c.A)
	r.Mul(r, x)
	r.Add(r, c.B)
	return r.Mod(r, c.P)
}

// Named curves. Each call returns a fresh Curve.

// BrainpoolP192r1 is the RFC 5639 curve brainpoolP192r1.
func BrainpoolP192r1() *Curve { return named(bp192Params()) }

// BrainpoolP224r1 is the RFC 5639 curve brainpoolP224r1.
func BrainpoolP224r1() *Curve { return named(bp224Params()) }

// BrainpoolP256r1 is the RFC 5639 curve brainpoolP256r1.
func BrainpoolP256r1() *Curve { return named(bp256Params()) }

// BrainpoolP320r1 is the RFC 5639 curve brainpoolP320r1.
func BrainpoolP320r1() *Curve { return named(bp320Params()) }

// BrainpoolP384r1 is the RFC 5639 curve brainpoolP384r1.
func BrainpoolP384r1() *Curve { return named(bp384Params()) }

// BrainpoolP512r1 is the RFC 5639 curve brainpoolP512r1.
func BrainpoolP512r1() *Curve { return named(bp512Params()) }

// P192 is the NIST curve P-192 (secp192r1).
func P192() *Curve { return named(p192Params()) }

// P224 is the NIST curve P-224 (secp224r1).
func P224() *Curve { return fromStd(elliptic.P224(), asn1.ObjectIdentifier{1, 3, 132, 0, 33}) }

// P256 is the NIST curve P-256 (secp256r1).
func P256() *Curve { return fromStd(elliptic.P256(), asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 7}) }

// P384 is the NIST curve P-384 (secp384r1).
func P384() *Curve { return fromStd(elliptic.P384(), asn1.ObjectIdentifier{1, 3, 132, 0, 34}) }

// P521 is the NIST curve P-521 (secp521r1).
func P521() *Curve { return fromStd(elliptic.P521(), asn1.ObjectIdentifier{1, 3, 132, 0, 35}) }

// Named returns all named curves this package knows.
func Named() []*Curve {
	return []*Curve{P192(), P224(), P256(), P384(), P521(),
		BrainpoolP192r1(), BrainpoolP224r1(), BrainpoolP256r1(), BrainpoolP320r1(), BrainpoolP384r1(), BrainpoolP512r1()}
}

// ByOID returns the named curve with the given object identifier.
func ByOID(oid asn1.ObjectIdentifier) (*Curve, error) {
	for _, c := range Named() {
		if c.OID.Equal(oid) {
			return c, nil
		}
	}
	return nil, fmt.Errorf("ecc: unknown named curve %v", oid)
}

// ByName returns the named curve called name ("brainpoolP256r1", "P-256", ...).
func ByName(name string) (*Curve, error) {
	for _, c := range Named() {
		if c.Name == name {
			return c, nil
		}
	}
	return nil, fmt.Errorf("ecc: unknown named curve %q", name)
}

// Match returns the named curve with the same parameters as c, or nil.
func Match(c *Curve) *Curve {
	for _, n := range Named() {
		if n.Same(c) {
			return n
		}
	}
	return nil
}

func fromStd(sc elliptic.Curve, oid asn1.ObjectIdentifier) *Curve {
	p := sc.Params()
	return &Curve{
		Name: p.Name,
		P:    new(big.Int).Set(p.P),
		A:    new(big.Int).Sub(p.P, big.NewInt(3)),
		B:    new(big.Int).Set(p.B),
		Gx:   new(big.Int).Set(p.Gx), Gy: new(big.Int).Set(p.Gy),
		N: new(big.Int).Set(p.N), H: big.NewInt(1),
		OID:     oid,
		byteLen: (p.BitSize + 7) / 8,
	}
}

type params struct {
	name               string
	oid                asn1.ObjectIdentifier
	p, a, b, gx, gy, n string
}

func named(q params) *Curve {
	h := func(s string) *big.Int {
		v, ok := new(big.Int).SetString(s, 16)
		if !ok {
			panic("ecc: bad built-in constant for " + q.name) // unreachable: constants are tested
		}
		return v
	}
	p := h(q.p)
	return &Curve{
		Name: q.name, P: p, A: h(q.a), B: h(q.b), Gx: h(q.gx), Gy: h(q.gy), N: h(q.n),
		H: big.NewInt(1), OID: q.oid, byteLen: (p.BitLen() + 7) / 8,
	}
}

// Domain parameters from RFC 5639 (brainpool) and SEC 2 (P-192).
func bp192Params() params {
	return params{"brainpoolP192r1", asn1.ObjectIdentifier{1, 3, 36, 3, 3, 2, 8, 1, 1, 3},
		"C302F41D932A36CDA7A3463093D18DB78FCE476DE1A86297",
		"6A91174076B1E0E19C39C031FE8685C1CAE040E5C69A28EF",
		"469A28EF7C28CCA3DC721D044F4496BCCA7EF4146FBF25C9",
		"C0A0647EAAB6A48753B033C56CB0F0900A2F5C4853375FD6",
		"14B690866ABD5BB88B5F4828C1490002E6773FA2FA299B8F",
		"C302F41D932A36CDA7A3462F9E9E916B5BE8F1029AC4ACC1"}
}

func bp224Params() params {
	return params{"brainpoolP224r1", asn1.ObjectIdentifier{1, 3, 36, 3, 3, 2, 8, 1, 1, 5},
		"D7C134AA264366862A18302575D1D787B09F075797DA89F57EC8C0FF",
		"68A5E62CA9CE6C1C299803A6C1530B514E182AD8B0042A59CAD29F43",
		"2580F63CCFE44138870713B1A92369E33E2135D266DBB372386C400B",
		"0D9029AD2C7E5CF4340823B2A87DC68C9E4CE3174C1E6EFDEE12C07D",
		"58AA56F772C0726F24C6B89E4ECDAC24354B9E99CAA3F6D3761402CD",
		"D7C134AA264366862A18302575D0FB98D116BC4B6DDEBCA3A5A7939F"}
}

func bp256Params() params {
	return params{"brainpoolP256r1", asn1.ObjectIdentifier{1, 3, 36, 3, 3, 2, 8, 1, 1, 7},
		"A9FB57DBA1EEA9BC3E660A909D838D726E3BF623D52620282013481D1F6E5377",
		"7D5A0975FC2C3057EEF67530417AFFE7FB8055C126DC5C6CE94A4B44F330B5D9",
		"26DC5C6CE94A4B44F330B5D9BBD77CBF958416295CF7E1CE6BCCDC18FF8C07B6",
		"8BD2AEB9CB7E57CB2C4B482FFC81B7AFB9DE27E1E3BD23C23A4453BD9ACE3262",
		"547EF835C3DAC4FD97F8461A14611DC9C27745132DED8E545C1D54C72F046997",
		"A9FB57DBA1EEA9BC3E660A909D838D718C397AA3B561A6F7901E0E82974856A7"}
}

func bp320Params() params {
	return params{"brainpoolP320r1", asn1.ObjectIdentifier{1, 3, 36, 3, 3, 2, 8, 1, 1, 9},
		"D35E472036BC4FB7E13C785ED201E065F98FCFA6F6F40DEF4F92B9EC7893EC28FCD412B1F1B32E27",
		"3EE30B568FBAB0F883CCEBD46D3F3BB8A2A73513F5EB79DA66190EB085FFA9F492F375A97D860EB4",
		"520883949DFDBC42D3AD198640688A6FE13F41349554B49ACC31DCCD884539816F5EB4AC8FB1F1A6",
		"43BD7E9AFB53D8B85289BCC48EE5BFE6F20137D10A087EB6E7871E2A10A599C710AF8D0D39E20611",
		"14FDD05545EC1CC8AB4093247F77275E0743FFED117182EAA9C77877AAAC6AC7D35245D1692E8EE1",
		"D35E472036BC4FB7E13C785ED201E065F98FCFA5B68F12A32D482EC7EE8658E98691555B44C59311"}
}

func bp384Params() params {
	return params{"brainpoolP384r1", asn1.ObjectIdentifier{1, 3, 36, 3, 3, 2, 8, 1, 1, 11},
		"8CB91E82A3386D280F5D6F7E50E641DF152F7109ED5456B412B1DA197FB71123ACD3A729901D1A71874700133107EC53",
		"7BC382C63D8C150C3C72080ACE05AFA0C2BEA28E4FB22787139165EFBA91F90F8AA5814A503AD4EB04A8C7DD22CE2826",
		"04A8C7DD22CE28268B39B55416F0447C2FB77DE107DCD2A62E880EA53EEB62D57CB4390295DBC9943AB78696FA504C11",
		"1D1C64F068CF45FFA2A63A81B7C13F6B8847A3E77EF14FE3DB7FCAFE0CBD10E8E826E03436D646AAEF87B2E247D4AF1E",
		"8ABE1D7520F9C2A45CB1EB8E95CFD55262B70B29FEEC5864E19C054FF99129280E4646217791811142820341263C5315",
		"8CB91E82A3386D280F5D6F7E50E641DF152F7109ED5456B31F166E6CAC0425A7CF3AB6AF6B7FC3103B883202E9046565"}
}

func bp512Params() params {
	return params{"brainpoolP512r1", asn1.ObjectIdentifier{1, 3, 36, 3, 3, 2, 8, 1, 1, 13},
		"AADD9DB8DBE9C48B3FD4E6AE33C9FC07CB308DB3B3C9D20ED6639CCA703308717D4D9B009BC66842AECDA12AE6A380E62881FF2F2D82C68528AA6056583A48F3",
		"7830A3318B603B89E2327145AC234CC594CBDD8D3DF91610A83441CAEA9863BC2DED5D5AA8253AA10A2EF1C98B9AC8B57F1117A72BF2C7B9E7C1AC4D77FC94CA",
		"3DF91610A83441CAEA9863BC2DED5D5AA8253AA10A2EF1C98B9AC8B57F1117A72BF2C7B9E7C1AC4D77FC94CADC083E67984050B75EBAE5DD2809BD638016F723",
		"81AEE4BDD82ED9645A21322E9C4C6A9385ED9F70B5D916C1B43B62EEF4D0098EFF3B1F78E2D0D48D50D1687B93B97D5F7C6D5047406A5E688B352209BCB9F822",
		"7DDE385D566332ECC0EABFA9CF7822FDF209F70024A57B1AA000C55B881F8111B2DCDE494A5F485E5BCA4BD88A2763AED1CA2B2FA8F0540678CD1E0F3AD80892",
		"AADD9DB8DBE9C48B3FD4E6AE33C9FC07CB308DB3B3C9D20ED6639CCA70330870553E5C414CA92619418661197FAC10471DB1D381085DDADDB58796829CA90069"}
}

func p192Params() params {
	return params{"P-192", asn1.ObjectIdentifier{1, 2, 840, 10045, 3, 1, 1},
		"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFFFFFFFFFF",
		"FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFFFFFFFFFFFC",
		"64210519E59C80E70FA7E9AB72243049FEB8DEECC146B9B1",
		"188DA80EB03090F67CBF20EB43A18800F4FF0AFD82FF1012",
		"07192B95FFC8DA78631011ED6B24CDD573F977A11E794811",
		"FFFFFFFFFFFFFFFFFFFFFFFF99DEF836146BC9B1B4D22831"}
}

// WithGenerator returns a copy of c whose base point is g (PACE generic mapping's Ĝ). The
// order stays N: g must be a point of order N, which holds for any non-infinite point on a
// prime-order curve (cofactor 1).
func (c *Curve) WithGenerator(g Point) (*Curve, error) {
	if g.IsInfinity() || !c.IsOnCurve(g.X, g.Y) {
		return nil, ErrNotOnCurve
	}
	if c.H.Cmp(big.NewInt(1)) != 0 {
		return nil, fmt.Errorf("%w: generator change needs cofactor 1, curve has %v", ErrBadParameter, c.H)
	}
	d := *c
	d.Name = c.Name + " (mapped)"
	d.Gx, d.Gy = new(big.Int).Set(g.X), new(big.Int).Set(g.Y)
	return &d, nil
}

// ByStandardizedID returns the curve of a standardized domain parameter ID of BSI TR-03110
// and ICAO 9303-11 §9.5.1 (8..18; the IDs 0..7 are Diffie-Hellman groups), or nil.
func ByStandardizedID(id int) *Curve {
	switch id {
	case 8:
		return P192()
	case 9:
		return BrainpoolP192r1()
	case 10:
		return P224()
	case 11:
		return BrainpoolP224r1()
	case 12:
		return P256()
	case 13:
		return BrainpoolP256r1()
	case 14:
		return BrainpoolP320r1()
	case 15:
		return P384()
	case 16:
		return BrainpoolP384r1()
	case 17:
		return BrainpoolP512r1()
	case 18:
		return P521()
	}
	return nil
}
