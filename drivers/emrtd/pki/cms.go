package pki

import (
	"bytes"
	"crypto"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"github.com/edgeid/edgeid/drivers/emrtd/asn1der"
	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
)

// Bounds on the certificates in one SignedData. Master lists hold several hundred; a chip's
// SOD or EF.CardSecurity holds one, and each certificate may cost an explicit-curve
// validation, so chip data gets a small bound.
const (
	maxCMSCertificates  = 4096
	MaxChipCertificates = 8
)

// SignedData is a CMS SignedData (RFC 5652) as used by EF.SOD, EF.CardSecurity and CSCA
// master lists. BER indefinite lengths and constructed octet strings are accepted.
type SignedData struct {
	// ContentType is the eContentType: the ICAO LDSSecurityObject OID, id-data, the master
	// list OID ...
	ContentType asn1.ObjectIdentifier
	// Content is the eContent octets.
	Content      []byte
	Certificates []*Certificate
	// CRLs holds the raw CRLs carried in the SignedData, if any.
	CRLs    [][]byte
	Signers []SignerInfo
}

// SignerInfo is one CMS SignerInfo.
type SignerInfo struct {
	// IssuerName and SerialNumber identify the signer's certificate, or SubjectKeyID does.
	IssuerName   Name
	SerialNumber *big.Int
	SubjectKeyID []byte

	DigestAlgorithm crypto.Hash
	// SignedAttrs is the DER encoding of the signed attributes as a SET (what is signed), nil if absent.
	SignedAttrs []byte
	// ContentTypeAttr and MessageDigest are the values of those signed attributes.
	ContentTypeAttr    asn1.ObjectIdentifier
	MessageDigest      []byte
	SignatureAlgorithm asn1der.AlgorithmIdentifier
	Signature          []byte
}

// Identifies reports whether cert is the certificate the SignerInfo names: same serial
// number and the same set of issuer name parts, or the same subject key identifier.
func (si *SignerInfo) Identifies(cert *Certificate) bool {
	if si.SubjectKeyID != nil {
		return sameKeyID(si.SubjectKeyID, cert.SubjectKeyID)
	}
	return si.SerialNumber != nil && si.SerialNumber.Cmp(cert.SerialNumber) == 0 && si.IssuerName.Equal(cert.Issuer)
}

func (si *SignerInfo) String() string {
	if si.SubjectKeyID != nil {
		return fmt.Sprintf("signer with key id %X", si.SubjectKeyID)
	}
	return fmt.Sprintf("signer %s serial %X", si.IssuerName, si.SerialNumber)
}

// ParseSignedData parses a CMS ContentInfo holding SignedData.
func ParseSignedData(b []byte) (*SignedData, error) {
	t, err := asn1der.ParseDER(b, "cms")
	if err != nil {
		return nil, err
	}
	return ParseContentInfo(t, maxCMSCertificates)
}

// parseChipSignedData parses a SignedData read from a chip (EF.CardSecurity).
func ParseChipSignedData(b []byte) (*SignedData, error) {
	t, err := asn1der.ParseDER(b, "cms")
	if err != nil {
		return nil, err
	}
	return ParseContentInfo(t, MaxChipCertificates)
}

