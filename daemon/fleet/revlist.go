package fleet

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strings"
	"time"
)

// EntryKind is what a revocation entry names.
type EntryKind uint8

// Revocable things. Local entries never travel over the network.
const (
	Document EntryKind = 1 // issuing state + document number
	DSCert   EntryKind = 2 // document signer certificate: issuer + serial
	Identity EntryKind = 3 // an enrolled identity
	Local    EntryKind = 4 // kiosk-local deny list (any of the above, added on the kiosk)
)

func (k EntryKind) String() string {
	switch k {
	case Document:
		return "document"
	case DSCert:
		return "ds-cert"
	case Identity:
		return "identity"
	case Local:
		return "local"
	}
	return fmt.Sprintf("kind(%d)", uint8(k))
}

// Digest identifies a revoked thing without naming it: a truncated SHA-256 of its canonical
// form, so that neither the wire nor the disk carries raw document numbers.
type Digest [16]byte

// Entry is one revocation.
type Entry struct {
	Kind   EntryKind
	Digest Digest
}

func digest(kind EntryKind, parts ...string) Digest {
	h := sha256.New()
	h.Write([]byte("edgeid-revocation/1"))
	h.Write([]byte{0, byte(kind)})
	for _, p := range parts {
		var l [4]byte
		binary.BigEndian.PutUint32(l[:], uint32(len(p)))
		h.Write(l[:])
		h.Write([]byte(p))
	}
	var d Digest
	copy(d[:], h.Sum(nil))
	return d
}

// DocumentEntry names a document by issuing state (ICAO 3-letter code) and number, normalised
// as in the MRZ: upper case, '<' fillers removed.
func DocumentEntry(issuingState, number string) Entry {
	norm := func(s string) string { return strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(s), "<", "")) }
	return Entry{Document, digest(Document, norm(issuingState), norm(number))}
}

// DSCertEntry names a document signer certificate by its DER-encoded issuer name
// (x509.Certificate.RawIssuer) and serial number as big-endian magnitude bytes
// (SerialNumber.Bytes()); leading zero bytes are ignored.
func DSCertEntry(issuerDER, serial []byte) Entry {
	serial = bytes.TrimLeft(serial, "\x00")
	return Entry{DSCert, digest(DSCert, string(issuerDER), string(serial))}
}

// IdentityEntry names an enrolled identity.
func IdentityEntry(id string) Entry { return Entry{Identity, digest(Identity, id)} }

// RevocationList is a full snapshot (Base == 0) or a delta from Base to Version.
type RevocationList struct {
	Version uint64
	Base    uint64 // 0 for a snapshot
	Issued  time.Time
	Expires time.Time
	Add     []Entry
	Remove  []Entry // deltas only
}

// IsDelta reports whether l is a delta.
func (l *RevocationList) IsDelta() bool { return l.Base != 0 }

// MaxRevocationEntries bounds a list's entries so that parsing allocates at most ~20 MB.
const MaxRevocationEntries = 1 << 21

const entrySize = 1 + len(Digest{})

// Marshal encodes the list body (to be sealed in a KindRevocations envelope).
func (l *RevocationList) Marshal() []byte {
	b := make([]byte, 0, 40+entrySize*(len(l.Add)+len(l.Remove)))
	b = binary.BigEndian.AppendUint64(b, l.Version)
	b = binary.BigEndian.AppendUint64(b, l.Base)
	b = binary.BigEndian.AppendUint64(b, uint64(l.Issued.Unix()))
	b = binary.BigEndian.AppendUint64(b, uint64(l.Expires.Unix()))
	for _, set := range [][]Entry{l.Add, l.Remove} {
		b = binary.BigEndian.AppendUint32(b, uint32(len(set)))
		for _, e := range set {
			b = append(b, byte(e.Kind))
			b = append(b, e.Digest[:]...)
		}
	}
	return b
}

// ParseRevocationList decodes a list body, checking every field.
func ParseRevocationList(body []byte) (*RevocationList, error) {
	r := &reader{b: body}
	l := &RevocationList{
		Version: r.u64("version"),
		Base:    r.u64("base version"),
		Issued:  time.Unix(int64(r.u64("issued")), 0).UTC(),
		Expires: time.Unix(int64(r.u64("expires")), 0).UTC(),
	}
	for i, name := range []string{"added entries", "removed entries"} {
		n := r.count(name, entrySize, MaxRevocationEntries)
		set := make([]Entry, n)
		for j := range set {
			at := r.off
			set[j].Kind = EntryKind(r.u8(name))
			copy(set[j].Digest[:], r.take(name, len(Digest{})))
			if r.err == nil && (set[j].Kind < Document || set[j].Kind > Identity) {
				r.err = fmt.Errorf("%s[%d] at offset %d: unknown kind %d: %w", name, j, at, set[j].Kind, ErrMalformed)
			}
		}
		if i == 0 {
			l.Add = set
		} else {
			l.Remove = set
		}
	}
	if err := r.done("revocation list"); err != nil {
		return nil, err
	}
	switch {
	case l.Version == 0:
		return nil, fmt.Errorf("revocation list: version 0: %w", ErrMalformed)
	case l.Base >= l.Version:
		return nil, fmt.Errorf("revocation list: base version %d not below version %d: %w", l.Base, l.Version, ErrMalformed)
	case l.Base == 0 && len(l.Remove) > 0:
		return nil, fmt.Errorf("revocation list: snapshot with %d removals: %w", len(l.Remove), ErrMalformed)
	case !l.Expires.After(l.Issued):
		return nil, fmt.Errorf("revocation list: expires %s not after issued %s: %w", l.Expires, l.Issued, ErrMalformed)
	}
	return l, nil
}
