package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/edgeid/edgeid/daemon/store"
)

// Decision is what the kiosk reports for one check. DocNumber is hashed with the kiosk's HMAC
// key and then forgotten; it is never stored.
type Decision struct {
	Flow      string // "document" (1:1) or "enrolled" (1:N)
	Outcome   string // "accept", "reject", "error", ...
	Reasons   []string
	Scores    map[string]float64
	DocState  string // issuing state of the document, if one was read
	DocNumber string
	Identity  string // enrolled identity id for 1:N, if any
	Frames    []float64
	Referral  *Referral
}

// Opts configures New.
type Opts struct {
	Kiosk           string             // this kiosk's id
	SigningKey      ed25519.PrivateKey // signs checkpoints
	DocKey          []byte             // HMAC key for document numbers, at least 16 bytes
	CheckpointEvery int                // attach a checkpoint every n records; default 100
	Now             func() time.Time   // default time.Now
}

// Log is the kiosk's audit log. It is safe for concurrent use.
type Log struct {
	db   *store.DB
	opts Opts

	mu     sync.Mutex // guards seq and head
	seq    uint64
	head   string
	notify chan struct{}

	qmu     sync.Mutex // guards queue and leading
	queue   []*appendReq
	leading bool
}

// headKey() holds seq + hash of the chain head; baseKey() seq + hash of the last pruned record.
func headKey() []byte { return store.Meta.Key([]byte("audit-head")) }
func baseKey() []byte { return store.Meta.Key([]byte("audit-base")) }

// New opens the log stored in db.
func New(db *store.DB, o *Opts) (*Log, error) {
	opts, err := checkOpts(o)
	if err != nil {
		return nil, err
	}
	l := &Log{db: db, opts: opts, head: ZeroHash, notify: make(chan struct{}, 1)}
	v, ok, err := db.Get(headKey())
	if err != nil {
		return nil, fmt.Errorf("audit: read head: %w", err)
	}
	if ok {
		if len(v) != 8+sha256.Size {
			return nil, fmt.Errorf("audit: head record is %d bytes, want %d", len(v), 8+sha256.Size)
		}
		l.seq = binary.BigEndian.Uint64(v)
		l.head = hex.EncodeToString(v[8:])
	}
	return l, nil
}

func checkOpts(o *Opts) (Opts, error) {
	if o == nil {
		return Opts{}, errors.New("audit: no options")
	}
	opts := *o
	switch {
	case opts.Kiosk == "" || strings.ContainsAny(opts.Kiosk, " \n/#+\u2014"):
		return Opts{}, fmt.Errorf("audit: kiosk id %q is empty or has a space, newline, slash, # or +", opts.Kiosk)
	case len(opts.SigningKey) != ed25519.PrivateKeySize:
		return Opts{}, errors.New("audit: no Ed25519 signing key")
	case len(opts.DocKey) < 16:
		return Opts{}, fmt.Errorf("audit: document HMAC key is %d bytes, want at least 16", len(opts.DocKey))
	}
	if opts.CheckpointEvery <= 0 {
		opts.CheckpointEvery = 100
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return opts, nil
}

// DocHMAC returns the keyed hash recorded instead of a document number.
func (l *Log) DocHMAC(state, number string) string { return docHMAC(l.opts.DocKey, state, number) }

func docHMAC(key []byte, state, number string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(strings.ToUpper(strings.TrimSpace(state))))
	m.Write([]byte{0})
	m.Write([]byte(strings.ToUpper(strings.ReplaceAll(strings.TrimSpace(number), "<", ""))))
	return hex.EncodeToString(m.Sum(nil))
}

func recordKey(seq uint64) []byte { return store.Audit.Key(store.U64(seq)) }
func outboxKey(seq uint64) []byte { return store.Outbox.Key(store.U64(seq)) }

// Append writes one record durably (record, outbox entry and chain head in one synchronous
// transaction) and returns it. When Append returns nil the record survives a power cut.
//
// Concurrent calls are committed together (group commit): one caller at a time leads and
// writes every queued record, its own first in line, in one transaction; then it hands the
// lead to the first caller still waiting. No goroutine is started.
func (l *Log) Append(ctx context.Context, d Decision) (*Record, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	req := &appendReq{d: d, done: make(chan struct{}), lead: make(chan struct{}, 1)}
	l.qmu.Lock()
	l.queue = append(l.queue, req)
	if l.leading {
		l.qmu.Unlock()
		select {
		case <-req.done:
			return req.r, req.err
		case <-req.lead: // handed the lead: req is now first in the queue
		}
		l.qmu.Lock()
	}
	l.leading = true
	n := min(len(l.queue), maxGroup)
	batch := l.queue[:n:n]
	l.queue = l.queue[n:]
	l.qmu.Unlock()
	l.commit(batch)
	l.qmu.Lock()
	if len(l.queue) > 0 {
		l.queue[0].lead <- struct{}{}
	} else {
		l.leading = false
	}
	l.qmu.Unlock()
	return req.r, req.err
}

