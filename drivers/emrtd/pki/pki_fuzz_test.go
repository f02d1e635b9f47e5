package pki

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/edgeid/edgeid/drivers/internal/sharedtest"
)

func FuzzParseCertificate(f *testing.F) {
	sharedtest.AddSample(f, "emrtd-samples/DE_BDR_TEST_2008_Mustermann", "DSC_from_SOD.der", MaxTrustFileSize)
	sharedtest.AddSample(f, "emrtd-samples/DE_BSI_TR03105-5_RefDataSet_HJP", "DSC_from_SOD.der", MaxTrustFileSize)
	sharedtest.AddSample(f, "trust", "NL_ROOT_CA.cer", MaxTrustFileSize)
	f.Add([]byte{0x30, 0x03, 0x30, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseCertificate(b)
		if err != nil {
			return
		}
		_ = c.String()
		_ = c.CheckSignatureFrom(c)
	})
}

func FuzzParsePublicKeyInfo(f *testing.F) {
	if b := sharedtest.Sample("emrtd-samples/DE_BSI_TR03105-5_RefDataSet_HJP", "Datagroup15.bin", MaxTrustFileSize); len(b) > 3 {
		f.Add(b[3:])
	}
	if c, err := ParseCertificate(sharedtest.Sample("emrtd-samples/DE_BDR_TEST_2008_Mustermann", "DSC_from_SOD.der", MaxTrustFileSize)); err == nil {
		f.Add(c.RawSPKI)
	}
	f.Add([]byte{0x30, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		k, err := ParsePublicKeyInfo(b)
		if err != nil {
			return
		}
		if ec, ok := k.(*ECPublicKey); ok && !onCurve(ec.Curve, ec.X, ec.Y) {
			t.Fatal("accepted a point off the curve")
		}
		_ = KeyDescription(k)
	})
}

func FuzzParseCRL(f *testing.F) {
	f.Add([]byte{0x30, 0x03, 0x30, 0x01, 0x00})
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{Country: []string{"UT"}, CommonName: "CSCA"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCRLSign | x509.KeyUsageCertSign, SubjectKeyId: []byte{1, 2, 3}}
	crl, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{Number: big.NewInt(1),
		ThisUpdate: time.Unix(1e9, 0), NextUpdate: time.Unix(2e9, 0),
		RevokedCertificateEntries: []x509.RevocationListEntry{{SerialNumber: big.NewInt(7), RevocationTime: time.Unix(1e9, 0)}}}, ca, key)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(crl)
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := ParseCRL(b); err == nil {
			_, _ = c.IsRevoked(big.NewInt(1))
		}
	})
}

func FuzzParseTrustFile(f *testing.F) {
	sharedtest.AddSample(f, "trust", "DE_ROOT_CA_CSCA07.cer", MaxTrustFileSize)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseTrustFile(b) })
}
