package ecc

import (
	"bytes"
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func TestNamedCurvesValid(t *testing.T) {
	for _, c := range Named() {
		t.Run(c.Name, func(t *testing.T) {
			got, err := NewCurve(c.P, c.A, c.B, c.Gx, c.Gy, c.N, c.H)
			if err != nil {
				t.Fatalf("NewCurve(%s params): %v", c.Name, err)
			}
			if !got.Same(c) {
				t.Errorf("NewCurve did not keep the parameters of %s", c.Name)
			}
			if m := Match(got); m == nil || m.Name != c.Name {
				t.Errorf("Match(explicit %s) = %v, want %s", c.Name, m, c.Name)
			}
			byOID, err := ByOID(c.OID)
			if err != nil || byOID.Name != c.Name {
				t.Errorf("ByOID(%v) = %v, %v; want %s", c.OID, byOID, err, c.Name)
			}
		})
	}
}

// RFC 7027 appendix A: ECDH on the brainpool curves, both private keys and the shared x.
func TestRFC7027ECDH(t *testing.T) {
	tests := []struct {
		curve      *Curve
		dA, dB, zX string
		qAx, qAy   string // optional
	}{
		{BrainpoolP256r1(),
			"81DB1EE100150FF2EA338D708271BE38300CB54241D79950F77B063039804F1D",
			"55E40BC41E37E3E2AD25C3C6654511FFA8474A91A0032087593852D3E7D76BD3",
			"89AFC39D41D3B327814B80940B042590F96556EC91E6AE7939BCE31F3A18BF2B",
			"44106E913F92BC02A1705D9953A8414DB95E1AAA49E81D9E85F929A8E3100BE5",
			"8AB4846F11CACCB73CE49CBDD120F5A900A69FD32C272223F789EF10EB089BDC"},
		{BrainpoolP384r1(),
			"1E20F5E048A5886F1F157C74E91BDE2B98C8B52D58E5003D57053FC4B0BD65D6F15EB5D1EE1610DF870795143627D042",
			"032640BC6003C59260F7250C3DB58CE647F98E1260ACCE4ACDA3DD869F74E01F8BA5E0324309DB6A9831497ABAC96670",
			"0BD9D3A7EA0B3D519D09D8E48D0785FB744A6B355E6304BC51C229FBBCE239BBADF6403715C35D4FB2A5444F575D4F42",
			"68B665DD91C195800650CDD363C625F4E742E8134667B767B1B476793588F885AB698C852D4A6E77A252D6380FCAF068", ""},
		{BrainpoolP512r1(),
			"16302FF0DBBB5A8D733DAB7141C1B45ACBC8715939677F6A56850A38BD87BD59B09E80279609FF333EB9D4C061231FB26F92EEB04982A5F1D1764CAD57665422",
			"230E18E1BCC88A362FA54E4EA3902009292F7F8033624FD471B5D8ACE49D12CFABBC19963DAB8E2F1EBA00BFFB29E4D72D13F2224562F405CB80503666B25429",
			"A7927098655F1F9976FA50A9D566865DC530331846381C87256BAF3226244B76D36403C024D7BBF0AA0803EAFF405D3D24F11A9B5C0BEF679FE1454B21C4CD1F",
			"", ""},
	}
	for _, tt := range tests {
		t.Run(tt.curve.Name, func(t *testing.T) {
			c := tt.curve
			dA := new(big.Int).SetBytes(mustHex(t, tt.dA))
			dB := new(big.Int).SetBytes(mustHex(t, tt.dB))
			qA := c.Mul(c.Generator(), dA)
			qB := c.ScalarBaseMult(dB.Bytes())
			if tt.qAx != "" {
				if got, want := c.MarshalField(qA.X), mustHex(t, tt.qAx); !bytes.Equal(got, want) {
					t.Errorf("qA.x = %X, want %X", got, want)
				}
			}
			if tt.qAy != "" {
				if got, want := c.MarshalField(qA.Y), mustHex(t, tt.qAy); !bytes.Equal(got, want) {
					t.Errorf("qA.y = %X, want %X", got, want)
				}
			}
			zA, err := c.ECDH(dA, qB)
			if err != nil {
				t.Fatal(err)
			}
			zB, err := c.ECDH(dB, qA)
			if err != nil {
				t.Fatal(err)
			}
			if !zA.Equal(zB) {
				t.Fatalf("dA·qB != dB·qA")
			}
			if got, want := c.MarshalField(zA.X), mustHex(t, tt.zX); !bytes.Equal(got, want) {
				t.Errorf("shared x = %X, want %X", got, want)
			}
		})
	}
}

// Cross-check scalar multiplication with Go's crypto/ecdh on the NIST curves.
func TestECDHMatchesStdlib(t *testing.T) {
	tests := []struct {
		c   *Curve
		std ecdh.Curve
	}{{P256(), ecdh.P256()}, {P384(), ecdh.P384()}, {P521(), ecdh.P521()}}
	for _, tt := range tests {
		t.Run(tt.c.Name, func(t *testing.T) {
			for range 3 {
				a, _ := tt.std.GenerateKey(rand.Reader)
				b, _ := tt.std.GenerateKey(rand.Reader)
				want, err := a.ECDH(b.PublicKey())
				if err != nil {
					t.Fatal(err)
				}
				qb, err := tt.c.Unmarshal(b.PublicKey().Bytes())
				if err != nil {
					t.Fatalf("Unmarshal(stdlib public key): %v", err)
				}
				z, err := tt.c.ECDH(new(big.Int).SetBytes(a.Bytes()), qb)
				if err != nil {
					t.Fatal(err)
				}
				if got := tt.c.MarshalField(z.X); !bytes.Equal(got, want) {
					t.Errorf("shared secret = %X, want %X", got, want)
				}
				if got, want := tt.c.Marshal(tt.c.ScalarBaseMult(a.Bytes())), a.PublicKey().Bytes(); !bytes.Equal(got, want) {
					t.Errorf("public key = %X, want %X", got, want)
				}
			}
		})
	}
}

func TestECDSAMatchesStdlib(t *testing.T) {
	for _, sc := range []elliptic.Curve{elliptic.P256(), elliptic.P384(), elliptic.P521()} {
		c := fromStd(sc, nil)
		t.Run(c.Name, func(t *testing.T) {
			key, _ := ecdsa.GenerateKey(sc, rand.Reader)
			pub, err := key.PublicKey.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			q, err := c.Unmarshal(pub)
			if err != nil {
				t.Fatal(err)
			}
			priv, err := key.Bytes()
			if err != nil {
				t.Fatal(err)
			}
			digest := sha256.Sum256([]byte("edgeid"))
			sig, _ := ecdsa.SignASN1(rand.Reader, key, digest[:])
			if !c.VerifyASN1(q, digest[:], sig) {
				t.Errorf("VerifyASN1 rejects a stdlib signature")
			}
			other := sha256.Sum256([]byte("edgeie"))
			if c.VerifyASN1(q, other[:], sig) {
				t.Errorf("VerifyASN1 accepts a signature over another digest")
			}
			mine, err := c.SignASN1(rand.Reader, new(big.Int).SetBytes(priv), digest[:])
			if err != nil {
				t.Fatal(err)
			}
			if !ecdsa.VerifyASN1(&key.PublicKey, digest[:], mine) {
				t.Errorf("stdlib rejects our signature")
			}
		})
	}
}

// Wycheproof ecdsa_brainpoolP256r1_sha256_test.json, test group 1, tcId 1, 2 (valid) and a
// tampered copy of tcId 2.
func TestECDSABrainpoolWycheproof(t *testing.T) {
	c := BrainpoolP256r1()
	q, err := c.Unmarshal(mustHex(t, "04019a2d9637743a63ddaefdbca0ee229a163b809b9b145e5313bbeb8defeab9d6548caf89bf5ba49499404145651234336401b9b2843a579ed152e090f11b9e59"))
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256(mustHex(t, "313233343030"))
	tests := []struct {
		name string
		sig  string
		want bool
	}{
		{"tc1", "304402200a5f8c70ba2d0842d5d0f841f160ad15195769a8159bfe692634d73d469d111f0220426e857aad3ff7aa96e4d200c03b45f1846a36d089ee3917768ca1a0d6d4da6e", true},
		{"tc2", "304402200a5f8c70ba2d0842d5d0f841f160ad15195769a8159bfe692634d73d469d111f0220678cd260f4aeb211a781388fdd48478007cf43d32b736de019916ce1c0737c39", true},
		{"tc2 s changed", "304402200a5f8c70ba2d0842d5d0f841f160ad15195769a8159bfe692634d73d469d111f0220678cd260f4aeb211a781388fdd48478007cf43d32b736de019916ce1c0737c3a", false},
		{"tc5 wrong length", "304502200a5f8c70ba2d0842d5d0f841f160ad15195769a8159bfe692634d73d469d111f0220678cd260f4aeb211a781388fdd48478007cf43d32b736de019916ce1c0737c39", false},
		{"empty", "", false},
	}
	for _, tt := range tests {
		if got := c.VerifyASN1(q, digest[:], mustHex(t, tt.sig)); got != tt.want {
			t.Errorf("%s: VerifyASN1 = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSignVerifyAllCurves(t *testing.T) {
	for _, c := range Named() {
		t.Run(c.Name, func(t *testing.T) {
			d, q, err := c.GenerateKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			digest := sha256.Sum256([]byte(c.Name))
			sig, err := c.SignPlain(rand.Reader, d, digest[:])
			if err != nil {
				t.Fatal(err)
			}
			if len(sig) != 2*c.OrderByteLen() {
				t.Errorf("plain signature length %d, want %d", len(sig), 2*c.OrderByteLen())
			}
			if !c.VerifyPlain(q, digest[:], sig) {
				t.Errorf("VerifyPlain rejects own signature")
			}
			sig[len(sig)-1] ^= 1
			if c.VerifyPlain(q, digest[:], sig) {
				t.Errorf("VerifyPlain accepts a tampered signature")
			}
			if c.Verify(q, digest[:], big.NewInt(0), big.NewInt(1)) || c.Verify(q, digest[:], c.N, big.NewInt(1)) {
				t.Errorf("Verify accepts r out of range")
			}
		})
	}
}

func TestPointArithmetic(t *testing.T) {
	for _, c := range []*Curve{BrainpoolP256r1(), P384()} {
		t.Run(c.Name, func(t *testing.T) {
			g := c.Generator()
			g2 := c.Double(g)
			if !g2.Equal(c.Add(g, g)) {
				t.Errorf("G+G != 2G")
			}
			g3 := c.Add(g2, g)
			if !g3.Equal(c.ScalarBaseMult([]byte{3})) {
				t.Errorf("2G+G != 3·G")
			}
			if !c.Add(g, c.Neg(g)).IsInfinity() {
				t.Errorf("G + (−G) is not infinity")
			}
			if !c.Add(Point{}, g).Equal(g) || !c.Add(g, Point{}).Equal(g) {
				t.Errorf("O + G != G")
			}
			nm1 := new(big.Int).Sub(c.N, big.NewInt(1))
			if !c.Mul(g, nm1).Equal(c.Neg(g)) {
				t.Errorf("(n−1)·G != −G")
			}
			if !c.ScalarBaseMult(nil).IsInfinity() {
				t.Errorf("0·G is not infinity")
			}
			for _, p := range []Point{g, g2, g3} {
				if !c.IsOnCurve(p.X, p.Y) {
					t.Errorf("result not on curve")
				}
			}
		})
	}
}

func TestEncoding(t *testing.T) {
	for _, c := range Named() {
		t.Run(c.Name, func(t *testing.T) {
			_, q, err := c.GenerateKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			for _, enc := range [][]byte{c.Marshal(q), c.MarshalCompressed(q), c.MarshalCompressed(c.Neg(q))} {
				got, err := c.Unmarshal(enc)
				if err != nil {
					t.Fatalf("Unmarshal(%X): %v", enc, err)
				}
				if enc[0] == 4 && !got.Equal(q) {
					t.Errorf("uncompressed round trip changed the point")
				}
				if !bytes.Equal(c.MarshalCompressed(got), enc) && enc[0] != 4 {
					t.Errorf("compressed round trip changed the point")
				}
			}
		})
	}
}

func TestUnmarshalErrors(t *testing.T) {
	c := BrainpoolP256r1()
	good := c.Marshal(c.Generator())
	offCurve := bytes.Clone(good)
	offCurve[len(offCurve)-1] ^= 1
	bigX := bytes.Clone(good)
	for i := 1; i <= 32; i++ {
		bigX[i] = 0xff
	}
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrBadEncoding},
		{"infinity", []byte{0}, ErrInfinity},
		{"short", good[:40], ErrBadEncoding},
		{"long", append(bytes.Clone(good), 0), ErrBadEncoding},
		{"off curve", offCurve, ErrNotOnCurve},
		{"x >= p", bigX, ErrNotOnCurve},
		{"unknown format", append([]byte{7}, good[1:]...), ErrBadEncoding},
		{"compressed short", []byte{2, 1, 2}, ErrBadEncoding},
	}
	for _, tt := range tests {
		_, err := c.Unmarshal(tt.in)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: Unmarshal error = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestNewCurveRejects(t *testing.T) {
	c := BrainpoolP256r1()
	one := big.NewInt(1)
	tests := []struct {
		name               string
		p, a, b, gx, gy, n *big.Int
	}{
		{"p even", new(big.Int).Add(c.P, one), c.A, c.B, c.Gx, c.Gy, c.N},
		{"G off curve", c.P, c.A, c.B, c.Gx, new(big.Int).Add(c.Gy, one), c.N},
		{"wrong order", c.P, c.A, c.B, c.Gx, c.Gy, new(big.Int).Sub(c.N, big.NewInt(2))},
		{"singular", c.P, big.NewInt(0), big.NewInt(0), c.Gx, c.Gy, c.N},
		{"missing", c.P, nil, c.B, c.Gx, c.Gy, c.N},
		{"huge p", new(big.Int).Lsh(one, 2000), c.A, c.B, c.Gx, c.Gy, c.N},
	}
	for _, tt := range tests {
		if _, err := NewCurve(tt.p, tt.a, tt.b, tt.gx, tt.gy, tt.n, nil); !errors.Is(err, ErrBadParameter) {
			t.Errorf("%s: NewCurve error = %v, want ErrBadParameter", tt.name, err)
		}
	}
}

func FuzzUnmarshal(f *testing.F) {
	c := BrainpoolP256r1()
	f.Add(c.Marshal(c.Generator()))
	f.Add(c.MarshalCompressed(c.Generator()))
	f.Add([]byte{0})
	f.Add([]byte{3, 0xff})
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := c.Unmarshal(data)
		if err != nil {
			return
		}
		if !c.IsOnCurve(p.X, p.Y) {
			t.Fatalf("Unmarshal returned a point off the curve")
		}
		q, err := c.Unmarshal(c.Marshal(p))
		if err != nil || !q.Equal(p) {
			t.Fatalf("round trip failed: %v", err)
		}
	})
}

func BenchmarkScalarMult(b *testing.B) {
	for _, c := range []*Curve{BrainpoolP256r1(), BrainpoolP384r1(), BrainpoolP512r1(), P256()} {
		d, _, _ := c.GenerateKey(rand.Reader)
		g := c.Generator()
		b.Run(c.Name, func(b *testing.B) {
			for b.Loop() {
				c.Mul(g, d)
			}
		})
	}
}

func TestParsePrivateKeyStdlib(t *testing.T) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := key.Bytes()
	for name, in := range map[string][]byte{"pkcs8": der, "sec1": mustSEC1(t, key)} {
		c, d, err := ParsePrivateKey(in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if c.Name != "P-256" || !bytes.Equal(c.MarshalScalar(d), priv) {
			t.Errorf("%s: got %s key %X", name, c.Name, c.MarshalScalar(d))
		}
	}
	for _, bad := range [][]byte{nil, {0x30, 0x00}, der[:len(der)-3]} {
		if _, _, err := ParsePrivateKey(bad); err == nil {
			t.Errorf("ParsePrivateKey(%X) accepted", bad)
		}
	}
}

func mustSEC1(t *testing.T, k *ecdsa.PrivateKey) []byte {
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// The BSI TR-03105-5 reference data set's Chip Authentication key uses explicit
// brainpoolP224r1 parameters.
func TestParsePrivateKeyExplicitSpecimen(t *testing.T) {
	der, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "..", "shared", "emrtd-samples", "DE_BSI_TR03105-5_RefDataSet_HJP", "DG14_sk.pkcs8"))
	if err != nil {
		t.Skipf("specimen absent: %v", err)
	}
	c, d, err := ParsePrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "brainpoolP224r1" || d.Sign() <= 0 {
		t.Errorf("curve %s, want brainpoolP224r1 (matched from explicit parameters)", c.Name)
	}
}

func FuzzParseParameters(f *testing.F) {
	oid, _ := asn1.Marshal(BrainpoolP256r1().OID)
	f.Add(oid)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(key)
	f.Add(der)
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 4096 {
			return
		}
		if c, err := ParseParameters(b); err == nil && !c.IsOnCurve(c.Gx, c.Gy) {
			t.Fatalf("parameters with the base point off the curve")
		}
		_, _, _ = ParsePrivateKey(b)
	})
}
