// Package audit writes the kiosk's tamper-evident decision log: one record per decision,
// hash-chained, with periodic checkpoints (tree size + head hash) signed by the kiosk's own
// Ed25519 key in the spirit of C2SP signed notes. Records carry a keyed hash (HMAC) of the
// document number instead of the number, and never an image.
//
// Records are written to the store's audit space and, in the same transaction, queued in the
// outbox; daemon/fleet publishes the outbox and removes entries only after the collector's ack.
package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Record is one decision in the chain. Seq starts at 1 and equals the chain length after the
// record; Hash = SHA-256("edgeid-audit/1\n" || canonical JSON of the record with Hash and
// Checkpoint empty), and Prev is the previous record's Hash (64 zeros for the first).
type Record struct {
	Seq      uint64             `json:"seq"`
	Time     time.Time          `json:"time"`
	Kiosk    string             `json:"kiosk"`
	Flow     string             `json:"flow"`
	Outcome  string             `json:"outcome"`
	Reasons  []string           `json:"reasons,omitempty"`
	Scores   map[string]float64 `json:"scores,omitempty"`
	DocHMAC  string             `json:"doc_hmac,omitempty"`
	Identity string             `json:"identity,omitempty"`
	// Frames are the distances of the frames the face decision combined; Referral is the
	// attendant's part when the check was referred. Both are left out when empty, so records
	// written before they existed hash as they did.
	Frames   []float64 `json:"frames,omitempty"`
	Referral *Referral `json:"referral,omitempty"`
	Prev     string    `json:"prev"`
	Hash     string    `json:"hash"`
	// Checkpoint, when present, is a signed note over (Seq, Hash); it is not part of Hash.
	Checkpoint string `json:"checkpoint,omitempty"`
}

// Referral records a check the kiosk referred to its attendant: why, when, and who decided
// what when ("kiosk" decides a timeout or a card taken away).
type Referral struct {
	Reason   string    `json:"reason"`
	Referred time.Time `json:"referred"`
	Decision string    `json:"decision"`
	By       string    `json:"by"`
	At       time.Time `json:"at"`
}

// ZeroHash is the Prev of the first record.
const ZeroHash = "0000000000000000000000000000000000000000000000000000000000000000"

const hashDomain = "edgeid-audit/1\n"

// ComputeHash returns the hash the record should carry.
func (r *Record) ComputeHash() (string, error) {
	c := *r
	c.Hash, c.Checkpoint = "", ""
	b, err := json.Marshal(&c)
	if err != nil {
		return "", fmt.Errorf("audit: encode record %d: %w", r.Seq, err)
	}
	h := sha256.New()
	h.Write([]byte(hashDomain))
	h.Write(b)
	return hex.EncodeToString(h.Sum(nil)), nil
}

// MaxRecordSize bounds one encoded record.
const MaxRecordSize = 64 << 10

// ErrMalformed wraps every parse failure.
var ErrMalformed = errors.New("malformed audit record")

// ParseRecord decodes one JSON record strictly (unknown fields are an error) and checks the
// shape of its fields; it does not check the chain.
func ParseRecord(b []byte) (*Record, error) {
	if len(b) > MaxRecordSize {
		return nil, fmt.Errorf("audit: record of %d bytes, limit %d: %w", len(b), MaxRecordSize, ErrMalformed)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var r Record
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("audit: %v: %w", err, ErrMalformed)
	}
	if dec.More() {
		return nil, fmt.Errorf("audit: trailing data after the record: %w", ErrMalformed)
	}
	switch {
	case r.Seq == 0:
		return nil, fmt.Errorf("audit: record with seq 0: %w", ErrMalformed)
	case r.Kiosk == "":
		return nil, fmt.Errorf("audit: record %d without kiosk id: %w", r.Seq, ErrMalformed)
	case !isHash(r.Prev):
		return nil, fmt.Errorf("audit: record %d: prev %q is not a hex SHA-256: %w", r.Seq, r.Prev, ErrMalformed)
	case !isHash(r.Hash):
		return nil, fmt.Errorf("audit: record %d: hash %q is not a hex SHA-256: %w", r.Seq, r.Hash, ErrMalformed)
	case r.Referral != nil && (r.Referral.Reason == "" || r.Referral.Decision == "" || r.Referral.By == ""):
		return nil, fmt.Errorf("audit: record %d: a referral needs a reason, a decision and who made it: %w", r.Seq, ErrMalformed)
	}
	return &r, nil
}

func isHash(s string) bool {
	if len(s) != 2*sha256.Size {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
