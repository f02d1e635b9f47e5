package emrtd

import (
	"crypto"
	"encoding/asn1"
	"math/big"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeid/edgeid/drivers/emrtd/pki"
	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
	"github.com/edgeid/edgeid/drivers/internal/sharedtest"
)

func TestSODSamples(t *testing.T) {
	tests := []struct {
		dir     string
		hash    crypto.Hash
		dgs     int
		keyDesc string
		checked int // data groups present in the folder and in the SOD
	}{
		{"DE_BSI_TR03105-5_RefDataSet_HJP", crypto.SHA256, 5, "RSA 2048", 5},
		{"DE_BDR_TEST_2008_Mustermann", crypto.SHA1, 4, "EC brainpoolP224r1 (explicit parameters)", 4},
		{"NL_Sdu_specimen_2006_Meulendijk", crypto.SHA256, 3, "RSA 2048", 3},
		{"DE_ETSI_TR103200_EACAA", crypto.SHA256, 6, "RSA 2048", 3},
	}
	for _, tt := range tests {
		t.Run(tt.dir, func(t *testing.T) {
			dir := sharedtest.Dir(t, filepath.Join("emrtd-samples", tt.dir))
			files, err := LoadDump(dir)
			if err != nil {
				t.Fatal(err)
			}
			sod, err := ParseSOD(files["EF.SOD"])
			if err != nil {
				t.Fatalf("ParseSOD: %v", err)
			}
			if sod.HashAlgorithm != tt.hash || len(sod.Hashes) != tt.dgs {
				t.Errorf("got %s with %d hashes, want %s with %d", sod.HashAlgorithm, len(sod.Hashes), tt.hash, tt.dgs)
			}
			sd := sod.SignedData
			if len(sd.Signers) != 1 || len(sd.Certificates) != 1 {
				t.Fatalf("got %d signers and %d certificates, want 1 and 1", len(sd.Signers), len(sd.Certificates))
			}
			si := &sd.Signers[0]
			cert := pki.FindSigner(si, sd.Certificates)
			if cert == nil {
				t.Fatalf("signer %s not found among %v", si, sd.Certificates)
			}
			if got := pki.KeyDescription(cert.PublicKey); got != tt.keyDesc {
				t.Errorf("DS key: got %q (%v), want %q", got, cert.PublicKeyErr, tt.keyDesc)
			}
			if err := sd.CheckMessageDigest(si); err != nil {
				t.Errorf("CheckMessageDigest: %v", err)
			}
			if err := sd.CheckSignature(si, cert); err != nil {
				t.Errorf("CheckSignature: %v", err)
			}
			checked := 0
			for n, want := range sod.Hashes {
				b, ok := files[dgName(n)]
				if !ok {
					continue
				}
				checked++
				h := sod.HashAlgorithm.New()
				h.Write(b)
				if got := h.Sum(nil); string(got) != string(want) {
					t.Errorf("DG%d hash mismatch", n)
				}
			}
			if checked != tt.checked {
				t.Errorf("compared %d data group hashes, want %d", checked, tt.checked)
			}
		})
	}
}

func TestSignerIdentifiesReorderedName(t *testing.T) {
	sod, err := ParseSOD(sharedtest.Read(t, "emrtd-samples/NL_Sdu_specimen_2006_Meulendijk", "EF_SOD.bin"))
	if err != nil {
		t.Fatal(err)
	}
	si := sod.SignedData.Signers[0]
	cert := sod.SignedData.Certificates[0]
	rev := make(pki.Name, len(si.IssuerName))
	for i, a := range si.IssuerName {
		a.Value = " " + strings.ToUpper(a.Value) + " "
		rev[len(rev)-1-i] = a
	}
	tests := []struct {
		name string
		mod  func(*pki.SignerInfo)
		want bool
	}{
		{"as encoded", func(*pki.SignerInfo) {}, true},
		{"parts reversed, case and spaces changed", func(s *pki.SignerInfo) { s.IssuerName = rev }, true},
		{"one part missing", func(s *pki.SignerInfo) { s.IssuerName = si.IssuerName[1:] }, false},
		{"other serial", func(s *pki.SignerInfo) { s.SerialNumber = new(big.Int).Add(si.SerialNumber, big.NewInt(1)) }, false},
		{"key id instead", func(s *pki.SignerInfo) { s.SubjectKeyID = cert.SubjectKeyID }, len(cert.SubjectKeyID) > 0},
		{"wrong key id", func(s *pki.SignerInfo) { s.SubjectKeyID = []byte{1, 2, 3} }, false},
	}
	for _, tt := range tests {
		s := si
		tt.mod(&s)
		if got := s.Identifies(cert); got != tt.want {
			t.Errorf("%s: Identifies got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSODCertificateBound(t *testing.T) {
	b := sharedtest.Read(t, "emrtd-samples/NL_Sdu_specimen_2006_Meulendijk", "EF_SOD.bin")
	top, err := tlv.ParseTLVExpect(b, 0x77)
	if err != nil {
		t.Fatal(err)
	}
	// 77 { 30 { 06, A0 { 30 { version, digests, content, A0 certificates, signers } } } }
	sd := &top.Children[0].Children[1].Children[0]
	certs, ok := sd.Find(0xA0)
	if !ok || len(certs.Children) != 1 {
		t.Fatalf("certificates not where expected: %v", ok)
	}
	for len(certs.Children) <= pki.MaxChipCertificates {
		certs.Children = append(certs.Children, certs.Children[0])
	}
	_, err = ParseSOD(top.Encode())
	if err == nil || !strings.Contains(err.Error(), "more than 8 certificates") {
		t.Errorf("SOD with %d certificates: got %v", len(certs.Children), err)
	}
	many := make([][]byte, maxSecurityInfos+1)
	ta, err := asn1.Marshal(oidTA)
	if err != nil {
		t.Fatal(err)
	}
	for i := range many {
		many[i] = tlv.EncodeConstructed(0x30, ta, tlv.EncodeTLV(0x02, []byte{1}))
	}
	if _, err := ParseSecurityInfos(tlv.EncodeConstructed(0x31, many...)); err == nil || !strings.Contains(err.Error(), "more than 64") {
		t.Errorf("65 security infos: got %v", err)
	}
}
