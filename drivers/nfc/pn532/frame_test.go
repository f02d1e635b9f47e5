package pn532

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeid/edgeid/drivers/internal/hextest"
	"github.com/edgeid/edgeid/internal/testenv"
)

// Rows copied from ../shared/emrtd-samples/pn532_frames.txt (public protocol frames quoted from
// libnfc, nfcpy and node-pn532 logs) so that the codec is tested from the checkout alone.
var realFrames = []struct {
	name string
	hex  string
	want []Frame
}{
	{"S1 InListPassiveTarget 106A", "00 00 ff 04 fc d4 4a 01 00 e1 00", []Frame{{Kind: Info, TFI: 0xd4, Data: []byte{0x4a, 0x01, 0x00}}}},
	{"S1 ACK then NbTg=0", "00 00 ff 00 ff 00 00 00 ff 03 fd d5 4b 00 e0 00", []Frame{{Kind: ACK}, {Kind: Info, TFI: 0xd5, Data: []byte{0x4b, 0x00}}}},
	{"S1 InListPassiveTarget 106B", "00 00 ff 05 fb d4 4a 01 03 00 de 00", []Frame{{Kind: Info, TFI: 0xd4, Data: []byte{0x4a, 0x01, 0x03, 0x00}}}},
	{"S1 InDeselect", "00 00 ff 03 fd d4 44 00 e8 00", []Frame{{Kind: Info, TFI: 0xd4, Data: []byte{0x44, 0x00}}}},
	{"S1 ACK then InDeselect status", "00 00 ff 00 ff 00 00 00 ff 03 fd d5 45 00 e6 00", []Frame{{Kind: ACK}, {Kind: Info, TFI: 0xd5, Data: []byte{0x45, 0x00}}}},
	{"S2 GetFirmwareVersion", "00 00 ff 02 fe d4 02 2a 00", []Frame{{Kind: Info, TFI: 0xd4, Data: []byte{0x02}}}},
	{"S2 Diagnose libnfc", "00 00 ff 09 f7 d4 00 00 6c 69 62 6e 66 63 be 00", []Frame{{Kind: Info, TFI: 0xd4, Data: []byte{0x00, 0x00, 'l', 'i', 'b', 'n', 'f', 'c'}}}},
	{"S3 HSU wake-up padding", "00 00 00 00 00 00 00 00 00 00 00 00 ff 02 fe d4 02 2a 00", []Frame{{Kind: Info, TFI: 0xd4, Data: []byte{0x02}}}},
	{"S3 firmware 1.6", "00 00 ff 06 fa d5 03 32 01 06 07 e8 00", []Frame{{Kind: Info, TFI: 0xd5, Data: []byte{0x03, 0x32, 0x01, 0x06, 0x07}}}},
	{"S3 SAMConfiguration response", "00 00 ff 02 fe d5 15 16 00", []Frame{{Kind: Info, TFI: 0xd5, Data: []byte{0x15}}}},
	{"S3 host ACK", "00 00 ff 00 ff 00", []Frame{{Kind: ACK}}},
	{"S4 SAMConfiguration", "00 00 ff 05 fb d4 14 01 00 01 16 00", []Frame{{Kind: Info, TFI: 0xd4, Data: []byte{0x14, 0x01, 0x00, 0x01}}}},
	{"UM0701 NACK", "00 00 ff ff 00 00", []Frame{{Kind: NACK}}},
	{"UM0701 error frame", "00 00 ff 01 ff 7f 81 00", []Frame{{Kind: ErrorFrame, TFI: 0x7f}}},
}

// decodeAll decodes every frame in a stream.
func decodeAll(b []byte) ([]Frame, error) {
	var out []Frame
	for len(b) > 0 {
		if bytes.Count(b, []byte{0}) == len(b) {
			break // trailing padding
		}
		f, n, err := Decode(b)
		if err != nil {
			return out, err
		}
		out = append(out, f)
		b = b[n:]
	}
	return out, nil
}