// maxGroup bounds the records committed in one transaction.
const maxGroup = 256

type appendReq struct {
	d    Decision
	r    *Record
	err  error
	done chan struct{} // closed when r or err is set
	lead chan struct{} // receives when this caller is to lead the next commit
}

// commit chains and writes a batch of appends in one transaction and wakes their callers.
func (l *Log) commit(batch []*appendReq) {
	l.mu.Lock()
	defer l.mu.Unlock()
	type built struct {
		req *appendReq
		r   *Record
		b   []byte
	}
	var ok []built
	seq, head := l.seq, l.head
	for _, q := range batch {
		r, b, err := build(&l.opts, seq, head, q.d)
		if err != nil {
			q.err = err
			close(q.done)
			continue
		}
		ok = append(ok, built{q, r, b})
		seq, head = r.Seq, r.Hash
	}
	if len(ok) == 0 {
		return
	}
	raw, _ := hex.DecodeString(head)
	headVal := append(store.U64(seq), raw...)
	err := l.db.Update(func(txn *store.Txn) error {
		for _, x := range ok {
			if err := txn.Set(recordKey(x.r.Seq), x.b); err != nil {
				return err
			}
			if err := txn.Set(outboxKey(x.r.Seq), nil); err != nil {
				return err
			}
		}
		return txn.Set(headKey(), headVal)
	})
	if err == nil {
		l.seq, l.head = seq, head
	}
	for _, x := range ok {
		if err != nil {
			x.req.err = fmt.Errorf("audit: write records %d-%d: %w", ok[0].r.Seq, seq, err)
		} else {
			x.req.r = x.r
		}
		close(x.req.done)
	}
	if err == nil {
		select {
		case l.notify <- struct{}{}:
		default:
		}
	}
}

// build makes the record that follows (seq, head) and its encoding.
func build(o *Opts, seq uint64, head string, d Decision) (*Record, []byte, error) {
	r := &Record{
		Seq:      seq + 1,
		Time:     o.Now().UTC().Round(time.Microsecond),
		Kiosk:    o.Kiosk,
		Flow:     d.Flow,
		Outcome:  d.Outcome,
		Reasons:  d.Reasons,
		Scores:   d.Scores,
		Identity: d.Identity,
		Frames:   d.Frames,
		Prev:     head,
	}
	if d.Referral != nil {
		rf := *d.Referral
		// UTC to the microsecond, like Time: the hash is over the JSON, which must read back the same.
		rf.Referred, rf.At = rf.Referred.UTC().Round(time.Microsecond), rf.At.UTC().Round(time.Microsecond)
		r.Referral = &rf
	}
	if d.DocNumber != "" {
		r.DocHMAC = docHMAC(o.DocKey, d.DocState, d.DocNumber)
	}
	h, err := r.ComputeHash()
	if err != nil {
		return nil, nil, err
	}
	r.Hash = h
	if r.Seq%uint64(o.CheckpointEvery) == 0 {
		raw, _ := hex.DecodeString(h)
		r.Checkpoint = SignCheckpoint(o.Kiosk, r.Seq, raw, o.SigningKey)
	}
	b, err := json.Marshal(r)
	if err != nil {
		return nil, nil, fmt.Errorf("audit: encode record %d: %w", r.Seq, err)
	}
	if len(b) > MaxRecordSize {
		return nil, nil, fmt.Errorf("audit: record %d is %d bytes, limit %d", r.Seq, len(b), MaxRecordSize)
	}
	return r, b, nil
}

// Chain builds hash-chained, checkpointed records in memory without storing them (the
// fleet simulator's kiosks use it; a kiosk uses Log).
type Chain struct {
	opts Opts
	seq  uint64
	head string
}

// NewChain starts an empty chain.
func NewChain(o *Opts) (*Chain, error) {
	opts, err := checkOpts(o)
	if err != nil {
		return nil, err
	}
	return &Chain{opts: opts, head: ZeroHash}, nil
}

