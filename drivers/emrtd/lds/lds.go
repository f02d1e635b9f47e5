// Package lds parses the Logical Data Structure of an eMRTD without I/O: EF.COM, DG1 (MRZ),
// DG2 (face), DG11/DG12, DG14 SecurityInfos, DG15 and the Document Security Object (EF.SOD).
package lds

import (
	"encoding/asn1"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/edgeid/edgeid/drivers/emrtd/asn1der"
	"github.com/edgeid/edgeid/drivers/emrtd/pki"
	"github.com/edgeid/edgeid/drivers/emrtd/tlv"
)

// Data-group tags (ICAO 9303-10 table 34) and the file each one lives in.
var dgTags = map[tlv.Tag]string{
	0x60: "EF.COM", 0x61: "DG1", 0x75: "DG2", 0x63: "DG3", 0x76: "DG4", 0x65: "DG5", 0x66: "DG6",
	0x67: "DG7", 0x68: "DG8", 0x69: "DG9", 0x6A: "DG10", 0x6B: "DG11", 0x6C: "DG12", 0x6D: "DG13",
	0x6E: "DG14", 0x6F: "DG15", 0x70: "DG16", 0x77: "EF.SOD",
}

// FileForTag returns the file name of a data-group tag from EF.COM's tag list, or "".
func FileForTag(t tlv.Tag) string { return dgTags[t] }

// COM is EF.COM: the LDS and Unicode versions and the list of data groups present.
type COM struct {
	LDSVersion     string // "0107"
	UnicodeVersion string // "040000"
	// DataGroups lists the files named in the tag list, e.g. "DG1", "DG2", "DG15".
	DataGroups []string
	// UnknownTags holds tag-list entries that name no data group.
	UnknownTags []byte
}

// ParseCOM parses EF.COM (tag 0x60).
func ParseCOM(b []byte) (*COM, error) {
	t, err := asn1der.ParseDER(b, "ef.com")
	if err != nil {
		return nil, err
	}
	if t.Tag != 0x60 {
		return nil, fmt.Errorf("ef.com: tag %s, want 60", t.Tag)
	}
	c := &COM{}
	if v, ok := t.Find(0x5F01); ok {
		c.LDSVersion = printable(v.Value)
	}
	if v, ok := t.Find(0x5F36); ok {
		c.UnicodeVersion = printable(v.Value)
	}
	list, ok := t.Find(0x5C)
	if !ok {
		return nil, fmt.Errorf("ef.com: no tag list (5C)")
	}
	for _, tb := range list.Value {
		if name := dgTags[tlv.Tag(tb)]; name != "" && strings.HasPrefix(name, "DG") {
			c.DataGroups = append(c.DataGroups, name)
		} else {
			c.UnknownTags = append(c.UnknownTags, tb)
		}
	}
	return c, nil
}

// printable returns s if it is valid UTF-8 without control characters, else its hex.
func printable(b []byte) string {
	if utf8.Valid(b) {
		ok := true
		for _, r := range string(b) {
			if r < 0x20 || r == 0x7F {
				ok = false
				break
			}
		}
		if ok {
			return string(b)
		}
	}
	return fmt.Sprintf("%X", b)
}

// DG1 is the machine readable zone data group.
type DG1 struct {
	// MRZ is the whole MRZ without line breaks: 90 characters (TD1), 72 (TD2) or 88 (TD3).
	MRZ string
	// Lines is the MRZ split into its lines.
	Lines []string
	// Format is "TD1", "TD2" or "TD3".
	Format string
}

// ParseDG1 parses DG1 (tag 0x61 holding 5F1F). It checks the MRZ length and alphabet; the
// field structure and check digits are for the MRZ parser.
func ParseDG1(b []byte) (*DG1, error) {
	t, err := asn1der.ParseDER(b, "dg1")
	if err != nil {
		return nil, err
	}
	if t.Tag != 0x61 {
		return nil, fmt.Errorf("dg1: tag %s, want 61", t.Tag)
	}
	m, ok := t.Find(0x5F1F)
	if !ok {
		return nil, fmt.Errorf("dg1: no MRZ data element (5F1F)")
	}
	d := &DG1{MRZ: string(m.Value)}
	var width int
	switch len(m.Value) {
	case 90:
		d.Format, width = "TD1", 30
	case 72:
		d.Format, width = "TD2", 36
	case 88:
		d.Format, width = "TD3", 44
	default:
		return nil, fmt.Errorf("dg1: MRZ of %d characters is none of TD1 (90), TD2 (72), TD3 (88)", len(m.Value))
	}
	for i, c := range m.Value {
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '<') {
			return nil, fmt.Errorf("dg1: MRZ character %d (%q) is not A-Z, 0-9 or '<'", i+1, rune(c))
		}
	}
	for i := 0; i < len(d.MRZ); i += width {
		d.Lines = append(d.Lines, d.MRZ[i:i+width])
	}
	return d, nil
}

