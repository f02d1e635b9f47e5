package sm

import (
	"bytes"
	"crypto/sha1"
	"errors"
	"testing"

	"github.com/edgeid/edgeid/drivers/apdu"
	"github.com/edgeid/edgeid/drivers/internal/hextest"
)

// ICAO 9303-11 Appendix D.2/D.3: BAC key derivation from the key seed and session keys.
func TestKDFICAOAppendixD(t *testing.T) {
	mrzInfo := "L898902C<369080619406236"
	sum := sha1.Sum([]byte(mrzInfo))
	seed := sum[:16]
	if got, want := seed, hextest.Bytes(t, "239AB9CB282DAF66231DC5A4DF6BFBAE"); !bytes.Equal(got, want) {
		t.Fatalf("Kseed = %X, want %X", got, want)
	}
	tests := []struct {
		name    string
		k       []byte
		counter uint32
		want    string
	}{
		{"KEnc", seed, CounterEnc, "AB94FDECF2674FDFB9B391F85D7F76F2"},
		{"KMAC", seed, CounterMAC, "7962D9ECE03D1ACD4C76089DCE131543"},
		{"KSEnc", xor(hextest.Bytes(t, "0B795240CB7049B01C19B33E32804F0B"), hextest.Bytes(t, "0B4F80323EB3191CB04970CB4052790B")), CounterEnc, "979EC13B1CBFE9DCD01AB0FED307EAE5"},
		{"KSMAC", xor(hextest.Bytes(t, "0B795240CB7049B01C19B33E32804F0B"), hextest.Bytes(t, "0B4F80323EB3191CB04970CB4052790B")), CounterMAC, "F1CB1F1FB5ADF208806B89DC579DC1F8"},
	}
	for _, tt := range tests {
		if got := KDF(TDES, tt.k, tt.counter); !bytes.Equal(got, hextest.Bytes(t, tt.want)) {
			t.Errorf("%s = %X, want %s", tt.name, got, tt.want)
		}
	}
}

// ICAO 9303-11 Appendix G.1: Kπ = KDF(SHA-1(MRZ information), 3) for AES-128.
func TestKDFPACEAppendixG1(t *testing.T) {
	sum := sha1.Sum([]byte("T22000129364081251010318"))
	if got, want := sum[:], hextest.Bytes(t, "7E2D2A41C74EA0B38CD36F863939BFA8E9032AAD"); !bytes.Equal(got, want) {
		t.Fatalf("K = %X, want %X", got, want)
	}
	if got, want := KDF(AES128, sum[:], CounterPI), hextest.Bytes(t, "89DED1B26624EC1E634C1989302849DD"); !bytes.Equal(got, want) {
		t.Errorf("Kpi = %X, want %X", got, want)
	}
	// The encrypted nonce decrypts to s with Kπ (AES-CBC, zero IV).
	s, err := AES128.Decrypt(hextest.Bytes(t, "89DED1B26624EC1E634C1989302849DD"), nil, hextest.Bytes(t, "95A3A016522EE98D01E76CB6B98B42C3"))
	if err != nil {
		t.Fatal(err)
	}
	if want := hextest.Bytes(t, "3F00C4D39D153F2B2A214A078D899B22"); !bytes.Equal(s, want) {
		t.Errorf("s = %X, want %X", s, want)
	}
}

func xor(a, b []byte) []byte {
	out := make([]byte, len(a))
	for i := range a {
		out[i] = a[i] ^ b[i]
	}
	return out
}

