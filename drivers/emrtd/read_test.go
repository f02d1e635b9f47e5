package emrtd_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"errors"
	"math/big"
	"strings"
	"testing"

	"github.com/edgeid/edgeid/drivers/emrtd"
	"github.com/edgeid/edgeid/drivers/emrtd/emrtdsim"
	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
)

// testFiles builds a small synthetic document: EF.COM listing DG1, DG2 and DG15, a TD3 DG1,
// a DG2 of dg2Size bytes of filler (not an image: the transport does not look inside) and an
// EF.SOD-shaped blob.
func testFiles(t testing.TB, dg2Size int) lds.Files {
	t.Helper()
	mrz := "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<L898902C36UTO7408122F1204159ZE184226B<<<<<10"
	dg2 := make([]byte, dg2Size)
	for i := range dg2 {
		dg2[i] = byte(i * 7)
	}
	return lds.Files{
		"EF.COM": tlv.EncodeTLV(0x60, append(tlv.EncodeTLV(0x5F01, []byte("0107")), tlv.EncodeTLV(0x5C, []byte{0x61, 0x75, 0x6F})...)),
		"DG1":    tlv.EncodeTLV(0x61, tlv.EncodeTLV(0x5F1F, []byte(mrz))),
		"DG2":    tlv.EncodeTLV(0x75, dg2),
		"EF.SOD": tlv.EncodeTLV(0x77, bytes.Repeat([]byte{0x30}, 1500)),
	}
}

