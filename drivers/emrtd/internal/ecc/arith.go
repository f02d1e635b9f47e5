package ecc

import "math/big"

// jacobian is a point (X/Z², Y/Z³); Z = 0 is the point at infinity.
type jacobian struct {
	x, y, z *big.Int
}

func (c *Curve) toJacobian(p Point) jacobian {
	if p.IsInfinity() {
		return jacobian{new(big.Int), new(big.Int), new(big.Int)}
	}
	return jacobian{new(big.Int).Set(p.X), new(big.Int).Set(p.Y), big.NewInt(1)}
}

func (c *Curve) toAffine(j jacobian) Point {
	if j.z.Sign() == 0 {
		return Point{}
	}
	zinv := new(big.Int).ModInverse(j.z, c.P)
	zinv2 := new(big.Int).Mul(zinv, zinv)
	zinv2.Mod(zinv2, c.P)
	x := new(big.Int).Mul(j.x, zinv2)
	x.Mod(x, c.P)
	zinv2.Mul(zinv2, zinv)
	y := new(big.Int).Mul(j.y, zinv2)
	y.Mod(y, c.P)
	return Point{X: x, Y: y}
}

// double returns 2·j with general a:
// S = 4XY², M = 3X² + aZ⁴, X' = M² − 2S, Y' = M(S − X') − 8Y⁴, Z' = 2YZ.
func (c *Curve) double(j jacobian) jacobian {
	if j.z.Sign() == 0 || j.y.Sign() == 0 {
		return jacobian{new(big.Int), new(big.Int), new(big.Int)}
	}
	p := c.P
	yy := new(big.Int).Mul(j.y, j.y)
	yy.Mod(yy, p)
	s := new(big.Int).Mul(j.x, yy)
	s.Lsh(s, 2).Mod(s, p)
	zz := new(big.Int).Mul(j.z, j.z)
	zz.Mod(zz, p)
	m := new(big.Int).Mul(zz, zz)
	m.Mod(m, p).Mul(m, c.A)
	xx := new(big.Int).Mul(j.x, j.x)
	m.Add(m, xx.Mul(xx, big.NewInt(3))).Mod(m, p)
	x3 := new(big.Int).Mul(m, m)
	x3.Sub(x3, new(big.Int).Lsh(s, 1)).Mod(x3, p)
	y3 := new(big.Int).Sub(s, x3)
	y3.Mul(y3, m)
	yyyy := yy.Mul(yy, yy)
	y3.Sub(y3, yyyy.Lsh(yyyy, 3)).Mod(y3, p)
	z3 := new(big.Int).Mul(j.y, j.z)
	z3.Lsh(z3, 1).Mod(z3, p)
	return jacobian{x3, y3, z3}
}

// add returns a + b.
func (c *Curve) add(a, b jacobian) jacobian {
	if a.z.Sign() == 0 {
		return jacobian{new(big.Int).Set(b.x), new(big.Int).Set(b.y), new(big.Int).Set(b.z)}
	}
	if b.z.Sign() == 0 {
		return jacobian{new(big.Int).Set(a.x), new(big.Int).Set(a.y), new(big.Int).Set(a.z)}
	}
	p := c.P
	z1z1 := new(big.Int).Mul(a.z, a.z)
	z1z1.Mod(z1z1, p)
	z2z2 := new(big.Int).Mul(b.z, b.z)
	z2z2.Mod(z2z2, p)
	u1 := new(big.Int).Mul(a.x, z2z2)
	u1.Mod(u1, p)
	u2 := new(big.Int).Mul(b.x, z1z1)
	u2.Mod(u2, p)
	s1 := new(big.Int).Mul(a.y, b.z)
	s1.Mul(s1, z2z2).Mod(s1, p)
	s2 := new(big.Int).Mul(b.y, a.z)
	s2.Mul(s2, z1z1).Mod(s2, p)
	h := new(big.Int).Sub(u2, u1)
	h.Mod(h, p)
	r := new(big.Int).Sub(s2, s1)
	r.Mod(r, p)
	if h.Sign() == 0 {
		if r.Sign() == 0 {
			return c.double(a)
		}
		return jacobian{new(big.Int), new(big.Int), new(big.Int)}
	}
	hh := new(big.Int).Mul(h, h)
	hh.Mod(hh, p)
	hhh := new(big.Int).Mul(h, hh)
	hhh.Mod(hhh, p)
	v := new(big.Int).Mul(u1, hh)
	v.Mod(v, p)
	x3 := new(big.Int).Mul(r, r)
	x3.Sub(x3, hhh).Sub(x3, new(big.Int).Lsh(v, 1)).Mod(x3, p)
	y3 := new(big.Int).Sub(v, x3)
	y3.Mul(y3, r)
	y3.Sub(y3, s1.Mul(s1, hhh)).Mod(y3, p)
	z3 := new(big.Int).Mul(a.z, b.z)
	z3.Mul(z3, h).Mod(z3, p)
	return jacobian{x3, y3, z3}
}

// Add returns p + q. Inputs are assumed to be on the curve (check with IsOnCurve or Unmarshal).
func (c *Curve) Add(p, q Point) Point {
	return c.toAffine(c.add(c.toJacobian(p), c.toJacobian(q)))
}

// Double returns 2·p.
func (c *Curve) Double(p Point) Point {
	return c.toAffine(c.double(c.toJacobian(p)))
}

// Neg returns −p.
func (c *Curve) Neg(p Point) Point {
	if p.IsInfinity() {
		return Point{}
	}
	y := new(big.Int).Sub(c.P, p.Y)
	y.Mod(y, c.P)
	return Point{X: new(big.Int).Set(p.X), Y: y}
}

// ScalarMult returns k·p for a big-endian scalar k (not reduced: any length works).
func (c *Curve) ScalarMult(p Point, k []byte) Point {
	return c.toAffine(c.scalarMult(c.toJacobian(p), new(big.Int).SetBytes(k)))
}

// ScalarBaseMult returns k·G.
func (c *Curve) ScalarBaseMult(k []byte) Point {
	return c.ScalarMult(c.Generator(), k)
}

// Mul returns k·p for a non-negative big.Int scalar.
func (c *Curve) Mul(p Point, k *big.Int) Point {
	return c.toAffine(c.scalarMult(c.toJacobian(p), k))
}

// scalarMult is a left-to-right fixed 4-bit window double-and-add.
func (c *Curve) scalarMult(p jacobian, k *big.Int) jacobian {
	var tab [16]jacobian
	tab[0] = jacobian{new(big.Int), new(big.Int), new(big.Int)}
	tab[1] = p
	for i := 2; i < 16; i++ {
		if i%2 == 0 {
			tab[i] = c.double(tab[i/2])
		} else {
			tab[i] = c.add(tab[i-1], p)
		}
	}
	acc := jacobian{new(big.Int), new(big.Int), new(big.Int)}
	bits := k.BitLen()
	top := (bits + 3) / 4 * 4
	for i := top - 4; i >= 0; i -= 4 {
		for range 4 {
			acc = c.double(acc)
		}
		w := k.Bit(i+3)<<3 | k.Bit(i+2)<<2 | k.Bit(i+1)<<1 | k.Bit(i)
		if w != 0 {
			acc = c.add(acc, tab[w])
		}
	}
	return acc
}

// combinedMult returns a·G + b·q (used by ECDSA verification).
func (c *Curve) combinedMult(q Point, a, b *big.Int) Point {
	g := c.scalarMult(c.toJacobian(c.Generator()), a)
	h := c.scalarMult(c.toJacobian(q), b)
	return c.toAffine(c.add(g, h))
}