// EncodeDG1 builds DG1 from MRZ lines (with or without line breaks).
func EncodeDG1(mrz string) ([]byte, error) {
	m := strings.Join(strings.Fields(mrz), "")
	b := tlv.EncodeTLV(0x61, tlv.EncodeTLV(0x5F1F, []byte(m)))
	if _, err := ParseDG1(b); err != nil {
		return nil, err
	}
	return b, nil
}

// EncodeCOM builds EF.COM for LDS 1.7 / Unicode 4.0.0 listing the given data groups ("DG1", ...).
func EncodeCOM(dataGroups []string) ([]byte, error) {
	var list []byte
	for _, dg := range dataGroups {
		var tag tlv.Tag
		for t, n := range dgTags {
			if n == dg && strings.HasPrefix(n, "DG") {
				tag = t
			}
		}
		if tag == 0 {
			return nil, fmt.Errorf("ef.com: %q is not a data group", dg)
		}
		list = append(list, byte(tag))
	}
	return tlv.EncodeConstructed(0x60, tlv.EncodeTLV(0x5F01, []byte("0107")), tlv.EncodeTLV(0x5F36, []byte("040000")), tlv.EncodeTLV(0x5C, list)), nil
}

// AdditionalData holds DG11 (additional personal details) or DG12 (additional document
// details) as their data elements keyed by tag, with the tag list.
type AdditionalData struct {
	Elements map[tlv.Tag][]byte
	Order    []tlv.Tag
}

// DG11 and DG12 data-element tags.
const (
	TagFullName          tlv.Tag = 0x5F0E
	TagOtherNames        tlv.Tag = 0x5F0F
	TagPersonalNumber    tlv.Tag = 0x5F10
	TagPlaceOfBirth      tlv.Tag = 0x5F11
	TagFullDateOfBirth   tlv.Tag = 0x5F2B
	TagAddress           tlv.Tag = 0x5F42
	TagTelephone         tlv.Tag = 0x5F12
	TagProfession        tlv.Tag = 0x5F13
	TagTitle             tlv.Tag = 0x5F14
	TagIssuingAuthority  tlv.Tag = 0x5F19
	TagDateOfIssue       tlv.Tag = 0x5F26
	TagEndorsements      tlv.Tag = 0x5F1B
	TagPersonalizationAt tlv.Tag = 0x5F55
)

// ParseAdditional parses DG11 (tag 0x6B) or DG12 (tag 0x6C).
func ParseAdditional(b []byte) (*AdditionalData, error) {
	t, err := asn1der.ParseDER(b, "dg11/dg12")
	if err != nil {
		return nil, err
	}
	if t.Tag != 0x6B && t.Tag != 0x6C {
		return nil, fmt.Errorf("dg11/dg12: tag %s, want 6B or 6C", t.Tag)
	}
	d := &AdditionalData{Elements: map[tlv.Tag][]byte{}}
	for i := range t.Children {
		c := &t.Children[i]
		if c.Tag == 0x5C {
			continue
		}
		if c.Tag == 0xA0 && len(c.Children) > 0 {
			// DG11 other names / DG12 other persons: keep the first name-like element.
			for j := range c.Children {
				if c.Children[j].Tag != 0x02 {
					d.Elements[c.Children[j].Tag] = c.Children[j].Value
					d.Order = append(d.Order, c.Children[j].Tag)
				}
			}
			continue
		}
		if _, dup := d.Elements[c.Tag]; !dup {
			d.Order = append(d.Order, c.Tag)
		}
		d.Elements[c.Tag] = c.Value
	}
	return d, nil
}

// Text returns an element as text ("" if absent).
func (d *AdditionalData) Text(t tlv.Tag) string {
	v, ok := d.Elements[t]
	if !ok {
		return ""
	}
	return printable(v)
}

// ParseDG15 parses DG15 (tag 0x6F): the Active Authentication public key, returned as
// *rsa.PublicKey or *ECPublicKey.
func ParseDG15(b []byte) (any, error) {
	t, err := asn1der.ParseDER(b, "dg15")
	if err != nil {
		return nil, err
	}
	if t.Tag != 0x6F || len(t.Children) != 1 {
		return nil, fmt.Errorf("dg15: tag %s with %d objects, want 6F with one public key info", t.Tag, len(t.Children))
	}
	k, err := pki.ParseSPKI(&t.Children[0])
	if err != nil {
		return nil, fmt.Errorf("dg15: %w", err)
	}
	return k, nil
}

