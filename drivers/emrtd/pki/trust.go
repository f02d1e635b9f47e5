package pki

import (
	"bytes"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/edgeid/edgeid/drivers/emrtd/asn1der"
	"github.com/edgeid/edgeid/drivers/internal/readcap"
)

// MaxTrustFileSize caps one trust-store file (master lists run to about a megabyte).
const MaxTrustFileSize = 16 << 20

// maxChainDepth bounds the certificates between a master-list signer and a root.
const maxChainDepth = 4

// MasterList is an ICAO CSCA master list: a CMS SignedData whose content lists CSCA
// certificates, signed by a master-list signer certificate issued by a CSCA.
type MasterList struct {
	SignedData *SignedData
	CSCAs      []*Certificate
	// Signer is the signer certificate found in the SignedData, nil if absent.
	Signer *Certificate
}

// ParseMasterList parses a master list (.ml file: CMS ContentInfo).
func ParseMasterList(b []byte) (*MasterList, error) {
	sd, err := ParseSignedData(b)
	if err != nil {
		return nil, fmt.Errorf("master list: %w", err)
	}
	if !sd.ContentType.Equal(asn1der.OIDCSCAMasterList) {
		return nil, fmt.Errorf("master list: eContentType %v is not the CSCA master list OID", sd.ContentType)
	}
	t, err := asn1der.ParseDER(sd.Content, "master list content")
	if err != nil {
		return nil, fmt.Errorf("master list: %w", err)
	}
	if t.Tag != asn1der.TagSequence || len(t.Children) != 2 || t.Children[1].Tag != asn1der.TagSet {
		return nil, errors.New("master list: content is not SEQUENCE { version, SET OF Certificate }")
	}
	ml := &MasterList{SignedData: sd}
	set := &t.Children[1]
	if len(set.Children) > maxCMSCertificates {
		return nil, fmt.Errorf("master list: more than %d certificates", maxCMSCertificates)
	}
	for i := range set.Children {
		c, err := parseCertificate(&set.Children[i])
		if err != nil {
			return nil, fmt.Errorf("master list: certificate %d: %w", i+1, err)
		}
		ml.CSCAs = append(ml.CSCAs, c)
	}
	if len(sd.Signers) != 1 {
		return nil, fmt.Errorf("master list: %d signers, want 1", len(sd.Signers))
	}
	ml.Signer = FindSigner(&sd.Signers[0], sd.Certificates)
	return ml, nil
}

// Verify checks the master list's message digest and signature, and that its signer
// certificate chains (possibly through certificates carried in the list's SignedData) to
// one of roots.
func (ml *MasterList) Verify(roots []*Certificate) error {
	si := &ml.SignedData.Signers[0]
	if ml.Signer == nil {
		return fmt.Errorf("master list: %s not among the %d certificates it carries", si, len(ml.SignedData.Certificates))
	}
	if err := ml.SignedData.CheckMessageDigest(si); err != nil {
		return fmt.Errorf("master list: %w", err)
	}
	if err := ml.SignedData.CheckSignature(si, ml.Signer); err != nil {
		return fmt.Errorf("master list: signature: %w", err)
	}
	if _, err := chainTo(ml.Signer, roots, ml.SignedData.Certificates); err != nil {
		return fmt.Errorf("master list: signer %s: %w", ml.Signer.Subject, err)
	}
	return nil
}

// issuerCandidate reports whether cand may have issued c: matching key identifiers when
// both are present, else matching names.
func issuerCandidate(c, cand *Certificate) bool {
	if len(c.AuthorityKeyID) > 0 && len(cand.SubjectKeyID) > 0 {
		return bytes.Equal(c.AuthorityKeyID, cand.SubjectKeyID)
	}
	return c.Issuer.Equal(cand.Subject)
}

// findIssuer returns the first candidate that may have issued c and whose key verifies c's signature.
func FindIssuer(c *Certificate, cands []*Certificate) (*Certificate, error) {
	var lastErr error
	for _, cand := range cands {
		if !issuerCandidate(c, cand) {
			continue
		}
		if err := c.CheckSignatureFrom(cand); err != nil {
			lastErr = err
			continue
		}
		return cand, nil
	}
	if lastErr != nil {
		return nil, fmt.Errorf("issuer found but the signature does not verify: %w", lastErr)
	}
	if len(c.AuthorityKeyID) > 0 {
		return nil, fmt.Errorf("none has key id %X or, lacking key ids, the name %s", c.AuthorityKeyID, c.Issuer)
	}
	return nil, fmt.Errorf("none has the name %s", c.Issuer)
}

