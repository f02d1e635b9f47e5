package emrtdsim

import (
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"strings"
	"testing"

	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/drivers/emrtd/pa"
	"github.com/edgeid/edgeid/drivers/emrtd/pki"
)

// TestLinkCertificate: a CSCA renews its key; the new key is vouched for by a link
// certificate signed with the old one. A DS issued under the new key chains to the link
// certificate (by key identifier), as master lists distribute them.
func TestLinkCertificate(t *testing.T) {
	o := &DocumentOpts{MRZ: testMRZ, Now: now, Country: "UT", Scheme: ECDSAP256, Rand: rand.Reader}
	oldCSCA, oldKey, err := makeCSCA(o, "CSCA")
	if err != nil {
		t.Fatal(err)
	}
	newCSCA, newKey, err := makeCSCA(o, "CSCA")
	if err != nil {
		t.Fatal(err)
	}
	sn, _ := serial(rand.Reader)
	linkTmpl := &x509.Certificate{
		SerialNumber: sn, Subject: pkix.Name{Country: []string{"UT"}, Organization: []string{"Test Authority"}, CommonName: "CSCA"},
		NotBefore: newCSCA.NotBefore, NotAfter: newCSCA.NotAfter,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign, BasicConstraintsValid: true, IsCA: true,
		SubjectKeyId: newCSCA.SubjectKeyId, AuthorityKeyId: oldCSCA.SubjectKeyId,
	}
	linkDER, err := x509.CreateCertificate(rand.Reader, linkTmpl, oldCSCA, newKey.Public(), oldKey)
	if err != nil {
		t.Fatal(err)
	}
	ds, dsKey, err := makeDS(o, newCSCA, newKey)
	if err != nil {
		t.Fatal(err)
	}
	files := lds.Files{}
	if files["DG1"], err = lds.EncodeDG1(testMRZ); err != nil {
		t.Fatal(err)
	}
	if files["EF.SOD"], err = BuildSOD(files, ds, dsKey, ECDSAP256, rand.Reader); err != nil {
		t.Fatal(err)
	}
	oldC, _ := pki.ParseCertificate(oldCSCA.Raw)
	link, _ := pki.ParseCertificate(linkDER)
	if err := link.CheckSignatureFrom(oldC); err != nil {
		t.Fatalf("link certificate does not verify under the old CSCA: %v", err)
	}

	withLink := pki.NewTrustStore()
	withLink.AddCSCA(oldC, "old.cer")
	withLink.AddCSCA(link, "link.cer")
	r := pa.PassiveAuthentication(files, &pa.PAOpts{Trust: withLink, At: now})
	if c, _ := r.Get(pa.CheckCSCAChain); c.Status != pa.StatusPass || !strings.Contains(c.Reason, "link.cer") {
		t.Errorf("with the link certificate: got %+v\n%s", c, r)
	}
	oldOnly := pki.NewTrustStore()
	oldOnly.AddCSCA(oldC, "old.cer")
	r = pa.PassiveAuthentication(files, &pa.PAOpts{Trust: oldOnly, At: now})
	if c, _ := r.Get(pa.CheckCSCAChain); c.Status != pa.StatusFail {
		t.Errorf("old CSCA only (same name, other key): got %+v", c)
	}
}

// TestForeignCSCA: a trusted CSCA of one country signs a DS certificate that names another
// country's CSCA as issuer; key identifiers match, names do not: the chain fails.
func TestForeignCSCA(t *testing.T) {
	foreign := &DocumentOpts{MRZ: testMRZ, Now: now, Country: "XA", Scheme: ECDSAP256, Rand: rand.Reader}
	csca, key, err := makeCSCA(foreign, "CSCA")
	if err != nil {
		t.Fatal(err)
	}
	// The DS says its issuer is a CSCA of UT.
	fake := *csca
	fake.Subject = pkix.Name{Country: []string{"UT"}, Organization: []string{"Test Authority"}, CommonName: "CSCA"}
	fake.RawSubject = nil
	ds, dsKey, err := makeDS(&DocumentOpts{Now: now, Country: "UT", Scheme: ECDSAP256, Rand: rand.Reader}, &fake, key)
	if err != nil {
		t.Fatal(err)
	}
	files := lds.Files{}
	files["DG1"], _ = lds.EncodeDG1(testMRZ)
	if files["EF.SOD"], err = BuildSOD(files, ds, dsKey, ECDSAP256, rand.Reader); err != nil {
		t.Fatal(err)
	}
	c, _ := pki.ParseCertificate(csca.Raw)
	store := pki.NewTrustStore()
	store.AddCSCA(c, "xa.cer")
	r := pa.PassiveAuthentication(files, &pa.PAOpts{Trust: store, At: now})
	if c, _ := r.Get(pa.CheckCSCAChain); c.Status != pa.StatusFail || !strings.Contains(c.Reason, "names a CSCA of UT") {
		t.Errorf("got %+v\n%s", c, r)
	}
}
