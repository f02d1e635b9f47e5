// Package mrz parses and checks the machine readable zone (TD1, TD2, TD3, check digits) and
// derives the document access keys (from the MRZ or a CAN) that BAC and PACE start from.
package mrz

import (
	"errors"
	"fmt"
	"strings"
)

// MRZ formats (ICAO 9303 parts 4-7). Machine-readable visas MRV-A and MRV-B have TD3 and
// TD2 line lengths and parse as those.
const (
	TD1 = "TD1" // 3 lines of 30: ID cards
	TD2 = "TD2" // 2 lines of 36
	TD3 = "TD3" // 2 lines of 44: passports
)

// MRZ is a parsed machine-readable zone with every check digit verified.
type MRZ struct {
	Format         string // TD1, TD2 or TD3
	DocumentCode   string // "P", "I", "AC", "ID", ... fillers removed
	IssuingState   string // three-letter code, fillers removed ("D" for Germany)
	DocumentNumber string // full number, fillers removed (long TD1/TD2 numbers joined)
	Nationality    string
	DateOfBirth    string // YYMMDD; unknown parts stay '<'
	Sex            string // "M", "F" or "<"
	DateOfExpiry   string // YYMMDD
	PrimaryID      string // surname(s), fillers as spaces
	SecondaryID    string // given name(s)
	OptionalData1  string // TD3 personal number, TD1 line 1 optional data
	OptionalData2  string // TD1 line 2 optional data

	docNumberCheck byte // the check digit printed for the document number
}

// MRZError says which field of an MRZ is wrong and where.
type MRZError struct {
	Field string // "document number", "date of birth", "composite", ...
	Line  int    // 1-based, 0 if not about one line
	Col   int    // 1-based column of the field's first character, 0 if not known
	Msg   string
}

func (e *MRZError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("mrz: line %d col %d: %s: %s", e.Line, e.Col, e.Field, e.Msg)
	}
	return fmt.Sprintf("mrz: %s: %s", e.Field, e.Msg)
}

// ErrCheckDigit is wrapped by MRZ errors about a check digit that does not match.
var ErrCheckDigit = errors.New("check digit mismatch")

type checkDigitError struct {
	MRZError
}

func (e *checkDigitError) Unwrap() error { return ErrCheckDigit }

// mrzCharValue is the value of an MRZ character for check digits: digits, A-Z = 10..35, '<' = 0.
func mrzCharValue(c byte) (int, bool) {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0'), true
	case c >= 'A' && c <= 'Z':
		return int(c-'A') + 10, true
	case c == '<':
		return 0, true
	}
	return 0, false
}

// CheckDigit computes the ICAO 9303-3 check digit (weights 7, 3, 1) of s, which must hold
// only MRZ characters (0-9, A-Z, '<').
func CheckDigit(s string) (byte, error) {
	sum := 0
	weights := [3]int{7, 3, 1}
	for i := 0; i < len(s); i++ {
		v, ok := mrzCharValue(s[i])
		if !ok {
			return 0, fmt.Errorf("mrz: character %q at position %d is not an MRZ character", s[i], i+1)
		}
		sum += v * weights[i%3]
	}
	return byte('0' + sum%10), nil
}

