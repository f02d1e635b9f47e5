package fleet

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
)

// Topics names the MQTT topics of one fleet. Everything lives under edgeid/v1/<fleet>/:
//
//	revocations/snapshot        retained, signed full revocation list       (fleet -> kiosks)
//	revocations/delta           signed delta naming its base version         (fleet -> kiosks)
//	templates/<site>/snapshot   retained, signed full template set per site  (fleet -> kiosks)
//	templates/<site>/delta      signed template delta                        (fleet -> kiosks)
//	audit/<kiosk>               audit records, JSON, QoS 1                   (kiosk -> collector)
//	audit-ack/<kiosk>           signed cumulative acks                       (collector -> kiosk)
type Topics struct{ Root string }

// NewTopics returns the topics of fleet.
func NewTopics(fleet string) Topics { return Topics{Root: "edgeid/v1/" + fleet} }

// Topic-level names (fleet, site, kiosk ids) must be non-empty printable ASCII without
// wildcards, slashes or spaces.
func checkName(what, s string) error {
	if s == "" || len(s) > maxIDLen {
		return fmt.Errorf("%s %q: empty or longer than %d bytes", what, s, maxIDLen)
	}
	for _, c := range s {
		if c <= 0x20 || c >= 0x7f || strings.ContainsRune("/+#", c) {
			return fmt.Errorf("%s %q: only printable ASCII without '/', '+', '#' or spaces", what, s)
		}
	}
	return nil
}

func (t Topics) RevSnapshot() string             { return t.Root + "/revocations/snapshot" }
func (t Topics) RevDelta() string                { return t.Root + "/revocations/delta" }
func (t Topics) TmplSnapshot(site string) string { return t.Root + "/templates/" + site + "/snapshot" }
func (t Topics) TmplDelta(site string) string    { return t.Root + "/templates/" + site + "/delta" }
func (t Topics) Audit(kiosk string) string       { return t.Root + "/audit/" + kiosk }
func (t Topics) AuditAll() string                { return t.Root + "/audit/+" }
func (t Topics) AuditAck(kiosk string) string    { return t.Root + "/audit-ack/" + kiosk }

// AuditAck is the collector's signed, cumulative acknowledgement: every record of Kiosk up to
// and including Seq is stored, and record Seq's hash is Hash. The kiosk deletes records only
// when Hash is its own record's: a collector that holds another chain under the same kiosk id
// (the kiosk's store was reset) can then never make it drop records the collector lacks.
type AuditAck struct {
	Kiosk string
	Seq   uint64
	Hash  string // hex SHA-256 of record Seq; empty when Seq is 0 (nothing stored yet)
}

// Marshal encodes the ack body (sealed in a KindAuditAck envelope).
func (a *AuditAck) Marshal() []byte {
	b := appendStr(nil, a.Kiosk)
	b = binary.BigEndian.AppendUint64(b, a.Seq)
	return appendStr(b, a.Hash)
}

// ParseAuditAck decodes an ack body.
func ParseAuditAck(body []byte) (*AuditAck, error) {
	r := &reader{b: body}
	a := &AuditAck{Kiosk: r.str("kiosk", maxIDLen), Seq: r.u64("seq"), Hash: r.str("hash", 64)}
	if err := r.done("audit ack"); err != nil {
		return nil, err
	}
	if _, err := hex.DecodeString(a.Hash); err != nil || (a.Seq == 0) != (a.Hash == "") || a.Hash != "" && len(a.Hash) != 64 {
		return nil, fmt.Errorf("audit ack: record %d with hash %q: want 64 hex digits, none for record 0: %w", a.Seq, a.Hash, ErrMalformed)
	}
	return a, nil
}
