package mrz

import (
	"errors"
	"strings"
	"testing"
)

// ICAO 9303 specimen MRZs (the fictitious "Utopia" documents of parts 4-6).
const (
	specimenTD3 = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10"
	specimenTD2 = "I<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<\nD231458907UTO7408122F1204159<<<<<<<6"
	specimenTD1 = "I<UTOD231458907<<<<<<<<<<<<<<<\n7408122F1204159UTO<<<<<<<<<<<6\nERIKSSON<<ANNA<MARIA<<<<<<<<<<"
)

func TestParseMRZ(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want MRZ
		info string
	}{
		{"TD3", specimenTD3, MRZ{Format: TD3, DocumentCode: "P", IssuingState: "UTO", DocumentNumber: "L898902C3", Nationality: "UTO",
			DateOfBirth: "740812", Sex: "F", DateOfExpiry: "120415", PrimaryID: "ERIKSSON", SecondaryID: "ANNA MARIA", OptionalData1: "ZE184226B"},
			"L898902C36740812212041 59"},
		{"TD3 one run, CRLF", strings.ReplaceAll(specimenTD3, "\n", ""), MRZ{}, ""},
		{"TD2", specimenTD2, MRZ{Format: TD2, DocumentCode: "I", IssuingState: "UTO", DocumentNumber: "D23145890", Nationality: "UTO",
			DateOfBirth: "740812", Sex: "F", DateOfExpiry: "120415", PrimaryID: "ERIKSSON", SecondaryID: "ANNA MARIA"},
			"D23145890774081221204159"},
		{"TD1", specimenTD1, MRZ{Format: TD1, DocumentCode: "I", IssuingState: "UTO", DocumentNumber: "D23145890", Nationality: "UTO",
			DateOfBirth: "740812", Sex: "F", DateOfExpiry: "120415", PrimaryID: "ERIKSSON", SecondaryID: "ANNA MARIA"},
			"D23145890774081221204159"},
		{"TD1 long document number", "I<UTOD23145890<7349<<<<<<<<<<<\n3407127M9507122UTO<<<<<<<<<<<2\nSTEVENSON<<PETER<JOHN<<<<<<<<<", MRZ{Format: TD1, DocumentCode: "I", IssuingState: "UTO",
			DocumentNumber: "D23145890734", Nationality: "UTO", DateOfBirth: "340712", Sex: "M", DateOfExpiry: "950712", PrimaryID: "STEVENSON", SecondaryID: "PETER JOHN"},
			"D23145890734934071279507122"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMRZ(tt.in)
			if err != nil {
				t.Fatalf("ParseMRZ: %v", err)
			}
			if tt.want.Format == "" {
				return
			}
			g := *got
			g.docNumberCheck = 0
			if g != tt.want {
				t.Errorf("ParseMRZ =\n%+v\nwant\n%+v", g, tt.want)
			}
			if want := strings.ReplaceAll(tt.info, " ", ""); got.Key().MRZInformation() != want {
				t.Errorf("MRZ information = %q, want %q", got.Key().MRZInformation(), want)
			}
		})
	}
}