// Next returns the next record and its JSON encoding.
func (c *Chain) Next(d Decision) (*Record, []byte, error) {
	r, b, err := build(&c.opts, c.seq, c.head, d)
	if err != nil {
		return nil, nil, err
	}
	c.seq, c.head = r.Seq, r.Hash
	return r, b, nil
}

// Head returns the chain length and head hash.
func (l *Log) Head() (uint64, string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.seq, l.head
}

// Checkpoint returns a signed note over the current head.
func (l *Log) Checkpoint() string {
	seq, head := l.Head()
	raw, _ := hex.DecodeString(head)
	return SignCheckpoint(l.opts.Kiosk, seq, raw, l.opts.SigningKey)
}

// Queued is an audit record waiting in the outbox.
type Queued struct {
	Seq  uint64
	Data []byte // the JSON record
}

// Since returns up to n stored records after sequence number after, oldest first: the
// outbox's, and below the outbox those already acknowledged but not yet pruned, so that a
// collector that lost its copy can be sent them again.
func (l *Log) Since(ctx context.Context, after uint64, n int) ([]Queued, error) {
	base, _, err := l.base()
	if err != nil {
		return nil, err
	}
	head, _ := l.Head()
	var out []Queued
	for s := max(after, base) + 1; s <= head && len(out) < n; s++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		v, ok, err := l.db.Get(recordKey(s))
		if err != nil {
			return nil, fmt.Errorf("audit: read record %d: %w", s, err)
		}
		if !ok {
			// Pruned since base was read: continue above the new base.
			if b, _, err := l.base(); err == nil && s <= b {
				s = b
				continue
			}
			return nil, fmt.Errorf("audit: record %d is missing from the log", s)
		}
		out = append(out, Queued{Seq: s, Data: v})
	}
	return out, nil
}

// Notify is signalled (without blocking) after each Append.
func (l *Log) Notify() <-chan struct{} { return l.notify }

