// Package pki is the eMRTD public key infrastructure without I/O: X.509 certificates and CRLs
// as the ICAO PKI uses them, CMS SignedData, public keys on named and explicit curves,
// signature verification, and the CSCA trust store with its master lists.
package pki

import (
	"bytes"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/hex"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/edgeid/edgeid/drivers/emrtd/asn1der"
	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
)

// Certificate is an X.509 certificate as eMRTD PKIs use it (CSCA, link, DS, master list
// signer). It is parsed by this package rather than crypto/x509, which refuses the
// explicit-parameter and brainpool EC keys many real certificates carry.
type Certificate struct {
	Raw, RawTBS  []byte
	Version      int
	SerialNumber *big.Int
	Issuer       Name
	Subject      Name
	NotBefore    time.Time
	NotAfter     time.Time
	// PublicKey is *rsa.PublicKey or *ECPublicKey; nil when PublicKeyErr says why it is not usable.
	PublicKey    any
	PublicKeyErr error
	RawSPKI      []byte

	SignatureAlgorithm asn1der.AlgorithmIdentifier
	Signature          []byte

	SubjectKeyID   []byte
	AuthorityKeyID []byte
	IsCA           bool
	HasBasicCons   bool
	KeyUsage       int // bit 0 = digitalSignature ... as in X.509, 0 when absent
	HasKeyUsage    bool
}

// Key usage bits as numbered by X.509 (digitalSignature is bit 0).
const (
	KeyUsageDigitalSignature = 1 << 0
	KeyUsageCertSign         = 1 << 5
	KeyUsageCRLSign          = 1 << 6
)

// Fingerprint is the SHA-256 of the certificate's encoding, in hex.
func (c *Certificate) Fingerprint() string {
	s := sha256.Sum256(c.Raw)
	return hex.EncodeToString(s[:])
}

func (c *Certificate) String() string {
	return fmt.Sprintf("%s (serial %X, %s .. %s)", c.Subject, c.SerialNumber, c.NotBefore.Format("2006-01-02"), c.NotAfter.Format("2006-01-02"))
}

// ValidAt reports whether t lies within the validity period.
func (c *Certificate) ValidAt(t time.Time) bool {
	return !t.Before(c.NotBefore) && !t.After(c.NotAfter)
}

// SelfSigned reports whether issuer and subject are the same name.
func (c *Certificate) SelfSigned() bool { return c.Issuer.Equal(c.Subject) }

// CheckSignatureFrom verifies that parent's key signed c.
func (c *Certificate) CheckSignatureFrom(parent *Certificate) error {
	if parent.PublicKey == nil {
		return fmt.Errorf("issuer key unusable: %w", parent.PublicKeyErr)
	}
	s, err := ResolveSig(c.SignatureAlgorithm, 0)
	if err != nil {
		return err
	}
	pub := parent.PublicKey
	// Some EC certificates carry the curve only in the issuer's key; nothing to do here
	// because ParsePublicKeyInfo rejects keys without a curve.
	return VerifySig(pub, s, c.RawTBS, c.Signature)
}

// AttributeTypeAndValue is one part of a distinguished name.
type AttributeTypeAndValue struct {
	Type  asn1.ObjectIdentifier
	Value string
}

// Name is a distinguished name as its flattened list of parts, in encoding order.
type Name []AttributeTypeAndValue

var attrShort = []struct {
	oid  asn1.ObjectIdentifier
	name string
}{
	{asn1der.OIDCountryName, "C"}, {asn1der.OIDOrganization, "O"}, {asn1der.OIDOrgUnit, "OU"}, {asn1der.OIDCommonName, "CN"},
	{asn1der.OIDSerialNumber, "SERIALNUMBER"}, {asn1.ObjectIdentifier{2, 5, 4, 7}, "L"}, {asn1.ObjectIdentifier{2, 5, 4, 8}, "ST"},
}

func (n Name) String() string {
	parts := make([]string, len(n))
	for i, a := range n {
		k := a.Type.String()
		for _, s := range attrShort {
			if s.oid.Equal(a.Type) {
				k = s.name
			}
		}
		parts[i] = k + "=" + a.Value
	}
	return strings.Join(parts, ", ")
}

// Country returns the C= value, or "".
func (n Name) Country() string {
	for _, a := range n {
		if a.Type.Equal(asn1der.OIDCountryName) {
			return strings.ToUpper(a.Value)
		}
	}
	return ""
}

