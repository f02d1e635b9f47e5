package mrzocr

import (
	"errors"
	"strings"
	"testing"

	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
)

// A TD3 of the ICAO 9303 part 4 example, with a document number mixing letters and digits.
var td3 = []string{
	"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
	"L898902C36UTO7408122F1204159ZE184226B<<<<<10",
}

// scoresFor gives every cell of lines a clear score for its character, then applies the
// overrides: position -> character -> score.
func scoresFor(lines []string, over map[pos]map[byte]float32) [][]scoreRow {
	out := make([][]scoreRow, len(lines))
	for l, s := range lines {
		out[l] = make([]scoreRow, len(s))
		for c := 0; c < len(s); c++ {
			for k := range out[l][c] {
				out[l][c][k] = 0.3
			}
			out[l][c][strings.IndexByte(Alphabet, s[c])] = 0.9
			for ch, v := range over[pos{l, c}] {
				out[l][c][strings.IndexByte(Alphabet, ch)] = v
			}
		}
	}
	return out
}

func TestDecodeClean(t *testing.T) {
	if _, err := mrz.ParseMRZ(strings.Join(td3, "\n")); err != nil {
		t.Fatalf("test data: %v", err)
	}
	got, err := decode(mrz.TD3, scoresFor(td3, nil), DefaultDecodeOpts())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "\n") != strings.Join(td3, "\n") {
		t.Errorf("got %q, want %q", got, td3)
	}
}

func TestDecodeFieldTypes(t *testing.T) {
	// The birth date's '0' looks more like 'O', the expiry's '1' more like 'I', the sex 'F'
	// less than 'E': a numeric field and the sex field allow only their characters.
	over := map[pos]map[byte]float32{
		{1, 13 + 1}: {'O': 0.95}, // "7408122" col 15 holds '4'... use the '0' at col 16
		{1, 15}:     {'O': 0.95},
		{1, 22}:     {'I': 0.95},
		{1, 20}:     {'E': 0.95},
	}
	got, err := decode(mrz.TD3, scoresFor(td3, over), DefaultDecodeOpts())
	if err != nil {
		t.Fatal(err)
	}
	if got[1] != td3[1] {
		t.Errorf("line 2 %q, want %q", got[1], td3[1])
	}
}

func TestDecodeCorrectsByCheckDigit(t *testing.T) {
	tests := []struct {
		name string
		over map[pos]map[byte]float32
	}{
		// "L898902C3": the '8' at col 2 read as 'B' a little more strongly than '8'.
		{"8 read as B in the document number", map[pos]map[byte]float32{{1, 1}: {'B': 0.92}}},
		// The '0' at col 5 read as 'O'.
		{"0 read as O in the document number", map[pos]map[byte]float32{{1, 4}: {'O': 0.93}}},
		// The 'C' at col 8 close to 'G'.
		{"C read as G", map[pos]map[byte]float32{{1, 7}: {'G': 0.91}}},
		// Personal number "ZE184226B": 'Z' read as '2'.
		{"Z read as 2 in the personal number", map[pos]map[byte]float32{{1, 28}: {'2': 0.93}}},
		// Two changes in the document number: '8' read as 'B' and '0' as 'O'.
		{"two changes in the document number", map[pos]map[byte]float32{{1, 1}: {'B': 0.92}, {1, 4}: {'O': 0.93}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decode(mrz.TD3, scoresFor(td3, tt.over), DefaultDecodeOpts())
			if err != nil {
				t.Fatal(err)
			}
			if got[1] != td3[1] {
				t.Errorf("line 2 %q, want %q", got[1], td3[1])
			}
		})
	}
}

func TestDecodeRefuses(t *testing.T) {
	tests := []struct {
		name string
		over map[pos]map[byte]float32
	}{
		// A clear misread ('9' for '8', the real '8' far behind) cannot be corrected.
		{"document number misread with confidence", map[pos]map[byte]float32{{1, 1}: {'9': 0.99, '8': 0.5}}},
		// A name character nearly tied with another: no check digit guards names.
		{"ambiguous name", map[pos]map[byte]float32{{0, 6}: {'F': 0.895}}},
		// A low score anywhere.
		{"unclear cell", map[pos]map[byte]float32{{0, 10}: {'K': 0.2}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := scoresFor(td3, tt.over)
			if tt.name == "unclear cell" {
				for k := range sc[0][10] {
					sc[0][10][k] = 0.2
				}
			}
			got, err := decode(mrz.TD3, sc, DefaultDecodeOpts())
			if err == nil {
				t.Fatalf("accepted %q", got)
			}
			if !errors.Is(err, ErrUnsure) {
				t.Errorf("error %v does not wrap ErrUnsure", err)
			}
			for _, l := range td3 {
				for _, field := range []string{"ERIKSSON", "L898902C3", "7408122"} {
					if strings.Contains(err.Error(), field) || strings.Contains(err.Error(), l) {
						t.Errorf("error %q carries MRZ text", err)
					}
				}
			}
		})
	}
}

func TestDecodeWrongLength(t *testing.T) {
	sc := scoresFor([]string{td3[0], td3[1][:40]}, nil)
	if _, err := decode(mrz.TD3, sc, DefaultDecodeOpts()); err == nil {
		t.Fatal("accepted a short line")
	}
	if _, err := decode("TD9", sc, DefaultDecodeOpts()); err == nil {
		t.Fatal("accepted an unknown format")
	}
}

// TestVoteAverages: two frames, each with a different name character nearly tied (refused
// alone), vote to the right read.
func TestVoteAverages(t *testing.T) {
	o := DefaultDecodeOpts()
	f1 := scoresFor(td3, map[pos]map[byte]float32{{0, 6}: {'F': 0.895}})
	f2 := scoresFor(td3, map[pos]map[byte]float32{{0, 8}: {'L': 0.895}})
	for i, f := range [][][]scoreRow{f1, f2} {
		if _, err := decode(mrz.TD3, f, o); !errors.Is(err, ErrUnsure) {
			t.Fatalf("frame %d alone: %v, want a refusal", i+1, err)
		}
	}
	s := &Session{frames: [][]candidate{
		{{format: mrz.TD3, scores: f1, mean: 0.9}},
		{{format: mrz.TD3, scores: f2, mean: 0.9}, {format: mrz.TD2, mean: 0.5}},
	}}
	avg, n := s.vote(mrz.TD3)
	if n != 2 {
		t.Fatalf("%d frames voted, want 2", n)
	}
	got, err := decode(mrz.TD3, avg, o)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "\n") != strings.Join(td3, "\n") {
		t.Error("the vote read it wrong")
	}
}
