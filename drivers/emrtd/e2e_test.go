package emrtd_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgeid/edgeid/drivers/emrtd"
	"github.com/edgeid/edgeid/drivers/emrtd/emrtdsim"
	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
	"github.com/edgeid/edgeid/drivers/emrtd/pa"
)

// ICAO's fictitious Utopia specimen (ICAO 9303-4), no real person.
const e2eMRZ = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"

func e2eFace(t testing.TB) []byte {
	img := image.NewGray(image.Rect(0, 0, 120, 160))
	for y := range 160 {
		for x := range 120 {
			img.SetGray(x, y, color.Gray{Y: uint8(x*y + y)})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Generated document -> virtual chip -> BAC or PACE read -> Passive Authentication and
// Active Authentication against what was read.
func TestEndToEnd(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	face := e2eFace(t)
	key, err := mrz.NewKeyFromMRZ(e2eMRZ)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		doc      emrtdsim.DocumentOpts
		pace     []emrtdsim.PACEOffer
		wantFail string // first failing PA check; "" = pass
	}{
		{"BAC, RSA AA", emrtdsim.DocumentOpts{AAKey: emrtdsim.AARSA1024}, nil, ""},
		{"PACE brainpoolP256r1, ECDSA AA", emrtdsim.DocumentOpts{AAKey: emrtdsim.AAECP256}, []emrtdsim.PACEOffer{{Cipher: "AES-128", ParamID: 13}}, ""},
		{"PACE P-384 AES-256", emrtdsim.DocumentOpts{}, []emrtdsim.PACEOffer{{Cipher: "AES-256", ParamID: 15}}, ""},
		{"tampered DG2", emrtdsim.DocumentOpts{Tamper: "DG2"}, []emrtdsim.PACEOffer{{Cipher: "AES-128", ParamID: 13}}, "dg-hash DG2"},
		{"expired DS", emrtdsim.DocumentOpts{ExpiredDS: true}, nil, pa.CheckDSValidity},
		{"unknown CSCA", emrtdsim.DocumentOpts{UnknownCSCA: true}, nil, pa.CheckCSCAChain},
		{"revoked DS", emrtdsim.DocumentOpts{RevokeDS: true}, nil, pa.CheckDSRevocation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.doc
			o.MRZ, o.Face, o.Now = e2eMRZ, face, now
			doc, err := emrtdsim.GenerateDocument(&o)
			if err != nil {
				t.Fatal(err)
			}
			chip := newChip(t, emrtdsim.Opts{Files: doc.Files, MRZInformation: key.MRZInformation(), BAC: true, PACE: tt.pace, AAKey: doc.AAKey})
			files, info, err := emrtd.Read(context.Background(), chip, key, nil)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if wantAccess := map[bool]string{true: "PACE", false: "BAC"}[tt.pace != nil]; info.Access != wantAccess {
				t.Errorf("access %s, want %s", info.Access, wantAccess)
			}
			for name, b := range doc.Files {
				if !bytes.Equal(files[name], b) {
					t.Errorf("%s differs from the chip's file", name)
				}
			}
			r := pa.PassiveAuthentication(files, &pa.PAOpts{Trust: doc.Trust, At: now})
			if tt.wantFail == "" {
				if !r.Passed() {
					t.Errorf("Passive Authentication failed:\n%s", r)
				}
			} else {
				c, failed := r.FirstFailure()
				if !failed || c.Name != tt.wantFail {
					t.Errorf("first failure %q (%v), want %q:\n%s", c.Name, failed, tt.wantFail, r)
				}
			}
			if doc.AAKey == nil {
				return
			}
			if info.AA == nil || len(info.AA.Signature) == 0 {
				t.Fatalf("no Active Authentication exchange: %s", info.AAError)
			}
			pub, err := lds.ParseDG15(files["DG15"])
			if err != nil {
				t.Fatal(err)
			}
			var aaInfo *lds.ActiveAuthenticationInfo
			if dg14, ok := files["DG14"]; ok {
				si, err := lds.ParseSecurityInfos(dg14)
				if err != nil {
					t.Fatal(err)
				}
				if len(si.ActiveAuth) > 0 {
					aaInfo = &si.ActiveAuth[0]
				}
			}
			if err := pa.VerifyActiveAuthentication(pub, info.AA.Challenge, info.AA.Signature, aaInfo); err != nil {
				t.Errorf("Active Authentication: %v", err)
			}
			other := bytes.Clone(info.AA.Challenge)
			other[0] ^= 1
			if err := pa.VerifyActiveAuthentication(pub, other, info.AA.Signature, aaInfo); err == nil {
				t.Errorf("Active Authentication verifies for another challenge")
			}
		})
	}
	// The wrong key reads nothing.
	doc, err := emrtdsim.GenerateDocument(&emrtdsim.DocumentOpts{MRZ: e2eMRZ, Face: face, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	wrong, _ := mrz.NewMRZKey("L898902C3", "740812", "120416")
	chip := newChip(t, emrtdsim.Opts{Files: doc.Files, MRZInformation: key.MRZInformation(), BAC: true, PACE: []emrtdsim.PACEOffer{{Cipher: "AES-128", ParamID: 13}}})
	files, _, err := emrtd.Read(context.Background(), chip, wrong, nil)
	if !errors.Is(err, emrtd.ErrAccessDenied) || len(files["DG1"]) != 0 {
		t.Errorf("wrong key: %v, %d DG1 bytes; want ErrAccessDenied and nothing", err, len(files["DG1"]))
	}
}

// The public specimen dumps (../shared/emrtd-samples) served by the virtual chip read back
// unchanged and still pass Passive Authentication (chain not applicable: no CSCA published).
func TestSpecimensThroughChip(t *testing.T) {
	root := filepath.Join("..", "..", "..", "shared", "emrtd-samples")
	ents, err := os.ReadDir(root)
	if err != nil {
		t.Skipf("specimens absent (%v)", err)
	}
	n := 0
	for _, e := range ents {
		if !e.IsDir() {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			dump, err := lds.LoadDump(filepath.Join(root, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			dg1, err := lds.ParseDG1(dump["DG1"])
			if err != nil {
				t.Fatalf("DG1: %v", err)
			}
			key, err := mrz.NewKeyFromMRZ(dg1.MRZ)
			if err != nil {
				t.Fatalf("MRZ of DG1: %v", err)
			}
			o := emrtdsim.Opts{Files: dump, MRZInformation: key.MRZInformation(), BAC: true, PACE: []emrtdsim.PACEOffer{{Cipher: "AES-128", ParamID: 13}}}
			opts := emrtd.DefaultReadOpts()
			// Chip Authentication needs the chip's private key, published for one set only.
			o.CAKey, _ = os.ReadFile(filepath.Join(root, e.Name(), "DG14_sk.pkcs8"))
			opts.ChipAuthentication = o.CAKey != nil
			chip := newChip(t, o)
			if _, ok := dump["EF.COM"]; !ok {
				// This dump has no EF.COM (a real chip always does): name the files.
				opts.Files = dump.Names()
			}
			files, info, err := emrtd.Read(context.Background(), chip, key, &opts)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			for name, b := range dump {
				if name == "DG3" || name == "DG4" {
					continue // EAC-protected
				}
				if name == "EF.COM" || name == "EF.SOD" || files[name] != nil {
					if !bytes.Equal(files[name], b) {
						t.Errorf("%s: read %d bytes, dump has %d", name, len(files[name]), len(b))
					}
				} else if name != "EF.CardAccess" {
					t.Logf("%s in the dump but not listed in EF.COM, not read", name)
				}
			}
			// The specimens' DS certificates have expired; signature and hashes still verify.
			r := pa.PassiveAuthentication(files, nil)
			for _, c := range r.Checks {
				if c.Status == pa.StatusFail && c.Name != pa.CheckDSValidity {
					t.Errorf("Passive Authentication of the read files: %s fails: %s", c.Name, c.Reason)
				}
			}
			if c, _ := r.Get(pa.CheckSODSignature); c.Status != pa.StatusPass {
				t.Errorf("SOD signature: %s %s", c.Status, c.Reason)
			}
			if opts.ChipAuthentication && (info.CA == "" || !info.CAConfirmed) {
				t.Errorf("chip authentication %q confirmed %v: %s", info.CA, info.CAConfirmed, info.CAError)
			}
			t.Logf("%s: %d APDUs, %d bytes, read %v, CA %q", info.Access, info.Link.APDUs, info.Link.BytesSent+info.Link.BytesReceived, info.Read, info.CA)
			n++
		})
	}
	if n == 0 {
		t.Skip("no specimen folders")
	}
}

// A recorded session (testdata/nl-specimen-pace.transcript, made with edgeid doc read
// --record against the virtual chip) replays exactly: same commands, same files, and the
// files still pass the SOD's hash checks. It pins the reader's APDU sequence.
func TestReplaySpecimenTranscript(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "nl-specimen-pace.transcript"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := emrtdsim.ParseTranscript(f)
	if err != nil {
		t.Fatal(err)
	}
	key, err := mrz.NewMRZKey("XX0001328", "711019", "111001")
	if err != nil {
		t.Fatal(err)
	}
	pb := emrtdsim.NewPlayback(tr)
	files, info, err := emrtd.Read(context.Background(), pb, key, &emrtd.ReadOpts{Rand: pb.Rand(), ChipAuthentication: true, ActiveAuthentication: true})
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	if err := pb.Done(); err != nil {
		t.Error(err)
	}
	if info.Access != "PACE" || info.PACECurve != "brainpoolP256r1" {
		t.Errorf("access %s on %s, want PACE on brainpoolP256r1", info.Access, info.PACECurve)
	}
	r := pa.PassiveAuthentication(files, nil)
	for _, dg := range []string{"DG1", "DG2", "DG15"} {
		if c, _ := r.Get("dg-hash " + dg); c.Status != pa.StatusPass {
			t.Errorf("dg-hash %s: %s %s", dg, c.Status, c.Reason)
		}
	}
}
