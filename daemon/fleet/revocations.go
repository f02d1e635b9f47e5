package fleet

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/edgeid/edgeid/daemon/store"
)

// Refusal reasons for versioned streams.
var (
	ErrRollback = errors.New("older than the live version (rollback)")
	ErrReplay   = errors.New("already applied (replay)")
	ErrGap      = errors.New("delta does not follow the live version (gap); waiting for a snapshot")
	ErrSite     = errors.New("for another site")
)

// Check results.
var (
	ErrRevoked   = errors.New("revoked")
	ErrListStale = errors.New("revocation list expired or missing")
)

// ExpiryPolicy says what Check does once the list is past its expiry (or none was ever applied).
type ExpiryPolicy int

const (
	// RefuseWhenStale makes every Check fail with ErrListStale.
	RefuseWhenStale ExpiryPolicy = iota
	// WarnWhenStale keeps checking against the last list; Stale reports the condition.
	WarnWhenStale
)

// RevocationOpts configures NewRevocations.
type RevocationOpts struct {
	Keys       Keyring
	MaxMessage int // bytes; default 48 MiB
	MaxDelta   int // entries added plus removed in one delta; default 20000
	Policy     ExpiryPolicy
	Logger     *slog.Logger
	Metrics    *Metrics
	// OnGap is called (outside any lock) when a delta does not follow the live version; the
	// MQTT client uses it to ask for the retained snapshot again.
	OnGap func(have, base uint64)
}

// DefaultRevocationOpts returns the defaults; Keys must still be set.
func DefaultRevocationOpts() RevocationOpts {
	return RevocationOpts{MaxMessage: 48 << 20, MaxDelta: 20000, Policy: RefuseWhenStale}
}

// Revocations is the kiosk's revocation state: the signed fleet list and the local deny list,
// persisted in the store and held in memory for O(1) lookups.
type Revocations struct {
	opts  RevocationOpts
	gs    genSet
	db    *store.DB
	apply sync.Mutex // serialises Apply and local edits

	mu    sync.RWMutex
	set   map[Entry]struct{}
	local map[Entry]struct{}
	hdr   genHeader

	deltas, deltaEntries int // delta records in the live generation (guarded by apply)
}

func revMeta() []byte { return store.Meta.Key([]byte("revocations")) }

