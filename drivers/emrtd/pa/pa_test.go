package pa

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/drivers/emrtd/pki"
	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
	"github.com/edgeid/edgeid/drivers/internal/sharedtest"
)

func TestPassiveAuthenticationSamples(t *testing.T) {
	for _, dir := range []string{"DE_BSI_TR03105-5_RefDataSet_HJP", "DE_BDR_TEST_2008_Mustermann", "NL_Sdu_specimen_2006_Meulendijk", "DE_ETSI_TR103200_EACAA"} {
		t.Run(dir, func(t *testing.T) {
			files, err := lds.LoadDump(sharedtest.Dir(t, filepath.Join("emrtd-samples", dir)))
			if err != nil {
				t.Fatal(err)
			}
			// Check at a time inside each DS certificate's validity: the middle of it.
			sod, err := lds.ParseSOD(files["EF.SOD"])
			if err != nil {
				t.Fatal(err)
			}
			ds := sod.SignedData.Certificates[0]
			at := ds.NotBefore.Add(ds.NotAfter.Sub(ds.NotBefore) / 2)
			r := PassiveAuthentication(files, &PAOpts{At: at})
			if !r.Passed() {
				t.Errorf("not passed:\n%s", r)
			}
			want := map[string]Status{
				CheckSODParse: StatusPass, CheckDSCertificate: StatusPass, CheckMessageDigest: StatusPass,
				CheckSODSignature: StatusPass, CheckDSValidity: StatusPass, CheckCSCAChain: StatusNotApplicable,
				CheckCSCAValidity: StatusNotApplicable, CheckDSRevocation: StatusNotApplicable, "dg-hash DG1": StatusPass,
			}
			for name, st := range want {
				if c, ok := r.Get(name); !ok || c.Status != st {
					t.Errorf("%s: got %+v, want %s", name, c, st)
				}
			}
			// Today the DS certificates have expired.
			r = PassiveAuthentication(files, &PAOpts{At: time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)})
			if c, _ := r.Get(CheckDSValidity); c.Status != StatusFail || !strings.Contains(c.Reason, "expired") {
				t.Errorf("in 2040: got %+v, want an expired DS", c)
			}
			// SOD alone: data group checks not applicable, still passes.
			r = PassiveAuthentication(lds.Files{"EF.SOD": files["EF.SOD"]}, &PAOpts{At: at})
			if c, _ := r.Get(CheckDGHashPrefix + "*"); c.Status != StatusNotApplicable || !r.Passed() {
				t.Errorf("SOD alone: got %+v, passed %v", c, r.Passed())
			}
		})
	}
}

