package emrtd

import (
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"
)

// Object identifiers used by the LDS, CMS and X.509 code.
var (
	oidData              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidSignedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	oidContentType       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	oidMessageDigest     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	oidLDSSecurityObject = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 1}
	oidCSCAMasterList    = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 2}

	oidSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA224 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 4}
	oidSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}

	oidRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	oidRSAPSS        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	oidMGF1          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	oidECPublicKey   = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	oidPrimeField    = asn1.ObjectIdentifier{1, 2, 840, 10045, 1, 1}

	oidExtSKI       = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidExtKeyUsage  = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtBasicCons = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidExtAKI       = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidCountryName  = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidCommonName   = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidSerialNumber = asn1.ObjectIdentifier{2, 5, 4, 5}
	oidOrganization = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOrgUnit      = asn1.ObjectIdentifier{2, 5, 4, 11}
)

// asn1Tag and friends name the universal tags used when walking TLV trees.
const (
	tagBoolean     Tag = 0x01
	tagInteger     Tag = 0x02
	tagBitString   Tag = 0x03
	tagOctetString Tag = 0x04
	tagNull        Tag = 0x05
	tagOID         Tag = 0x06
	tagUTCTime     Tag = 0x17
	tagGenTime     Tag = 0x18
	tagSequence    Tag = 0x30
	tagSet         Tag = 0x31
)

// child returns the i-th child of t and checks its tag (0 accepts any tag).
func child(t *TLV, i int, tag Tag, what string) (*TLV, error) {
	if i >= len(t.Children) {
		return nil, fmt.Errorf("%s missing (offset %d)", what, t.Offset)
	}
	c := &t.Children[i]
	if tag != 0 && c.Tag != tag {
		return nil, fmt.Errorf("%s at offset %d: tag %s, want %s", what, c.Offset, c.Tag, tag)
	}
	return c, nil
}

// decodeOID decodes a primitive OBJECT IDENTIFIER.
func decodeOID(t *TLV, what string) (asn1.ObjectIdentifier, error) {
	if t.Tag != tagOID {
		return nil, fmt.Errorf("%s at offset %d: tag %s, want an object identifier", what, t.Offset, t.Tag)
	}
	var oid asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(EncodeTLV(tagOID, t.Value), &oid); err != nil {
		return nil, fmt.Errorf("%s at offset %d: %w", what, t.Offset, err)
	}
	return oid, nil
}

// decodeInt decodes an INTEGER of any size (non-minimal encodings, which some real
// certificates have, are accepted).
func decodeInt(t *TLV, what string) (*big.Int, error) {
	if t.Tag != tagInteger || len(t.Value) == 0 {
		return nil, fmt.Errorf("%s at offset %d: not an integer", what, t.Offset)
	}
	n := new(big.Int).SetBytes(t.Value)
	if t.Value[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(t.Value))))
	}
	return n, nil
}

// decodeSmallInt decodes an INTEGER that must fit an int.
func decodeSmallInt(t *TLV, what string) (int, error) {
	n, err := decodeInt(t, what)
	if err != nil {
		return 0, err
	}
	if !n.IsInt64() || n.Int64() > 1<<30 || n.Int64() < -(1<<30) {
		return 0, fmt.Errorf("%s at offset %d: integer out of range", what, t.Offset)
	}
	return int(n.Int64()), nil
}

// decodeTime decodes a UTCTime or GeneralizedTime.
func decodeTime(t *TLV, what string) (time.Time, error) {
	if t.Tag != tagUTCTime && t.Tag != tagGenTime {
		return time.Time{}, fmt.Errorf("%s at offset %d: tag %s is not a time", what, t.Offset, t.Tag)
	}
	var tm time.Time
	_, err := asn1.Unmarshal(EncodeTLV(t.Tag, t.Value), &tm)
	if err == nil {
		return tm, nil
	}
	// encoding/asn1 is strict DER; some issuers write fractional seconds or omit them.
	layouts := []string{"20060102150405.999999999Z0700", "200601021504Z0700"}
	if t.Tag == tagUTCTime {
		layouts = []string{"0601021504Z0700"}
	}
	for _, l := range layouts {
		if tm, perr := time.Parse(l, string(t.Value)); perr == nil {
			if t.Tag == tagUTCTime && tm.Year() >= 2050 {
				tm = tm.AddDate(-100, 0, 0)
			}
			return tm.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%s at offset %d: %w", what, t.Offset, err)
}

// bitStringBytes returns the content of a BIT STRING with no unused bits.
func bitStringBytes(t *TLV, what string) ([]byte, error) {
	if t.Tag != tagBitString || len(t.Value) == 0 {
		return nil, fmt.Errorf("%s at offset %d: not a bit string", what, t.Offset)
	}
	if t.Value[0] != 0 {
		return nil, fmt.Errorf("%s at offset %d: %d unused bits", what, t.Offset, t.Value[0])
	}
	return t.Value[1:], nil
}

// octets returns the content of an OCTET STRING, joining the segments of a constructed
// (BER) one.
func octets(t *TLV, what string) ([]byte, error) {
	switch t.Tag {
	case tagOctetString:
		return t.Value, nil
	case 0x24:
		var out []byte
		for i := range t.Children {
			b, err := octets(&t.Children[i], what)
			if err != nil {
				return nil, err
			}
			out = append(out, b...)
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s at offset %d: tag %s, want an octet string", what, t.Offset, t.Tag)
}

// AlgorithmIdentifier is an X.509 AlgorithmIdentifier with its parameters still encoded.
type AlgorithmIdentifier struct {
	OID    asn1.ObjectIdentifier
	Params *TLV // nil when absent
}

func decodeAlgID(t *TLV, what string) (AlgorithmIdentifier, error) {
	if t.Tag != tagSequence {
		return AlgorithmIdentifier{}, fmt.Errorf("%s at offset %d: not a sequence", what, t.Offset)
	}
	o, err := child(t, 0, tagOID, what+" algorithm")
	if err != nil {
		return AlgorithmIdentifier{}, err
	}
	oid, err := decodeOID(o, what)
	if err != nil {
		return AlgorithmIdentifier{}, err
	}
	a := AlgorithmIdentifier{OID: oid}
	if len(t.Children) > 1 && t.Children[1].Tag != tagNull {
		a.Params = &t.Children[1]
	}
	return a, nil
}

// parseDER parses b as exactly one TLV object.
func parseDER(b []byte, what string) (*TLV, error) {
	t, rest, err := ParseOneTLV(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if len(rest) != 0 {
		// Chips pad files; trailing zero or 0xFF bytes after the object are tolerated.
		for _, c := range rest {
			if c != 0 && c != 0xFF {
				return nil, fmt.Errorf("%s: %d bytes of trailing data after the object", what, len(rest))
			}
		}
	}
	return &t, nil
}
