package pki

import (
	"fmt"
	"math/big"
	"time"

	"github.com/edgeid/edgeid/drivers/emrtd/asn1der"
)

// maxCRLEntries bounds the revoked certificates taken from one CRL.
const maxCRLEntries = 1 << 16

// CRL is an X.509 certificate revocation list (as a CSCA issues for its DS certificates).
type CRL struct {
	Raw, RawTBS        []byte
	Issuer             Name
	ThisUpdate         time.Time
	NextUpdate         time.Time // zero if absent
	Revoked            []RevokedCertificate
	SignatureAlgorithm asn1der.AlgorithmIdentifier
	Signature          []byte
	AuthorityKeyID     []byte
}

// RevokedCertificate is one CRL entry.
type RevokedCertificate struct {
	SerialNumber *big.Int
	RevokedAt    time.Time
}

// ParseCRL parses one DER CRL.
func ParseCRL(der []byte) (*CRL, error) {
	t, err := asn1der.ParseDER(der, "crl")
	if err != nil {
		return nil, err
	}
	if t.Tag != asn1der.TagSequence || len(t.Children) != 3 {
		return nil, fmt.Errorf("crl: not a sequence of three")
	}
	c := &CRL{Raw: t.Raw}
	tbs := &t.Children[0]
	if tbs.Tag != asn1der.TagSequence {
		return nil, fmt.Errorf("crl: tbsCertList is not a sequence")
	}
	c.RawTBS = tbs.Raw
	if c.SignatureAlgorithm, err = asn1der.DecodeAlgID(&t.Children[1], "crl signature algorithm"); err != nil {
		return nil, fmt.Errorf("crl: %w", err)
	}
	if c.Signature, err = asn1der.BitStringBytes(&t.Children[2], "crl signature"); err != nil {
		return nil, fmt.Errorf("crl: %w", err)
	}
	i := 0
	if len(tbs.Children) > 0 && tbs.Children[0].Tag == asn1der.TagInteger {
		i++
	}
	if _, err := asn1der.Child(tbs, i, asn1der.TagSequence, "crl signature"); err != nil {
		return nil, fmt.Errorf("crl: %w", err)
	}
	i++
	it, err := asn1der.Child(tbs, i, asn1der.TagSequence, "crl issuer")
	if err != nil {
		return nil, fmt.Errorf("crl: %w", err)
	}
	if c.Issuer, err = parseName(it, "crl issuer"); err != nil {
		return nil, fmt.Errorf("crl: %w", err)
	}
	i++
	tt, err := asn1der.Child(tbs, i, 0, "crl thisUpdate")
	if err != nil {
		return nil, fmt.Errorf("crl: %w", err)
	}
	if c.ThisUpdate, err = asn1der.DecodeTime(tt, "crl thisUpdate"); err != nil {
		return nil, fmt.Errorf("crl: %w", err)
	}
	i++
	if i < len(tbs.Children) && (tbs.Children[i].Tag == asn1der.TagUTCTime || tbs.Children[i].Tag == asn1der.TagGenTime) {
		if c.NextUpdate, err = asn1der.DecodeTime(&tbs.Children[i], "crl nextUpdate"); err != nil {
			return nil, fmt.Errorf("crl: %w", err)
		}
		i++
	}
	if i < len(tbs.Children) && tbs.Children[i].Tag == asn1der.TagSequence {
		rl := &tbs.Children[i]
		if len(rl.Children) > maxCRLEntries {
			return nil, fmt.Errorf("crl: more than %d entries", maxCRLEntries)
		}
		for j := range rl.Children {
			e := &rl.Children[j]
			if e.Tag != asn1der.TagSequence || len(e.Children) < 2 {
				return nil, fmt.Errorf("crl: entry at offset %d malformed", e.Offset)
			}
			sn, err := asn1der.DecodeInt(&e.Children[0], "crl entry serial")
			if err != nil {
				return nil, fmt.Errorf("crl: %w", err)
			}
			at, err := asn1der.DecodeTime(&e.Children[1], "crl entry date")
			if err != nil {
				return nil, fmt.Errorf("crl: %w", err)
			}
			c.Revoked = append(c.Revoked, RevokedCertificate{SerialNumber: sn, RevokedAt: at})
		}
		i++
	}
	if i < len(tbs.Children) && tbs.Children[i].Tag == 0xA0 && len(tbs.Children[i].Children) == 1 {
		exts := &tbs.Children[i].Children[0]
		for j := range exts.Children {
			e := &exts.Children[j]
			if e.Tag != asn1der.TagSequence || len(e.Children) < 2 {
				continue
			}
			oid, err := asn1der.DecodeOID(&e.Children[0], "crl extension")
			if err != nil || !oid.Equal(asn1der.OIDExtAKI) {
				continue
			}
			v := &e.Children[len(e.Children)-1]
			if in, err := asn1der.ParseDER(v.Value, "crl authority key id"); err == nil {
				if k, ok := in.Find(0x80); ok {
					c.AuthorityKeyID = k.Value
				}
			}
		}
	}
	return c, nil
}

// CheckSignatureFrom verifies that issuer signed the CRL.
func (c *CRL) CheckSignatureFrom(issuer *Certificate) error {
	if issuer.PublicKey == nil {
		return fmt.Errorf("issuer key unusable: %w", issuer.PublicKeyErr)
	}
	s, err := ResolveSig(c.SignatureAlgorithm, 0)
	if err != nil {
		return err
	}
	return VerifySig(issuer.PublicKey, s, c.RawTBS, c.Signature)
}

// IsRevoked returns the entry for serial, if listed.
func (c *CRL) IsRevoked(serial *big.Int) (RevokedCertificate, bool) {
	for _, r := range c.Revoked {
		if r.SerialNumber.Cmp(serial) == 0 {
			return r, true
		}
	}
	return RevokedCertificate{}, false
}
