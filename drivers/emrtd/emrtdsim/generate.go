// Package emrtdsim provides test doubles for package emrtd: a generator of test documents
// (data groups and an EF.SOD signed under a generated PKI) and a virtual chip.
package emrtdsim

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sort"
	"time"

	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/drivers/emrtd/pki"
	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
)

// SignatureScheme selects the DS and CSCA keys and the SOD signature algorithm.
type SignatureScheme string

// Supported schemes.
const (
	ECDSAP256 SignatureScheme = "ecdsa-p256"
	RSAPKCS1  SignatureScheme = "rsa-pkcs1"
	RSAPSS    SignatureScheme = "rsa-pss"
)

// AAKeyType selects the Active Authentication key put in DG15.
type AAKeyType string

// Active Authentication key types.
const (
	AANone    AAKeyType = "none"
	AARSA1024 AAKeyType = "rsa-1024"
	AAECP256  AAKeyType = "ec-p256"
)

// DocumentOpts describes the test document to build.
type DocumentOpts struct {
	// MRZ is the machine readable zone, lines separated by a newline or not.
	MRZ string
	// Face is an encoded JPEG or JPEG2000 image for DG2; its size is read from its header.
	Face []byte
	// Country is the two-letter country of the generated CSCA and DS ("UT" if empty).
	Country string
	// Now is the reference time: certificates are valid around it (time.Now() if zero).
	Now time.Time
	// Scheme is the signature scheme of the PKI (ECDSAP256 if empty).
	Scheme SignatureScheme
	// AAKey is the Active Authentication key (AARSA1024 if empty).
	AAKey AAKeyType
	// Rand is the randomness source (crypto/rand if nil).
	Rand io.Reader

	// Tamper names a file ("DG1", "DG2" ...) altered after the SOD was signed.
	Tamper string
	// ExpiredDS makes the DS certificate expire a day before Now.
	ExpiredDS bool
	// UnknownCSCA signs the DS certificate with a CSCA that is not in Trust.
	UnknownCSCA bool
	// RevokeDS puts the DS certificate on a CRL of the CSCA included in Trust.
	RevokeDS bool
	// WrongDSKey signs the SOD with a key other than the DS certificate's.
	WrongDSKey bool
}

// Document is a generated test document and the PKI around it.
type Document struct {
	Files lds.Files
	// CSCA is the trusted CSCA certificate (DER); with UnknownCSCA the DS was issued by
	// another one, UnknownCSCACert.
	CSCA, UnknownCSCACert []byte
	CSCAKey               crypto.Signer
	DS                    []byte
	DSKey                 crypto.Signer
	// CRL is the CSCA's CRL (DER), listing the DS when RevokeDS is set.
	CRL []byte
	// AAKey is the chip's Active Authentication private key (nil with AANone).
	AAKey crypto.Signer
	// Trust holds CSCA (and CRL); TrustFiles is the same as files for a trust folder.
	Trust      *pki.TrustStore
	TrustFiles map[string][]byte
}

