package lds

import (
	"crypto/rsa"
	"encoding/asn1"
	"reflect"
	"strings"
	"testing"

	"github.com/edgeid/edgeid/drivers/emrtd/pki"
	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
	"github.com/edgeid/edgeid/drivers/internal/sharedtest"
)

// A made-up TD3 MRZ (ICAO 9303-4 specimen style, no real person).
const testMRZ = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<" + "L898902C36UTO7408122F1204159ZE184226B<<<<<10"

func TestParseCOM(t *testing.T) {
	b := sharedtest.Read(t, "emrtd-samples/DE_BSI_TR03105-5_RefDataSet_HJP", "EF_COM.bin")
	c, err := ParseCOM(b)
	if err != nil {
		t.Fatal(err)
	}
	want := &COM{LDSVersion: "0107", UnicodeVersion: "040000", DataGroups: []string{"DG1", "DG2", "DG3", "DG4", "DG14"}}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("got %+v, want %+v", c, want)
	}
	enc, err := EncodeCOM([]string{"DG1", "DG2", "DG15"})
	if err != nil {
		t.Fatal(err)
	}
	back, err := ParseCOM(enc)
	if err != nil || !reflect.DeepEqual(back.DataGroups, []string{"DG1", "DG2", "DG15"}) {
		t.Errorf("round trip: got %+v, %v", back, err)
	}
	if _, err := EncodeCOM([]string{"DG17"}); err == nil {
		t.Error("EncodeCOM(DG17): got no error")
	}
}