func TestPassiveAuthenticationSamplesRealTrust(t *testing.T) {
	store, err := pki.LoadTrustStore(sharedtest.Dir(t, "trust"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := lds.LoadDump(sharedtest.Dir(t, "emrtd-samples/NL_Sdu_specimen_2006_Meulendijk"))
	if err != nil {
		t.Fatal(err)
	}
	r := PassiveAuthentication(files, &PAOpts{Trust: store, At: time.Date(2007, 1, 1, 0, 0, 0, 0, time.UTC)})
	if c, _ := r.Get(CheckCSCAChain); c.Status != StatusFail || !strings.Contains(c.Reason, "no trusted CSCA") {
		t.Errorf("specimen against the real lists: got %+v, want a chain failure", c)
	}
	if c, _ := r.Get(CheckSODSignature); c.Status != StatusPass {
		t.Errorf("signature: got %+v", c)
	}
}

func TestPassiveAuthenticationBadInput(t *testing.T) {
	files, err := lds.LoadDump(sharedtest.Dir(t, "emrtd-samples/NL_Sdu_specimen_2006_Meulendijk"))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2007, 1, 1, 0, 0, 0, 0, time.UTC)
	tampered := lds.Files{}
	for k, v := range files {
		tampered[k] = v
	}
	dg1 := append([]byte(nil), files["DG1"]...)
	dg1[10] ^= 1
	tampered["DG1"] = dg1
	tampered["DG3"] = []byte{0x63, 0x00}
	r := PassiveAuthentication(tampered, &PAOpts{At: at})
	if c, _ := r.Get("dg-hash DG1"); c.Status != StatusFail || !strings.Contains(c.Reason, "altered") {
		t.Errorf("tampered DG1: got %+v", c)
	}
	if c, _ := r.Get("dg-hash DG3"); c.Status != StatusNotApplicable || !strings.Contains(c.Reason, "not authenticated") {
		t.Errorf("DG3 not in the SOD: got %+v", c)
	}
	if c, _ := r.Get("dg-hash DG2"); c.Status != StatusPass {
		t.Errorf("untouched DG2: got %+v", c)
	}
	if r.Passed() {
		t.Error("tampered document passed")
	}
	sod := append([]byte(nil), files["EF.SOD"]...)
	sod[len(sod)-5] ^= 0x40 // inside the signature value
	r = PassiveAuthentication(lds.Files{"EF.SOD": sod}, &PAOpts{At: at})
	if c, _ := r.Get(CheckSODSignature); c.Status != StatusFail || !strings.Contains(c.Reason, "signature does not verify") {
		t.Errorf("flipped signature bit: got %+v", c)
	}
	r = PassiveAuthentication(lds.Files{"EF.SOD": sod[:100]}, &PAOpts{At: at})
	if c, _ := r.Get(CheckSODParse); c.Status != StatusFail || r.Passed() {
		t.Errorf("truncated SOD: got %+v", c)
	}
	r = PassiveAuthentication(lds.Files{"DG1": files["DG1"]}, &PAOpts{At: at})
	if c, _ := r.Get(CheckSODParse); c.Status != StatusFail || !strings.Contains(c.Reason, "missing") {
		t.Errorf("no SOD: got %+v", c)
	}
}

func FuzzParseSOD(f *testing.F) {
	for _, dir := range []string{"NL_Sdu_specimen_2006_Meulendijk", "DE_BDR_TEST_2008_Mustermann"} {
		if p, ok := sharedtest.Path(filepath.Join("emrtd-samples", dir)); ok {
			if b, err := lds.LoadDump(p); err == nil {
				f.Add(b["EF.SOD"])
			}
		}
	}
	f.Add([]byte{0x77, 0x80, 0x30, 0x80, 0x00, 0x00, 0x00, 0x00})
	f.Add(tlv.EncodeTLV(0x77, tlv.EncodeConstructed(0x30, tlv.EncodeTLV(0x06, []byte{0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02}))))
	f.Fuzz(func(t *testing.T, b []byte) {
		sod, err := lds.ParseSOD(b)
		if err != nil {
			return
		}
		for n, h := range sod.Hashes {
			if n < 1 || n > 16 || len(h) != sod.HashAlgorithm.Size() {
				t.Fatalf("bad hash entry %d (%d bytes)", n, len(h))
			}
		}
		// The full check must not panic either.
		_ = PassiveAuthentication(lds.Files{"EF.SOD": b}, &PAOpts{At: time.Unix(0, 0)})
	})
}

func FuzzParseMasterList(f *testing.F) {
	f.Add([]byte{0x30, 0x80, 0x06, 0x09, 0x2A, 0x86, 0x48, 0x86, 0xF7, 0x0D, 0x01, 0x07, 0x02, 0x00, 0x00})
	if p, ok := sharedtest.Path("emrtd-samples/NL_Sdu_specimen_2006_Meulendijk"); ok {
		if b, err := lds.LoadDump(p); err == nil {
			f.Add(b["EF.SOD"][4:])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ml, err := pki.ParseMasterList(b)
		if err != nil {
			return
		}
		_ = ml.Verify(ml.CSCAs)
	})
}