func ParseContentInfo(t *tlv.TLV, maxCerts int) (*SignedData, error) {
	if t.Tag != asn1der.TagSequence {
		return nil, fmt.Errorf("cms: content info at offset %d: tag %s, want a sequence", t.Offset, t.Tag)
	}
	ot, err := asn1der.Child(t, 0, asn1der.TagOID, "cms content type")
	if err != nil {
		return nil, fmt.Errorf("cms: %w", err)
	}
	oid, err := asn1der.DecodeOID(ot, "cms content type")
	if err != nil {
		return nil, fmt.Errorf("cms: %w", err)
	}
	if !oid.Equal(asn1der.OIDSignedData) {
		return nil, fmt.Errorf("cms: content type %v is not signedData", oid)
	}
	ct, err := asn1der.Child(t, 1, 0xA0, "cms content")
	if err != nil || len(ct.Children) != 1 {
		return nil, fmt.Errorf("cms: signed data content missing or malformed at offset %d", t.Offset)
	}
	sd := &ct.Children[0]
	if sd.Tag != asn1der.TagSequence {
		return nil, fmt.Errorf("cms: signed data at offset %d is not a sequence", sd.Offset)
	}
	out := &SignedData{}
	i := 1 // version
	if _, err := asn1der.Child(sd, 0, asn1der.TagInteger, "cms version"); err != nil {
		return nil, fmt.Errorf("cms: %w", err)
	}
	if _, err := asn1der.Child(sd, i, asn1der.TagSet, "cms digest algorithms"); err != nil {
		return nil, fmt.Errorf("cms: %w", err)
	}
	i++
	enc, err := asn1der.Child(sd, i, asn1der.TagSequence, "cms encapsulated content")
	if err != nil {
		return nil, fmt.Errorf("cms: %w", err)
	}
	i++
	et, err := asn1der.Child(enc, 0, asn1der.TagOID, "cms eContentType")
	if err != nil {
		return nil, fmt.Errorf("cms: %w", err)
	}
	if out.ContentType, err = asn1der.DecodeOID(et, "cms eContentType"); err != nil {
		return nil, fmt.Errorf("cms: %w", err)
	}
	if len(enc.Children) > 1 {
		ec := &enc.Children[1]
		if ec.Tag != 0xA0 || len(ec.Children) != 1 {
			return nil, fmt.Errorf("cms: eContent at offset %d: malformed", ec.Offset)
		}
		if out.Content, err = asn1der.Octets(&ec.Children[0], "cms eContent"); err != nil {
			return nil, fmt.Errorf("cms: %w", err)
		}
	}
	for ; i < len(sd.Children) && sd.Children[i].Tag != asn1der.TagSet; i++ {
		c := &sd.Children[i]
		switch c.Tag {
		case 0xA0:
			for j := range c.Children {
				if len(out.Certificates) >= maxCerts {
					return nil, fmt.Errorf("cms: more than %d certificates", maxCerts)
				}
				if c.Children[j].Tag != asn1der.TagSequence {
					continue // other certificate formats (attribute certificates) are ignored
				}
				cert, err := parseCertificate(&c.Children[j])
				if err != nil {
					return nil, fmt.Errorf("cms: certificate %d: %w", j+1, err)
				}
				out.Certificates = append(out.Certificates, cert)
			}
		case 0xA1:
			for j := range c.Children {
				out.CRLs = append(out.CRLs, c.Children[j].Raw)
			}
		default:
			return nil, fmt.Errorf("cms: unexpected tag %s at offset %d", c.Tag, c.Offset)
		}
	}
	st, err := asn1der.Child(sd, i, asn1der.TagSet, "cms signer infos")
	if err != nil {
		return nil, fmt.Errorf("cms: %w", err)
	}
	if len(st.Children) == 0 {
		return nil, errors.New("cms: no signer info")
	}
	for j := range st.Children {
		si, err := parseSignerInfo(&st.Children[j])
		if err != nil {
			return nil, fmt.Errorf("cms: signer info %d: %w", j+1, err)
		}
		out.Signers = append(out.Signers, si)
	}
	return out, nil
}