// ICAO 9303-11 Appendix D.4: the protected SELECT EF.COM and its response.
func TestSecureMessagingAppendixD(t *testing.T) {
	s, err := NewSession(TDES, hextest.Bytes(t, "979EC13B1CBFE9DCD01AB0FED307EAE5"), hextest.Bytes(t, "F1CB1F1FB5ADF208806B89DC579DC1F8"), hextest.Bytes(t, "887022120C06C226"))
	if err != nil {
		t.Fatal(err)
	}
	card, _ := NewSession(TDES, hextest.Bytes(t, "979EC13B1CBFE9DCD01AB0FED307EAE5"), hextest.Bytes(t, "F1CB1F1FB5ADF208806B89DC579DC1F8"), hextest.Bytes(t, "887022120C06C226"))
	got, err := s.ProtectCommand(apdu.Command{CLA: 0, INS: 0xA4, P1: 2, P2: 0x0C, Data: []byte{0x01, 0x1E}})
	if err != nil {
		t.Fatal(err)
	}
	if want := hextest.Bytes(t, "0CA4020C158709016375432908C044F68E08BF8B92D635FF24F800"); !bytes.Equal(got, want) {
		t.Fatalf("protected SELECT = %X\nwant %X", got, want)
	}
	cmd, err := card.UnprotectCommand(got)
	if err != nil {
		t.Fatalf("card side UnprotectCommand: %v", err)
	}
	if !bytes.Equal(cmd.Data, []byte{1, 0x1E}) || cmd.INS != 0xA4 || cmd.CLA != 0 {
		t.Errorf("card saw %+v", cmd)
	}
	resp := hextest.Bytes(t, "990290008E08FA855A5D4C50A8ED9000")
	cardResp, err := card.ProtectResponse(apdu.Response{SW: 0x9000}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(cardResp, resp) {
		t.Errorf("card side response = %X, want %X", cardResp, resp)
	}
	r, err := s.UnprotectResponse(resp, false)
	if err != nil {
		t.Fatalf("UnprotectResponse: %v", err)
	}
	if r.SW != 0x9000 || len(r.Data) != 0 {
		t.Errorf("response = %+v", r)
	}
	// The same response again (a replay) fails: the SSC has moved on.
	if _, err := s.UnprotectResponse(resp, false); !errors.Is(err, ErrMAC) {
		t.Errorf("replayed response: %v, want ErrMAC", err)
	}
}

// RFC 4493 section 4 AES-CMAC examples 1-4.
func TestCMACRFC4493(t *testing.T) {
	key := hextest.Bytes(t, "2b7e151628aed2a6abf7158809cf4f3c")
	msg := hextest.Bytes(t, "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710")
	tests := []struct {
		n    int
		want string
	}{
		{0, "bb1d6929e95937287fa37d129b756746"},
		{16, "070a16b46b4d4144f79bdd9dd04a287c"},
		{40, "dfa66747de9ae63030ca32611497c827"},
		{64, "51f0bebf7e3b9d92fc49741779363cfe"},
	}
	for _, tt := range tests {
		got, err := CMAC(AES128, key, msg[:tt.n])
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, hextest.Bytes(t, tt.want)) {
			t.Errorf("CMAC(%d bytes) = %x, want %s", tt.n, got, tt.want)
		}
	}
}

// Both sides, every cipher, short and extended, odd and even INS.
func TestSessionRoundTrip(t *testing.T) {
	for _, c := range []Cipher{TDES, AES128, AES192, AES256} {
		t.Run(c.String(), func(t *testing.T) {
			kenc := bytes.Repeat([]byte{0x11}, c.KeyLen())
			kmac := bytes.Repeat([]byte{0x22}, c.KeyLen())
			ssc := make([]byte, c.BlockSize())
			ifd, err := NewSession(c, kenc, kmac, ssc)
			if err != nil {
				t.Fatal(err)
			}
			card, _ := NewSession(c, kenc, kmac, ssc)
			for _, tc := range []struct {
				cmd  apdu.Command
				resp apdu.Response
			}{
				{apdu.Command{INS: 0xB0, Ne: 256}, apdu.Response{Data: bytes.Repeat([]byte{0xAB}, 256), SW: 0x9000}},
				{apdu.Command{INS: 0xB1, Data: []byte{0x54, 0x02, 0x80, 0x00}, Ne: 4000}, apdu.Response{Data: bytes.Repeat([]byte{0xCD}, 4000), SW: 0x9000}},
				{apdu.Command{INS: 0xA4, P1: 2, P2: 0x0C, Data: []byte{1, 2}}, apdu.Response{SW: 0x6A82}},
				{apdu.Command{INS: 0x88, Data: make([]byte, 8), Ne: 256}, apdu.Response{Data: make([]byte, 200), SW: 0x9000}},
			} {
				wire, err := ifd.ProtectCommand(tc.cmd)
				if err != nil {
					t.Fatal(err)
				}
				got, err := card.UnprotectCommand(wire)
				if err != nil {
					t.Fatalf("UnprotectCommand: %v", err)
				}
				if got.INS != tc.cmd.INS || got.Ne != tc.cmd.Ne || !bytes.Equal(got.Data, tc.cmd.Data) {
					t.Fatalf("card got %+v, want %+v", got, tc.cmd)
				}
				odd := tc.cmd.INS&1 == 1
				rw, err := card.ProtectResponse(tc.resp, odd)
				if err != nil {
					t.Fatal(err)
				}
				r, err := ifd.UnprotectResponse(rw, odd)
				if err != nil {
					t.Fatalf("UnprotectResponse: %v", err)
				}
				if r.SW != tc.resp.SW || !bytes.Equal(r.Data, tc.resp.Data) {
					t.Fatalf("got SW %04X %d bytes, want SW %04X %d bytes", r.SW, len(r.Data), tc.resp.SW, len(tc.resp.Data))
				}
			}
		})
	}
}

