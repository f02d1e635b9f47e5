package emrtd

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"

	"github.com/edgeid/edgeid/drivers/emrtd/internal/sm"
	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
	"github.com/edgeid/edgeid/drivers/internal/hextest"
)

// script is a Transceiver that checks each command against a transcript and plays back
// the recorded response.
type script struct {
	t     testing.TB
	steps [][2]string // command (hex, "" = any), response (hex)
	next  int
}

func (s *script) Transceive(_ context.Context, cmd []byte) ([]byte, error) {
	s.t.Helper()
	if s.next >= len(s.steps) {
		s.t.Fatalf("unexpected extra command %X", cmd)
	}
	st := s.steps[s.next]
	s.next++
	if st[0] != "" && !bytes.Equal(cmd, hextest.Bytes(s.t, st[0])) {
		s.t.Fatalf("command %d = %X\nwant %s", s.next, cmd, st[0])
	}
	return hextest.Bytes(s.t, st[1]), nil
}

func (s *script) done() {
	s.t.Helper()
	if s.next != len(s.steps) {
		s.t.Errorf("only %d of %d scripted commands were sent", s.next, len(s.steps))
	}
}

// ICAO 9303-11 Appendix G.1: PACE ECDH-GM, brainpoolP256r1, AES-128, keyed by the MRZ.
// The terminal's ephemeral keys are fed through the randomness source.
func TestPACEAppendixG1(t *testing.T) {
	key, err := mrz.NewMRZKey("T22000129", "640812", "101031")
	if err != nil {
		t.Fatal(err)
	}
	ca := hextest.Bytes(t, "3114 3012 060A04007F0007020204020202010202010D")
	ch, err := choosePACE(ca)
	if err != nil {
		t.Fatalf("choosePACE: %v", err)
	}
	if got, want := paceProtocolName(ch.oid), "id-PACE-ECDH-GM-AES-CBC-CMAC-128"; got != want || ch.paramID != 13 {
		t.Fatalf("choice %s param %d, want %s param 13", got, ch.paramID, want)
	}
	s := &script{t: t, steps: [][2]string{
		{"0022C1A412800A04007F0007020204020283010184010D", "9000"},
		{"10860000027C0000", "7C12801095A3A016522EE98D01E76CB6B98B42C39000"},
		{"10860000457C438141047ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D00",
			"7C43824104824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F5730D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C549000"},
		{"10860000457C438341042DB7A64C0355044EC9DF190514C625CBA2CEA48754887122F3A5EF0D5EDD301C3556F3B3B186DF10B857B58F6A7EB80F20BA5DC7BE1D43D9BF850149FBB3646200",
			"7C438441049E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F0949000"},
		{"008600000C7C0A8508C2B0BD78D94BA86600", "7C0A86083ABB9674BCE93C089000"},
	}}
	rnd := bytes.NewReader(hextest.Bytes(t, "7F4EF07B9EA82FD78AD689B38D0BC78CF21F249D953BC46F4C6E19259C010F99"+
		"A73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595"))
	c := &channel{t: s}
	if err := pace(context.Background(), c, key, ch, rnd); err != nil {
		t.Fatalf("pace: %v", err)
	}
	s.done()
	if c.sm == nil || c.sm.Cipher() != sm.AES128 {
		t.Fatalf("no AES-128 session after PACE")
	}
	if got, want := c.sm.KMAC(), hextest.Bytes(t, "FE251C7858B356B24514B3BD5F4297D1"); !bytes.Equal(got, want) {
		t.Errorf("KSmac = %X, want %X", got, want)
	}
	if got := c.sm.SSC(); !bytes.Equal(got, make([]byte, 16)) {
		t.Errorf("SSC = %X, want zeros", got)
	}
	// A forged chip token is refused.
	s = &script{t: t, steps: s.steps}
	s.steps[len(s.steps)-1][1] = "7C0A86083ABB9674BCE93C099000"
	rnd.Seek(0, 0)
	if err := pace(context.Background(), &channel{t: s}, key, ch, rnd); !errors.Is(err, ErrMAC) {
		t.Errorf("forged chip token: %v, want ErrMAC", err)
	}
	// The chip refusing our token (wrong password) is ErrAccessDenied.
	s = &script{t: t, steps: s.steps}
	s.steps[len(s.steps)-1][1] = "6300"
	rnd.Seek(0, 0)
	if err := pace(context.Background(), &channel{t: s}, key, ch, rnd); !errors.Is(err, ErrAccessDenied) {
		t.Errorf("chip refusing the token: %v, want ErrAccessDenied", err)
	}
}