func TestParseMRZErrors(t *testing.T) {
	line2 := "L898902C36UTO7408122F1204159ZE184226B<<<<<10"
	line1 := "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<"
	set := func(s string, i int, c byte) string { b := []byte(s); b[i] = c; return string(b) }
	tests := []struct {
		name      string
		in        string
		wantField string
		wantCol   int
		check     bool
	}{
		{"doc number digit", line1 + "\n" + set(line2, 9, '7'), "document number", 1, true},
		{"birth digit", line1 + "\n" + set(line2, 19, '3'), "date of birth", 14, true},
		{"expiry digit", line1 + "\n" + set(line2, 27, '0'), "date of expiry", 22, true},
		{"personal number digit", line1 + "\n" + set(line2, 42, '2'), "personal number", 29, true},
		{"composite", line1 + "\n" + set(line2, 43, '1'), "composite", 44, true},
		{"bad month", line1 + "\n" + set(line2, 15, '9'), "date of birth", 14, false},
		{"bad sex", line1 + "\n" + set(line2, 20, 'Q'), "sex", 21, false},
		{"lowercase", line1 + "\n" + strings.ToLower(line2), "character", 1, false},
		{"wrong length", line1 + "\n" + line2[:40], "format", 0, false},
		{"empty", "", "format", 0, false},
		{"huge", strings.Repeat("<", 10000), "input", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseMRZ(tt.in)
			var me *MRZError
			var ce *checkDigitError
			switch {
			case errors.As(err, &ce):
				me = &ce.MRZError
			case errors.As(err, &me):
			default:
				t.Fatalf("ParseMRZ error = %v, want an *MRZError", err)
			}
			if me.Field != tt.wantField || me.Col != tt.wantCol {
				t.Errorf("error %q: field %q col %d, want %q col %d", err, me.Field, me.Col, tt.wantField, tt.wantCol)
			}
			if got := errors.Is(err, ErrCheckDigit); got != tt.check {
				t.Errorf("errors.Is(%q, ErrCheckDigit) = %v, want %v", err, got, tt.check)
			}
		})
	}
}

func TestAccessKeys(t *testing.T) {
	// ICAO 9303-11 Appendix D (BAC) and G.1 (PACE) MRZ information.
	k, err := NewMRZKey("L898902C", "690806", "940623")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := k.MRZInformation(), "L898902C<369080619406236"; got != want {
		t.Errorf("MRZ information = %q, want %q", got, want)
	}
	k, err = NewMRZKey("T22000129", "640812", "101031")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := k.MRZInformation(), "T22000129364081251010318"; got != want {
		t.Errorf("MRZ information = %q, want %q", got, want)
	}
	if s := k.String(); strings.Contains(s, "T22") {
		t.Errorf("String() leaks the document number: %q", s)
	}
	k, err = NewKeyFromMRZ("L898902C36UTO7408122F1204159ZE184226B<<<<<10")
	if err != nil {
		t.Fatalf("NewKeyFromMRZ(TD3 line 2): %v", err)
	}
	if got, want := k.MRZInformation(), "L898902C36740812212041 59"; got != strings.ReplaceAll(want, " ", "") {
		t.Errorf("MRZ information = %q, want %q", got, want)
	}
	if _, err := NewKeyFromMRZ("L898902C37UTO7408122F1204159ZE184226B<<<<<10"); !errors.Is(err, ErrCheckDigit) {
		t.Errorf("NewKeyFromMRZ with a bad digit: %v, want ErrCheckDigit", err)
	}
	for _, bad := range [][3]string{{"", "690806", "940623"}, {"L898902C", "691306", "940623"}, {"L898902C", "6908", "940623"}, {"l8*", "690806", "940623"}} {
		if _, err := NewMRZKey(bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("NewMRZKey(%q) accepted", bad)
		}
	}
	c, err := NewCANKey("123456")
	if err != nil || c.Kind() != KeyCAN || c.MRZInformation() != "" {
		t.Errorf("NewCANKey = %v, %v", c, err)
	}
	for _, bad := range []string{"", "12a456", "1234567890123"} {
		if _, err := NewCANKey(bad); err == nil {
			t.Errorf("NewCANKey(%q) accepted", bad)
		}
	}
}

func FuzzParseMRZ(f *testing.F) {
	f.Add(specimenTD3)
	f.Add(specimenTD2)
	f.Add(specimenTD1)
	f.Add("L898902C36UTO7408122F1204159ZE184226B<<<<<10")
	f.Add("I<UTOD23145890<7349<<<<<<<<<<<\n3407127M9507122UTO<<<<<<<<<<<2\nSTEVENSON<<PETER<JOHN<<<<<<<<<")
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMRZ(s)
		if err == nil {
			if m.Format == "" || len(m.Key().MRZInformation()) < 24 {
				t.Fatalf("parsed MRZ without format or key: %+v", m)
			}
		}
		_, _ = NewKeyFromMRZ(s)
	})
}
