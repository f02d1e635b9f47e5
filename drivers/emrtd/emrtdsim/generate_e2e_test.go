package emrtdsim

import (
	"context"
	"strings"
	"testing"

	"github.com/edgeid/edgeid/drivers/emrtd"
	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
	"github.com/edgeid/edgeid/drivers/emrtd/pa"
)

// TestGeneratedDocumentThroughChip: generated document -> virtual chip -> BAC and PACE reads
// -> Passive Authentication passes and Active Authentication verifies; a document whose DG2
// was altered after signing fails at its hash.
func TestGeneratedDocumentThroughChip(t *testing.T) {
	key, err := mrz.NewKeyFromMRZ(testMRZ)
	if err != nil {
		t.Fatal(err)
	}
	good, err := GenerateDocument(&DocumentOpts{MRZ: testMRZ, Face: testJPEG(t), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	tampered, err := GenerateDocument(&DocumentOpts{MRZ: testMRZ, Face: testJPEG(t), Now: now, Tamper: "DG2"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		doc    *Document
		pace   []PACEOffer
		access string
		pass   bool
	}{
		{"BAC", good, nil, "BAC", true},
		{"PACE brainpoolP256r1 AES-128", good, []PACEOffer{{Cipher: "AES-128", ParamID: 13}}, "PACE", true},
		{"PACE P-256 3DES", good, []PACEOffer{{Cipher: "3DES", ParamID: 12}}, "PACE", true},
		{"tampered DG2 over PACE", tampered, []PACEOffer{{Cipher: "AES-256", ParamID: 16}}, "PACE", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chip, err := New(&Opts{Files: tt.doc.Files, MRZInformation: key.MRZInformation(), BAC: true, PACE: tt.pace, MaxLe: 256, AAKey: tt.doc.AAKey})
			if err != nil {
				t.Fatal(err)
			}
			ro := emrtd.DefaultReadOpts()
			ro.ActiveAuthentication = true
			files, info, err := emrtd.Read(context.Background(), chip, key, &ro)
			if err != nil {
				t.Fatal(err)
			}
			if info.Access != tt.access {
				t.Errorf("access: got %s, want %s", info.Access, tt.access)
			}
			r := pa.PassiveAuthentication(files, &pa.PAOpts{Trust: tt.doc.Trust, At: now})
			if r.Passed() != tt.pass {
				t.Fatalf("passed: got %v, want %v\n%s", r.Passed(), tt.pass, r)
			}
			if !tt.pass {
				if c, _ := r.FirstFailure(); c.Name != "dg-hash DG2" || !strings.Contains(c.Reason, "altered") {
					t.Errorf("first failure: got %+v, want dg-hash DG2", c)
				}
				return
			}
			for _, n := range []string{"dg-hash DG1", "dg-hash DG2", "dg-hash DG15", pa.CheckCSCAChain} {
				if c, _ := r.Get(n); c.Status != pa.StatusPass {
					t.Errorf("%s: got %+v", n, c)
				}
			}
			if info.AA == nil {
				t.Fatalf("no AA exchange: %s", info.AAError)
			}
			pub, err := lds.ParseDG15(files["DG15"])
			if err != nil {
				t.Fatal(err)
			}
			if err := pa.VerifyActiveAuthentication(pub, info.AA.Challenge, info.AA.Signature, nil); err != nil {
				t.Errorf("active authentication: %v", err)
			}
			// A chip without the private key (a clone) cannot answer for another challenge.
			other := append([]byte(nil), info.AA.Challenge...)
			other[0] ^= 0xFF
			if err := pa.VerifyActiveAuthentication(pub, other, info.AA.Signature, nil); err == nil {
				t.Error("a replayed AA signature verified for a new challenge")
			}
		})
	}
}
