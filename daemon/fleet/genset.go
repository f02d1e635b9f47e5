package fleet

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"

	"github.com/edgeid/edgeid/daemon/store"
)

// genHeader is the persisted state of a versioned set: which generation of keys is live and
// which list version it holds. Snapshots are written under a fresh generation and become live
// when the header flips in one durable transaction, so a crash mid-apply leaves the previous
// generation in force; the pending generation is erased on the next start.
type genHeader struct {
	Gen     uint64
	Pending uint64 // generation being written, 0 when none
	Old     uint64 // replaced generation not yet erased, 0 when none
	Version uint64
	Issued  int64
	Expires int64
}

const genHeaderLen = 48

func (h genHeader) marshal() []byte {
	b := make([]byte, 0, genHeaderLen)
	b = binary.BigEndian.AppendUint64(b, h.Gen)
	b = binary.BigEndian.AppendUint64(b, h.Pending)
	b = binary.BigEndian.AppendUint64(b, h.Old)
	b = binary.BigEndian.AppendUint64(b, h.Version)
	b = binary.BigEndian.AppendUint64(b, uint64(h.Issued))
	return binary.BigEndian.AppendUint64(b, uint64(h.Expires))
}

func parseGenHeader(b []byte) (genHeader, error) {
	if len(b) != genHeaderLen {
		return genHeader{}, fmt.Errorf("set header is %d bytes, want %d", len(b), genHeaderLen)
	}
	return genHeader{
		Gen:     binary.BigEndian.Uint64(b),
		Pending: binary.BigEndian.Uint64(b[8:]),
		Old:     binary.BigEndian.Uint64(b[16:]),
		Version: binary.BigEndian.Uint64(b[24:]),
		Issued:  int64(binary.BigEndian.Uint64(b[32:])),
		Expires: int64(binary.BigEndian.Uint64(b[40:])),
	}, nil
}

// genSet stores a versioned set under space + gen(8) + item key.
type genSet struct {
	db    *store.DB
	space store.Space
	meta  []byte
}

func (g *genSet) prefix(gen uint64) []byte { return g.space.Key(store.U64(gen)) }

// load reads the header and erases a generation a crash left half written or replaced but
// not yet erased.
func (g *genSet) load() (genHeader, error) {
	v, ok, err := g.db.Get(g.meta)
	if err != nil {
		return genHeader{}, err
	}
	if !ok {
		return genHeader{}, nil
	}
	h, err := parseGenHeader(v)
	if err != nil {
		return genHeader{}, err
	}
	if h.Pending != 0 || h.Old != 0 {
		for _, gen := range []uint64{h.Pending, h.Old} {
			if gen != 0 && gen != h.Gen {
				if err := g.db.Erase(g.prefix(gen)); err != nil {
					return genHeader{}, err
				}
			}
		}
		h.Pending, h.Old = 0, 0
		if err := g.db.Update(func(txn *store.Txn) error { return txn.Set(g.meta, h.marshal()) }); err != nil {
			return genHeader{}, err
		}
	}
	return h, nil
}

// replace writes a new generation with put and makes it live with header next (whose Gen
// is chosen here). The old generation is erased afterwards.
func (g *genSet) replace(ctx context.Context, cur, next genHeader, put func(set func(k, v []byte) error) error) (genHeader, error) {
	next.Gen = max(cur.Gen, cur.Pending, cur.Old) + 1
	mark := cur
	mark.Pending = next.Gen
	if err := g.db.Update(func(txn *store.Txn) error { return txn.Set(g.meta, mark.marshal()) }); err != nil {
		return cur, err
	}
	wb := g.db.NewWriteBatch()
	defer wb.Cancel()
	pfx := g.prefix(next.Gen)
	err := put(func(k, v []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		key := make([]byte, 0, len(pfx)+len(k))
		key = append(append(key, pfx...), k...)
		return wb.Set(key, v)
	})
	if err == nil {
		err = wb.Flush()
	}
	if err != nil {
		// Leave the pending mark: the next load erases the partial generation.
		return cur, fmt.Errorf("write generation %d: %w", next.Gen, err)
	}
	next.Pending, next.Old = 0, cur.Gen
	if err := g.db.Update(func(txn *store.Txn) error { return txn.Set(g.meta, next.marshal()) }); err != nil {
		return cur, err
	}
	if next.Old != 0 {
		if err := g.db.Erase(g.prefix(next.Old)); err != nil {
			return next, fmt.Errorf("erase old generation %d: %w", next.Old, err)
		}
		next.Old = 0
		if err := g.db.Update(func(txn *store.Txn) error { return txn.Set(g.meta, next.marshal()) }); err != nil {
			return next, err
		}
	}
	return next, nil
}

// update applies a delta to the live generation in one transaction together with the new
// header, so the delta is all there or not at all.
func (g *genSet) update(cur, next genHeader, fn func(set func(k, v []byte) error, del func(k []byte) error) error) error {
	next.Gen, next.Old = cur.Gen, cur.Old
	pfx := g.prefix(cur.Gen)
	err := g.db.Update(func(txn *store.Txn) error {
		key := func(k []byte) []byte {
			out := make([]byte, 0, len(pfx)+len(k))
			return append(append(out, pfx...), k...)
		}
		err := fn(func(k, v []byte) error { return txn.Set(key(k), v) }, func(k []byte) error { return txn.Delete(key(k)) })
		if err != nil {
			return err
		}
		return txn.Set(g.meta, next.marshal())
	})
	if errors.Is(err, badger.ErrTxnTooBig) {
		return fmt.Errorf("delta too large for one transaction: %w", ErrOversize)
	}
	return err
}

// each calls fn for every item of the live generation with the item key (prefix removed).
func (g *genSet) each(ctx context.Context, gen uint64, fn func(k, v []byte) error) error {
	pfx := g.prefix(gen)
	return g.db.Iterate(ctx, pfx, func(k, v []byte) error { return fn(k[len(pfx):], v) })
}
