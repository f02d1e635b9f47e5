package emrtd

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"path/filepath"
	"testing"
	"time"
)

// sampleFile returns a shared specimen file for a fuzz seed, or nil when ../shared is absent.
func sampleFile(dir, name string) []byte {
	b, err := readCapped(filepath.Join("..", "..", "..", "shared", dir, name), MaxTrustFileSize)
	if err != nil {
		return nil
	}
	return b
}

func addSeed(f *testing.F, b []byte) {
	if b != nil {
		f.Add(b)
	}
}

func FuzzParseCertificate(f *testing.F) {
	addSeed(f, sampleFile("emrtd-samples/DE_BDR_TEST_2008_Mustermann", "DSC_from_SOD.der"))
	addSeed(f, sampleFile("emrtd-samples/DE_BSI_TR03105-5_RefDataSet_HJP", "DSC_from_SOD.der"))
	addSeed(f, sampleFile("trust", "NL_ROOT_CA.cer"))
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
	if b := sampleFile("emrtd-samples/DE_BSI_TR03105-5_RefDataSet_HJP", "Datagroup15.bin"); len(b) > 3 {
		f.Add(b[3:])
	}
	if c, err := ParseCertificate(sampleFile("emrtd-samples/DE_BDR_TEST_2008_Mustermann", "DSC_from_SOD.der")); err == nil {
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

func FuzzParseCOM(f *testing.F) {
	addSeed(f, sampleFile("emrtd-samples/DE_BSI_TR03105-5_RefDataSet_HJP", "EF_COM.bin"))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseCOM(b) })
}

func FuzzParseAdditional(f *testing.F) {
	addSeed(f, sampleFile("emrtd-samples/DE_BDR_TEST_2008_Mustermann/extra_from_tsemrtd_not_in_SOD", "EF_DG11.bin"))
	addSeed(f, sampleFile("emrtd-samples/DE_BDR_TEST_2008_Mustermann/extra_from_tsemrtd_not_in_SOD", "EF_DG12.bin"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, err := ParseAdditional(b); err == nil {
			for tag := range d.Elements {
				_ = d.Text(tag)
			}
		}
	})
}

func FuzzParseDG15(f *testing.F) {
	addSeed(f, sampleFile("emrtd-samples/NL_Sdu_specimen_2006_Meulendijk", "DG15.bin"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if k, err := ParseDG15(b); err == nil {
			_ = VerifyActiveAuthentication(k, []byte{1, 2, 3, 4, 5, 6, 7, 8}, b, nil)
		}
	})
}

func FuzzParseTrustFile(f *testing.F) {
	addSeed(f, sampleFile("trust", "DE_ROOT_CA_CSCA07.cer"))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, b []byte) { _, _ = ParseTrustFile(b) })
}

func FuzzVerifyCardSecurity(f *testing.F) {
	f.Add([]byte{0x30, 0x80, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02, 0x00, 0x00})
	if b := sampleFile("emrtd-samples/NL_Sdu_specimen_2006_Meulendijk", "EF_SOD.bin"); len(b) > 4 {
		f.Add(b[4:])
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		si, r := VerifyCardSecurity(b, nil)
		if si == nil && r.Passed() {
			t.Fatal("passed without security infos")
		}
	})
}
