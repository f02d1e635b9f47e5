// Package asn1der decodes the DER primitives the eMRTD PKI and LDS need (integers, OIDs,
// times, bit strings, algorithm identifiers) on top of drivers/emrtd/tlv, and names their OIDs.
package asn1der

import (
	"encoding/asn1"
	"fmt"
	"math/big"
	"time"

	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
)

// Object identifiers used by the LDS, CMS and X.509 code.
var (
	OIDData              = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	OIDSignedData        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}
	OIDContentType       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 3}
	OIDMessageDigest     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 4}
	OIDLDSSecurityObject = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 1}
	OIDCSCAMasterList    = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 2}

	OIDSHA1   = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	OIDSHA224 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 4}
	OIDSHA256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	OIDSHA384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	OIDSHA512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}

	OIDRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	OIDRSAPSS        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 10}
	OIDMGF1          = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 8}
	OIDECPublicKey   = asn1.ObjectIdentifier{1, 2, 840, 10045, 2, 1}
	OIDPrimeField    = asn1.ObjectIdentifier{1, 2, 840, 10045, 1, 1}

	OIDExtSKI       = asn1.ObjectIdentifier{2, 5, 29, 14}
	OIDExtKeyUsage  = asn1.ObjectIdentifier{2, 5, 29, 15}
	OIDExtBasicCons = asn1.ObjectIdentifier{2, 5, 29, 19}
	OIDExtAKI       = asn1.ObjectIdentifier{2, 5, 29, 35}
	OIDCountryName  = asn1.ObjectIdentifier{2, 5, 4, 6}
	OIDCommonName   = asn1.ObjectIdentifier{2, 5, 4, 3}
	OIDSerialNumber = asn1.ObjectIdentifier{2, 5, 4, 5}
	OIDOrganization = asn1.ObjectIdentifier{2, 5, 4, 10}
	OIDOrgUnit      = asn1.ObjectIdentifier{2, 5, 4, 11}
)

// asn1Tag and friends name the universal tags used when walking TLV trees.
const (
	TagBoolean     tlv.Tag = 0x01
	TagInteger     tlv.Tag = 0x02
	TagBitString   tlv.Tag = 0x03
	TagOctetString tlv.Tag = 0x04
	tagNull        tlv.Tag = 0x05
	TagOID         tlv.Tag = 0x06
	TagUTCTime     tlv.Tag = 0x17
	TagGenTime     tlv.Tag = 0x18
	TagSequence    tlv.Tag = 0x30
	TagSet         tlv.Tag = 0x31
)

// child returns the i-th child of t and checks its tag (0 accepts any tag).
func Child(t *tlv.TLV, i int, tag tlv.Tag, what string) (*tlv.TLV, error) {
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
func DecodeOID(t *tlv.TLV, what string) (asn1.ObjectIdentifier, error) {
	if t.Tag != TagOID {
		return nil, fmt.Errorf("%s at offset %d: tag %s, want an object identifier", what, t.Offset, t.Tag)
	}
	var oid asn1.ObjectIdentifier
	if _, err := asn1.Unmarshal(tlv.EncodeTLV(TagOID, t.Value), &oid); err != nil {
		return nil, fmt.Errorf("%s at offset %d: %w", what, t.Offset, err)
	}
	return oid, nil
}

// decodeInt decodes an INTEGER of any size (non-minimal encodings, which some real
// certificates have, are accepted).
func DecodeInt(t *tlv.TLV, what string) (*big.Int, error) {
	if t.Tag != TagInteger || len(t.Value) == 0 {
		return nil, fmt.Errorf("%s at offset %d: not an integer", what, t.Offset)
	}
	n := new(big.Int).SetBytes(t.Value)
	if t.Value[0]&0x80 != 0 {
		n.Sub(n, new(big.Int).Lsh(big.NewInt(1), uint(8*len(t.Value))))
	}
	return n, nil
}

// decodeSmallInt decodes an INTEGER that must fit an int.
func DecodeSmallInt(t *tlv.TLV, what string) (int, error) {
	n, err := DecodeInt(t, what)
	if err != nil {
		return 0, err
	}
	if !n.IsInt64() || n.Int64() > 1<<30 || n.Int64() < -(1<<30) {
		return 0, fmt.Errorf("%s at offset %d: integer out of range", what, t.Offset)
	}
	return int(n.Int64()), nil
}

// decodeTime decodes a UTCTime or GeneralizedTime.
func DecodeTime(t *tlv.TLV, what string) (time.Time, error) {
	if t.Tag != TagUTCTime && t.Tag != TagGenTime {
		return time.Time{}, fmt.Errorf("%s at offset %d: tag %s is not a time", what, t.Offset, t.Tag)
	}
	var tm time.Time
	_, err := asn1.Unmarshal(tlv.EncodeTLV(t.Tag, t.Value), &tm)
	if err == nil {
		return tm, nil
	}
	// encoding/asn1 is strict DER; some issuers write fractional seconds or omit them.
	layouts := []string{"20060102150405.999999999Z0700", "200601021504Z0700"}
	if t.Tag == TagUTCTime {
		layouts = []string{"0601021504Z0700"}
	}
	for _, l := range layouts {
		if tm, perr := time.Parse(l, string(t.Value)); perr == nil {
			if t.Tag == TagUTCTime && tm.Year() >= 2050 {
				tm = tm.AddDate(-100, 0, 0)
			}
			return tm.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%s at offset %d: %w", what, t.Offset, err)
}

// bitStringBytes returns the content of a BIT STRING with no unused bits.
func BitStringBytes(t *tlv.TLV, what string) ([]byte, error) {
	if t.Tag != TagBitString || len(t.Value) == 0 {
		return nil, fmt.Errorf("%s at offset %d: not a bit string", what, t.Offset)
	}
	if t.Value[0] != 0 {
		return nil, fmt.Errorf("%s at offset %d: %d unused bits", what, t.Offset, t.Value[0])
	}
	return t.Value[1:], nil
}

// octets returns the content of an OCTET STRING, joining the segments of a constructed
// (BER) one.
func Octets(t *tlv.TLV, what string) ([]byte, error) {
	switch t.Tag {
	case TagOctetString:
		return t.Value, nil
	case 0x24:
		var out []byte
		for i := range t.Children {
			b, err := Octets(&t.Children[i], what)
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
	Params *tlv.TLV // nil when absent
}

func DecodeAlgID(t *tlv.TLV, what string) (AlgorithmIdentifier, error) {
	if t.Tag != TagSequence {
		return AlgorithmIdentifier{}, fmt.Errorf("%s at offset %d: not a sequence", what, t.Offset)
	}
	o, err := Child(t, 0, TagOID, what+" algorithm")
	if err != nil {
		return AlgorithmIdentifier{}, err
	}
	oid, err := DecodeOID(o, what)
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
func ParseDER(b []byte, what string) (*tlv.TLV, error) {
	t, rest, err := tlv.ParseOneTLV(b)
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
