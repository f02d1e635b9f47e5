package emrtd_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"testing"

	"github.com/edgeid/edgeid/drivers/emrtd"
	"github.com/edgeid/edgeid/drivers/emrtd/emrtdsim"
	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
)

// Both sides of ICAO 9303-11 Appendix G.1: with the worked example's nonce and ephemeral
// keys as the chip's and the reader's randomness, the virtual chip and Read exchange exactly
// the appendix's PACE APDUs (MSE:Set AT, four GENERAL AUTHENTICATE).
func TestPACEAppendixG1BothSides(t *testing.T) {
	h := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	key, err := mrz.NewMRZKey("T22000129", "640812", "101031")
	if err != nil {
		t.Fatal(err)
	}
	chipRand := bytes.NewReader(h("3F00C4D39D153F2B2A214A078D899B22" +
		"498FF49756F2DC1587840041839A85982BE7761D14715FB091EFA7BCE9058560" +
		"107CF58696EF6155053340FD633392BA81909DF7B9706F226F32086C7AFF974A"))
	readerRand := bytes.NewReader(h("7F4EF07B9EA82FD78AD689B38D0BC78CF21F249D953BC46F4C6E19259C010F99" +
		"A73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595"))
	files := lds.Files{"DG1": tlv.EncodeTLV(0x61, tlv.EncodeTLV(0x5F1F, bytes.Repeat([]byte{'<'}, 88)))}
	chip := newChip(t, emrtdsim.Opts{Files: files, MRZInformation: key.MRZInformation(), Rand: chipRand,
		PACE: []emrtdsim.PACEOffer{{Cipher: "AES-128", ParamID: 13}}})
	rec := &emrtdsim.Record{T: chip}
	got, info, err := emrtd.Read(context.Background(), rec, key, &emrtd.ReadOpts{Files: []string{"DG1"}, Rand: readerRand})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if !bytes.Equal(got["DG1"], files["DG1"]) || info.Access != "PACE" {
		t.Fatalf("access %s, DG1 read back %v", info.Access, bytes.Equal(got["DG1"], files["DG1"]))
	}
	want := [][2]string{
		{"0022C1A412800A04007F0007020204020283010184010D", "9000"},
		{"10860000027C0000", "7C12801095A3A016522EE98D01E76CB6B98B42C39000"},
		{"10860000457C438141047ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D00",
			"7C43824104824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F5730D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C549000"},
		{"10860000457C438341042DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB3646200",
			"7C438441049E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F0949000"},
		{"008600000C7C0A8508C2B0BD78D94BA86600", "7C0A86083ABB9674BCE93C089000"},
	}
	var steps []emrtdsim.Step
	for _, s := range rec.Transcript().Steps {
		if s.Command != nil {
			steps = append(steps, s)
		}
	}
	// Steps 0 and 1 are SELECT and READ BINARY of EF.CardAccess.
	if len(steps) < 2+len(want) {
		t.Fatalf("only %d exchanges", len(steps))
	}
	for i, w := range want {
		s := steps[2+i]
		if fmt.Sprintf("%X", s.Command) != w[0] || fmt.Sprintf("%X", s.Response) != w[1] {
			t.Errorf("exchange %d:\n got %X -> %X\nwant %s -> %s", i, s.Command, s.Response, w[0], w[1])
		}
	}
}

// Both sides of ICAO 9303-11 Appendix D (BAC): with the appendix's RND.IC and K.IC as the
// chip's randomness and RND.IFD and K.IFD as the reader's, the mutual authentication and the
// first protected SELECT (EF.COM) match the appendix byte for byte.
func TestBACAppendixDBothSides(t *testing.T) {
	h := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	key, err := mrz.NewMRZKey("L898902C", "690806", "940623")
	if err != nil {
		t.Fatal(err)
	}
	files := lds.Files{"EF.COM": tlv.EncodeTLV(0x60, tlv.EncodeTLV(0x5C, []byte{0x61}))}
	chip := newChip(t, emrtdsim.Opts{Files: files, MRZInformation: key.MRZInformation(), BAC: true,
		Rand: bytes.NewReader(h("4608F919887022120B4F80323EB3191CB04970CB4052790B"))})
	rec := &emrtdsim.Record{T: chip}
	_, _, err = emrtd.Read(context.Background(), rec, key, &emrtd.ReadOpts{Files: []string{"EF.COM"},
		Rand: bytes.NewReader(h("781723860C06C2260B795240CB7049B01C19B33E32804F0B"))})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	want := [][2]string{
		{"0084000008", "4608F919887022129000"},
		{"008200002872C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F25F1448EEA8AD90A728",
			"46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F2F2D235D074D74499000"},
		{"0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800", "990290008E08FA855A5D4C50A8ED9000"},
	}
	steps := rec.Transcript().Steps
	// 0: SELECT EF.CardAccess (absent), 1: SELECT eMRTD application, then BAC.
	if len(steps) < 2+len(want) {
		t.Fatalf("only %d exchanges", len(steps))
	}
	for i, w := range want {
		s := steps[2+i]
		if fmt.Sprintf("%X", s.Command) != w[0] || fmt.Sprintf("%X", s.Response) != w[1] {
			t.Errorf("exchange %d:\n got %X -> %X\nwant %s -> %s", i, s.Command, s.Response, w[0], w[1])
		}
	}
}
