package emrtd_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgeid/edgeid/drivers/emrtd"
	"github.com/edgeid/edgeid/drivers/emrtd/emrtdsim"
	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
	"github.com/edgeid/edgeid/drivers/emrtd/pa"
	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
)

// dg14CA builds a DG14 with one ECDH ChipAuthenticationInfo and its public key.
func dg14CA(t *testing.T, cipher int, pub any) []byte {
	t.Helper()
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	info, _ := asn1.Marshal(struct {
		OID     asn1.ObjectIdentifier
		Version int
	}{asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 3, 2, cipher}, 1})
	pk, _ := asn1.Marshal(struct {
		OID  asn1.ObjectIdentifier
		SPKI asn1.RawValue
	}{asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 1, 2}, asn1.RawValue{FullBytes: spki}})
	return tlv.EncodeTLV(0x6E, tlv.EncodeTLV(0x31, append(info, pk...)))
}

func TestChipAuthentication(t *testing.T) {
	key := mrzKey(t)
	for _, tc := range []struct {
		name   string
		cipher int
		want   string
	}{{"AES-128", 2, "id-CA-ECDH-AES-CBC-CMAC-128"}, {"3DES", 1, "id-CA-ECDH-3DES-CBC-CBC"}, {"AES-256", 4, "id-CA-ECDH-AES-CBC-CMAC-256"}} {
		t.Run(tc.name, func(t *testing.T) {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			der, _ := x509.MarshalPKCS8PrivateKey(k)
			files := testFiles(t, 3000)
			files["EF.COM"] = tlv.EncodeTLV(0x60, tlv.EncodeTLV(0x5C, []byte{0x61, 0x75, 0x6E}))
			files["DG14"] = dg14CA(t, tc.cipher, k.Public())
			chip := newChip(t, emrtdsim.Opts{Files: files, MRZInformation: key.MRZInformation(), BAC: true, CAKey: der,
				PACE: []emrtdsim.PACEOffer{{Cipher: "AES-128", ParamID: 13}}})
			got, info, err := emrtd.Read(context.Background(), chip, key, nil)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if info.CA != tc.want || !info.CAConfirmed {
				t.Errorf("CA %q confirmed %v (%s), want %q confirmed", info.CA, info.CAConfirmed, info.CAError, tc.want)
			}
			if info.Read[0] != "EF.COM" || info.Read[1] != "DG14" {
				t.Errorf("read order %v: DG14 should come right after EF.COM", info.Read)
			}
			checkFiles(t, got, files, "DG1", "DG2", "EF.SOD", "DG14")

			// A chip whose CA key is not the one in DG14 (a clone) fails on the next response.
			other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			otherDER, _ := x509.MarshalPKCS8PrivateKey(other)
			clone := newChip(t, emrtdsim.Opts{Files: files, MRZInformation: key.MRZInformation(), BAC: true, CAKey: otherDER})
			got, _, err = emrtd.Read(context.Background(), clone, key, nil)
			if !errors.Is(err, emrtd.ErrChipAuth) {
				t.Errorf("clone chip: %v, want ErrChipAuth", err)
			}
			if len(got["DG1"]) != 0 {
				t.Errorf("clone chip: DG1 was read")
			}
		})
	}
}

// The BSI TR-03105-5 reference data set: Chip Authentication with 3DES on explicit
// brainpoolP224r1 parameters, with the published private key.
func TestChipAuthenticationSpecimen(t *testing.T) {
	dir := filepath.Join("..", "..", "..", "shared", "emrtd-samples", "DE_BSI_TR03105-5_RefDataSet_HJP")
	caKey, err := os.ReadFile(filepath.Join(dir, "DG14_sk.pkcs8"))
	if err != nil {
		t.Skipf("specimen absent: %v", err)
	}
	dump, err := lds.LoadDump(dir)
	if err != nil {
		t.Fatal(err)
	}
	dg1, err := lds.ParseDG1(dump["DG1"])
	if err != nil {
		t.Fatal(err)
	}
	key, err := mrz.NewKeyFromMRZ(dg1.MRZ)
	if err != nil {
		t.Fatal(err)
	}
	chip := newChip(t, emrtdsim.Opts{Files: dump, MRZInformation: key.MRZInformation(), BAC: true, CAKey: caKey})
	_, info, err := emrtd.Read(context.Background(), chip, key, nil)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if info.CA != "id-CA-ECDH-3DES-CBC-CBC" || !info.CAConfirmed {
		t.Errorf("CA %q confirmed %v (%s)", info.CA, info.CAConfirmed, info.CAError)
	}
}