// ICAO 9303-11 Appendix D: BAC with RND.IC 4608F91988702212, RND.IFD 781723860C06C226,
// K.IFD 0B795240CB7049B01C19B33E32804F0B, then the protected SELECT EF.COM.
func TestBACAppendixD(t *testing.T) {
	key, err := mrz.NewMRZKey("L898902C", "690806", "940623")
	if err != nil {
		t.Fatal(err)
	}
	s := &script{t: t, steps: [][2]string{
		{"0084000008", "4608F919887022129000"},
		{"008200002872C29C2371CC9BDB65B779B8E8D37B29ECC154AA56A8799FAE2F498F76ED92F25F1448EEA8AD90A728",
			"46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F2F2D235D074D74499000"},
		{"0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800", "990290008E08FA855A5D4C50A8ED9000"},
	}}
	rnd := bytes.NewReader(hextest.Bytes(t, "781723860C06C226 0B795240CB7049B01C19B33E32804F0B"))
	c := &channel{t: s}
	if err := bac(context.Background(), c, key, rnd); err != nil {
		t.Fatalf("bac: %v", err)
	}
	if got, want := c.sm.SSC(), hextest.Bytes(t, "887022120C06C226"); !bytes.Equal(got, want) {
		t.Errorf("SSC = %X, want %X", got, want)
	}
	if got, want := c.sm.KMAC(), hextest.Bytes(t, "F1CB1F1FB5ADF208806B89DC579DC1F8"); !bytes.Equal(got, want) {
		t.Errorf("KSMAC = %X, want %X", got, want)
	}
	if err := selectFile(context.Background(), c, "EF.COM", 0x011E); err != nil {
		t.Fatalf("protected SELECT: %v", err)
	}
	s.done()
	if c.stats.APDUs != 3 {
		t.Errorf("APDUs = %d, want 3", c.stats.APDUs)
	}
}

func TestBACErrors(t *testing.T) {
	key, _ := mrz.NewMRZKey("L898902C", "690806", "940623")
	rndBytes := hextest.Bytes(t, "781723860C06C226 0B795240CB7049B01C19B33E32804F0B")
	tests := []struct {
		name  string
		steps [][2]string
		want  error
	}{
		{"wrong key", [][2]string{{"0084000008", "4608F919887022129000"}, {"", "6300"}}, ErrAccessDenied},
		{"short challenge", [][2]string{{"0084000008", "4608F9199000"}}, ErrProtocol},
		{"bad chip MAC", [][2]string{{"0084000008", "4608F919887022129000"},
			{"", "46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F2F2D235D074D74489000"}}, ErrMAC},
		{"replayed cryptogram for another challenge", [][2]string{{"0084000008", "4608F919887022139000"},
			{"", "46B9342A41396CD7386BF5803104D7CEDC122B9132139BAF2EEDC94EE178534F2F2D235D074D74499000"}}, ErrProtocol},
		{"status out of sequence", [][2]string{{"0084000008", "4608F919887022129000"}, {"", "9000"}}, ErrProtocol},
	}
	for _, tt := range tests {
		s := &script{t: t, steps: tt.steps}
		err := bac(context.Background(), &channel{t: s}, key, bytes.NewReader(rndBytes))
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: bac error = %v, want %v", tt.name, err, tt.want)
		}
	}
}