// GenerateDocument builds a document: DG1, DG2, DG15 (and DG14 for an EC AA key), EF.COM
// and an EF.SOD signed by a fresh DS certificate chained to a fresh CSCA.
func GenerateDocument(opts *DocumentOpts) (*Document, error) {
	o := *opts
	if o.Country == "" {
		o.Country = "UT"
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Scheme == "" {
		o.Scheme = ECDSAP256
	}
	if o.AAKey == "" {
		o.AAKey = AARSA1024
	}
	if o.Rand == nil {
		o.Rand = rand.Reader
	}
	doc := &Document{Files: lds.Files{}, TrustFiles: map[string][]byte{}}

	dg1, err := lds.EncodeDG1(o.MRZ)
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	doc.Files["DG1"] = dg1
	dgs := []string{"DG1"}
	if len(o.Face) > 0 {
		w, h, err := lds.ImageSize(o.Face)
		if err != nil {
			return nil, fmt.Errorf("generate: face image: %w", err)
		}
		dg2, err := lds.EncodeDG2([]lds.FaceImage{{Format: lds.SniffImage(o.Face), Width: w, Height: h, Image: o.Face}})
		if err != nil {
			return nil, fmt.Errorf("generate: %w", err)
		}
		doc.Files["DG2"] = dg2
		dgs = append(dgs, "DG2")
	}
	if err := generateAA(&o, doc, &dgs); err != nil {
		return nil, err
	}
	com, err := lds.EncodeCOM(dgs)
	if err != nil {
		return nil, fmt.Errorf("generate: %w", err)
	}
	doc.Files["EF.COM"] = com

	// PKI.
	csca, cscaKey, err := makeCSCA(&o, "CSCA")
	if err != nil {
		return nil, err
	}
	doc.CSCA, doc.CSCAKey = csca.Raw, cscaKey
	issuer, issuerKey := csca, cscaKey
	if o.UnknownCSCA {
		other, otherKey, err := makeCSCA(&o, "CSCA")
		if err != nil {
			return nil, err
		}
		doc.UnknownCSCACert = other.Raw
		issuer, issuerKey = other, otherKey
	}
	ds, dsKey, err := makeDS(&o, issuer, issuerKey)
	if err != nil {
		return nil, err
	}
	doc.DS, doc.DSKey = ds.Raw, dsKey
	var revoked []x509.RevocationListEntry
	if o.RevokeDS {
		revoked = append(revoked, x509.RevocationListEntry{SerialNumber: ds.SerialNumber, RevocationTime: o.Now.Add(-time.Hour)})
	}
	crl, err := x509.CreateRevocationList(o.Rand, &x509.RevocationList{
		Number: big.NewInt(1), ThisUpdate: o.Now.Add(-2 * time.Hour), NextUpdate: o.Now.Add(90 * 24 * time.Hour),
		RevokedCertificateEntries: revoked, SignatureAlgorithm: sigAlg(o.Scheme),
	}, csca, cscaKey)
	if err != nil {
		return nil, fmt.Errorf("generate: crl: %w", err)
	}
	doc.CRL = crl

	signKey := dsKey
	if o.WrongDSKey {
		if signKey, err = newKey(o.Scheme, o.Rand); err != nil {
			return nil, err
		}
	}
	sod, err := BuildSOD(doc.Files, ds, signKey, o.Scheme, o.Rand)
	if err != nil {
		return nil, err
	}
	doc.Files["EF.SOD"] = sod

	if o.Tamper != "" {
		b, ok := doc.Files[o.Tamper]
		if !ok || len(b) < 3 {
			return nil, fmt.Errorf("generate: cannot tamper with %q: not generated", o.Tamper)
		}
		b = append([]byte(nil), b...)
		b[len(b)-1] ^= 0x01
		doc.Files[o.Tamper] = b
	}

	// Trust material.
	doc.Trust = pki.NewTrustStore()
	c, err := pki.ParseCertificate(csca.Raw)
	if err != nil {
		return nil, fmt.Errorf("generate: own CSCA does not parse: %w", err)
	}
	doc.Trust.AddCSCA(c, "csca.cer")
	doc.TrustFiles["csca.cer"] = csca.Raw
	if o.RevokeDS {
		pc, err := pki.ParseCRL(crl)
		if err != nil {
			return nil, fmt.Errorf("generate: own CRL does not parse: %w", err)
		}
		doc.Trust.AddCRL(pc)
		doc.TrustFiles["csca.crl"] = crl
	}
	return doc, nil
}

func sigAlg(s SignatureScheme) x509.SignatureAlgorithm {
	switch s {
	case RSAPKCS1:
		return x509.SHA256WithRSA
	case RSAPSS:
		return x509.SHA256WithRSAPSS
	}
	return x509.ECDSAWithSHA256
}

func newKey(s SignatureScheme, r io.Reader) (crypto.Signer, error) {
	switch s {
	case ECDSAP256:
		return ecdsa.GenerateKey(elliptic.P256(), r)
	case RSAPKCS1, RSAPSS:
		return rsa.GenerateKey(r, 2048)
	}
	return nil, fmt.Errorf("generate: unknown signature scheme %q", s)
}

func serial(r io.Reader) (*big.Int, error) {
	b := make([]byte, 8)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	b[0] &= 0x7F
	b[0] |= 0x01
	return new(big.Int).SetBytes(b), nil
}

func keyID(pub crypto.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil
	}
	h := crypto.SHA1.New()
	h.Write(der)
	return h.Sum(nil)
}