func TestParseDG1(t *testing.T) {
	b, err := EncodeDG1(testMRZ[:44] + "\n" + testMRZ[44:])
	if err != nil {
		t.Fatal(err)
	}
	d, err := ParseDG1(b)
	if err != nil {
		t.Fatal(err)
	}
	if d.Format != "TD3" || d.MRZ != testMRZ || len(d.Lines) != 2 || d.Lines[1] != testMRZ[44:] {
		t.Errorf("got %+v", d)
	}
	for _, dir := range []string{"NL_Sdu_specimen_2006_Meulendijk/DG1.bin", "DE_BSI_TR03105-5_RefDataSet_HJP/Datagroup1.bin"} {
		parts := strings.SplitN(dir, "/", 2)
		d, err := ParseDG1(sharedtest.Read(t, "emrtd-samples/"+parts[0], parts[1]))
		if err != nil || d.Format != "TD3" || !strings.HasPrefix(d.MRZ, "P") {
			t.Errorf("%s: got %+v, %v", dir, d, err)
		}
	}
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"wrong tag", tlv.EncodeTLV(0x62, nil), "want 61"},
		{"no mrz", tlv.EncodeTLV(0x61, nil), "no MRZ data element"},
		{"short", tlv.EncodeTLV(0x61, tlv.EncodeTLV(0x5F1F, []byte("P<UTO"))), "MRZ of 5 characters"},
		{"lowercase", tlv.EncodeTLV(0x61, tlv.EncodeTLV(0x5F1F, []byte("p"+testMRZ[1:]))), `character 1 ('p')`},
		{"truncated", []byte{0x61, 0x10, 0x5F}, "tlv"},
	}
	for _, tt := range tests {
		if _, err := ParseDG1(tt.in); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

func TestParseAdditional(t *testing.T) {
	dir := "emrtd-samples/DE_BDR_TEST_2008_Mustermann/extra_from_tsemrtd_not_in_SOD"
	d, err := ParseAdditional(sharedtest.Read(t, dir, "EF_DG11.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if got := d.Text(TagFullName); got != "Doe John" {
		t.Errorf("full name: got %q, want %q", got, "Doe John")
	}
	if got := d.Text(TagOtherNames); got != "William" {
		t.Errorf("other names: got %q, want %q", got, "William")
	}
	if _, err := ParseAdditional(sharedtest.Read(t, dir, "EF_DG12.bin")); err != nil {
		t.Errorf("DG12: %v", err)
	}
	if _, err := ParseAdditional(tlv.EncodeTLV(0x61, nil)); err == nil {
		t.Error("ParseAdditional(DG1): got no error")
	}
}

func TestParseSecurityInfosDG14(t *testing.T) {
	s, err := ParseSecurityInfos(sharedtest.Read(t, "emrtd-samples/DE_BSI_TR03105-5_RefDataSet_HJP", "Datagroup14.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.ChipAuth) != 1 || s.ChipAuth[0].KeyAgreement != "ECDH" || s.ChipAuth[0].Cipher != "3DES" || s.ChipAuth[0].Version != 1 {
		t.Errorf("chip authentication: got %+v", s.ChipAuth)
	}
	if len(s.ChipAuthKeys) != 1 {
		t.Fatalf("got %d chip authentication keys, want 1", len(s.ChipAuthKeys))
	}
	if got := pki.KeyDescription(s.ChipAuthKeys[0].PublicKey); got != "EC brainpoolP224r1 (explicit parameters)" {
		t.Errorf("chip authentication key: got %q (%v)", got, s.ChipAuthKeys[0].KeyErr)
	}
	if !s.TerminalAuth {
		t.Error("terminal authentication info not seen")
	}
}

func TestParseSecurityInfosCardAccess(t *testing.T) {
	// EF.CardAccess with id-PACE-ECDH-GM-AES-CBC-CMAC-128 v2 on brainpoolP256r1 (parameter 13)
	// and an unknown protocol.
	pace := asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 4, 2, 2}
	oid, _ := asn1.Marshal(pace)
	other, _ := asn1.Marshal(asn1.ObjectIdentifier{1, 2, 3})
	b := tlv.EncodeConstructed(0x31,
		tlv.EncodeConstructed(0x30, oid, tlv.EncodeTLV(0x02, []byte{2}), tlv.EncodeTLV(0x02, []byte{13})),
		tlv.EncodeConstructed(0x30, other, tlv.EncodeTLV(0x02, []byte{1})))
	s, err := ParseSecurityInfos(b)
	if err != nil {
		t.Fatal(err)
	}
	want := []PACEInfo{{Protocol: pace, Version: 2, ParameterID: 13, KeyAgreement: "ECDH", Mapping: "GM", Cipher: "AES", KeyBits: 128}}
	if !reflect.DeepEqual(s.PACE, want) {
		t.Errorf("got %+v, want %+v", s.PACE, want)
	}
	if len(s.Other) != 1 {
		t.Errorf("got %d other infos, want 1", len(s.Other))
	}
	bad := tlv.EncodeConstructed(0x31, tlv.EncodeConstructed(0x30, oid))
	if _, err := ParseSecurityInfos(bad); err == nil || !strings.Contains(err.Error(), "security info 1") {
		t.Errorf("PACEInfo without version: got %v", err)
	}
}

func TestParseDG15(t *testing.T) {
	k, err := ParseDG15(sharedtest.Read(t, "emrtd-samples/DE_BSI_TR03105-5_RefDataSet_HJP", "Datagroup15.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := k.(*rsa.PublicKey); !ok {
		t.Errorf("got %T, want *rsa.PublicKey", k)
	}
	if _, err := ParseDG15(tlv.EncodeTLV(0x6F, nil)); err == nil {
		t.Error("empty DG15: got no error")
	}
}

func FuzzParseDG1(f *testing.F) {
	b, _ := EncodeDG1(testMRZ)
	f.Add(b)
	f.Add(tlv.EncodeTLV(0x61, tlv.EncodeTLV(0x5F1F, []byte(strings.Repeat("<", 90)))))
	f.Add([]byte{0x61, 0x03, 0x5F, 0x1F, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := ParseDG1(b)
		if err != nil {
			return
		}
		if strings.Join(d.Lines, "") != d.MRZ {
			t.Fatalf("lines %q do not join to the MRZ %q", d.Lines, d.MRZ)
		}
	})
}

func FuzzParseSecurityInfos(f *testing.F) {
	oid, _ := asn1.Marshal(asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 4, 2, 2})
	f.Add(tlv.EncodeConstructed(0x31, tlv.EncodeConstructed(0x30, oid, tlv.EncodeTLV(0x02, []byte{2}), tlv.EncodeTLV(0x02, []byte{13}))))
	f.Add([]byte{0x6E, 0x02, 0x31, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = ParseSecurityInfos(b)
	})
}