func mrzKey(t testing.TB) mrz.AccessKey {
	k, err := mrz.NewMRZKey("L898902C3", "740812", "120415")
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newChip(t testing.TB, o emrtdsim.Opts) *emrtdsim.Chip {
	t.Helper()
	c, err := emrtdsim.New(&o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func checkFiles(t *testing.T, got, want lds.Files, names ...string) {
	t.Helper()
	for _, n := range names {
		if !bytes.Equal(got[n], want[n]) {
			t.Errorf("%s: read %d bytes, want %d (content differs)", n, len(got[n]), len(want[n]))
		}
	}
}

func TestReadBAC(t *testing.T) {
	files := testFiles(t, 20000)
	key := mrzKey(t)
	chip := newChip(t, emrtdsim.Opts{Files: files, MRZInformation: key.MRZInformation(), BAC: true})
	got, info, err := emrtd.Read(context.Background(), chip, key, nil)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	checkFiles(t, got, files, "EF.COM", "DG1", "DG2", "EF.SOD")
	if info.Access != "BAC" || info.Cipher != "3DES" {
		t.Errorf("access %s cipher %s, want BAC 3DES", info.Access, info.Cipher)
	}
	if info.PACEFallback == "" {
		t.Errorf("PACEFallback empty: the chip has no EF.CardAccess, which should be noted")
	}
	// EF.COM lists DG15, which the chip lacks; DG14 is always looked for, first.
	if got := strings.Join(info.Missing, " "); got != "DG14 DG15" {
		t.Errorf("Missing = %v, want [DG14 DG15]", info.Missing)
	}
	if st := chip.Stats(); st.APDUs != info.Link.APDUs || st.BytesSent != info.Link.BytesReceived {
		t.Errorf("chip saw %+v, reader counted %+v", st, info.Link)
	}
}

func TestReadPACE(t *testing.T) {
	tests := []struct {
		offer emrtdsim.PACEOffer
		curve string
	}{
		{emrtdsim.PACEOffer{Cipher: "AES-128", ParamID: 13}, "brainpoolP256r1"},
		{emrtdsim.PACEOffer{Cipher: "AES-192", ParamID: 16}, "brainpoolP384r1"},
		{emrtdsim.PACEOffer{Cipher: "AES-256", ParamID: 17}, "brainpoolP512r1"},
		{emrtdsim.PACEOffer{Cipher: "3DES", ParamID: 12}, "P-256"},
		{emrtdsim.PACEOffer{Cipher: "AES-128", ParamID: 15}, "P-384"},
		{emrtdsim.PACEOffer{Cipher: "AES-256", ParamID: 18}, "P-521"},
	}
	files := testFiles(t, 3000)
	key := mrzKey(t)
	for _, tt := range tests {
		t.Run(tt.curve+"/"+tt.offer.Cipher, func(t *testing.T) {
			chip := newChip(t, emrtdsim.Opts{Files: files, MRZInformation: key.MRZInformation(), BAC: true, PACE: []emrtdsim.PACEOffer{tt.offer}})
			got, info, err := emrtd.Read(context.Background(), chip, key, nil)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			checkFiles(t, got, files, "EF.COM", "DG1", "DG2", "EF.SOD")
			if info.Access != "PACE" || info.PACECurve != tt.curve || info.Cipher != tt.offer.Cipher {
				t.Errorf("access %s curve %s cipher %s, want PACE %s %s", info.Access, info.PACECurve, info.Cipher, tt.curve, tt.offer.Cipher)
			}
			if len(got["EF.CardAccess"]) == 0 {
				t.Errorf("EF.CardAccess not kept")
			}
		})
	}
}

func TestReadPACEWithCAN(t *testing.T) {
	files := testFiles(t, 1000)
	files["EF.CardSecurity"] = tlv.EncodeTLV(0x30, bytes.Repeat([]byte{0x05}, 300)) // shape only
	chip := newChip(t, emrtdsim.Opts{Files: files, CAN: "123456", PACE: []emrtdsim.PACEOffer{{Cipher: "AES-128", ParamID: 13}}})
	can, _ := mrz.NewCANKey("123456")
	got, info, err := emrtd.Read(context.Background(), chip, can, nil)
	if err != nil {
		t.Fatalf("Read with CAN: %v", err)
	}
	checkFiles(t, got, files, "DG1", "DG2", "EF.CardSecurity")
	if info.Access != "PACE" {
		t.Errorf("access %s, want PACE", info.Access)
	}
	wrong, _ := mrz.NewCANKey("123457")
	chip.Halt()
	if _, _, err := emrtd.Read(context.Background(), chip, wrong, nil); !errors.Is(err, emrtd.ErrAccessDenied) {
		t.Errorf("wrong CAN: %v, want ErrAccessDenied", err)
	}
}

func TestReadWrongKey(t *testing.T) {
	files := testFiles(t, 1000)
	key := mrzKey(t)
	wrong, _ := mrz.NewMRZKey("L898902C3", "740812", "120416")
	for _, pace := range []bool{false, true} {
		o := emrtdsim.Opts{Files: files, MRZInformation: key.MRZInformation(), BAC: true}
		if pace {
			o.PACE = []emrtdsim.PACEOffer{{Cipher: "AES-128", ParamID: 13}}
		}
		got, _, err := emrtd.Read(context.Background(), newChip(t, o), wrong, nil)
		if !errors.Is(err, emrtd.ErrAccessDenied) {
			t.Errorf("PACE %v: wrong key: %v, want ErrAccessDenied", pace, err)
		}
		if len(got["DG1"]) != 0 {
			t.Errorf("PACE %v: data read with a wrong key", pace)
		}
	}
}

// tamper is a man in the middle between reader and chip.
type tamper struct {
	chip   emrtd.Transceiver
	n      int
	at     int // APDU number (1-based) whose response is changed
	mutate func(resp []byte, prev [][]byte) []byte
	prev   [][]byte
}

func (m *tamper) Transceive(ctx context.Context, cmd []byte) ([]byte, error) {
	m.n++
	r, err := m.chip.Transceive(ctx, cmd)
	if err != nil {
		return nil, err
	}
	if m.n == m.at {
		r = m.mutate(bytes.Clone(r), m.prev)
	}
	m.prev = append(m.prev, r)
	return r, nil
}

func TestReadTampered(t *testing.T) {
	files := testFiles(t, 2000)
	key := mrzKey(t)
	// BAC flow: 1 SELECT EF.CardAccess, 2 SELECT app, 3 GET CHALLENGE, 4 EXT AUTH,
	// 5 SELECT EF.COM, 6 READ EF.COM, 7 SELECT DG1, 8 READ DG1 ...
	tests := []struct {
		name   string
		at     int
		mutate func([]byte, [][]byte) []byte
		want   error
	}{
		{"bad MAC on EF.COM data", 6, func(r []byte, _ [][]byte) []byte { r[4] ^= 0x01; return r }, emrtd.ErrMAC},
		{"bad MAC on the MAC itself", 8, func(r []byte, _ [][]byte) []byte { r[len(r)-3] ^= 0x80; return r }, emrtd.ErrMAC},
		{"replayed response", 8, func(_ []byte, prev [][]byte) []byte { return prev[5] }, emrtd.ErrMAC},
		{"status word out of sequence (9000 to GET CHALLENGE)", 3, func([]byte, [][]byte) []byte { return []byte{0x90, 0x00} }, emrtd.ErrProtocol},
		{"unprotected 9000 under SM", 7, func([]byte, [][]byte) []byte { return []byte{0x90, 0x00} }, emrtd.ErrProtocol},
		{"mutual authentication answer out of sequence", 4, func([]byte, [][]byte) []byte { return []byte{0x61, 0x28} }, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			chip := newChip(t, emrtdsim.Opts{Files: files, MRZInformation: key.MRZInformation(), BAC: true})
			m := &tamper{chip: chip, at: tt.at, mutate: tt.mutate}
			_, _, err := emrtd.Read(context.Background(), m, key, nil)
			if err == nil {
				t.Fatalf("Read succeeded through tampering")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("Read error = %v, want %v", err, tt.want)
			}
			var se *emrtd.StatusError
			if tt.want == nil && !errors.As(err, &se) {
				t.Errorf("Read error = %v, want a StatusError", err)
			}
		})
	}
}

func TestReadLeFallbackAndExtended(t *testing.T) {
	files := testFiles(t, 20000)
	key := mrzKey(t)
	dg2 := len(files["DG2"])
	tests := []struct {
		name      string
		chip      emrtdsim.Opts
		read      emrtd.ReadOpts
		fallbacks int
		maxDG2    int // most APDUs for DG2: SELECT + ceil(size/Le) + fallbacks
	}{
		{"short 256", emrtdsim.Opts{}, emrtd.ReadOpts{}, 0, 1 + (dg2+255)/256},
		{"chip refuses Le above 160", emrtdsim.Opts{RefuseLeAbove: 160}, emrtd.ReadOpts{}, 2, 1 + 2 + (dg2+159)/160},
		{"chip caps responses at 200", emrtdsim.Opts{MaxLe: 200}, emrtd.ReadOpts{}, 0, 1 + (dg2+199)/200 + 1},
		{"extended, chip max 4096", emrtdsim.Opts{ExtendedLength: true, MaxLe: 4096}, emrtd.ReadOpts{ExtendedLength: true, MaxLe: 4096}, 0, 1 + (dg2+4095)/4096},
		{"chip refuses above 160 in the clear", emrtdsim.Opts{RefuseLeAbove: 160, PlainErrors: true}, emrtd.ReadOpts{}, 2, 0},
		{"extended asked, chip short only", emrtdsim.Opts{}, emrtd.ReadOpts{ExtendedLength: true}, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := tt.chip
			o.Files, o.MRZInformation, o.BAC = files, key.MRZInformation(), true
			chip := newChip(t, o)
			ro := tt.read
			ro.Files = []string{"DG1", "DG2"}
			got, info, err := emrtd.Read(context.Background(), chip, key, &ro)
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			checkFiles(t, got, files, "DG1", "DG2")
			if info.LeFallbacks != tt.fallbacks {
				t.Errorf("LeFallbacks = %d, want %d", info.LeFallbacks, tt.fallbacks)
			}
			if tt.maxDG2 == 0 {
				// The chip ended secure messaging on the refused length; Read ran access
				// control again and went on with a smaller Le.
				if info.Reestablished == 0 {
					t.Errorf("Reestablished = 0, want > 0")
				}
				return
			}
			ro.Files = []string{"DG2"}
			chip.Halt()
			got, info, err = emrtd.Read(context.Background(), chip, key, &ro)
			if err != nil {
				t.Fatalf("Read DG2: %v", err)
			}
			checkFiles(t, got, files, "DG2")
			// Access costs 4 APDUs (SELECT EF.CardAccess, SELECT app, GET CHALLENGE, EXT AUTH).
			if got := info.Link.APDUs - 4; got > tt.maxDG2 {
				t.Errorf("DG2 took %d APDUs, want at most %d", got, tt.maxDG2)
			}
		})
	}
}

func TestReadLargeFileOddINS(t *testing.T) {
	files := testFiles(t, 40000) // offsets beyond 32767 need READ BINARY with odd INS
	key := mrzKey(t)
	for _, ext := range []bool{false, true} {
		chip := newChip(t, emrtdsim.Opts{Files: files, MRZInformation: key.MRZInformation(), BAC: true, ExtendedLength: ext, MaxLe: map[bool]int{false: 256, true: 8192}[ext]})
		got, _, err := emrtd.Read(context.Background(), chip, key, &emrtd.ReadOpts{Files: []string{"DG2"}, ExtendedLength: ext, MaxLe: map[bool]int{false: 256, true: 8192}[ext]})
		if err != nil {
			t.Fatalf("extended %v: Read: %v", ext, err)
		}
		checkFiles(t, got, files, "DG2")
	}
}

func TestReadAbsurdLength(t *testing.T) {
	key := mrzKey(t)
	files := testFiles(t, 100)
	files["DG2"] = []byte{0x75, 0x84, 0x7F, 0xFF, 0xFF, 0xFF, 1, 2, 3}
	files["DG1"] = []byte{0x61, 0x82, 0x10, 0x00, 1, 2, 3} // declares 4096, holds 3
	chip := newChip(t, emrtdsim.Opts{Files: files, MRZInformation: key.MRZInformation(), BAC: true})
	for _, f := range []string{"DG2", "DG1"} {
		chip.Halt()
		_, _, err := emrtd.Read(context.Background(), chip, key, &emrtd.ReadOpts{Files: []string{f}})
		if !errors.Is(err, emrtd.ErrProtocol) {
			t.Errorf("%s: Read error = %v, want ErrProtocol", f, err)
		}
	}
}

func TestReadActiveAuthentication(t *testing.T) {
	key := mrzKey(t)
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 1024)
	for _, tc := range []struct {
		name string
		key  crypto.Signer
	}{{"ECDSA", ecKey}, {"RSA", rsaKey}} {
		t.Run(tc.name, func(t *testing.T) {
			files := testFiles(t, 100)
			files["DG15"] = tlv.EncodeTLV(0x6F, []byte{0x30, 0}) // content is not looked at here
			o := emrtdsim.Opts{Files: files, MRZInformation: key.MRZInformation(), BAC: true}
			o.AAKey = tc.key
			_, info, err := emrtd.Read(context.Background(), newChip(t, o), key, nil)
			if err != nil {
				t.Fatal(err)
			}
			if info.AA == nil || len(info.AA.Signature) == 0 {
				t.Fatalf("no AA exchange: %+v (%s)", info.AA, info.AAError)
			}
			switch k := tc.key.(type) {
			case *ecdsa.PrivateKey:
				h := sha256.Sum256(info.AA.Challenge)
				sig := info.AA.Signature
				r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
				if !ecdsa.Verify(&k.PublicKey, h[:], r, s) {
					t.Errorf("ECDSA AA signature does not verify")
				}
			case *rsa.PrivateKey:
				m := new(big.Int).Exp(new(big.Int).SetBytes(info.AA.Signature), big.NewInt(int64(k.E)), k.N).Bytes()
				if m[0] != 0x6A || m[len(m)-1] != 0xBC {
					t.Fatalf("RSA AA representative %X does not have 6A..BC", m[:4])
				}
				m1 := m[1 : len(m)-21]
				h := sha1.Sum(append(bytes.Clone(m1), info.AA.Challenge...))
				if !bytes.Equal(h[:], m[len(m)-21:len(m)-1]) {
					t.Errorf("RSA AA hash does not match the challenge")
				}
			}
		})
	}
}

// cancelAfter cancels the context after n exchanges, like a kiosk giving up mid-read.
type cancelAfter struct {
	chip   emrtd.Transceiver
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Transceive(ctx context.Context, cmd []byte) ([]byte, error) {
	c.n--
	if c.n == 0 {
		c.cancel()
	}
	return c.chip.Transceive(ctx, cmd)
}

func TestReadCancelled(t *testing.T) {
	key := mrzKey(t)
	files := testFiles(t, 20000)
	chip := newChip(t, emrtdsim.Opts{Files: files, MRZInformation: key.MRZInformation(), BAC: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, info, err := emrtd.Read(ctx, &cancelAfter{chip: chip, n: 10, cancel: cancel}, key, nil)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Read error = %v, want context.Canceled", err)
	}
	if info.Link.APDUs > 10 {
		t.Errorf("%d APDUs sent after cancellation at 10", info.Link.APDUs)
	}
}