// Equal compares the names as sets of parts: the order of the parts and the case and
// surrounding spaces of the values do not matter (real SODs order issuer names differently
// from the certificates they point at).
func (n Name) Equal(m Name) bool {
	if len(n) != len(m) {
		return false
	}
	a, b := n.canon(), m.canon()
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Canonical is the name in a form that does not depend on the order, case or spacing of its
// parts: the key under which revocation lists name a certificate issuer.
func (n Name) Canonical() string { return strings.Join(n.canon(), ",") }

func (n Name) canon() []string {
	out := make([]string, len(n))
	for i, a := range n {
		out[i] = a.Type.String() + "=" + strings.ToLower(strings.Join(strings.Fields(a.Value), " "))
	}
	sort.Strings(out)
	return out
}

// parseName reads a Name (RDNSequence).
func parseName(t *tlv.TLV, what string) (Name, error) {
	if t.Tag != asn1der.TagSequence {
		return nil, fmt.Errorf("%s at offset %d: not a sequence", what, t.Offset)
	}
	var n Name
	for i := range t.Children {
		rdn := &t.Children[i]
		if rdn.Tag != asn1der.TagSet {
			return nil, fmt.Errorf("%s at offset %d: relative name is not a set", what, rdn.Offset)
		}
		for j := range rdn.Children {
			atv := &rdn.Children[j]
			if atv.Tag != asn1der.TagSequence || len(atv.Children) != 2 {
				return nil, fmt.Errorf("%s at offset %d: malformed attribute", what, atv.Offset)
			}
			oid, err := asn1der.DecodeOID(&atv.Children[0], what+" attribute type")
			if err != nil {
				return nil, err
			}
			n = append(n, AttributeTypeAndValue{Type: oid, Value: decodeString(&atv.Children[1])})
		}
	}
	return n, nil
}

// decodeString decodes the ASN.1 string types found in names.
func decodeString(t *tlv.TLV) string {
	switch t.Tag {
	case 0x1E: // BMPString
		if len(t.Value)%2 != 0 {
			return string(t.Value)
		}
		u := make([]uint16, len(t.Value)/2)
		for i := range u {
			u[i] = uint16(t.Value[2*i])<<8 | uint16(t.Value[2*i+1])
		}
		return string(utf16.Decode(u))
	case 0x14: // TeletexString: treat as Latin-1
		r := make([]rune, len(t.Value))
		for i, c := range t.Value {
			r[i] = rune(c)
		}
		return string(r)
	}
	return string(t.Value)
}

// ParseCertificate parses one DER certificate. A public key this package cannot use does
// not fail the parse; it is reported in PublicKeyErr.
func ParseCertificate(der []byte) (*Certificate, error) {
	t, err := asn1der.ParseDER(der, "certificate")
	if err != nil {
		return nil, err
	}
	return parseCertificate(t)
}

func parseCertificate(t *tlv.TLV) (*Certificate, error) {
	if t.Tag != asn1der.TagSequence || len(t.Children) != 3 {
		return nil, fmt.Errorf("certificate at offset %d: not a sequence of three", t.Offset)
	}
	c := &Certificate{Raw: t.Raw}
	tbs := &t.Children[0]
	if tbs.Tag != asn1der.TagSequence {
		return nil, fmt.Errorf("certificate at offset %d: tbsCertificate is not a sequence", tbs.Offset)
	}
	c.RawTBS = tbs.Raw
	var err error
	if c.SignatureAlgorithm, err = asn1der.DecodeAlgID(&t.Children[1], "certificate signature algorithm"); err != nil {
		return nil, err
	}
	if c.Signature, err = asn1der.BitStringBytes(&t.Children[2], "certificate signature"); err != nil {
		return nil, err
	}
	i := 0
	c.Version = 1
	if len(tbs.Children) > 0 && tbs.Children[0].Tag == 0xA0 {
		if len(tbs.Children[0].Children) != 1 {
			return nil, fmt.Errorf("certificate version at offset %d: malformed", tbs.Children[0].Offset)
		}
		v, err := asn1der.DecodeSmallInt(&tbs.Children[0].Children[0], "certificate version")
		if err != nil {
			return nil, err
		}
		c.Version = v + 1
		i++
	}
	field := func(tag tlv.Tag, what string) (*tlv.TLV, error) {
		f, err := asn1der.Child(tbs, i, tag, "certificate "+what)
		i++
		return f, err
	}
	st, err := field(asn1der.TagInteger, "serial number")
	if err != nil {
		return nil, err
	}
	if c.SerialNumber, err = asn1der.DecodeInt(st, "serial number"); err != nil {
		return nil, err
	}
	if _, err := field(asn1der.TagSequence, "signature"); err != nil {
		return nil, err
	}
	it, err := field(asn1der.TagSequence, "issuer")
	if err != nil {
		return nil, err
	}
	if c.Issuer, err = parseName(it, "issuer"); err != nil {
		return nil, err
	}
	vt, err := field(asn1der.TagSequence, "validity")
	if err != nil {
		return nil, err
	}
	if len(vt.Children) != 2 {
		return nil, fmt.Errorf("certificate validity at offset %d: want two times", vt.Offset)
	}
	if c.NotBefore, err = asn1der.DecodeTime(&vt.Children[0], "notBefore"); err != nil {
		return nil, err
	}
	if c.NotAfter, err = asn1der.DecodeTime(&vt.Children[1], "notAfter"); err != nil {
		return nil, err
	}
	sub, err := field(asn1der.TagSequence, "subject")
	if err != nil {
		return nil, err
	}
	if c.Subject, err = parseName(sub, "subject"); err != nil {
		return nil, err
	}
	spki, err := field(asn1der.TagSequence, "subject public key info")
	if err != nil {
		return nil, err
	}
	c.RawSPKI = spki.Raw
	c.PublicKey, c.PublicKeyErr = ParseSPKI(spki)
	for ; i < len(tbs.Children); i++ {
		e := &tbs.Children[i]
		if e.Tag != 0xA3 {
			continue // issuerUniqueID [1], subjectUniqueID [2]
		}
		if len(e.Children) != 1 || e.Children[0].Tag != asn1der.TagSequence {
			return nil, fmt.Errorf("certificate extensions at offset %d: malformed", e.Offset)
		}
		if err := c.parseExtensions(&e.Children[0]); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *Certificate) parseExtensions(t *tlv.TLV) error {
	for i := range t.Children {
		e := &t.Children[i]
		if e.Tag != asn1der.TagSequence || len(e.Children) < 2 {
			return fmt.Errorf("certificate extension at offset %d: malformed", e.Offset)
		}
		oid, err := asn1der.DecodeOID(&e.Children[0], "extension id")
		if err != nil {
			return err
		}
		val := &e.Children[len(e.Children)-1]
		if val.Tag != asn1der.TagOctetString {
			return fmt.Errorf("certificate extension %v at offset %d: value is not an octet string", oid, val.Offset)
		}
		var in *tlv.TLV
		if oid.Equal(asn1der.OIDExtSKI) || oid.Equal(asn1der.OIDExtAKI) || oid.Equal(asn1der.OIDExtBasicCons) || oid.Equal(asn1der.OIDExtKeyUsage) {
			if in, err = asn1der.ParseDER(val.Value, fmt.Sprintf("extension %v", oid)); err != nil {
				return err
			}
		}
		switch {
		case oid.Equal(asn1der.OIDExtSKI):
			if in.Tag != asn1der.TagOctetString {
				return fmt.Errorf("subject key identifier at offset %d: not an octet string", val.Offset)
			}
			c.SubjectKeyID = in.Value
		case oid.Equal(asn1der.OIDExtAKI):
			if in.Tag != asn1der.TagSequence {
				return fmt.Errorf("authority key identifier at offset %d: not a sequence", val.Offset)
			}
			if k, ok := in.Find(0x80); ok {
				c.AuthorityKeyID = k.Value
			}
		case oid.Equal(asn1der.OIDExtBasicCons):
			c.HasBasicCons = true
			if len(in.Children) > 0 && in.Children[0].Tag == asn1der.TagBoolean {
				c.IsCA = len(in.Children[0].Value) == 1 && in.Children[0].Value[0] != 0
			}
		case oid.Equal(asn1der.OIDExtKeyUsage):
			if in.Tag != asn1der.TagBitString || len(in.Value) < 1 {
				return fmt.Errorf("key usage at offset %d: not a bit string", val.Offset)
			}
			c.HasKeyUsage = true
			for j, b := range in.Value[1:] {
				for k := 0; k < 8 && j*8+k < 16; k++ {
					if b&(0x80>>k) != 0 {
						c.KeyUsage |= 1 << (j*8 + k)
					}
				}
			}
		}
	}
	return nil
}

// sameKeyID compares two key identifiers; empty ones never match.
func sameKeyID(a, b []byte) bool { return len(a) > 0 && bytes.Equal(a, b) }
