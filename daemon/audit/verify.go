package audit

import (
	"bufio"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"io"
)

// Problem is one thing wrong with a record stream: a gap, a reorder, a duplicate, an edit, a
// bad checkpoint. Line is the 1-based position in the input.
type Problem struct {
	Line  int
	Kiosk string
	Seq   uint64
	Msg   string
}

func (p Problem) String() string {
	if p.Kiosk == "" {
		return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
	}
	return fmt.Sprintf("line %d: kiosk %s record %d: %s", p.Line, p.Kiosk, p.Seq, p.Msg)
}

// KioskSummary is the verified state of one kiosk's chain.
type KioskSummary struct {
	Records     int
	Last        uint64 // last sequence number seen
	Head        string // hash of the last record
	Checkpoints int
	Signed      uint64 // size of the last valid checkpoint
}

// Summary is the outcome of a verification.
type Summary struct {
	Kiosks   map[string]KioskSummary
	Problems []Problem
}

type chain struct {
	KioskSummary
	broken  bool   // prev hash unknown after a gap or a bad record
	genesis string // hash of the chain's record 1, when seen
}

// Verifier checks record streams, one chain per kiosk, records of different kiosks interleaved.
type Verifier struct {
	keys   map[string]ed25519.PublicKey
	chains map[string]*chain
	probs  []Problem
}

// NewVerifier checks checkpoints against keys (kiosk id -> public key).
func NewVerifier(keys map[string]ed25519.PublicKey) *Verifier {
	return &Verifier{keys: keys, chains: map[string]*chain{}}
}

// Start makes kiosk's chain continue from (seq, hash) instead of from the beginning, for a
// log whose earlier records were pruned or a file that starts later.
func (v *Verifier) Start(kiosk string, seq uint64, hash string) {
	v.chains[kiosk] = &chain{KioskSummary: KioskSummary{Last: seq, Head: hash}}
}

func (v *Verifier) problem(line int, kiosk string, seq uint64, format string, a ...any) {
	v.probs = append(v.probs, Problem{Line: line, Kiosk: kiosk, Seq: seq, Msg: fmt.Sprintf(format, a...)})
}

// AddRaw parses and checks one encoded record.
func (v *Verifier) AddRaw(line int, raw []byte) {
	r, err := ParseRecord(raw)
	if err != nil {
		v.problem(line, "", 0, "%v", err)
		return
	}
	v.Add(line, r)
}

// Add checks one record against its kiosk's chain so far.
func (v *Verifier) Add(line int, r *Record) {
	c := v.chains[r.Kiosk]
	if c == nil {
		c = &chain{KioskSummary: KioskSummary{Head: ZeroHash}}
		v.chains[r.Kiosk] = c
	}
	want, err := r.ComputeHash()
	if err != nil {
		v.problem(line, r.Kiosk, r.Seq, "%v", err)
		return
	}
	edited := want != r.Hash
	if edited {
		v.problem(line, r.Kiosk, r.Seq, "content does not match its hash: record edited")
	}
	switch {
	case r.Seq == 1 && r.Prev == ZeroHash && c.genesis != "" && r.Hash != c.genesis:
		// Another record 1: the kiosk began again from an empty store. Follow the new chain.
		v.problem(line, r.Kiosk, r.Seq, "starts a new chain after record %d: the kiosk's store was reset (or another kiosk uses its id)", c.Last)
	case r.Seq <= c.Last:
		v.problem(line, r.Kiosk, r.Seq, "comes after record %d: reordered or duplicated", c.Last)
		return // keep the chain position; a later record may continue it
	case r.Seq > c.Last+1:
		if r.Seq == c.Last+2 {
			v.problem(line, r.Kiosk, r.Seq, "gap: record %d is missing", c.Last+1)
		} else {
			v.problem(line, r.Kiosk, r.Seq, "gap: records %d to %d are missing", c.Last+1, r.Seq-1)
		}
	case !c.broken && r.Prev != c.Head:
		v.problem(line, r.Kiosk, r.Seq, "prev hash does not match record %d: chain broken (edit or reorder)", c.Last)
	}
	c.Records++
	c.Last = r.Seq
	c.Head = r.Hash
	c.broken = edited
	if r.Seq == 1 {
		c.genesis = r.Hash
	}
	if r.Checkpoint == "" {
		return
	}
	pub, ok := v.keys[r.Kiosk]
	if !ok {
		v.problem(line, r.Kiosk, r.Seq, "checkpoint present but no public key for this kiosk")
		return
	}
	cp, err := VerifyCheckpoint(r.Checkpoint, pub)
	switch {
	case err != nil:
		v.problem(line, r.Kiosk, r.Seq, "%v", err)
	case cp.Kiosk != r.Kiosk || cp.Size != r.Seq || hex.EncodeToString(cp.Head[:]) != r.Hash:
		v.problem(line, r.Kiosk, r.Seq, "checkpoint signs %s size %d head %x, not this record", cp.Kiosk, cp.Size, cp.Head[:6])
	default:
		c.Checkpoints++
		c.Signed = cp.Size
	}
}

// Finish returns the summary; records after a kiosk's last checkpoint are reported as not yet
// covered by a signature only in the summary (Signed < Last), not as a problem.
func (v *Verifier) Finish() *Summary {
	s := &Summary{Kiosks: map[string]KioskSummary{}, Problems: v.probs}
	for k, c := range v.chains {
		s.Kiosks[k] = c.KioskSummary
	}
	return s
}

// VerifyJSONLines checks a collector's JSON-lines file. Lines longer than MaxRecordSize are
// reported as problems and skipped.
func VerifyJSONLines(r io.Reader, keys map[string]ed25519.PublicKey) (*Summary, error) {
	v := NewVerifier(keys)
	br := bufio.NewReaderSize(r, 64<<10)
	line := 0
	for {
		b, err := readLine(br, MaxRecordSize)
		if err == io.EOF {
			break
		}
		line++
		if err == errLong {
			v.problem(line, "", 0, "longer than %d bytes", MaxRecordSize)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("audit: read line %d: %w", line, err)
		}
		if len(b) == 0 {
			v.problem(line, "", 0, "empty line")
			continue
		}
		v.AddRaw(line, b)
	}
	return v.Finish(), nil
}

var errLong = fmt.Errorf("line too long")

// readLine returns the next line without its newline, or errLong (after skipping the rest of
// the line) when it is longer than max.
func readLine(br *bufio.Reader, max int) ([]byte, error) {
	var buf []byte
	long := false
	for {
		frag, err := br.ReadSlice('\n')
		if !long {
			if len(buf)+len(frag) > max+1 {
				long, buf = true, nil
			} else {
				buf = append(buf, frag...)
			}
		}
		switch err {
		case nil:
			if long {
				return nil, errLong
			}
			return buf[:len(buf)-1], nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			if long {
				return nil, errLong
			}
			if len(buf) == 0 {
				return nil, io.EOF
			}
			return buf, nil
		default:
			return nil, err
		}
	}
}