func makeCSCA(o *DocumentOpts, cn string) (*x509.Certificate, crypto.Signer, error) {
	key, err := newKey(o.Scheme, o.Rand)
	if err != nil {
		return nil, nil, err
	}
	sn, err := serial(o.Rand)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          sn,
		Subject:               pkix.Name{Country: []string{o.Country}, Organization: []string{"Test Authority"}, CommonName: cn},
		NotBefore:             o.Now.AddDate(-5, 0, 0),
		NotAfter:              o.Now.AddDate(10, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true, IsCA: true, MaxPathLen: 0, MaxPathLenZero: true,
		SubjectKeyId:       keyID(key.Public()),
		SignatureAlgorithm: sigAlg(o.Scheme),
	}
	der, err := x509.CreateCertificate(o.Rand, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, nil, fmt.Errorf("generate: csca: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	return c, key, err
}

func makeDS(o *DocumentOpts, csca *x509.Certificate, cscaKey crypto.Signer) (*x509.Certificate, crypto.Signer, error) {
	key, err := newKey(o.Scheme, o.Rand)
	if err != nil {
		return nil, nil, err
	}
	sn, err := serial(o.Rand)
	if err != nil {
		return nil, nil, err
	}
	nb, na := o.Now.AddDate(0, -1, 0), o.Now.AddDate(0, 3, 0)
	if o.ExpiredDS {
		nb, na = o.Now.AddDate(-1, 0, 0), o.Now.Add(-24*time.Hour)
	}
	// Name parts in a different order from the CSCA's, as real DS certificates have.
	tmpl := &x509.Certificate{
		SerialNumber: sn,
		Subject: pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
			{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "Document Signer"},
			{Type: asn1.ObjectIdentifier{2, 5, 4, 10}, Value: "Test Authority"},
			{Type: asn1.ObjectIdentifier{2, 5, 4, 6}, Value: o.Country},
		}},
		NotBefore: nb, NotAfter: na,
		KeyUsage:           x509.KeyUsageDigitalSignature,
		SubjectKeyId:       keyID(key.Public()),
		AuthorityKeyId:     csca.SubjectKeyId,
		SignatureAlgorithm: sigAlg(o.Scheme),
	}
	der, err := x509.CreateCertificate(o.Rand, tmpl, csca, key.Public(), cscaKey)
	if err != nil {
		return nil, nil, fmt.Errorf("generate: ds: %w", err)
	}
	c, err := x509.ParseCertificate(der)
	return c, key, err
}

var (
	oidSHA256         = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidLDSSecurity    = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 1}
	oidSignedData     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidContentType    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidSigningTime    = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 5}
	oidSecurityObject = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 3, 2, 1}
	oidECDSASHA256    = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidRSASHA256      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidRSAPSS         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidMGF1           = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
)

func mustMarshal(v any) []byte {
	b, err := asn1.Marshal(v)
	if err != nil {
		panic(err) // only called on fixed, well-formed values
	}
	return b
}

func algID(oid asn1.ObjectIdentifier, params ...[]byte) []byte {
	parts := [][]byte{mustMarshal(oid)}
	parts = append(parts, params...)
	return tlv.EncodeConstructed(0x30, parts...)
}

// BuildSOD makes an EF.SOD over the data groups in files ("DG1".."DG16"), SHA-256 hashes,
// signed by key under the DS certificate ds, with contentType, signingTime and
// messageDigest signed attributes.
func BuildSOD(files lds.Files, ds *x509.Certificate, key crypto.Signer, scheme SignatureScheme, r io.Reader) ([]byte, error) {
	var hashes [][]byte
	for n := 1; n <= 16; n++ {
		b, ok := files[fmt.Sprintf("DG%d", n)]
		if !ok {
			continue
		}
		h := crypto.SHA256.New()
		h.Write(b)
		hashes = append(hashes, tlv.EncodeConstructed(0x30, mustMarshal(n), tlv.EncodeTLV(0x04, h.Sum(nil))))
	}
	if len(hashes) == 0 {
		return nil, errors.New("generate: no data group to sign")
	}
	sha256ID := algID(oidSHA256, []byte{0x05, 0x00})
	lds := tlv.EncodeConstructed(0x30, mustMarshal(0), sha256ID, tlv.EncodeConstructed(0x30, hashes...))
	ci, err := buildSignedData(oidLDSSecurity, lds, ds, key, scheme, r)
	if err != nil {
		return nil, err
	}
	return tlv.EncodeTLV(0x77, ci), nil
}

