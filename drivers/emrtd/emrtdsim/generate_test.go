package emrtdsim

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/drivers/emrtd/pa"
	"github.com/edgeid/edgeid/drivers/emrtd/pki"
)

const testMRZ = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"

func testJPEG(t testing.TB) []byte {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 96, 128))
	for y := 0; y < 128; y++ {
		for x := 0; x < 96; x++ {
			img.SetGray(x, y, color.Gray{Y: uint8(x + y)})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 75}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var now = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

func TestGeneratedDocumentPasses(t *testing.T) {
	for _, scheme := range []SignatureScheme{ECDSAP256, RSAPSS, RSAPKCS1} {
		t.Run(string(scheme), func(t *testing.T) {
			face := testJPEG(t)
			doc, err := GenerateDocument(&DocumentOpts{MRZ: testMRZ, Face: face, Now: now, Scheme: scheme})
			if err != nil {
				t.Fatal(err)
			}
			r := pa.PassiveAuthentication(doc.Files, &pa.PAOpts{Trust: doc.Trust, At: now})
			if !r.Passed() {
				t.Fatalf("generated document does not pass:\n%s", r)
			}
			for _, name := range []string{pa.CheckCSCAChain, pa.CheckSODSignature, pa.CheckMessageDigest, "dg-hash DG1", "dg-hash DG2", "dg-hash DG15"} {
				if c, _ := r.Get(name); c.Status != pa.StatusPass {
					t.Errorf("%s: got %+v, want pass", name, c)
				}
			}
			if c, _ := r.Get(pa.CheckDSRevocation); c.Status != pa.StatusNotApplicable {
				t.Errorf("revocation without a CRL in the store: got %+v", c)
			}
			d, err := lds.ParseDG2(doc.Files["DG2"])
			if err != nil || len(d.Faces) != 1 || !bytes.Equal(d.Faces[0].Image, face) || d.Faces[0].Width != 96 || d.Faces[0].Height != 128 {
				t.Errorf("DG2 round trip: %v %+v", err, d)
			}
			com, err := lds.ParseCOM(doc.Files["EF.COM"])
			if err != nil || strings.Join(com.DataGroups, ",") != "DG1,DG2,DG15" {
				t.Errorf("EF.COM: got %+v, %v", com, err)
			}
		})
	}
}

func TestGeneratedDocumentFailures(t *testing.T) {
	tests := []struct {
		name      string
		opts      DocumentOpts
		check     string
		reason    string
		withCRL   bool
		otherPass []string
	}{
		{"tampered DG1", DocumentOpts{Tamper: "DG1"}, "dg-hash DG1", "altered", false, []string{pa.CheckSODSignature, pa.CheckCSCAChain, "dg-hash DG15"}},
		{"tampered DG2", DocumentOpts{Tamper: "DG2"}, "dg-hash DG2", "altered", false, []string{pa.CheckSODSignature, "dg-hash DG1"}},
		{"wrong DS key", DocumentOpts{WrongDSKey: true}, pa.CheckSODSignature, "signature does not verify", false, []string{pa.CheckMessageDigest, pa.CheckCSCAChain, "dg-hash DG1"}},
		{"expired DS", DocumentOpts{ExpiredDS: true}, pa.CheckDSValidity, "expired on 2026-05-31", false, []string{pa.CheckSODSignature, pa.CheckCSCAChain}},
		{"unknown CSCA", DocumentOpts{UnknownCSCA: true}, pa.CheckCSCAChain, "no trusted CSCA", false, []string{pa.CheckSODSignature, pa.CheckDSValidity}},
		{"revoked DS", DocumentOpts{RevokeDS: true}, pa.CheckDSRevocation, "revoked on 2026-06-01", true, []string{pa.CheckSODSignature, pa.CheckCSCAChain}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.opts
			o.MRZ, o.Face, o.Now = testMRZ, testJPEG(t), now
			doc, err := GenerateDocument(&o)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := doc.TrustFiles["csca.crl"]; ok != tt.withCRL {
				t.Errorf("CRL in the trust files: got %v, want %v", ok, tt.withCRL)
			}
			r := pa.PassiveAuthentication(doc.Files, &pa.PAOpts{Trust: doc.Trust, At: now})
			if r.Passed() {
				t.Fatalf("passed:\n%s", r)
			}
			first, _ := r.FirstFailure()
			if first.Name != tt.check || !strings.Contains(first.Reason, tt.reason) {
				t.Errorf("first failure: got %+v, want %s containing %q\n%s", first, tt.check, tt.reason, r)
			}
			for _, name := range tt.otherPass {
				if c, _ := r.Get(name); c.Status != pa.StatusPass {
					t.Errorf("%s: got %+v, want pass", name, c)
				}
			}
		})
	}
}