// Security protocol object identifiers (BSI TR-03110-3, ICAO 9303-11).
var (
	oidPACE   = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 4}
	oidCA     = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 3}
	oidPK     = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 1}
	oidTA     = asn1.ObjectIdentifier{0, 4, 0, 127, 0, 7, 2, 2, 2}
	oidAAInfo = asn1.ObjectIdentifier{2, 23, 136, 1, 1, 5}
)

// maxSecurityInfos bounds the entries of one SecurityInfos set (each key may cost an
// explicit-curve validation); real files hold a handful.
const maxSecurityInfos = 64

// SecurityInfos is the content of DG14, EF.CardAccess and EF.CardSecurity.
type SecurityInfos struct {
	PACE             []PACEInfo
	PACEDomainParams []PACEDomainParameterInfo
	ChipAuth         []ChipAuthenticationInfo
	ChipAuthKeys     []ChipAuthenticationPublicKeyInfo
	ActiveAuth       []ActiveAuthenticationInfo
	TerminalAuth     bool
	// Other holds protocols this package does not interpret.
	Other []asn1.ObjectIdentifier
}

// PACEInfo announces one PACE variant.
type PACEInfo struct {
	Protocol asn1.ObjectIdentifier
	Version  int
	// ParameterID is the standardized domain parameter id (e.g. 13 = brainpoolP256r1), or -1.
	ParameterID int
	// KeyAgreement is "DH" or "ECDH"; Mapping "GM", "IM" or "CAM"; Cipher "3DES" or "AES";
	// KeyBits 112, 128, 192 or 256.
	KeyAgreement, Mapping, Cipher string
	KeyBits                       int
}

// PACEDomainParameterInfo carries proprietary PACE domain parameters.
type PACEDomainParameterInfo struct {
	Protocol    asn1.ObjectIdentifier
	Algorithm   asn1der.AlgorithmIdentifier
	ParameterID int // -1 if absent
}

// ChipAuthenticationInfo announces a Chip Authentication variant.
type ChipAuthenticationInfo struct {
	Protocol      asn1.ObjectIdentifier
	Version       int
	KeyID         int // -1 if absent
	KeyAgreement  string
	Cipher        string
	KeyBits       int
	RawParameters []byte
}

// ChipAuthenticationPublicKeyInfo is a chip's static Chip Authentication key.
type ChipAuthenticationPublicKeyInfo struct {
	Protocol asn1.ObjectIdentifier // id-PK-DH or id-PK-ECDH
	// PublicKey is *ECPublicKey for ECDH; nil for DH keys (RawSPKI holds them) or when
	// KeyErr says why it could not be parsed.
	PublicKey any
	KeyErr    error
	RawSPKI   []byte
	KeyID     int // -1 if absent
}

// ActiveAuthenticationInfo names the signature algorithm of an ECDSA Active Authentication.
type ActiveAuthenticationInfo struct {
	Version            int
	SignatureAlgorithm asn1.ObjectIdentifier
}

// ParseSecurityInfos parses a SecurityInfos SET, bare or wrapped in DG14's tag 0x6E.
func ParseSecurityInfos(b []byte) (*SecurityInfos, error) {
	t, err := asn1der.ParseDER(b, "security infos")
	if err != nil {
		return nil, err
	}
	if t.Tag == 0x6E {
		if len(t.Children) != 1 {
			return nil, fmt.Errorf("dg14: tag 6E holds %d objects, want 1", len(t.Children))
		}
		t = &t.Children[0]
	}
	if t.Tag != asn1der.TagSet {
		return nil, fmt.Errorf("security infos at offset %d: tag %s, want a set", t.Offset, t.Tag)
	}
	if len(t.Children) > maxSecurityInfos {
		return nil, fmt.Errorf("security infos: %d entries, more than %d", len(t.Children), maxSecurityInfos)
	}
	s := &SecurityInfos{}
	for i := range t.Children {
		if err := s.add(&t.Children[i]); err != nil {
			return nil, fmt.Errorf("security info %d: %w", i+1, err)
		}
	}
	return s, nil
}

func oidUnder(oid, prefix asn1.ObjectIdentifier) bool {
	return len(oid) > len(prefix) && oid[:len(prefix)].Equal(prefix)
}

func optInt(t *tlv.TLV, i int) (int, error) {
	if i >= len(t.Children) || t.Children[i].Tag != asn1der.TagInteger {
		return -1, nil
	}
	n, err := asn1der.DecodeInt(&t.Children[i], "parameter")
	if err != nil || !n.IsInt64() || n.Int64() < 0 || n.Int64() > 1<<20 {
		return -1, fmt.Errorf("integer at offset %d out of range", t.Children[i].Offset)
	}
	return int(n.Int64()), nil
}

