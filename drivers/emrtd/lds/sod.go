package lds

import (
	"crypto"
	"fmt"
	"github.com/edgeid/edgeid/drivers/emrtd/asn1der"
	"github.com/edgeid/edgeid/drivers/emrtd/pki"
)

// maxDGHashes bounds the data-group hash entries in one LDSSecurityObject.
const maxDGHashes = 16

// SOD is a parsed EF.SOD: the CMS SignedData and the LDSSecurityObject it signs.
type SOD struct {
	SignedData *pki.SignedData
	// HashAlgorithm hashes the data groups.
	HashAlgorithm crypto.Hash
	// Hashes maps data-group numbers (1..16) to their hash values.
	Hashes map[int][]byte
	// Version is the LDSSecurityObject version (0 for LDS 1.7, 1 for 1.8 with version info).
	Version int
	// LDSVersion and UnicodeVersion come from ldsVersionInfo, when present.
	LDSVersion, UnicodeVersion string
}

// ParseSOD parses EF.SOD (tag 0x77 wrapping a CMS ContentInfo); a bare ContentInfo is also
// accepted. The eContentType may be the ICAO LDSSecurityObject OID or id-data.
func ParseSOD(b []byte) (*SOD, error) {
	t, err := asn1der.ParseDER(b, "sod")
	if err != nil {
		return nil, err
	}
	if t.Tag == 0x77 {
		if len(t.Children) != 1 {
			return nil, fmt.Errorf("sod: tag 77 holds %d objects, want 1", len(t.Children))
		}
		t = &t.Children[0]
	}
	sd, err := pki.ParseContentInfo(t, pki.MaxChipCertificates)
	if err != nil {
		return nil, fmt.Errorf("sod: %w", err)
	}
	if !sd.ContentType.Equal(asn1der.OIDLDSSecurityObject) && !sd.ContentType.Equal(asn1der.OIDData) {
		return nil, fmt.Errorf("sod: eContentType %v is neither the LDS security object nor id-data", sd.ContentType)
	}
	if sd.Content == nil {
		return nil, fmt.Errorf("sod: no encapsulated content")
	}
	s := &SOD{SignedData: sd, Hashes: map[int][]byte{}}
	if err := s.parseLDSSecurityObject(sd.Content); err != nil {
		return nil, fmt.Errorf("sod: lds security object: %w", err)
	}
	return s, nil
}

func (s *SOD) parseLDSSecurityObject(b []byte) error {
	t, err := asn1der.ParseDER(b, "content")
	if err != nil {
		return err
	}
	if t.Tag != asn1der.TagSequence {
		return fmt.Errorf("tag %s, want a sequence", t.Tag)
	}
	vt, err := asn1der.Child(t, 0, asn1der.TagInteger, "version")
	if err != nil {
		return err
	}
	if s.Version, err = asn1der.DecodeSmallInt(vt, "version"); err != nil {
		return err
	}
	if s.Version != 0 && s.Version != 1 {
		return fmt.Errorf("version %d is neither 0 nor 1", s.Version)
	}
	at, err := asn1der.Child(t, 1, asn1der.TagSequence, "hash algorithm")
	if err != nil {
		return err
	}
	alg, err := asn1der.DecodeAlgID(at, "hash algorithm")
	if err != nil {
		return err
	}
	if s.HashAlgorithm, err = pki.HashFromOID(alg.OID); err != nil {
		return err
	}
	ht, err := asn1der.Child(t, 2, asn1der.TagSequence, "data group hash values")
	if err != nil {
		return err
	}
	if len(ht.Children) == 0 || len(ht.Children) > maxDGHashes {
		return fmt.Errorf("%d data group hashes, want 1..%d", len(ht.Children), maxDGHashes)
	}
	for i := range ht.Children {
		e := &ht.Children[i]
		if e.Tag != asn1der.TagSequence || len(e.Children) != 2 {
			return fmt.Errorf("data group hash at offset %d: malformed", e.Offset)
		}
		n, err := asn1der.DecodeSmallInt(&e.Children[0], "data group number")
		if err != nil {
			return err
		}
		if n < 1 || n > 16 {
			return fmt.Errorf("data group number %d out of range 1..16", n)
		}
		if _, dup := s.Hashes[n]; dup {
			return fmt.Errorf("data group %d hashed twice", n)
		}
		if e.Children[1].Tag != asn1der.TagOctetString {
			return fmt.Errorf("hash of DG%d at offset %d: not an octet string", n, e.Children[1].Offset)
		}
		h := e.Children[1].Value
		if len(h) != s.HashAlgorithm.Size() {
			return fmt.Errorf("hash of DG%d has %d bytes, %s has %d", n, len(h), s.HashAlgorithm, s.HashAlgorithm.Size())
		}
		s.Hashes[n] = h
	}
	if len(t.Children) > 3 && t.Children[3].Tag == asn1der.TagSequence && len(t.Children[3].Children) == 2 {
		s.LDSVersion = string(t.Children[3].Children[0].Value)
		s.UnicodeVersion = string(t.Children[3].Children[1].Value)
	}
	return nil
}

func DGName(n int) string { return fmt.Sprintf("DG%d", n) }