func TestDecodeRealFrames(t *testing.T) {
	for _, tc := range realFrames {
		t.Run(tc.name, func(t *testing.T) {
			got, err := decodeAll(hextest.Bytes(t, tc.hex))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d frames %+v, want %d", len(got), got, len(tc.want))
			}
			for i := range got {
				g, w := got[i], tc.want[i]
				if g.Kind != w.Kind || g.TFI != w.TFI || !bytes.Equal(g.Data, w.Data) || g.Extended {
					t.Errorf("frame %d: got %+v, want %+v", i, g, w)
				}
			}
		})
	}
}

func TestEncodeRealFrames(t *testing.T) {
	for _, tc := range realFrames {
		raw := hextest.Bytes(t, tc.hex)
		for _, w := range tc.want {
			if w.Kind != Info {
				continue
			}
			got, err := AppendFrame(nil, w.TFI, w.Data, false)
			if err != nil {
				t.Fatalf("%s: %v", tc.name, err)
			}
			if !bytes.Contains(raw, got) {
				t.Errorf("%s: encoded % x, not found in % x", tc.name, got, raw)
			}
		}
	}
}

// TestSharedFrames decodes all frames of ../shared/emrtd-samples/pn532_frames.txt.
func TestSharedFrames(t *testing.T) {
	path := filepath.Join("..", "..", "..", "..", "shared", "emrtd-samples", "pn532_frames.txt")
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		testenv.Missing(t, "%s not found (the shared sample folder sits next to the checkout on the team machines)", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	section, frames := "", 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "## ") {
			section = strings.Fields(line)[1]
			continue
		}
		if !strings.HasPrefix(line, "TX ") && !strings.HasPrefix(line, "RX ") {
			continue
		}
		raw := hextest.Bytes(t, line[3:])
		if section == "S5" {
			// ACR122 CCID escape: PN532 data without PN532 framing. The RX carries
			// D5 4B and the target list from offset 10, then SW 90 00.
			if line[:2] == "RX" {
				if raw[10] != 0xd5 || raw[11] != 0x4b {
					t.Fatalf("S5 RX: no D5 4B at offset 10 in % x", raw)
				}
				ts, err := ParseTargets(TypeA106, raw[12:len(raw)-2])
				if err != nil {
					t.Fatalf("S5 RX targets: %v", err)
				}
				if len(ts) != 1 || !bytes.Equal(ts[0].Info.UID, []byte{0x82, 0xac, 0xb9, 0x5d}) || ts[0].Info.SAK != 0x08 {
					t.Errorf("S5 RX: got %+v, want one target UID 82acb95d SAK 08", ts)
				}
			}
			continue // CCID-wrapped, not counted among the PN532 frames
		}
		got, err := decodeAll(raw)
		if err != nil {
			t.Errorf("%s %s: %v", section, line, err)
			continue
		}
		for _, g := range got {
			if g.Kind == Info {
				enc, _ := AppendFrame(nil, g.TFI, g.Data, false)
				if !bytes.Contains(raw, enc) {
					t.Errorf("%s: re-encoded % x not in % x", section, enc, raw)
				}
			}
		}
		frames += len(got)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if frames != 28 {
		t.Errorf("decoded %d frames, the file documents 28", frames)
	}
}

func TestExtendedRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, 253, 254, 255, 262, 264} {
		data := bytes.Repeat([]byte{0xa5}, n)
		for _, ext := range []bool{false, true} {
			enc, err := AppendFrame(nil, TFIHost, data, ext)
			if err != nil {
				t.Fatalf("n=%d ext=%v: %v", n, ext, err)
			}
			f, used, err := Decode(enc)
			if err != nil {
				t.Fatalf("n=%d ext=%v: decode: %v", n, ext, err)
			}
			wantExt := ext || n+1 > MaxNormalLen
			if used != len(enc) || f.Kind != Info || !bytes.Equal(f.Data, data) || f.Extended != wantExt {
				t.Errorf("n=%d ext=%v: got used=%d/%d kind=%s ext=%v len=%d", n, ext, used, len(enc), f.Kind, f.Extended, len(f.Data))
			}
		}
	}
	if _, err := AppendFrame(nil, TFIHost, make([]byte, 265), false); !errors.Is(err, ErrOversize) {
		t.Errorf("265 data bytes: got %v, want ErrOversize", err)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name    string
		hex     string
		want    error // nil means *IncompleteError
		wantN   int
		wantMsg string
	}{
		{"empty", "", nil, 0, "truncated"},
		{"only preamble", "00 00", nil, 0, "truncated"},
		{"start code only", "00 00 ff", nil, 0, "truncated"},
		{"length only", "00 00 ff 04 fc d4", nil, 0, "need 11"},
		{"missing DCS", "00 00 ff 04 fc d4 4a 01 00", nil, 0, "truncated"},
		{"bad LCS", "00 00 ff 04 fd d4 4a 01 00 e1 00", ErrChecksum, 5, "LCS fd"},
		{"bad DCS", "00 00 ff 04 fc d4 4a 01 00 e2 00", ErrChecksum, 11, "DCS e2"},
		{"garbage", "13 37 00 00 ff 00 ff 00", ErrGarbage, 2, "13 at offset 0"},
		{"extended bad LCS", "00 00 ff ff ff 01 00 00 d4", ErrChecksum, 8, "extended length"},
		{"extended oversize", "00 00 ff ff ff 01 0a f5", ErrOversize, 8, "LEN=266"},
		{"extended zero", "00 00 ff ff ff 00 00 00", ErrOversize, 8, "LEN=0"},
		{"extended truncated body", "00 00 ff ff ff 01 00 ff d4 00", nil, 0, "need 266"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, n, err := Decode(hextest.Bytes(t, tc.hex))
			if err == nil {
				t.Fatal("got nil error")
			}
			var inc *IncompleteError
			if tc.want == nil && !errors.As(err, &inc) {
				t.Fatalf("got %v, want *IncompleteError", err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if n != tc.wantN {
				t.Errorf("n = %d, want %d", n, tc.wantN)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("error %q does not mention %q", err, tc.wantMsg)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	for _, tc := range realFrames {
		f.Add(hextest.Bytes(f, tc.hex))
	}
	ext, _ := AppendFrame(nil, TFIChip, bytes.Repeat([]byte{0x41}, 264), true)
	f.Add(ext)
	f.Add([]byte{0x55, 0x55, 0x00, 0x00, 0xff, 0xff, 0xff, 0x01, 0x0a, 0xf5})
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, n, err := Decode(b)
		if n < 0 || n > len(b) {
			t.Fatalf("n=%d outside 0..%d", n, len(b))
		}
		var inc *IncompleteError
		if errors.As(err, &inc) && inc.Need <= len(b) {
			t.Fatalf("incomplete with Need=%d but %d bytes given", inc.Need, len(b))
		}
		if errors.Is(err, ErrGarbage) && n == 0 {
			t.Fatal("garbage without progress")
		}
		if err != nil || fr.Kind != Info {
			return
		}
		if len(fr.Data)+1 > MaxExtendedLen {
			t.Fatalf("decoded %d data bytes", len(fr.Data))
		}
		enc, err := AppendFrame(nil, fr.TFI, fr.Data, fr.Extended)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		f2, _, err := Decode(enc)
		if err != nil || f2.TFI != fr.TFI || !bytes.Equal(f2.Data, fr.Data) {
			t.Fatalf("round trip: %v %+v vs %+v", err, f2, fr)
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	data := bytes.Repeat([]byte{0x5a}, 262)
	buf := make([]byte, 0, MaxFrame)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		buf, _ = AppendFrame(buf[:0], TFIHost, data, false)
	}
}

func BenchmarkDecode(b *testing.B) {
	enc, _ := AppendFrame(nil, TFIChip, bytes.Repeat([]byte{0x5a}, 262), false)
	b.SetBytes(262)
	for b.Loop() {
		if _, _, err := Decode(enc); err != nil {
			b.Fatal(err)
		}
	}
}