func (s *SecurityInfos) add(t *tlv.TLV) error {
	if t.Tag != asn1der.TagSequence || len(t.Children) < 2 {
		return fmt.Errorf("at offset %d: not a sequence of protocol and data", t.Offset)
	}
	oid, err := asn1der.DecodeOID(&t.Children[0], "protocol")
	if err != nil {
		return err
	}
	suffix := func(prefix asn1.ObjectIdentifier) []int { return oid[len(prefix):] }
	switch {
	case oidUnder(oid, oidPACE):
		sfx := suffix(oidPACE)
		ka, mapping := paceMapping(sfx[0])
		if mapping == "" {
			s.Other = append(s.Other, oid)
			return nil
		}
		if len(sfx) == 1 { // PACEDomainParameterInfo
			a, err := asn1der.DecodeAlgID(&t.Children[1], "pace domain parameters")
			if err != nil {
				return err
			}
			pid, err := optInt(t, 2)
			if err != nil {
				return err
			}
			s.PACEDomainParams = append(s.PACEDomainParams, PACEDomainParameterInfo{Protocol: oid, Algorithm: a, ParameterID: pid})
			return nil
		}
		if len(sfx) != 2 {
			return fmt.Errorf("pace protocol %v not understood", oid)
		}
		cipher, bits := cipherFor(sfx[1])
		if cipher == "" {
			return fmt.Errorf("pace protocol %v: unknown cipher %d", oid, sfx[1])
		}
		v, err := asn1der.DecodeSmallInt(&t.Children[1], "pace version")
		if err != nil {
			return err
		}
		pid, err := optInt(t, 2)
		if err != nil {
			return err
		}
		s.PACE = append(s.PACE, PACEInfo{Protocol: oid, Version: v, ParameterID: pid, KeyAgreement: ka, Mapping: mapping, Cipher: cipher, KeyBits: bits})
	case oidUnder(oid, oidCA):
		sfx := suffix(oidCA)
		if len(sfx) != 2 {
			s.Other = append(s.Other, oid) // CA domain parameter infos
			return nil
		}
		ka := map[int]string{1: "DH", 2: "ECDH"}[sfx[0]]
		cipher, bits := cipherFor(sfx[1])
		if ka == "" || cipher == "" {
			return fmt.Errorf("chip authentication protocol %v not understood", oid)
		}
		v, err := asn1der.DecodeSmallInt(&t.Children[1], "chip authentication version")
		if err != nil {
			return err
		}
		kid, err := optInt(t, 2)
		if err != nil {
			return err
		}
		s.ChipAuth = append(s.ChipAuth, ChipAuthenticationInfo{Protocol: oid, Version: v, KeyID: kid, KeyAgreement: ka, Cipher: cipher, KeyBits: bits})
	case oidUnder(oid, oidPK):
		spki := &t.Children[1]
		k := ChipAuthenticationPublicKeyInfo{Protocol: oid, RawSPKI: spki.Raw}
		if kid, err := optInt(t, 2); err == nil {
			k.KeyID = kid
		} else {
			return err
		}
		if oid[len(oid)-1] == 2 {
			k.PublicKey, k.KeyErr = pki.ParseSPKI(spki)
		} else {
			k.KeyErr = errors.New("chip authentication: DH keys are not supported")
		}
		s.ChipAuthKeys = append(s.ChipAuthKeys, k)
	case oid.Equal(oidAAInfo):
		v, err := asn1der.DecodeSmallInt(&t.Children[1], "active authentication version")
		if err != nil {
			return err
		}
		a := ActiveAuthenticationInfo{Version: v}
		if len(t.Children) > 2 {
			if a.SignatureAlgorithm, err = asn1der.DecodeOID(&t.Children[2], "active authentication signature algorithm"); err != nil {
				return err
			}
		}
		s.ActiveAuth = append(s.ActiveAuth, a)
	case oid.Equal(oidTA):
		s.TerminalAuth = true
	default:
		s.Other = append(s.Other, oid)
	}
	return nil
}

func paceMapping(n int) (string, string) {
	switch n {
	case 1:
		return "DH", "GM"
	case 2:
		return "ECDH", "GM"
	case 3:
		return "DH", "IM"
	case 4:
		return "ECDH", "IM"
	case 6:
		return "ECDH", "CAM"
	}
	return "", ""
}

func cipherFor(n int) (string, int) {
	switch n {
	case 1:
		return "3DES", 112
	case 2:
		return "AES", 128
	case 3:
		return "AES", 192
	case 4:
		return "AES", 256
	}
	return "", 0
}