func TestUnprotectResponseErrors(t *testing.T) {
	newPair := func() (*Session, *Session) {
		k := bytes.Repeat([]byte{7}, 16)
		a, _ := NewSession(AES128, k, k, make([]byte, 16))
		b, _ := NewSession(AES128, k, k, make([]byte, 16))
		return a, b
	}
	good := func() ([]byte, *Session) {
		ifd, card := newPair()
		w, _ := ifd.ProtectCommand(apdu.Command{INS: 0xB0, Ne: 16})
		_, _ = card.UnprotectCommand(w)
		r, _ := card.ProtectResponse(apdu.Response{Data: []byte("sixteen bytes!!!"), SW: 0x9000}, false)
		return r, ifd
	}
	tests := []struct {
		name   string
		mutate func([]byte) []byte
		want   error
	}{
		{"flipped data bit", func(b []byte) []byte { b[5] ^= 1; return b }, ErrMAC},
		{"flipped MAC bit", func(b []byte) []byte { b[len(b)-3] ^= 1; return b }, ErrMAC},
		{"trailer SW changed", func(b []byte) []byte { b[len(b)-1] = 0x01; return b }, ErrSMFormat},
		{"no MAC", func(b []byte) []byte { return append(b[:len(b)-12], 0x90, 0x00) }, ErrSMFormat},
		{"plain 9000", func([]byte) []byte { return []byte{0x90, 0} }, ErrNotProtected},
		{"truncated DO", func(b []byte) []byte { return append(b[:10], 0x90, 0) }, ErrSMFormat},
		{"length overflow", func(b []byte) []byte { return []byte{0x87, 0x82, 0xFF, 0xFF, 1, 0x90, 0} }, ErrSMFormat},
	}
	for _, tt := range tests {
		r, ifd := good()
		_, err := ifd.UnprotectResponse(tt.mutate(r), false)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: error = %v, want %v", tt.name, err, tt.want)
		}
	}
	r, ifd := good()
	_ = r
	var se *StatusOnlyError
	if _, err := ifd.UnprotectResponse([]byte{0x69, 0x88}, false); !errors.As(err, &se) || se.SW != 0x6988 {
		t.Errorf("plain 6988: %v, want StatusOnlyError", err)
	}
}

func FuzzUnprotectResponse(f *testing.F) {
	k := bytes.Repeat([]byte{7}, 16)
	card, _ := NewSession(AES128, k, k, make([]byte, 16))
	card.incSSC()
	r1, _ := card.ProtectResponse(apdu.Response{Data: []byte("hello"), SW: 0x9000}, false)
	f.Add(r1)
	f.Add([]byte{0x99, 0x02, 0x90, 0x00, 0x8E, 0x08, 1, 2, 3, 4, 5, 6, 7, 8, 0x90, 0x00})
	f.Add([]byte{0x6A, 0x82})
	f.Add([]byte{0x87, 0x82, 0xFF, 0xFF, 0x01, 0x90, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, c := range []Cipher{TDES, AES128} {
			s, _ := NewSession(c, k, k, make([]byte, c.BlockSize()))
			r, err := s.UnprotectResponse(b, len(b) > 0 && b[0] == 0x85)
			if err == nil && len(r.Data) > len(b) {
				t.Fatalf("response data longer than the input")
			}
			s2, _ := NewSession(c, k, k, make([]byte, c.BlockSize()))
			_, _ = s2.UnprotectCommand(b)
		}
	})
}