// chainTo builds a path from c to one of roots, through intermediates when needed.
func chainTo(c *Certificate, roots, intermediates []*Certificate) ([]*Certificate, error) {
	path := []*Certificate{c}
	cur := c
	for depth := 0; depth < maxChainDepth; depth++ {
		if r, err := FindIssuer(cur, roots); err == nil {
			return append(path, r), nil
		}
		next, err := FindIssuer(cur, intermediates)
		if err != nil || next == cur || next.SelfSigned() {
			return nil, fmt.Errorf("does not chain to a trusted root")
		}
		path = append(path, next)
		cur = next
	}
	return nil, fmt.Errorf("chain longer than %d certificates", maxChainDepth)
}

// TrustStore holds the CSCA certificates (trust anchors) and CRLs used by Passive
// Authentication. Every certificate in it is trusted: CSCA self-signed and link certificates
// alike, as ICAO master lists distribute them. Build it first, then share it: reading is
// safe from many goroutines, adding while others read is not.
type TrustStore struct {
	cscas   []*Certificate
	sources map[string]string // fingerprint -> where it came from
	crls    []*CRL
}

// NewTrustStore returns an empty trust store.
func NewTrustStore() *TrustStore {
	return &TrustStore{sources: map[string]string{}}
}

// AddCSCA adds a trusted certificate; it returns false if it was already present.
func (s *TrustStore) AddCSCA(c *Certificate, source string) bool {
	fp := c.Fingerprint()
	if _, dup := s.sources[fp]; dup {
		return false
	}
	s.sources[fp] = source
	s.cscas = append(s.cscas, c)
	return true
}

// AddCRL adds a CRL. Its signature is checked when it is used, against the CSCA it names.
func (s *TrustStore) AddCRL(c *CRL) { s.crls = append(s.crls, c) }

// CSCAs returns the trusted certificates in the order added.
func (s *TrustStore) CSCAs() []*Certificate { return s.cscas }

// CRLs returns the CRLs.
func (s *TrustStore) CRLs() []*CRL { return s.crls }

// Source tells where a trusted certificate came from (file name, master list).
func (s *TrustStore) Source(c *Certificate) string { return s.sources[c.Fingerprint()] }

// Len is the number of distinct trusted certificates.
func (s *TrustStore) Len() int { return len(s.cscas) }

// TrustFileKind is what a trust-store file holds.
type TrustFileKind string

// Kinds of trust files.
const (
	KindCertificates TrustFileKind = "certificates"
	KindMasterList   TrustFileKind = "master list"
	KindCRL          TrustFileKind = "crl"
)

// TrustFile is one parsed trust-store file.
type TrustFile struct {
	Kind         TrustFileKind
	Certificates []*Certificate // for KindCertificates
	MasterList   *MasterList    // for KindMasterList
	CRL          *CRL           // for KindCRL
}