// normalizeMRZ splits text into MRZ lines: it accepts lines separated by newlines (CR, spaces
// around lines and blank lines are dropped) or one run of 88/72/90 characters.
func normalizeMRZ(text string) ([]string, error) {
	if len(text) > 400 {
		return nil, &MRZError{Field: "input", Msg: fmt.Sprintf("%d characters, an MRZ has at most 90", len(text))}
	}
	var lines []string
	for _, l := range strings.Split(strings.ReplaceAll(text, "\r", "\n"), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 1 {
		l := lines[0]
		switch len(l) {
		case 90:
			lines = []string{l[:30], l[30:60], l[60:]}
		case 88:
			lines = []string{l[:44], l[44:]}
		case 72:
			lines = []string{l[:36], l[36:]}
		}
	}
	for i, l := range lines {
		for j := 0; j < len(l); j++ {
			if _, ok := mrzCharValue(l[j]); !ok {
				return nil, &MRZError{Field: "character", Line: i + 1, Col: j + 1, Msg: fmt.Sprintf("%q is not an MRZ character (0-9, A-Z, <)", l[j])}
			}
		}
	}
	return lines, nil
}

// ParseMRZ parses a TD1, TD2 or TD3 machine-readable zone and verifies every check digit.
// Errors are *MRZError naming the failing field; check digit failures wrap ErrCheckDigit.
func ParseMRZ(text string) (*MRZ, error) {
	lines, err := normalizeMRZ(text)
	if err != nil {
		return nil, err
	}
	switch {
	case len(lines) == 3 && len(lines[0]) == 30 && len(lines[1]) == 30 && len(lines[2]) == 30:
		return parseTD1(lines)
	case len(lines) == 2 && len(lines[0]) == 36 && len(lines[1]) == 36:
		return parseTD2(lines)
	case len(lines) == 2 && len(lines[0]) == 44 && len(lines[1]) == 44:
		return parseTD3(lines)
	}
	lens := make([]string, len(lines))
	for i, l := range lines {
		lens[i] = fmt.Sprint(len(l))
	}
	return nil, &MRZError{Field: "format", Msg: fmt.Sprintf("%d line(s) of length %s; want 3x30 (TD1), 2x36 (TD2) or 2x44 (TD3)", len(lines), strings.Join(lens, ","))}
}

func trimFill(s string) string { return strings.TrimRight(s, "<") }

func names(s string) (primary, secondary string) {
	s = trimFill(s)
	p, q, _ := strings.Cut(s, "<<")
	clean := func(x string) string {
		return strings.TrimSpace(strings.Join(strings.FieldsFunc(x, func(r rune) bool { return r == '<' }), " "))
	}
	return clean(p), clean(q)
}

// verify checks a check digit at line/col (1-based) over value.
func verify(field string, line, col int, value string, digit byte) error {
	want, _ := CheckDigit(value) // value holds MRZ characters only (normalizeMRZ checked)
	if digit == want {
		return nil
	}
	return &checkDigitError{MRZError{Field: field, Line: line, Col: col,
		Msg: fmt.Sprintf("check digit is %q, computed %q", digit, want)}}
}

// verifyOptional accepts '<' as the check digit of an all-filler optional field.
func verifyOptional(field string, line, col int, value string, digit byte) error {
	if digit == '<' && trimFill(value) == "" {
		return nil
	}
	return verify(field, line, col, value, digit)
}

func checkDate(field string, line, col int, s string) error {
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && s[i] != '<' {
			return &MRZError{Field: field, Line: line, Col: col, Msg: fmt.Sprintf("not a YYMMDD date (character %d)", i+1)}
		}
	}
	if s[2] != '<' && s[3] != '<' {
		if m := int(s[2]-'0')*10 + int(s[3]-'0'); m < 1 || m > 12 {
			return &MRZError{Field: field, Line: line, Col: col, Msg: fmt.Sprintf("month %02d out of range", m)}
		}
	}
	if s[4] != '<' && s[5] != '<' {
		if d := int(s[4]-'0')*10 + int(s[5]-'0'); d < 1 || d > 31 {
			return &MRZError{Field: field, Line: line, Col: col, Msg: fmt.Sprintf("day %02d out of range", d)}
		}
	}
	return nil
}

// longDocNumber handles the TD1/TD2 rule for document numbers over 9 characters: the check
// digit position holds '<' and the number continues in the optional data, ending with its
// check digit before the first filler.
func longDocNumber(first9 string, cd byte, optional string, line, col int) (number string, digit byte, err error) {
	if cd != '<' {
		return trimFill(first9), cd, verify("document number", line, col, first9, cd)
	}
	rest, _, _ := strings.Cut(optional, "<")
	if len(rest) < 2 {
		return "", 0, &MRZError{Field: "document number", Line: line, Col: col, Msg: "check digit is '<' but the optional data holds no continuation"}
	}
	full := first9 + rest[:len(rest)-1]
	digit = rest[len(rest)-1]
	return full, digit, verify("document number", line, col, full, digit)
}

