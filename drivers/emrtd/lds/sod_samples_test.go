package lds

import (
	"crypto"
	"path/filepath"
	"testing"

	"github.com/edgeid/edgeid/drivers/emrtd/pki"
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
				b, ok := files[DGName(n)]
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