// ParseTrustFile recognises and parses a PEM or DER certificate (or several PEM blocks), a
// master list or a CRL.
func ParseTrustFile(b []byte) (*TrustFile, error) {
	if bytes.Contains(b, []byte("-----BEGIN ")) {
		tf := &TrustFile{Kind: KindCertificates}
		rest := b
		for {
			var blk *pem.Block
			blk, rest = pem.Decode(rest)
			if blk == nil {
				break
			}
			switch blk.Type {
			case "CERTIFICATE":
				c, err := ParseCertificate(blk.Bytes)
				if err != nil {
					return nil, err
				}
				tf.Certificates = append(tf.Certificates, c)
			case "X509 CRL":
				crl, err := ParseCRL(blk.Bytes)
				if err != nil {
					return nil, err
				}
				if tf.CRL != nil {
					return nil, errors.New("more than one CRL in a PEM file: import them one by one")
				}
				tf.CRL = crl
			case "CMS", "PKCS7":
				return ParseTrustFile(blk.Bytes)
			}
		}
		switch {
		case len(tf.Certificates) == 0 && tf.CRL == nil:
			return nil, errors.New("no PEM certificate or CRL found")
		case len(tf.Certificates) > 0 && tf.CRL != nil:
			return nil, errors.New("a PEM file with both certificates and a CRL: import them separately")
		case tf.CRL != nil:
			tf.Kind = KindCRL
		}
		return tf, nil
	}
	if c, err := ParseCertificate(b); err == nil {
		return &TrustFile{Kind: KindCertificates, Certificates: []*Certificate{c}}, nil
	} else if ml, mlErr := ParseMasterList(b); mlErr == nil {
		return &TrustFile{Kind: KindMasterList, MasterList: ml}, nil
	} else if crl, crlErr := ParseCRL(b); crlErr == nil {
		return &TrustFile{Kind: KindCRL, CRL: crl}, nil
	} else {
		return nil, fmt.Errorf("neither a certificate (%v), a master list (%v) nor a CRL (%v)", err, mlErr, crlErr)
	}
}

// LoadTrustStore builds a trust store from files and folders (not recursive). Certificate
// files are trusted as given: they are the roots a deployment checked out of band. Master
// lists are added only when their signature verifies and their signer chains to one of
// those certificates (or to a CSCA from a master list verified before). CRLs are added as is.
func LoadTrustStore(paths ...string) (*TrustStore, error) {
	type entry struct {
		name string
		tf   *TrustFile
	}
	var files []entry
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("trust: %w", err)
		}
		names := []string{p}
		if st.IsDir() {
			ents, err := os.ReadDir(p)
			if err != nil {
				return nil, fmt.Errorf("trust: %w", err)
			}
			names = names[:0]
			for _, e := range ents {
				if e.Type().IsRegular() && !strings.HasPrefix(e.Name(), ".") && isTrustFileName(e.Name()) {
					names = append(names, filepath.Join(p, e.Name()))
				}
			}
		}
		for _, n := range names {
			b, err := readcap.File(n, MaxTrustFileSize)
			if err != nil {
				return nil, fmt.Errorf("trust: %w", err)
			}
			tf, err := ParseTrustFile(b)
			if err != nil {
				return nil, fmt.Errorf("trust: %s: %w", n, err)
			}
			files = append(files, entry{n, tf})
		}
	}
	s := NewTrustStore()
	var lists []entry
	for _, f := range files {
		switch f.tf.Kind {
		case KindCertificates:
			for _, c := range f.tf.Certificates {
				s.AddCSCA(c, filepath.Base(f.name))
			}
		case KindCRL:
			s.AddCRL(f.tf.CRL)
		case KindMasterList:
			lists = append(lists, f)
		}
	}
	// Verify master lists; one may be signed under a CSCA that another list brings in.
	for len(lists) > 0 {
		var pending []entry
		var errs []error
		for _, f := range lists {
			if err := f.tf.MasterList.Verify(s.cscas); err != nil {
				pending = append(pending, f)
				errs = append(errs, fmt.Errorf("%s: %w", f.name, err))
				continue
			}
			for _, c := range f.tf.MasterList.CSCAs {
				s.AddCSCA(c, filepath.Base(f.name))
			}
		}
		if len(pending) == len(lists) {
			return nil, fmt.Errorf("trust: %w", errors.Join(errs...))
		}
		lists = pending
	}
	return s, nil
}

// isTrustFileName accepts the usual extensions of certificates, CRLs and master lists.
func isTrustFileName(n string) bool {
	switch strings.ToLower(filepath.Ext(n)) {
	case ".pem", ".cer", ".crt", ".der", ".ml", ".crl":
		return true
	}
	return false
}

// SortedByCountry returns the trusted certificates sorted by country then subject.
func (s *TrustStore) SortedByCountry() []*Certificate {
	out := append([]*Certificate(nil), s.cscas...)
	sort.SliceStable(out, func(i, j int) bool {
		ci, cj := out[i].Subject.Country(), out[j].Subject.Country()
		if ci != cj {
			return ci < cj
		}
		return out[i].Subject.String() < out[j].Subject.String()
	})
	return out
}
