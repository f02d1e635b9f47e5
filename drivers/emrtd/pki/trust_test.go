package pki

import (
	"encoding/pem"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeid/edgeid/drivers/internal/sharedtest"
)

func TestMasterListsVerify(t *testing.T) {
	dir := sharedtest.Dir(t, "trust")
	tests := []struct {
		ml, root string
		n        int
	}{
		{"DE_ML_2026-05-28-08-28-45.ml", "DE_ROOT_CA_CSCA07.cer", 588},
		{"NL_ML_2026-07-22.ml", "NL_ROOT_CA.cer", 411},
	}
	for _, tt := range tests {
		t.Run(tt.ml, func(t *testing.T) {
			ml, err := ParseMasterList(sharedtest.Read(t, "trust", tt.ml))
			if err != nil {
				t.Fatal(err)
			}
			if len(ml.CSCAs) != tt.n {
				t.Errorf("got %d CSCAs, want %d", len(ml.CSCAs), tt.n)
			}
			root, err := ParseCertificate(sharedtest.Read(t, "trust", tt.root))
			if err != nil {
				t.Fatal(err)
			}
			if err := ml.Verify([]*Certificate{root}); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
	s, err := LoadTrustStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	// The two lists hold 588 + 411 certificates; 627 of them are distinct DER encodings (an
	// independent count with encoding/asn1 agrees). ../shared/trust/README.md says 692.
	if s.Len() != 627 {
		t.Errorf("trust store: got %d distinct certificates, want 627", s.Len())
	}
	if got := s.Source(s.CSCAs()[0]); got == "" {
		t.Error("no source recorded for a trusted certificate")
	}
	// A master list alone, without a root it chains to, is refused.
	if _, err := LoadTrustStore(filepath.Join(dir, "NL_ML_2026-07-22.ml")); err == nil {
		t.Error("master list without its root: got no error")
	}
}

// TestMasterListCertificateSignatures verifies every certificate of the real lists against
// its issuer in the same store: self-signed CSCAs against themselves, link certificates
// against the older CSCA. This exercises RSA PKCS#1 v1.5, RSA-PSS, ECDSA on NIST and
// brainpool curves with named and explicit parameters.
func TestMasterListCertificateSignatures(t *testing.T) {
	s, err := LoadTrustStore(sharedtest.Dir(t, "trust"))
	if err != nil {
		t.Fatal(err)
	}
	var verified, noIssuer int
	algs := map[string]int{}
	seen := map[string]bool{}
	for _, c := range s.CSCAs() {
		if raceEnabled {
			// One certificate per signature algorithm and issuer key type is enough to
			// look for races; the full sweep runs without the race detector.
			k := c.SignatureAlgorithm.OID.String() + KeyDescription(c.PublicKey)
			if seen[k] {
				continue
			}
			seen[k] = true
		}
		iss, err := FindIssuer(c, s.CSCAs())
		if err != nil {
			if strings.Contains(err.Error(), "does not verify") {
				t.Errorf("%s: %v", c, err)
			} else {
				noIssuer++
			}
			continue
		}
		sc, _ := ResolveSig(c.SignatureAlgorithm, 0)
		algs[sc.String()+" / "+KeyDescription(iss.PublicKey)]++
		verified++
	}
	t.Logf("%d verified, %d without their issuer in the store; by algorithm: %v", verified, noIssuer, algs)
	if verified < 30 || !raceEnabled && verified < 600 {
		t.Errorf("only %d of %d certificates verified against an issuer in the store", verified, s.Len())
	}
}

func TestParseTrustFilePEM(t *testing.T) {
	der := sharedtest.Read(t, "trust", "NL_ROOT_CA.cer")
	one := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	two := append(append([]byte("comment\n"), one...), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: sharedtest.Read(t, "trust", "DE_ROOT_CA_CSCA07.cer")})...)
	tests := []struct {
		name  string
		in    []byte
		kind  TrustFileKind
		certs int
		err   string
	}{
		{"DER certificate", der, KindCertificates, 1, ""},
		{"PEM certificate", one, KindCertificates, 1, ""},
		{"PEM bundle", two, KindCertificates, 2, ""},
		{"PEM without certificate", []byte("-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n"), "", 0, "no PEM certificate"},
		{"garbage", []byte("hello"), "", 0, "neither a certificate"},
		{"bad PEM certificate", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte{0x30, 0x00}}), "", 0, "certificate"},
	}
	for _, tt := range tests {
		tf, err := ParseTrustFile(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil || tf.Kind != tt.kind || len(tf.Certificates) != tt.certs {
			t.Errorf("%s: got %+v, %v", tt.name, tf, err)
		}
	}
}
