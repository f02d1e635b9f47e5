package lds

import (
	"encoding/asn1"
	"math/big"
	"strings"
	"testing"

	"github.com/edgeid/edgeid/drivers/emrtd/pki"
	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
	"github.com/edgeid/edgeid/drivers/internal/sharedtest"
)

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