// PACE-CAM: the chip proves its static key inside PACE; a chip with another key fails.
func TestPACECAM(t *testing.T) {
	key := mrzKey(t)
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	files := testFiles(t, 2000)
	files["EF.COM"] = tlv.EncodeTLV(0x60, tlv.EncodeTLV(0x5C, []byte{0x61, 0x75, 0x6E}))
	files["DG14"] = dg14CA(t, 2, k.Public())
	offers := []emrtdsim.PACEOffer{{Mapping: "GM", Cipher: "AES-128", ParamID: 12}, {Mapping: "CAM", Cipher: "AES-128", ParamID: 12}}
	chip := newChip(t, emrtdsim.Opts{Files: files, MRZInformation: key.MRZInformation(), CAKey: der, PACE: offers})
	got, info, err := emrtd.Read(context.Background(), chip, key, nil)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if info.PACEProtocol != "id-PACE-ECDH-CAM-AES-CBC-CMAC-128" || info.CAM != "pass" || info.CA != "" {
		t.Errorf("protocol %s, CAM %q, CA %q; want PACE-CAM passed and no separate CA", info.PACEProtocol, info.CAM, info.CA)
	}
	checkFiles(t, got, files, "DG1", "DG2", "DG14", "EF.SOD")

	// DG14 names another key than the one the chip holds: CAM fails.
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	files2 := maps.Clone(files)
	files2["DG14"] = dg14CA(t, 2, other.Public())
	chip = newChip(t, emrtdsim.Opts{Files: files2, MRZInformation: key.MRZInformation(), CAKey: der, PACE: offers})
	if _, info, err := emrtd.Read(context.Background(), chip, key, nil); !errors.Is(err, emrtd.ErrChipAuth) {
		t.Errorf("CAM with a foreign key: %v (CAM %q), want ErrChipAuth", err, info.CAM)
	}
}

// PACE-CAM with the chip's static key only in a signed EF.CardSecurity (part B verifies
// the signature); the read passes CAM and the CardSecurity passes its own checks.
func TestPACECAMCardSecurity(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	key, err := mrz.NewKeyFromMRZ(e2eMRZ)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := emrtdsim.GenerateDocument(&emrtdsim.DocumentOpts{MRZ: e2eMRZ, Face: e2eFace(t), Now: now, AAKey: emrtdsim.AANone})
	if err != nil {
		t.Fatal(err)
	}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caDER, _ := x509.MarshalPKCS8PrivateKey(caKey)
	dg14 := dg14CA(t, 2, caKey.Public()) // 6E { SET { CA info, CA public key } }
	set := dg14[2:]                      // the SET (short length form here)
	ds, err := x509.ParseCertificate(doc.DS)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := emrtdsim.BuildCardSecurity(set, ds, doc.DSKey, emrtdsim.ECDSAP256, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	files := maps.Clone(doc.Files)
	files["EF.CardSecurity"] = cs
	chip := newChip(t, emrtdsim.Opts{Files: files, MRZInformation: key.MRZInformation(), CAKey: caDER,
		PACE: []emrtdsim.PACEOffer{{Mapping: "CAM", Cipher: "AES-256", ParamID: 12}}})
	got, info, err := emrtd.Read(context.Background(), chip, key, nil)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if info.CAM != "pass" || !bytes.Equal(got["EF.CardSecurity"], cs) {
		t.Errorf("CAM %q, EF.CardSecurity read %v", info.CAM, bytes.Equal(got["EF.CardSecurity"], cs))
	}
	if _, r := pa.VerifyCardSecurity(got["EF.CardSecurity"], &pa.PAOpts{Trust: doc.Trust, At: now}); !r.Passed() {
		t.Errorf("EF.CardSecurity read from the chip does not verify:\n%s", r)
	}
	if r := pa.PassiveAuthentication(got, &pa.PAOpts{Trust: doc.Trust, At: now}); !r.Passed() {
		t.Errorf("Passive Authentication:\n%s", r)
	}
}
