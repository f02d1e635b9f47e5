package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"math/big"
	"strings"
	"testing"

	"github.com/edgeid/edgeid/drivers/emrtd/asn1der"
	"github.com/edgeid/edgeid/drivers/emrtd/internal/ecc"
	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
)

func hexInt(t *testing.T, s string) *big.Int {
	t.Helper()
	n, ok := new(big.Int).SetString(strings.ReplaceAll(s, " ", ""), 16)
	if !ok {
		t.Fatalf("bad hex %q", s)
	}
	return n
}

// explicitSPKI encodes an EC SubjectPublicKeyInfo with explicit domain parameters.
func explicitSPKI(p, a, b, gx, gy, n *big.Int, point []byte, compressG bool) []byte {
	size := (p.BitLen() + 7) / 8
	fe := func(x *big.Int) []byte { return x.FillBytes(make([]byte, size)) }
	var g []byte
	if compressG {
		g = append([]byte{byte(2 + gy.Bit(0))}, fe(gx)...)
	} else {
		g = append(append([]byte{4}, fe(gx)...), fe(gy)...)
	}
	oidEC, _ := asn1.Marshal(asn1der.OIDECPublicKey)
	oidPF, _ := asn1.Marshal(asn1der.OIDPrimeField)
	pInt, _ := asn1.Marshal(p)
	nInt, _ := asn1.Marshal(n)
	params := tlv.EncodeConstructed(0x30,
		tlv.EncodeTLV(0x02, []byte{1}),
		tlv.EncodeConstructed(0x30, oidPF, pInt),
		tlv.EncodeConstructed(0x30, tlv.EncodeTLV(0x04, fe(a)), tlv.EncodeTLV(0x04, fe(b))),
		tlv.EncodeTLV(0x04, g), nInt, tlv.EncodeTLV(0x02, []byte{1}))
	return tlv.EncodeConstructed(0x30, tlv.EncodeConstructed(0x30, oidEC, params), tlv.EncodeTLV(0x03, append([]byte{0}, point...)))
}