func parseTD3(l []string) (*MRZ, error) {
	a, b := l[0], l[1]
	m := &MRZ{Format: TD3, DocumentCode: trimFill(a[0:2]), IssuingState: trimFill(a[2:5])}
	m.PrimaryID, m.SecondaryID = names(a[5:])
	m.DocumentNumber, m.docNumberCheck = trimFill(b[0:9]), b[9]
	m.Nationality, m.DateOfBirth, m.Sex, m.DateOfExpiry = trimFill(b[10:13]), b[13:19], b[20:21], b[21:27]
	m.OptionalData1 = trimFill(b[28:42])
	for _, err := range []error{
		docCode(a, 1),
		verify("document number", 2, 1, b[0:9], b[9]),
		checkDate("date of birth", 2, 14, b[13:19]),
		verify("date of birth", 2, 14, b[13:19], b[19]),
		sex(b[20], 2, 21),
		checkDate("date of expiry", 2, 22, b[21:27]),
		verify("date of expiry", 2, 22, b[21:27], b[27]),
		verifyOptional("personal number", 2, 29, b[28:42], b[42]),
		verify("composite", 2, 44, b[0:10]+b[13:20]+b[21:43], b[43]),
	} {
		if err != nil {
			return nil, err
		}
	}
	return m, nil
}

func parseTD2(l []string) (*MRZ, error) {
	a, b := l[0], l[1]
	m := &MRZ{Format: TD2, DocumentCode: trimFill(a[0:2]), IssuingState: trimFill(a[2:5])}
	m.PrimaryID, m.SecondaryID = names(a[5:])
	m.Nationality, m.DateOfBirth, m.Sex, m.DateOfExpiry = trimFill(b[10:13]), b[13:19], b[20:21], b[21:27]
	if err := docCode(a, 1); err != nil {
		return nil, err
	}
	num, cd, err := longDocNumber(b[0:9], b[9], b[28:35], 2, 1)
	if err != nil {
		return nil, err
	}
	m.DocumentNumber, m.docNumberCheck = num, cd
	if b[9] != '<' {
		m.OptionalData1 = trimFill(b[28:35])
	}
	for _, err := range []error{
		checkDate("date of birth", 2, 14, b[13:19]),
		verify("date of birth", 2, 14, b[13:19], b[19]),
		sex(b[20], 2, 21),
		checkDate("date of expiry", 2, 22, b[21:27]),
		verify("date of expiry", 2, 22, b[21:27], b[27]),
		verify("composite", 2, 36, b[0:10]+b[13:20]+b[21:35], b[35]),
	} {
		if err != nil {
			return nil, err
		}
	}
	return m, nil
}

func parseTD1(l []string) (*MRZ, error) {
	a, b, c := l[0], l[1], l[2]
	m := &MRZ{Format: TD1, DocumentCode: trimFill(a[0:2]), IssuingState: trimFill(a[2:5])}
	m.PrimaryID, m.SecondaryID = names(c)
	m.DateOfBirth, m.Sex, m.DateOfExpiry, m.Nationality = b[0:6], b[7:8], b[8:14], trimFill(b[15:18])
	m.OptionalData2 = trimFill(b[18:29])
	if err := docCode(a, 1); err != nil {
		return nil, err
	}
	num, cd, err := longDocNumber(a[5:14], a[14], a[15:30], 1, 6)
	if err != nil {
		return nil, err
	}
	m.DocumentNumber, m.docNumberCheck = num, cd
	if a[14] != '<' {
		m.OptionalData1 = trimFill(a[15:30])
	}
	for _, err := range []error{
		checkDate("date of birth", 2, 1, b[0:6]),
		verify("date of birth", 2, 1, b[0:6], b[6]),
		sex(b[7], 2, 8),
		checkDate("date of expiry", 2, 9, b[8:14]),
		verify("date of expiry", 2, 9, b[8:14], b[14]),
		verify("composite", 2, 30, a[5:30]+b[0:7]+b[8:15]+b[18:29], b[29]),
	} {
		if err != nil {
			return nil, err
		}
	}
	return m, nil
}

func docCode(line string, n int) error {
	if line[0] < 'A' || line[0] > 'Z' {
		return &MRZError{Field: "document code", Line: n, Col: 1, Msg: fmt.Sprintf("%q does not start with a letter", line[0:2])}
	}
	return nil
}

func sex(c byte, line, col int) error {
	switch c {
	case 'M', 'F', '<', 'X':
		return nil
	}
	return &MRZError{Field: "sex", Line: line, Col: col, Msg: fmt.Sprintf("%q is not M, F, X or <", c)}
}

// Key returns the BAC/PACE access key derived from the MRZ.
func (m *MRZ) Key() AccessKey {
	return mrzKey(m.DocumentNumber, m.docNumberCheck, m.DateOfBirth, m.DateOfExpiry)
}

func errorsAs[T error](err error, target *T) bool { return errors.As(err, target) }