// Pending returns up to max queued records with a sequence number above after, in order.
func (l *Log) Pending(ctx context.Context, after uint64, max int) ([]Queued, error) {
	var out []Queued
	var seqs []uint64
	err := l.db.Iterate(ctx, store.Outbox.Key(), func(k, _ []byte) error {
		seq := binary.BigEndian.Uint64(k[len(store.Outbox):])
		if seq <= after {
			return nil
		}
		seqs = append(seqs, seq)
		if len(seqs) >= max {
			return store.ErrStop
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit: read outbox: %w", err)
	}
	for _, s := range seqs {
		v, ok, err := l.db.Get(recordKey(s))
		if err != nil {
			return nil, fmt.Errorf("audit: read record %d: %w", s, err)
		}
		if !ok {
			return nil, fmt.Errorf("audit: outbox names record %d, which is missing", s)
		}
		out = append(out, Queued{Seq: s, Data: v})
	}
	return out, nil
}

// OutboxLen counts queued records.
func (l *Log) OutboxLen(ctx context.Context) (int, error) {
	n := 0
	err := l.db.Iterate(ctx, store.Outbox.Key(), func(_, _ []byte) error { n++; return nil })
	return n, err
}

// Ack removes every outbox entry up to and including seq (the collector's acks are
// cumulative because records are delivered in order) and returns how many it removed.
func (l *Log) Ack(ctx context.Context, seq uint64) (int, error) {
	var keys [][]byte
	err := l.db.Iterate(ctx, store.Outbox.Key(), func(k, _ []byte) error {
		if binary.BigEndian.Uint64(k[len(store.Outbox):]) > seq {
			return store.ErrStop
		}
		keys = append(keys, append([]byte(nil), k...))
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("audit: read outbox: %w", err)
	}
	total := len(keys)
	for len(keys) > 0 {
		n := min(len(keys), 1000)
		err := l.db.Update(func(txn *store.Txn) error {
			for _, k := range keys[:n] {
				if err := txn.Delete(k); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return 0, fmt.Errorf("audit: remove acked records: %w", err)
		}
		keys = keys[n:]
	}
	return total, nil
}

// Records calls fn for every stored record in order.
func (l *Log) Records(ctx context.Context, fn func(raw []byte) error) error {
	return l.db.Iterate(ctx, store.Audit.Key(), func(_, v []byte) error { return fn(v) })
}

// PruneBefore prunes (see Prune) the acknowledged records made before cutoff, oldest first. It
// stops at the first record made at or after cutoff: a record stamped long ago by a clock that
// was set back waits until the newer records in front of it go.
func (l *Log) PruneBefore(ctx context.Context, cutoff time.Time) (int, error) {
	var upTo uint64
	err := l.Records(ctx, func(raw []byte) error {
		r, err := ParseRecord(raw)
		if err != nil {
			return err
		}
		if !r.Time.Before(cutoff) {
			return store.ErrStop
		}
		upTo = r.Seq
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("audit: prune: %w", err)
	}
	if upTo == 0 {
		return 0, nil
	}
	return l.Prune(ctx, upTo)
}

// Prune deletes stored records up to and including upTo that the collector has acknowledged
// (records still in the outbox are kept), so that the local log does not grow without bound.
// The last pruned record's sequence number and hash are kept so that VerifyLocal checks the
// rest of the chain from there. It returns how many records it deleted.
func (l *Log) Prune(ctx context.Context, upTo uint64) (int, error) {
	head, _ := l.Head()
	limit := min(upTo, head)
	first, err := l.Pending(ctx, 0, 1)
	if err != nil {
		return 0, err
	}
	if len(first) > 0 {
		limit = min(limit, first[0].Seq-1)
	}
	base, _, err := l.base()
	if err != nil {
		return 0, err
	}
	if limit <= base {
		return 0, nil
	}
	v, ok, err := l.db.Get(recordKey(limit))
	if err != nil || !ok {
		return 0, fmt.Errorf("audit: prune: record %d: found=%t: %v", limit, ok, err)
	}
	r, err := ParseRecord(v)
	if err != nil {
		return 0, fmt.Errorf("audit: prune: %w", err)
	}
	raw, _ := hex.DecodeString(r.Hash)
	// The base moves first: after a crash half way, VerifyLocal skips what is at or below it.
	if err := l.db.Update(func(txn *store.Txn) error { return txn.Set(baseKey(), append(store.U64(limit), raw...)) }); err != nil {
		return 0, fmt.Errorf("audit: prune: %w", err)
	}
	n := 0
	for seq := base + 1; seq <= limit; {
		end := min(limit, seq+999)
		err := l.db.Update(func(txn *store.Txn) error {
			for s := seq; s <= end; s++ {
				if err := txn.Delete(recordKey(s)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("audit: prune: %w", err)
		}
		n += int(end - seq + 1)
		seq = end + 1
	}
	return n, nil
}

// base returns the last pruned record (0 and the zero hash when nothing was pruned).
func (l *Log) base() (uint64, string, error) {
	v, ok, err := l.db.Get(baseKey())
	if err != nil {
		return 0, "", fmt.Errorf("audit: read prune base: %w", err)
	}
	if !ok {
		return 0, ZeroHash, nil
	}
	if len(v) != 8+sha256.Size {
		return 0, "", fmt.Errorf("audit: prune base is %d bytes, want %d", len(v), 8+sha256.Size)
	}
	return binary.BigEndian.Uint64(v), hex.EncodeToString(v[8:]), nil
}

// VerifyLocal checks the stored chain (from the prune base on) and its checkpoints with the
// kiosk's own key.
func (l *Log) VerifyLocal(ctx context.Context) (*Summary, error) {
	v := NewVerifier(map[string]ed25519.PublicKey{l.opts.Kiosk: l.opts.SigningKey.Public().(ed25519.PublicKey)})
	base, baseHash, err := l.base()
	if err != nil {
		return nil, err
	}
	if base > 0 {
		v.Start(l.opts.Kiosk, base, baseHash)
	}
	i := 0
	err = l.db.Iterate(ctx, store.Audit.Key(), func(k, raw []byte) error {
		i++
		if binary.BigEndian.Uint64(k[len(store.Audit):]) <= base {
			return nil // left by a prune that a crash cut short
		}
		v.AddRaw(i, raw)
		return nil
	})
	if err != nil {
		return nil, err
	}
	s := v.Finish()
	k := s.Kiosks[l.opts.Kiosk]
	if seq, head := l.Head(); k.Last != seq || (seq > 0 && k.Head != head) {
		s.Problems = append(s.Problems, Problem{Kiosk: l.opts.Kiosk, Seq: seq,
			Msg: fmt.Sprintf("stored head is %d/%s but the records end at %d/%s", seq, head, k.Last, k.Head)})
	}
	if len(s.Problems) > 0 {
		return s, fmt.Errorf("audit: local chain: %s", s.Problems[0])
	}
	return s, nil
}
