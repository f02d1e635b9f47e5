package emrtdsim

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"testing"

	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/drivers/emrtd/pa"
	"github.com/edgeid/edgeid/drivers/emrtd/pki"
	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
)

func TestVerifyCardSecurity(t *testing.T) {
	doc, err := GenerateDocument(&DocumentOpts{MRZ: testMRZ, Now: now, AAKey: AANone})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := x509.ParseCertificate(doc.DS)
	if err != nil {
		t.Fatal(err)
	}
	oid, _ := asn1.Marshal(asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 4, 2, 2})
	infos := tlv.EncodeConstructed(0x31, tlv.EncodeConstructed(0x30, oid, tlv.EncodeTLV(0x02, []byte{2}), tlv.EncodeTLV(0x02, []byte{13})))
	cs, err := BuildCardSecurity(infos, ds, doc.DSKey, ECDSAP256, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	si, r := pa.VerifyCardSecurity(cs, &pa.PAOpts{Trust: doc.Trust, At: now})
	if !r.Passed() || si == nil || len(si.PACE) != 1 || si.PACE[0].ParameterID != 13 {
		t.Fatalf("got %+v\n%s", si, r)
	}
	if c, _ := r.Get(pa.CheckCSCAChain); c.Status != pa.StatusPass {
		t.Errorf("chain: got %+v", c)
	}
	// The PACE parameter id changed after signing: 0x0D -> 0x0C.
	bad := bytes.Replace(cs, []byte{0x02, 0x01, 0x0D}, []byte{0x02, 0x01, 0x0C}, 1)
	if _, r := pa.VerifyCardSecurity(bad, &pa.PAOpts{Trust: doc.Trust, At: now}); r.Passed() {
		t.Error("altered EF.CardSecurity passed")
	} else if c, _ := r.FirstFailure(); c.Name != pa.CheckMessageDigest {
		t.Errorf("altered content: first failure %+v, want message-digest", c)
	}
	if _, r := pa.VerifyCardSecurity(cs, &pa.PAOpts{Trust: pki.NewTrustStore(), At: now}); !r.Passed() {
		t.Errorf("empty trust store: chain should be not applicable\n%s", r)
	}
	if _, r := pa.VerifyCardSecurity(cs[:40], nil); r.Passed() {
		t.Error("truncated EF.CardSecurity passed")
	}
}

func TestPassiveAuthenticationWithCardSecurity(t *testing.T) {
	doc, err := GenerateDocument(&DocumentOpts{MRZ: testMRZ, Now: now, AAKey: AANone})
	if err != nil {
		t.Fatal(err)
	}
	ds, _ := x509.ParseCertificate(doc.DS)
	oid, _ := asn1.Marshal(asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 4, 2, 2})
	infos := tlv.EncodeConstructed(0x31, tlv.EncodeConstructed(0x30, oid, tlv.EncodeTLV(0x02, []byte{2}), tlv.EncodeTLV(0x02, []byte{13})))
	other, err := GenerateDocument(&DocumentOpts{MRZ: testMRZ, Now: now, AAKey: AANone})
	if err != nil {
		t.Fatal(err)
	}
	otherDS, _ := x509.ParseCertificate(other.DS)
	tests := []struct {
		name string
		ds   *x509.Certificate
		key  crypto.Signer
		pass bool
	}{
		{"same PKI", ds, doc.DSKey, true},
		{"signed under another CSCA", otherDS, other.DSKey, false},
	}
	for _, tt := range tests {
		cs, err := BuildCardSecurity(infos, tt.ds, tt.key, ECDSAP256, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		files := lds.Files{}
		for k, v := range doc.Files {
			files[k] = v
		}
		files["EF.CardSecurity"] = cs
		r := pa.PassiveAuthentication(files, &pa.PAOpts{Trust: doc.Trust, At: now})
		if r.Passed() != tt.pass {
			t.Errorf("%s: passed %v, want %v\n%s", tt.name, r.Passed(), tt.pass, r)
		}
		if c, ok := r.Get(pa.CheckCardSecurity + " " + pa.CheckCSCAChain); !ok || (c.Status == pa.StatusPass) != tt.pass {
			t.Errorf("%s: card security chain: got %+v", tt.name, c)
		}
	}
}