func TestGeneratedTrustFolderAndDump(t *testing.T) {
	doc, err := GenerateDocument(&DocumentOpts{MRZ: testMRZ, Now: now, RevokeDS: true, AAKey: AANone})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	trustDir := filepath.Join(dir, "trust")
	os.Mkdir(trustDir, 0o700)
	for n, b := range doc.TrustFiles {
		if err := os.WriteFile(filepath.Join(trustDir, n), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	store, err := pki.LoadTrustStore(trustDir)
	if err != nil {
		t.Fatal(err)
	}
	if store.Len() != 1 || len(store.CRLs()) != 1 {
		t.Errorf("trust folder: got %d CSCAs and %d CRLs, want 1 and 1", store.Len(), len(store.CRLs()))
	}
	if err := doc.Files.WriteDump(filepath.Join(dir, "dump")); err != nil {
		t.Fatal(err)
	}
	files, err := lds.LoadDump(filepath.Join(dir, "dump"))
	if err != nil {
		t.Fatal(err)
	}
	r := pa.PassiveAuthentication(files, &pa.PAOpts{Trust: store, At: now})
	if c, _ := r.Get(pa.CheckDSRevocation); c.Status != pa.StatusFail {
		t.Errorf("revocation from a trust folder: got %+v\n%s", c, r)
	}
	// The DS certificate names its parts in another order than its issuer; the SOD's signer
	// identifier must still find it.
	ds, _ := x509.ParseCertificate(doc.DS)
	if ds.Subject.String() == ds.Issuer.String() {
		t.Error("DS and CSCA names unexpectedly equal")
	}
}

func TestActiveAuthentication(t *testing.T) {
	challenge := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	for _, kt := range []AAKeyType{AARSA1024, AAECP256} {
		t.Run(string(kt), func(t *testing.T) {
			doc, err := GenerateDocument(&DocumentOpts{MRZ: testMRZ, Now: now, AAKey: kt})
			if err != nil {
				t.Fatal(err)
			}
			pub, err := lds.ParseDG15(doc.Files["DG15"])
			if err != nil {
				t.Fatal(err)
			}
			var info *lds.ActiveAuthenticationInfo
			if dg14, ok := doc.Files["DG14"]; ok {
				si, err := lds.ParseSecurityInfos(dg14)
				if err != nil || len(si.ActiveAuth) != 1 {
					t.Fatalf("DG14: %v %+v", err, si)
				}
				info = &si.ActiveAuth[0]
			}
			resp, err := SignActiveAuthentication(doc.AAKey, challenge, rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			if err := pa.VerifyActiveAuthentication(pub, challenge, resp, info); err != nil {
				t.Errorf("valid response: %v", err)
			}
			other := []byte{1, 2, 3, 4, 5, 6, 7, 9}
			if err := pa.VerifyActiveAuthentication(pub, other, resp, info); err == nil {
				t.Error("response to another challenge verified")
			}
			bad := append([]byte(nil), resp...)
			bad[len(bad)/2] ^= 1
			if err := pa.VerifyActiveAuthentication(pub, challenge, bad, info); err == nil {
				t.Error("corrupted response verified")
			}
		})
	}
}

func TestActiveAuthenticationSampleKey(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "..", "shared", "emrtd-samples", "DE_BSI_TR03105-5_RefDataSet_HJP")
	skDER, err := os.ReadFile(filepath.Join(dir, "DG15_sk.pkcs8"))
	if err != nil {
		t.Skipf("shared specimen data absent (../shared next to the repository): %v", err)
	}
	dg15, err := os.ReadFile(filepath.Join(dir, "Datagroup15.bin"))
	if err != nil {
		t.Fatal(err)
	}
	sk, err := x509.ParsePKCS8PrivateKey(skDER)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := lds.ParseDG15(dg15)
	if err != nil {
		t.Fatal(err)
	}
	challenge := []byte("\x11\x22\x33\x44\x55\x66\x77\x88")
	resp, err := SignActiveAuthentication(sk.(crypto.Signer), challenge, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if err := pa.VerifyActiveAuthentication(pub, challenge, resp, nil); err != nil {
		t.Errorf("specimen DG15 key: %v", err)
	}
}

func TestCorruptCRLFailsRevocation(t *testing.T) {
	doc, err := GenerateDocument(&DocumentOpts{MRZ: testMRZ, Now: now, AAKey: AANone})
	if err != nil {
		t.Fatal(err)
	}
	crl, err := pki.ParseCRL(doc.CRL)
	if err != nil {
		t.Fatal(err)
	}
	if len(crl.Revoked) != 0 {
		t.Fatalf("fresh CRL lists %d entries", len(crl.Revoked))
	}
	crl.Signature = append([]byte(nil), crl.Signature...)
	crl.Signature[len(crl.Signature)-3] ^= 0x10
	doc.Trust.AddCRL(crl)
	r := pa.PassiveAuthentication(doc.Files, &pa.PAOpts{Trust: doc.Trust, At: now})
	if c, _ := r.Get(pa.CheckDSRevocation); c.Status != pa.StatusFail || !strings.Contains(c.Reason, "does not verify") {
		t.Errorf("corrupt CRL: got %+v", c)
	}
	// The intact CRL next to it settles the question.
	good, _ := pki.ParseCRL(doc.CRL)
	doc.Trust.AddCRL(good)
	r = pa.PassiveAuthentication(doc.Files, &pa.PAOpts{Trust: doc.Trust, At: now})
	if c, _ := r.Get(pa.CheckDSRevocation); c.Status != pa.StatusPass {
		t.Errorf("with an intact CRL as well: got %+v", c)
	}
}

func TestGenerateJPEG2000Face(t *testing.T) {
	// A JP2 file header (signature, ftyp, jp2h with ihdr 480x640) and a stand-in codestream
	// of 16 KB: the generator takes encoded bytes and never decodes them.
	jp2 := []byte{0, 0, 0, 0x0C, 'j', 'P', ' ', ' ', 0x0D, 0x0A, 0x87, 0x0A,
		0, 0, 0, 0x14, 'f', 't', 'y', 'p', 'j', 'p', '2', ' ', 0, 0, 0, 0, 'j', 'p', '2', ' ',
		0, 0, 0, 0x2D, 'j', 'p', '2', 'h', 0, 0, 0, 0x16, 'i', 'h', 'd', 'r', 0, 0, 2, 0x80, 0, 0, 1, 0xE0, 0, 3, 7, 7, 0, 0}
	jp2 = append(jp2, bytes.Repeat([]byte{0xA5}, 16<<10)...)
	doc, err := GenerateDocument(&DocumentOpts{MRZ: testMRZ, Face: jp2, Now: now, AAKey: AANone})
	if err != nil {
		t.Fatal(err)
	}
	d, err := lds.ParseDG2(doc.Files["DG2"])
	if err != nil {
		t.Fatal(err)
	}
	if f := d.Faces[0]; f.Format != lds.ImageJPEG2000 || f.Width != 480 || f.Height != 640 || len(f.Image) != len(jp2) {
		t.Errorf("got %s %dx%d %d bytes", f.Format, f.Width, f.Height, len(f.Image))
	}
	if _, err := GenerateDocument(&DocumentOpts{MRZ: testMRZ, Face: []byte("GIF89a"), Now: now, AAKey: AANone}); err == nil {
		t.Error("a GIF face was accepted")
	}
	if _, err := GenerateDocument(&DocumentOpts{MRZ: "P<UTO", Now: now}); err == nil {
		t.Error("a short MRZ was accepted")
	}
}

func TestReportActiveAuthentication(t *testing.T) {
	challenge := []byte{8, 7, 6, 5, 4, 3, 2, 1}
	for _, kt := range []AAKeyType{AARSA1024, AAECP256} {
		doc, err := GenerateDocument(&DocumentOpts{MRZ: testMRZ, Now: now, AAKey: kt})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := SignActiveAuthentication(doc.AAKey, challenge, rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		bad := append([]byte(nil), resp...)
		bad[3] ^= 1
		tampered := lds.Files{}
		for k, v := range doc.Files {
			tampered[k] = v
		}
		other, err := GenerateDocument(&DocumentOpts{MRZ: testMRZ, Now: now, AAKey: kt})
		if err != nil {
			t.Fatal(err)
		}
		tampered["DG15"] = other.Files["DG15"] // a cloner's own key
		cloneResp, _ := SignActiveAuthentication(other.AAKey, challenge, rand.Reader)
		tests := []struct {
			name   string
			files  lds.Files
			resp   []byte
			status pa.Status
			reason string
		}{
			{"genuine", doc.Files, resp, pa.StatusPass, "proved"},
			{"corrupted response", doc.Files, bad, pa.StatusFail, "clone"},
			{"not run", doc.Files, nil, pa.StatusNotApplicable, "not run"},
			{"cloner's DG15", tampered, cloneResp, pa.StatusFail, "not authenticated by the SOD"},
		}
		for _, tt := range tests {
			r := pa.PassiveAuthentication(tt.files, &pa.PAOpts{Trust: doc.Trust, At: now})
			r.AddActiveAuthentication(tt.files, challenge, tt.resp)
			if c, _ := r.Get(pa.CheckActiveAuth); c.Status != tt.status || !strings.Contains(c.Reason, tt.reason) {
				t.Errorf("%s/%s: got %+v, want %s containing %q", kt, tt.name, c, tt.status, tt.reason)
			}
		}
	}
	noAA, err := GenerateDocument(&DocumentOpts{MRZ: testMRZ, Now: now, AAKey: AANone})
	if err != nil {
		t.Fatal(err)
	}
	r := pa.PassiveAuthentication(noAA.Files, &pa.PAOpts{Trust: noAA.Trust, At: now})
	r.AddActiveAuthentication(noAA.Files, challenge, []byte{1})
	if c, _ := r.Get(pa.CheckActiveAuth); c.Status != pa.StatusNotApplicable || !r.Passed() {
		t.Errorf("no DG15: got %+v", c)
	}
}