// TestExplicitUnnamedCurve uses secp256k1, which is not among the named curves: the
// parameters are validated, kept as an unnamed curve, and ECDSA verifies on it.
func TestExplicitUnnamedCurve(t *testing.T) {
	p := hexInt(t, "FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFE FFFFFC2F")
	n := hexInt(t, "FFFFFFFF FFFFFFFF FFFFFFFF FFFFFFFE BAAEDCE6 AF48A03B BFD25E8C D0364141")
	gx := hexInt(t, "79BE667E F9DCBBAC 55A06295 CE870B07 029BFCDB 2DCE28D9 59F2815B 16F81798")
	gy := hexInt(t, "483ADA77 26A3C465 5DA4FBFC 0E1108A8 FD17B448 A6855419 9C47D08F FB10D4B8")
	a, b := big.NewInt(0), big.NewInt(7)
	c, err := ecc.NewCurve(p, a, b, gx, gy, n, big.NewInt(1))
	if err != nil {
		t.Fatal(err)
	}
	d, q, err := c.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("signed attributes")
	digest := sha256.Sum256(msg)
	sig, err := c.SignASN1(rand.Reader, d, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	for _, compressG := range []bool{false, true} {
		for _, point := range [][]byte{c.Marshal(q), c.MarshalCompressed(q)} {
			k, err := ParsePublicKeyInfo(explicitSPKI(p, a, b, gx, gy, n, point, compressG))
			if err != nil {
				t.Fatalf("compressed G %v, point % X...: %v", compressG, point[:3], err)
			}
			ek := k.(*ECPublicKey)
			if ek.Curve.Name != "" || !ek.Explicit || ek.X.Cmp(q.X) != 0 || ek.Y.Cmp(q.Y) != 0 {
				t.Errorf("got %s, X match %v", KeyDescription(k), ek.X.Cmp(q.X) == 0)
			}
			s := SigScheme{kind: sigECDSA, hash: crypto.SHA256}
			if err := VerifySig(k, s, msg, sig); err != nil {
				t.Errorf("verify: %v", err)
			}
			if err := VerifySig(k, s, []byte("other"), sig); err == nil {
				t.Error("verified over another message")
			}
		}
	}
	// A composite "prime" with a compressed base point is refused before any square root.
	bad := explicitSPKI(new(big.Int).Mul(p, big.NewInt(9)), a, b, gx, gy, n, c.Marshal(q), true)
	if _, err := ParsePublicKeyInfo(bad); err == nil || !strings.Contains(err.Error(), "not prime") {
		t.Errorf("composite modulus: got %v", err)
	}
	// A public point off the curve is refused.
	off := c.Marshal(q)
	off[len(off)-1] ^= 1
	if _, err := ParsePublicKeyInfo(explicitSPKI(p, a, b, gx, gy, n, off, false)); err == nil || !strings.Contains(err.Error(), "not on the curve") {
		t.Errorf("point off the curve: got %v", err)
	}
	// A wrong order fails validation.
	if _, err := ParsePublicKeyInfo(explicitSPKI(p, a, b, gx, gy, new(big.Int).Add(n, big.NewInt(2)), c.Marshal(q), false)); err == nil {
		t.Error("wrong order accepted")
	}
}

func TestParsePublicKeyInfoStd(t *testing.T) {
	ek, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&ek.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	k, err := ParsePublicKeyInfo(der)
	if err != nil {
		t.Fatal(err)
	}
	pk := k.(*ECPublicKey)
	if pk.Curve.Name != "P-384" || pk.Explicit {
		t.Errorf("got %s", KeyDescription(k))
	}
	if b := pk.Bytes(); len(b) != 97 || b[0] != 4 {
		t.Errorf("Bytes: %d bytes starting %#x", len(b), b[0])
	}
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"not a sequence", []byte{0x04, 0x00}, "not a sequence"},
		{"unknown algorithm", tlv.EncodeConstructed(0x30, tlv.EncodeConstructed(0x30, tlv.EncodeTLV(0x06, []byte{0x2A, 0x03})), tlv.EncodeTLV(0x03, []byte{0})), "not supported"},
		{"implicit CA", tlv.EncodeConstructed(0x30, tlv.EncodeConstructed(0x30, mustOID(asn1der.OIDECPublicKey)), tlv.EncodeTLV(0x03, []byte{0, 4})), "implicitly-CA"},
		{"unknown named curve", tlv.EncodeConstructed(0x30, tlv.EncodeConstructed(0x30, mustOID(asn1der.OIDECPublicKey), mustOID(asn1.ObjectIdentifier{1, 2, 3})), tlv.EncodeTLV(0x03, []byte{0, 4})), "named curve 1.2.3 is not supported"},
		{"unused bits", tlv.EncodeConstructed(0x30, tlv.EncodeConstructed(0x30, mustOID(asn1der.OIDRSAEncryption)), tlv.EncodeTLV(0x03, []byte{3, 0})), "unused bits"},
		{"small rsa", tlv.EncodeConstructed(0x30, tlv.EncodeConstructed(0x30, mustOID(asn1der.OIDRSAEncryption)), tlv.EncodeTLV(0x03, append([]byte{0}, tlv.EncodeConstructed(0x30, tlv.EncodeTLV(0x02, []byte{0x7F, 0xFF}), tlv.EncodeTLV(0x02, []byte{3}))...))), "modulus of 15 bits"},
	}
	for _, tt := range tests {
		if _, err := ParsePublicKeyInfo(tt.in); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

func mustOID(o asn1.ObjectIdentifier) []byte {
	b, _ := asn1.Marshal(o)
	return b
}

func TestResolveSig(t *testing.T) {
	sha256ID := tlv.EncodeConstructed(0x30, mustOID(asn1der.OIDSHA256))
	sha384ID := tlv.EncodeConstructed(0x30, mustOID(asn1der.OIDSHA384))
	pss := func(parts ...[]byte) *tlv.TLV {
		t, err := tlv.ParseTLVExpect(tlv.EncodeConstructed(0x30, parts...), 0x30)
		if err != nil {
			panic(err)
		}
		return &t
	}
	mgf := func(h []byte) []byte {
		return tlv.EncodeConstructed(0xA1, tlv.EncodeConstructed(0x30, mustOID(asn1der.OIDMGF1), h))
	}
	tests := []struct {
		name   string
		alg    asn1der.AlgorithmIdentifier
		digest crypto.Hash
		want   string
		err    string
	}{
		{"sha256WithRSA", asn1der.AlgorithmIdentifier{OID: asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}}, 0, "RSA PKCS#1 v1.5 with SHA-256", ""},
		{"rsaEncryption with digest", asn1der.AlgorithmIdentifier{OID: asn1der.OIDRSAEncryption}, crypto.SHA384, "RSA PKCS#1 v1.5 with SHA-384", ""},
		{"rsaEncryption alone", asn1der.AlgorithmIdentifier{OID: asn1der.OIDRSAEncryption}, 0, "", "names no hash"},
		{"ecPublicKey with digest", asn1der.AlgorithmIdentifier{OID: asn1der.OIDECPublicKey}, crypto.SHA1, "ECDSA with SHA-1", ""},
		{"ecdsa-plain-SHA512", asn1der.AlgorithmIdentifier{OID: asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 1, 1, 4, 1, 5}}, 0, "ECDSA (plain) with SHA-512", ""},
		{"pss defaults", asn1der.AlgorithmIdentifier{OID: asn1der.OIDRSAPSS}, 0, "RSA-PSS with SHA-1 (salt 20)", ""},
		{"pss sha256", asn1der.AlgorithmIdentifier{OID: asn1der.OIDRSAPSS, Params: pss(tlv.EncodeConstructed(0xA0, sha256ID), mgf(sha256ID), tlv.EncodeConstructed(0xA2, tlv.EncodeTLV(0x02, []byte{32})))}, 0, "RSA-PSS with SHA-256 (salt 32)", ""},
		{"pss mgf mismatch", asn1der.AlgorithmIdentifier{OID: asn1der.OIDRSAPSS, Params: pss(tlv.EncodeConstructed(0xA0, sha256ID), mgf(sha384ID))}, 0, "", "MGF1 hash SHA-384 differs"},
		{"pss bad trailer", asn1der.AlgorithmIdentifier{OID: asn1der.OIDRSAPSS, Params: pss(tlv.EncodeConstructed(0xA3, tlv.EncodeTLV(0x02, []byte{2})))}, 0, "", "trailer field"},
		{"unknown", asn1der.AlgorithmIdentifier{OID: asn1.ObjectIdentifier{1, 2, 3, 4}}, 0, "", "not supported"},
	}
	for _, tt := range tests {
		s, err := ResolveSig(tt.alg, tt.digest)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || s.String() != tt.want {
			t.Errorf("%s: got %q, %v; want %q", tt.name, s, err, tt.want)
		}
	}
}