// NewRevocations loads the persisted lists (finishing or discarding an apply a crash cut short).
func NewRevocations(ctx context.Context, db *store.DB, o *RevocationOpts) (*Revocations, error) {
	opts := DefaultRevocationOpts()
	if o != nil {
		opts = *o
		d := DefaultRevocationOpts()
		if opts.MaxMessage <= 0 {
			opts.MaxMessage = d.MaxMessage
		}
		if opts.MaxDelta <= 0 {
			opts.MaxDelta = d.MaxDelta
		}
	}
	if len(opts.Keys) == 0 {
		return nil, errors.New("revocations: no fleet keys configured")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	r := &Revocations{opts: opts, db: db, gs: genSet{db: db, space: store.Revocations, meta: revMeta()},
		set: map[Entry]struct{}{}, local: map[Entry]struct{}{}}
	hdr, err := r.gs.load()
	if err != nil {
		return nil, fmt.Errorf("revocations: load: %w", err)
	}
	r.hdr = hdr
	if hdr.Gen != 0 {
		if err := r.load(ctx, hdr.Gen); err != nil {
			return nil, fmt.Errorf("revocations: load generation %d: %w", hdr.Gen, err)
		}
	}
	err = db.Iterate(ctx, store.Deny.Key(), func(k, _ []byte) error {
		e, err := entryFromKey(k[len(store.Deny):])
		if err != nil {
			return err
		}
		r.local[e] = struct{}{}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("revocations: load local deny list: %w", err)
	}
	opts.Metrics.Versions.WithLabelValues("revocations").Set(float64(hdr.Version))
	return r, nil
}

// A generation holds the snapshot in chunks of up to chunkEntries entries under 'c' + index,
// and the deltas applied since under 'd' + version; loading reads the chunks and replays the
// deltas in order. When the deltas grow past compactDeltas records or compactEntries entries,
// the next delta rewrites the whole list as a new generation.
const (
	chunkEntries   = 4096
	compactDeltas  = 256
	compactEntries = 200000
)

func chunkKey(i uint32) []byte {
	return []byte{'c', byte(i >> 24), byte(i >> 16), byte(i >> 8), byte(i)}
}
func deltaKey(v uint64) []byte { return append([]byte{'d'}, store.U64(v)...) }
func encodeEntries(es []Entry) []byte {
	b := make([]byte, 0, len(es)*entrySize)
	for _, e := range es {
		b = append(b, byte(e.Kind))
		b = append(b, e.Digest[:]...)
	}
	return b
}

func decodeEntries(b []byte, fn func(Entry)) error {
	if len(b)%entrySize != 0 {
		return fmt.Errorf("stored chunk of %d bytes is not a multiple of %d", len(b), entrySize)
	}
	for ; len(b) > 0; b = b[entrySize:] {
		var e Entry
		e.Kind = EntryKind(b[0])
		copy(e.Digest[:], b[1:entrySize])
		fn(e)
	}
	return nil
}

// load reads generation gen into r.set and counts its deltas.
func (r *Revocations) load(ctx context.Context, gen uint64) error {
	return r.gs.each(ctx, gen, func(k, v []byte) error {
		switch {
		case len(k) == 5 && k[0] == 'c':
			return decodeEntries(v, func(e Entry) { r.set[e] = struct{}{} })
		case len(k) == 9 && k[0] == 'd':
			l, err := ParseRevocationList(v)
			if err != nil {
				return fmt.Errorf("stored delta %d: %w", binary.BigEndian.Uint64(k[1:]), err)
			}
			for _, e := range l.Remove {
				delete(r.set, e)
			}
			for _, e := range l.Add {
				r.set[e] = struct{}{}
			}
			r.deltas++
			r.deltaEntries += len(l.Add) + len(l.Remove)
			return nil
		}
		return fmt.Errorf("unexpected stored key %x", k)
	})
}

func entryKey(e Entry) []byte {
	k := make([]byte, entrySize)
	k[0] = byte(e.Kind)
	copy(k[1:], e.Digest[:])
	return k
}

func entryFromKey(k []byte) (Entry, error) {
	if len(k) != entrySize {
		return Entry{}, fmt.Errorf("entry key is %d bytes, want %d", len(k), entrySize)
	}
	var e Entry
	e.Kind = EntryKind(k[0])
	copy(e.Digest[:], k[1:])
	return e, nil
}

// Apply verifies and applies a signed revocation message (snapshot or delta). A refused
// message is logged and counted and leaves the state unchanged; the error says why.
func (r *Revocations) Apply(ctx context.Context, msg []byte) error {
	err := r.applyMsg(ctx, msg)
	if err != nil {
		reason := Reason(err)
		r.opts.Metrics.Refused.WithLabelValues("revocations", reason).Inc()
		r.opts.Logger.Warn("revocation message refused", "reason", reason, "err", err, "bytes", len(msg))
		var gap *gapError
		if errors.As(err, &gap) && r.opts.OnGap != nil {
			r.opts.OnGap(gap.have, gap.base)
		}
	}
	return err
}

type gapError struct{ have, base uint64 }

func (g *gapError) Error() string {
	return fmt.Sprintf("delta applies to version %d, live version is %d: %v", g.base, g.have, ErrGap)
}
func (g *gapError) Unwrap() error { return ErrGap }

func (r *Revocations) applyMsg(ctx context.Context, msg []byte) error {
	kind, body, err := Unseal(msg, r.opts.Keys, r.opts.MaxMessage)
	if err != nil {
		return fmt.Errorf("revocations: %w", err)
	}
	if kind != KindRevocations {
		return fmt.Errorf("revocations: got a %s message: %w", kind, ErrKind)
	}
	l, err := ParseRevocationList(body)
	if err != nil {
		return fmt.Errorf("revocations: %w", err)
	}
	r.apply.Lock()
	defer r.apply.Unlock()
	r.mu.RLock()
	cur := r.hdr
	r.mu.RUnlock()
	next := genHeader{Version: l.Version, Issued: l.Issued.Unix(), Expires: l.Expires.Unix()}
	if !l.IsDelta() {
		switch {
		case l.Version == cur.Version:
			return fmt.Errorf("revocations: snapshot version %d: %w", l.Version, ErrReplay)
		case l.Version < cur.Version:
			return fmt.Errorf("revocations: snapshot version %d, live version %d: %w", l.Version, cur.Version, ErrRollback)
		}
		set := make(map[Entry]struct{}, len(l.Add))
		for _, e := range l.Add {
			set[e] = struct{}{}
		}
		if err := r.writeSnapshot(ctx, cur, next, set); err != nil {
			return fmt.Errorf("revocations: persist snapshot %d: %w", l.Version, err)
		}
		r.done("snapshot", l)
		return nil
	}
	switch {
	case l.Version <= cur.Version:
		return fmt.Errorf("revocations: delta %d->%d, live version %d: %w", l.Base, l.Version, cur.Version, ErrReplay)
	case l.Base < cur.Version:
		return fmt.Errorf("revocations: delta %d->%d overlaps live version %d: %w", l.Base, l.Version, cur.Version, ErrReplay)
	case l.Base > cur.Version || cur.Gen == 0:
		return fmt.Errorf("revocations: %w", &gapError{have: cur.Version, base: l.Base})
	case len(l.Add)+len(l.Remove) > r.opts.MaxDelta:
		return fmt.Errorf("revocations: delta with %d entries, limit %d: %w", len(l.Add)+len(l.Remove), r.opts.MaxDelta, ErrOversize)
	}
	if r.deltas+1 > compactDeltas || r.deltaEntries+len(l.Add)+len(l.Remove) > compactEntries {
		// Rewrite the whole list as a new generation instead of growing the delta log.
		r.mu.RLock()
		set := make(map[Entry]struct{}, len(r.set)+len(l.Add))
		for e := range r.set {
			set[e] = struct{}{}
		}
		r.mu.RUnlock()
		for _, e := range l.Remove {
			delete(set, e)
		}
		for _, e := range l.Add {
			set[e] = struct{}{}
		}
		if err := r.writeSnapshot(ctx, cur, next, set); err != nil {
			return fmt.Errorf("revocations: persist delta %d->%d as a new generation: %w", l.Base, l.Version, err)
		}
		r.done("delta", l)
		return nil
	}
	err = r.gs.update(cur, next, func(set func(k, v []byte) error, _ func(k []byte) error) error {
		return set(deltaKey(l.Version), l.Marshal())
	})
	if err != nil {
		return fmt.Errorf("revocations: persist delta %d->%d: %w", l.Base, l.Version, err)
	}
	next.Gen, next.Old = cur.Gen, cur.Old
	r.mu.Lock()
	for _, e := range l.Remove {
		delete(r.set, e)
	}
	for _, e := range l.Add {
		r.set[e] = struct{}{}
	}
	r.hdr = next
	r.deltas++
	r.deltaEntries += len(l.Add) + len(l.Remove)
	r.mu.Unlock()
	r.done("delta", l)
	return nil
}

// writeSnapshot persists set as a new generation with header next and makes it live in memory.
func (r *Revocations) writeSnapshot(ctx context.Context, cur, next genHeader, set map[Entry]struct{}) error {
	hdr, err := r.gs.replace(ctx, cur, next, func(put func(k, v []byte) error) error {
		chunk := make([]Entry, 0, chunkEntries)
		var idx uint32
		flush := func() error {
			if len(chunk) == 0 {
				return nil
			}
			err := put(chunkKey(idx), encodeEntries(chunk))
			idx++
			chunk = chunk[:0]
			return err
		}
		for e := range set {
			chunk = append(chunk, e)
			if len(chunk) == chunkEntries {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		return flush()
	})
	if err != nil && hdr.Version != next.Version {
		return err
	}
	r.mu.Lock()
	r.set, r.hdr = set, hdr
	r.deltas, r.deltaEntries = 0, 0
	r.mu.Unlock()
	if err != nil { // the new list is live; only the erasure of the old one failed (retried at start)
		r.opts.Logger.Warn("revocations: old generation left behind", "err", err)
	}
	return nil
}

func (r *Revocations) done(typ string, l *RevocationList) {
	r.opts.Metrics.Applied.WithLabelValues("revocations", typ).Inc()
	r.opts.Metrics.Versions.WithLabelValues("revocations").Set(float64(l.Version))
	r.opts.Logger.Info("revocations applied", "type", typ, "version", l.Version, "base", l.Base,
		"added", len(l.Add), "removed", len(l.Remove), "expires", l.Expires)
}

// Check looks e up in the fleet list and the local deny list. It returns nil when e is not
// revoked, ErrRevoked when it is, and ErrListStale when the list is expired or missing and the
// policy is RefuseWhenStale. It is O(1) and safe for concurrent use.
func (r *Revocations) Check(e Entry, now time.Time) error {
	r.mu.RLock()
	_, inList := r.set[e]
	_, inLocal := r.local[e]
	exp := r.hdr.Expires
	r.mu.RUnlock()
	if inList || inLocal {
		return ErrRevoked
	}
	if r.opts.Policy == RefuseWhenStale && (exp == 0 || now.Unix() >= exp) {
		return ErrListStale
	}
	return nil
}

// Stale reports whether the list is expired or missing at now (for the health tracker).
func (r *Revocations) Stale(now time.Time) bool {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.hdr.Expires == 0 || now.Unix() >= r.hdr.Expires
}

// Version returns the live list version (0 when none) and its expiry.
func (r *Revocations) Version() (uint64, time.Time) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.hdr.Version == 0 {
		return 0, time.Time{}
	}
	return r.hdr.Version, time.Unix(r.hdr.Expires, 0).UTC()
}

// Len returns the number of entries in the fleet list.
func (r *Revocations) Len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.set)
}

// AddLocal puts e on the kiosk-local deny list (durably).
func (r *Revocations) AddLocal(e Entry) error {
	r.apply.Lock()
	defer r.apply.Unlock()
	if err := r.db.Update(func(txn *store.Txn) error { return txn.Set(store.Deny.Key(entryKey(e)), nil) }); err != nil {
		return fmt.Errorf("revocations: add local entry: %w", err)
	}
	r.mu.Lock()
	r.local[e] = struct{}{}
	r.mu.Unlock()
	return nil
}

// RemoveLocal takes e off the kiosk-local deny list.
func (r *Revocations) RemoveLocal(e Entry) error {
	r.apply.Lock()
	defer r.apply.Unlock()
	if err := r.db.Update(func(txn *store.Txn) error { return txn.Delete(store.Deny.Key(entryKey(e))) }); err != nil {
		return fmt.Errorf("revocations: remove local entry: %w", err)
	}
	r.mu.Lock()
	delete(r.local, e)
	r.mu.Unlock()
	return nil
}
