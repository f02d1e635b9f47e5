package mrz

import (
	"crypto/sha1"
	"fmt"
	"strings"
)

// KeyKind says which password an AccessKey holds.
type KeyKind int

// Access key kinds; the values are the PACE password references of ICAO 9303-11 §9.2.
const (
	KeyMRZ KeyKind = 1
	KeyCAN KeyKind = 2
)

func (k KeyKind) String() string {
	switch k {
	case KeyMRZ:
		return "MRZ"
	case KeyCAN:
		return "CAN"
	}
	return fmt.Sprintf("KeyKind(%d)", int(k))
}

// AccessKey is the password for BAC or PACE: the MRZ information (document number, date of
// birth, date of expiry with their check digits) or the card access number. Its String
// method never shows the secret, so it can be logged.
type AccessKey struct {
	kind   KeyKind
	secret string // MRZ_information or CAN digits
}

// Kind reports whether the key is an MRZ or CAN key.
func (k AccessKey) Kind() KeyKind { return k.kind }

// IsZero reports whether k is the zero AccessKey.
func (k AccessKey) IsZero() bool { return k.secret == "" }

func (k AccessKey) String() string {
	if k.IsZero() {
		return "no access key"
	}
	return k.kind.String() + " access key"
}

// MRZInformation returns the MRZ_information string the BAC and PACE keys are derived from
// ("" for a CAN key). It holds the document number: do not log or persist it.
func (k AccessKey) MRZInformation() string {
	if k.kind != KeyMRZ {
		return ""
	}
	return k.secret
}

// BACSeed is the key seed of BAC: the first 16 bytes of SHA-1(MRZ_information).
func (k AccessKey) BACSeed() []byte {
	h := sha1.Sum([]byte(k.secret))
	return h[:16]
}

// PACEPassword is π's source K: SHA-1(MRZ_information) for MRZ keys, the CAN's bytes otherwise.
func (k AccessKey) PACEPassword() []byte {
	if k.kind == KeyMRZ {
		h := sha1.Sum([]byte(k.secret))
		return h[:]
	}
	return []byte(k.secret)
}

func mrzKey(docNumber string, docCheck byte, dob, expiry string) AccessKey {
	num := docNumber
	for len(num) < 9 {
		num += "<"
	}
	dobCD, _ := CheckDigit(dob)
	expCD, _ := CheckDigit(expiry)
	return AccessKey{kind: KeyMRZ, secret: num + string(docCheck) + dob + string(dobCD) + expiry + string(expCD)}
}

// NewMRZKey makes an access key from the document number (as printed, fillers optional),
// date of birth and date of expiry (YYMMDD). Check digits are computed.
func NewMRZKey(docNumber, dateOfBirth, dateOfExpiry string) (AccessKey, error) {
	docNumber = strings.TrimRight(strings.ToUpper(strings.TrimSpace(docNumber)), "<")
	if docNumber == "" || len(docNumber) > 22 {
		return AccessKey{}, &MRZError{Field: "document number", Msg: fmt.Sprintf("%d characters, want 1..22", len(docNumber))}
	}
	for i := 0; i < len(docNumber); i++ {
		if _, ok := mrzCharValue(docNumber[i]); !ok {
			return AccessKey{}, &MRZError{Field: "document number", Msg: fmt.Sprintf("character %d is not 0-9, A-Z or <", i+1)}
		}
	}
	for _, f := range []struct{ name, v string }{{"date of birth", dateOfBirth}, {"date of expiry", dateOfExpiry}} {
		if len(f.v) != 6 {
			return AccessKey{}, &MRZError{Field: f.name, Msg: fmt.Sprintf("%d characters, want YYMMDD", len(f.v))}
		}
		if err := checkDate(f.name, 0, 0, f.v); err != nil {
			return AccessKey{}, err
		}
	}
	padded := docNumber
	for len(padded) < 9 {
		padded += "<"
	}
	cd, _ := CheckDigit(padded)
	return mrzKey(docNumber, cd, dateOfBirth, dateOfExpiry), nil
}

// NewCANKey makes an access key from a card access number (6 digits on most documents).
func NewCANKey(can string) (AccessKey, error) {
	can = strings.TrimSpace(can)
	if len(can) < 4 || len(can) > 12 {
		return AccessKey{}, fmt.Errorf("can: %d digits, want 4..12 (usually 6)", len(can))
	}
	for i := 0; i < len(can); i++ {
		if can[i] < '0' || can[i] > '9' {
			return AccessKey{}, fmt.Errorf("can: character %d is not a digit", i+1)
		}
	}
	return AccessKey{kind: KeyCAN, secret: can}, nil
}

// NewKeyFromMRZ makes an access key from a whole MRZ (TD1, TD2 or TD3) or from the second
// line of a TD3 (44 characters) or TD2 (36 characters) MRZ alone, which holds all three fields.
func NewKeyFromMRZ(text string) (AccessKey, error) {
	lines, err := normalizeMRZ(text)
	if err != nil {
		return AccessKey{}, err
	}
	if len(lines) == 1 && (len(lines[0]) == 44 || len(lines[0]) == 36) {
		// Synthesize a filler first line so the whole second line is checked.
		first := "P<" + strings.Repeat("<", len(lines[0])-2)
		m, err := ParseMRZ(first + "\n" + lines[0])
		if err != nil {
			var me *MRZError
			var ce *checkDigitError
			switch {
			case errorsAs(err, &ce):
				ce.Line = 1 // the caller gave one line
				return AccessKey{}, ce
			case errorsAs(err, &me):
				me.Line = 1
				return AccessKey{}, me
			}
			return AccessKey{}, err
		}
		return m.Key(), nil
	}
	m, err := ParseMRZ(text)
	if err != nil {
		return AccessKey{}, err
	}
	return m.Key(), nil
}