func parseSignerInfo(t *tlv.TLV) (SignerInfo, error) {
	var si SignerInfo
	if t.Tag != asn1der.TagSequence || len(t.Children) < 5 {
		return si, fmt.Errorf("at offset %d: not a sequence of at least five", t.Offset)
	}
	sid := &t.Children[1]
	switch sid.Tag {
	case asn1der.TagSequence:
		if len(sid.Children) != 2 {
			return si, fmt.Errorf("issuer and serial number at offset %d: malformed", sid.Offset)
		}
		var err error
		if si.IssuerName, err = parseName(&sid.Children[0], "signer issuer"); err != nil {
			return si, err
		}
		if si.SerialNumber, err = asn1der.DecodeInt(&sid.Children[1], "signer serial number"); err != nil {
			return si, err
		}
	case 0x80:
		si.SubjectKeyID = append([]byte{}, sid.Value...)
	default:
		return si, fmt.Errorf("signer identifier at offset %d: tag %s", sid.Offset, sid.Tag)
	}
	da, err := asn1der.DecodeAlgID(&t.Children[2], "digest algorithm")
	if err != nil {
		return si, err
	}
	if si.DigestAlgorithm, err = HashFromOID(da.OID); err != nil {
		return si, err
	}
	i := 3
	if t.Children[i].Tag == 0xA0 {
		sa := &t.Children[i]
		if sa.Indefinite {
			sa2 := *sa
			sa2.Tag = asn1der.TagSet
			si.SignedAttrs = sa2.Encode()
		} else {
			si.SignedAttrs = append([]byte{}, sa.Raw...)
			si.SignedAttrs[0] = byte(asn1der.TagSet)
		}
		for j := range sa.Children {
			a := &sa.Children[j]
			if a.Tag != asn1der.TagSequence || len(a.Children) != 2 || a.Children[1].Tag != asn1der.TagSet {
				return si, fmt.Errorf("signed attribute at offset %d: malformed", a.Offset)
			}
			oid, err := asn1der.DecodeOID(&a.Children[0], "signed attribute type")
			if err != nil {
				return si, err
			}
			vals := a.Children[1].Children
			switch {
			case oid.Equal(asn1der.OIDContentType):
				if si.ContentTypeAttr != nil || len(vals) != 1 {
					return si, errors.New("content-type attribute repeated or not single-valued")
				}
				if si.ContentTypeAttr, err = asn1der.DecodeOID(&vals[0], "content-type attribute"); err != nil {
					return si, err
				}
			case oid.Equal(asn1der.OIDMessageDigest):
				if si.MessageDigest != nil || len(vals) != 1 || vals[0].Tag != asn1der.TagOctetString {
					return si, errors.New("message-digest attribute repeated or not a single octet string")
				}
				si.MessageDigest = append([]byte{}, vals[0].Value...)
			}
		}
		i++
	}
	if i+1 >= len(t.Children) {
		return si, errors.New("signature algorithm or value missing")
	}
	if si.SignatureAlgorithm, err = asn1der.DecodeAlgID(&t.Children[i], "signature algorithm"); err != nil {
		return si, err
	}
	st := &t.Children[i+1]
	if st.Tag != asn1der.TagOctetString {
		return si, fmt.Errorf("signature at offset %d: not an octet string", st.Offset)
	}
	si.Signature = append([]byte{}, st.Value...)
	return si, nil
}

// CheckMessageDigest checks the signed attributes against the content: the message-digest
// attribute must equal the hash of Content and the content-type attribute must equal the
// eContentType. Without signed attributes there is nothing to check and it returns nil.
func (sd *SignedData) CheckMessageDigest(si *SignerInfo) error {
	if si.SignedAttrs == nil {
		return nil
	}
	if si.MessageDigest == nil {
		return errors.New("signed attributes lack the message-digest attribute")
	}
	if si.ContentTypeAttr != nil && !si.ContentTypeAttr.Equal(sd.ContentType) {
		return fmt.Errorf("content-type attribute %v differs from eContentType %v", si.ContentTypeAttr, sd.ContentType)
	}
	if !si.DigestAlgorithm.Available() {
		return fmt.Errorf("digest %v unavailable", si.DigestAlgorithm)
	}
	h := si.DigestAlgorithm.New()
	h.Write(sd.Content)
	if got := h.Sum(nil); !bytes.Equal(got, si.MessageDigest) {
		return fmt.Errorf("message-digest attribute %X does not match the %s of the content %X", si.MessageDigest, si.DigestAlgorithm, got)
	}
	return nil
}

// CheckSignature verifies the signer's signature with the public key of cert: over the
// signed attributes if present, else over the content.
func (sd *SignedData) CheckSignature(si *SignerInfo, cert *Certificate) error {
	if cert.PublicKey == nil {
		return fmt.Errorf("signer certificate key unusable: %w", cert.PublicKeyErr)
	}
	s, err := ResolveSig(si.SignatureAlgorithm, si.DigestAlgorithm)
	if err != nil {
		return err
	}
	msg := sd.Content
	if si.SignedAttrs != nil {
		msg = si.SignedAttrs
	}
	return VerifySig(cert.PublicKey, s, msg, si.Signature)
}

// FindSigner returns the first certificate in certs the SignerInfo identifies.
func FindSigner(si *SignerInfo, certs ...[]*Certificate) *Certificate {
	for _, cs := range certs {
		for _, c := range cs {
			if si.Identifies(c) {
				return c
			}
		}
	}
	return nil
}