func TestChoosePACE(t *testing.T) {
	tests := []struct {
		name    string
		ca      string
		want    string
		wantErr bool
	}{
		{"GM AES-128 bp256", "3114 3012 060A04007F0007020204020202010202010D", "id-PACE-ECDH-GM-AES-CBC-CMAC-128/13", false},
		{"prefers CAM over GM", "3128 3012 060A04007F0007020204060202010202010D 3012 060A04007F0007020204020402010202010C",
			"id-PACE-ECDH-CAM-AES-CBC-CMAC-128/13", false},
		{"prefers the stronger cipher", "3128 3012 060A04007F0007020204020202010202010D 3012 060A04007F0007020204020402010202010C",
			"id-PACE-ECDH-GM-AES-CBC-CMAC-256/12", false},
		{"DH only", "3114 3012 060A04007F00070202040102020102020100", "", true},
		{"no parameter id", "3111 300F 060A04007F00070202040202 020102", "", true},
		{"not a set", "3012 060A04007F0007020204020202010202010D", "", true},
		{"truncated", "3114 3012 060A04007F00070202", "", true},
		{"unknown curve id", "3114 3012 060A04007F00070202040202020102020107", "", true},
	}
	for _, tt := range tests {
		ch, err := choosePACE(hextest.Bytes(t, tt.ca))
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: choosePACE error = %v, wantErr %v", tt.name, err, tt.wantErr)
			continue
		}
		if err == nil {
			if got := paceProtocolName(ch.oid) + "/" + strconv.Itoa(ch.paramID); got != tt.want {
				t.Errorf("%s: chose %s, want %s", tt.name, got, tt.want)
			}
		}
	}
}

// Chip answers out of protocol during PACE: each a clear error, never a session.
func TestPACEErrors(t *testing.T) {
	key, _ := mrz.NewMRZKey("T22000129", "640812", "101031")
	ch, err := choosePACE(hextest.Bytes(t, "3114 3012 060A04007F0007020204020202010202010D"))
	if err != nil {
		t.Fatal(err)
	}
	good := [][2]string{
		{"", "9000"},
		{"", "7C12801095A3A016522EE98D01E76CB6B98B42C39000"},
		{"", "7C43824104824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F5730D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C549000"},
		{"", "7C438441049E880F842905B8B3181F7AF7CAA9F0EFB743847F44A306D2D28C1D9EC65DF6DB7764B22277A2EDDC3C265A9F018F9CB852E111B768B326904B59A0193776F0949000"},
		{"", "7C0A86083ABB9674BCE93C089000"},
	}
	ourMapKey := "7C438241047ACF3EFC982EC45565A4B155129EFBC74650DCBFA6362D896FC70262E0C2CC5E544552DCB6725218799115B55C9BAA6D9F6BC3A9618E70C25AF71777A9C4922D9000"
	tests := []struct {
		name string
		step int
		resp string
		want error
	}{
		{"MSE refused", 0, "6A80", nil},
		{"nonce under the wrong tag", 1, "7C12811095A3A016522EE98D01E76CB6B98B42C39000", ErrProtocol},
		{"nonce not a whole block", 1, "7C0F800D95A3A016522EE98D01E76CB6B99000", ErrProtocol},
		{"truncated dynamic authentication data", 1, "7C12801095A3A0169000", ErrProtocol},
		{"mapping key echoed", 2, ourMapKey, ErrProtocol},
		{"mapping key off the curve", 2, "7C43824104824FBA91C9CBE26BEF53A0EBE7342A3BF178CEA9F45DE0B70AA601651FBA3F5730D8C879AAA9C9F73991E61B58F4D52EB87A0A0C709A49DC63719363CCD13C559000", ErrProtocol},
		{"ephemeral key compressed garbage", 3, "7C0684040201020390 00", ErrProtocol},
		{"token response without token", 4, "7C009000", ErrProtocol},
		{"status word out of sequence", 4, "9000", ErrProtocol},
	}
	for _, tt := range tests {
		steps := make([][2]string, tt.step+1)
		copy(steps, good[:tt.step])
		steps[tt.step] = [2]string{"", strings.ReplaceAll(tt.resp, " ", "")}
		s := &script{t: t, steps: steps}
		rnd := bytes.NewReader(hextest.Bytes(t, "7F4EF07B9EA82FD78AD689B38D0BC78CF21F249D953BC46F4C6E19259C010F99"+
			"A73FB703AC1436A18E0CFA5ABB3F7BEC7A070E7A6788486BEE230C4A22762595"))
		c := &channel{t: s}
		err := pace(context.Background(), c, key, ch, rnd)
		switch {
		case err == nil:
			t.Errorf("%s: PACE succeeded", tt.name)
		case tt.want != nil && !errors.Is(err, tt.want):
			t.Errorf("%s: error %v, want %v", tt.name, err, tt.want)
		}
		var se *StatusError
		if tt.want == nil && !errors.As(err, &se) {
			t.Errorf("%s: error %v, want a StatusError", tt.name, err)
		}
		if c.sm != nil {
			t.Errorf("%s: a session was started", tt.name)
		}
	}
}