// BuildCardSecurity makes an EF.CardSecurity: securityInfos (a DER SET OF SecurityInfo)
// signed by key under ds.
func BuildCardSecurity(securityInfos []byte, ds *x509.Certificate, key crypto.Signer, scheme SignatureScheme, r io.Reader) ([]byte, error) {
	return buildSignedData(oidSecurityObject, securityInfos, ds, key, scheme, r)
}

// buildSignedData makes a CMS ContentInfo with SignedData over content.
func buildSignedData(contentType asn1.ObjectIdentifier, content []byte, ds *x509.Certificate, key crypto.Signer, scheme SignatureScheme, r io.Reader) ([]byte, error) {
	sha256ID := algID(oidSHA256, []byte{0x05, 0x00})
	md := crypto.SHA256.New()
	md.Write(content)
	attrs := [][]byte{
		tlv.EncodeConstructed(0x30, mustMarshal(oidContentType), tlv.EncodeConstructed(0x31, mustMarshal(contentType))),
		tlv.EncodeConstructed(0x30, mustMarshal(oidSigningTime), tlv.EncodeConstructed(0x31, mustMarshal(ds.NotBefore.UTC().Add(time.Hour)))),
		tlv.EncodeConstructed(0x30, mustMarshal(oidMessageDigest), tlv.EncodeConstructed(0x31, tlv.EncodeTLV(0x04, md.Sum(nil)))),
	}
	sort.Slice(attrs, func(i, j int) bool { return bytes.Compare(attrs[i], attrs[j]) < 0 }) // DER SET OF order
	signedSet := tlv.EncodeConstructed(0x31, attrs...)
	digest := crypto.SHA256.New()
	digest.Write(signedSet)
	var sig, sigAlgID []byte
	var err error
	switch scheme {
	case ECDSAP256:
		sig, err = key.Sign(r, digest.Sum(nil), crypto.SHA256)
		sigAlgID = algID(oidECDSASHA256)
	case RSAPKCS1:
		sig, err = key.Sign(r, digest.Sum(nil), crypto.SHA256)
		sigAlgID = algID(oidRSASHA256, []byte{0x05, 0x00})
	case RSAPSS:
		sig, err = key.Sign(r, digest.Sum(nil), &rsa.PSSOptions{SaltLength: 32, Hash: crypto.SHA256})
		params := tlv.EncodeConstructed(0x30,
			tlv.EncodeConstructed(0xA0, sha256ID),
			tlv.EncodeConstructed(0xA1, algID(oidMGF1, sha256ID)),
			tlv.EncodeConstructed(0xA2, mustMarshal(32)))
		sigAlgID = algID(oidRSAPSS, params)
	default:
		return nil, fmt.Errorf("generate: unknown signature scheme %q", scheme)
	}
	if err != nil {
		return nil, fmt.Errorf("generate: sign sod: %w", err)
	}
	signedAttrs := append([]byte(nil), signedSet...)
	signedAttrs[0] = 0xA0
	signerInfo := tlv.EncodeConstructed(0x30,
		mustMarshal(1),
		tlv.EncodeConstructed(0x30, ds.RawIssuer, mustMarshal(ds.SerialNumber)),
		sha256ID, signedAttrs, sigAlgID, tlv.EncodeTLV(0x04, sig))
	signedData := tlv.EncodeConstructed(0x30,
		mustMarshal(3),
		tlv.EncodeConstructed(0x31, sha256ID),
		tlv.EncodeConstructed(0x30, mustMarshal(contentType), tlv.EncodeConstructed(0xA0, tlv.EncodeTLV(0x04, content))),
		tlv.EncodeConstructed(0xA0, ds.Raw),
		tlv.EncodeConstructed(0x31, signerInfo))
	return tlv.EncodeConstructed(0x30, mustMarshal(oidSignedData), tlv.EncodeConstructed(0xA0, signedData)), nil
}
