package emrtdsim

import (
	"fmt"
	"strings"

	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
)

// Holder is what a TD3 (passport) MRZ says of its holder; names are made up in tests.
type Holder struct {
	IssuingState   string // three letters, e.g. "UTO"
	Surname        string
	GivenNames     string
	DocumentNumber string // up to 9 characters
	Nationality    string
	DateOfBirth    string // YYMMDD
	Sex            string // "F", "M" or "<"
	DateOfExpiry   string // YYMMDD
}

// TD3 builds the two 44-character lines of a passport MRZ with correct check digits.
func TD3(h Holder) (string, error) {
	pad := func(s string, n int) string {
		s = strings.ToUpper(strings.ReplaceAll(s, " ", "<"))
		if len(s) > n {
			return s[:n]
		}
		return s + strings.Repeat("<", n-len(s))
	}
	if len(h.DocumentNumber) > 9 || len(h.DateOfBirth) != 6 || len(h.DateOfExpiry) != 6 {
		return "", fmt.Errorf("td3: document number of at most 9 characters and dates as YYMMDD")
	}
	digit := func(s string) (string, error) {
		d, err := mrz.CheckDigit(s)
		return string(d), err
	}
	line1 := pad("P<"+pad(h.IssuingState, 3)+pad(h.Surname, len(h.Surname))+"<<"+pad(h.GivenNames, len(h.GivenNames)), 44)
	doc := pad(h.DocumentNumber, 9)
	optional := strings.Repeat("<", 14)
	var parts [5]string
	var err error
	for i, s := range []string{doc, h.DateOfBirth, h.DateOfExpiry, optional} {
		if parts[i], err = digit(s); err != nil {
			return "", err
		}
	}
	head := doc + parts[0]
	mid := h.DateOfBirth + parts[1]
	exp := h.DateOfExpiry + parts[2]
	opt := optional + parts[3]
	if parts[4], err = digit(head + mid + exp + opt); err != nil {
		return "", err
	}
	line2 := head + pad(h.Nationality, 3) + mid + pad(h.Sex, 1) + exp + opt + parts[4]
	return line1 + "\n" + line2, nil
}
