// Package warehouse keeps the fleet's audit records in PostgreSQL: one row per record as
// received, each kiosk's verified chain head, checkpoints, and chain problems as rows.
// Collectors are stateless: any number insert records (idempotent on kiosk, seq and hash)
// and advance a kiosk's head in the same transaction, under a row lock on the head,
// following contiguous records whose prev hash matches; a record that arrives before the one
// it follows waits in the table until the gap closes. A different record with a seq already
// held is a chain problem, never an overwrite.
package warehouse

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/edgeid/edgeid/daemon/audit"
)

// DB is a warehouse connection pool.
type DB struct {
	pool *pgxpool.Pool
	keys map[string]ed25519.PublicKey
}

// Opts configures Open.
type Opts struct {
	// KioskKeys check the checkpoints of the kiosks they name; a checkpoint of another
	// kiosk is stored unchecked (valid false) and is not counted as signed.
	KioskKeys map[string]ed25519.PublicKey
	// MaxConns bounds the pool (0: pgx's default).
	MaxConns int32
}

// Open connects to dsn (postgres://...) and migrates the schema to the newest version this
// package knows; it refuses a database whose schema is newer.
func Open(ctx context.Context, dsn string, o *Opts) (*DB, error) {
	if o == nil {
		o = &Opts{}
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("warehouse: %w", err)
	}
	if o.MaxConns > 0 {
		cfg.MaxConns = o.MaxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("warehouse: %w", err)
	}
	w := &DB{pool: pool, keys: o.KioskKeys}
	if err := w.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return w, nil
}

// Close closes the pool.
func (w *DB) Close() { w.pool.Close() }

// SchemaVersion is the schema version this package creates.
func SchemaVersion() int { return len(migrations) }

// ErrNewerSchema is returned by Open for a database migrated by a newer edgeidctl.
var ErrNewerSchema = errors.New("warehouse: the database schema is newer than this program knows")

func (w *DB) migrate(ctx context.Context) error {
	return pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		// One migrator at a time: replicas starting together wait here.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7202612)`); err != nil {
			return fmt.Errorf("warehouse: migrate lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version int NOT NULL)`); err != nil {
			return fmt.Errorf("warehouse: migrate: %w", err)
		}
		var v int
		err := tx.QueryRow(ctx, `SELECT version FROM schema_version`).Scan(&v)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			if _, err := tx.Exec(ctx, `INSERT INTO schema_version VALUES (0)`); err != nil {
				return fmt.Errorf("warehouse: migrate: %w", err)
			}
		case err != nil:
			return fmt.Errorf("warehouse: schema version: %w", err)
		}
		if v > len(migrations) {
			return fmt.Errorf("%w: version %d, this one knows up to %d", ErrNewerSchema, v, len(migrations))
		}
		for ; v < len(migrations); v++ {
			if _, err := tx.Exec(ctx, migrations[v]); err != nil {
				return fmt.Errorf("warehouse: migration %d: %w", v+1, err)
			}
		}
		_, err = tx.Exec(ctx, `UPDATE schema_version SET version = $1`, v)
		return err
	})
}

// Msg is one audit message as received on kiosk's topic.
type Msg struct {
	Kiosk string
	Raw   []byte
}

// Head is how far a kiosk's chain is verified: what a collector acks.
type Head struct {
	Seq     uint64
	Hash    string // "" while Seq is 0
	Genesis string
}

// Result is what one Ingest did.
type Result struct {
	Heads    map[string]Head // every kiosk the batch named, after the batch
	Inserted int             // new records (re-sends are not counted)
	Problems int             // new problem rows
}

type row struct {
	r         *audit.Record
	raw       []byte
	distance  *float64
	cpValid   bool
	cpProblem *problem
}

// parseRow checks a message's record (hash included); the error is a *problem.
func parseRow(m Msg) (row, error) {
	r, err := audit.ParseRecord(m.Raw)
	if err != nil {
		return row{}, &problem{kiosk: m.Kiosk, hash: rawHash(m.Raw), kind: "malformed", detail: err.Error(), raw: clip(m.Raw)}
	}
	if r.Kiosk != m.Kiosk {
		return row{}, &problem{kiosk: m.Kiosk, seq: r.Seq, hash: r.Hash, kind: "malformed",
			detail: fmt.Sprintf("record names kiosk %q on this kiosk's topic", r.Kiosk), raw: clip(m.Raw)}
	}
	if h, err := r.ComputeHash(); err != nil || h != r.Hash {
		return row{}, &problem{kiosk: r.Kiosk, seq: r.Seq, hash: r.Hash, kind: "edited", detail: "content does not match its hash", raw: m.Raw}
	}
	rw := row{r: r, raw: m.Raw}
	if d, ok := r.Scores["face_distance"]; ok {
		rw.distance = &d
	}
	return rw, nil
}

// check is parseRow plus the checkpoint, against the kiosk's key when it is known.
func (w *DB) check(m Msg) (row, error) {
	rw, err := parseRow(m)
	if err != nil || rw.r.Checkpoint == "" {
		return rw, err
	}
	r := rw.r
	pub, ok := w.keys[r.Kiosk]
	if !ok {
		return rw, nil
	}
	cp, err := audit.VerifyCheckpoint(r.Checkpoint, pub)
	switch {
	case err != nil:
		rw.cpProblem = &problem{kiosk: r.Kiosk, seq: r.Seq, hash: r.Hash, kind: "checkpoint", detail: err.Error()}
	case cp.Kiosk != r.Kiosk || cp.Size != r.Seq || hex.EncodeToString(cp.Head[:]) != r.Hash:
		rw.cpProblem = &problem{kiosk: r.Kiosk, seq: r.Seq, hash: r.Hash, kind: "checkpoint",
			detail: fmt.Sprintf("checkpoint signs %s size %d, not this record", cp.Kiosk, cp.Size)}
	default:
		rw.cpValid = true
	}
	return rw, nil
}

type problem struct {
	kiosk  string
	seq    uint64
	hash   string
	kind   string
	detail string
	raw    []byte
}

func (p *problem) Error() string { return p.kind + ": " + p.detail }

// Ingest stores a batch of messages and advances the heads of the kiosks they name, in one
// transaction (retried on a deadlock or serialization failure). Malformed and edited records
// become problem rows, not records.
func (w *DB) Ingest(ctx context.Context, msgs []Msg) (*Result, error) {
	var rows []row
	var probs []problem
	for _, m := range msgs {
		rw, err := w.check(m)
		if err != nil {
			var p *problem
			if errors.As(err, &p) {
				probs = append(probs, *p)
			}
			continue
		}
		rows = append(rows, rw)
		if rw.cpProblem != nil {
			probs = append(probs, *rw.cpProblem)
		}
	}
	// One order for every replica: inserts and head locks taken in the same order cannot
	// wait on each other in a cycle.
	sort.Slice(rows, func(i, j int) bool {
		a, b := rows[i].r, rows[j].r
		if a.Kiosk != b.Kiosk {
			return a.Kiosk < b.Kiosk
		}
		if a.Seq != b.Seq {
			return a.Seq < b.Seq
		}
		return a.Hash < b.Hash
	})
	kset := map[string]bool{}
	for _, m := range msgs {
		if m.Kiosk != "" {
			kset[m.Kiosk] = true
		}
	}
	kiosks := make([]string, 0, len(kset))
	for k := range kset {
		kiosks = append(kiosks, k)
	}
	sort.Strings(kiosks)
	for try := 0; ; try++ {
		res, err := w.ingestTx(ctx, rows, probs, kiosks)
		if err == nil || try == 4 || !retryable(err) {
			return res, err
		}
	}
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

func (w *DB) ingestTx(ctx context.Context, rows []row, probs []problem, kiosks []string) (*Result, error) {
	res := &Result{Heads: map[string]Head{}}
	err := pgx.BeginFunc(ctx, w.pool, func(tx pgx.Tx) error {
		res.Inserted, res.Problems = 0, 0
		b := &pgx.Batch{}
		for _, rw := range rows {
			r := rw.r
			reasons := r.Reasons
			if reasons == nil {
				reasons = []string{}
			}
			b.Queue(`INSERT INTO records (kiosk, seq, hash, prev, time, flow, outcome, reasons, distance, raw)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING`,
				r.Kiosk, int64(r.Seq), r.Hash, r.Prev, r.Time, r.Flow, r.Outcome, reasons, rw.distance, rw.raw)
			if r.Checkpoint != "" {
				b.Queue(`INSERT INTO checkpoints (kiosk, seq, hash, note, valid) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
					r.Kiosk, int64(r.Seq), r.Hash, r.Checkpoint, rw.cpValid)
			}
		}
		br := tx.SendBatch(ctx, b)
		var fresh []*audit.Record
		for _, rw := range rows {
			tag, err := br.Exec()
			if err != nil {
				br.Close()
				return fmt.Errorf("warehouse: insert %s/%d: %w", rw.r.Kiosk, rw.r.Seq, err)
			}
			if tag.RowsAffected() == 1 {
				res.Inserted++
				fresh = append(fresh, rw.r)
			}
			if rw.r.Checkpoint != "" {
				if _, err := br.Exec(); err != nil {
					br.Close()
					return fmt.Errorf("warehouse: checkpoint %s/%d: %w", rw.r.Kiosk, rw.r.Seq, err)
				}
			}
		}
		if err := br.Close(); err != nil {
			return fmt.Errorf("warehouse: insert: %w", err)
		}
		for _, p := range probs {
			tag, err := tx.Exec(ctx, `INSERT INTO problems (kiosk, seq, hash, kind, detail, raw) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING`,
				p.kiosk, int64(p.seq), p.hash, p.kind, p.detail, p.raw)
			if err != nil {
				return fmt.Errorf("warehouse: problem: %w", err)
			}
			res.Problems += int(tag.RowsAffected())
		}
		if len(kiosks) > 0 {
			heads, restarts, err := advanceAll(ctx, tx, kiosks)
			if err != nil {
				return err
			}
			res.Heads, res.Problems = heads, res.Problems+restarts
		}
		n, err := forks(ctx, tx, fresh)
		res.Problems += n
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// forks records, as problems, the new records that the heads did not take while another
// record with their seq is on the kiosk's current chain. They stay, as evidence; the chain
// is unchanged. (A restarted chain's records are on the new chain by now: not forks.)
func forks(ctx context.Context, tx pgx.Tx, fresh []*audit.Record) (int, error) {
	if len(fresh) == 0 {
		return 0, nil
	}
	ks, hs := make([]string, len(fresh)), make([]string, len(fresh))
	ss := make([]int64, len(fresh))
	for i, r := range fresh {
		ks[i], ss[i], hs[i] = r.Kiosk, int64(r.Seq), r.Hash
	}
	rows, err := tx.Query(ctx, `SELECT f.kiosk, f.seq, f.hash, min(o.hash)
		FROM unnest($1::text[], $2::bigint[], $3::text[]) AS f(kiosk, seq, hash)
		JOIN records n ON n.kiosk = f.kiosk AND n.seq = f.seq AND n.hash = f.hash AND n.chain IS NULL
		JOIN kiosks k ON k.kiosk = f.kiosk
		JOIN records o ON o.kiosk = f.kiosk AND o.seq = f.seq AND o.hash <> f.hash AND o.chain = k.chain
		GROUP BY 1, 2, 3`, ks, ss, hs)
	if err != nil {
		return 0, fmt.Errorf("warehouse: fork check: %w", err)
	}
	var found []problem
	for rows.Next() {
		var p problem
		var seq int64
		var other string
		if err := rows.Scan(&p.kiosk, &seq, &p.hash, &other); err != nil {
			rows.Close()
			return 0, fmt.Errorf("warehouse: fork check: %w", err)
		}
		p.seq, p.kind = uint64(seq), "fork"
		p.detail = fmt.Sprintf("a different record %d (hash %.12s) is on the kiosk's chain", seq, other)
		found = append(found, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("warehouse: fork check: %w", err)
	}
	n := 0
	for _, p := range found {
		tag, err := tx.Exec(ctx, `INSERT INTO problems (kiosk, seq, hash, kind, detail) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
			p.kiosk, int64(p.seq), p.hash, p.kind, p.detail)
		if err != nil {
			return 0, fmt.Errorf("warehouse: problem: %w", err)
		}
		n += int(tag.RowsAffected())
	}
	return n, nil
}

// cand is a record no chain has taken yet.
type cand struct {
	seq        int64
	hash, prev string
	time       time.Time
	valid      bool // carries a valid checkpoint
}

type headRow struct {
	kiosk, hash, genesis string
	seq, signed          int64
	chain                int
	time                 *time.Time
	changed              bool
}

// advanceAll locks the heads of kiosks (sorted) and moves each over every contiguous record
// that continues it, and onto a new chain when the kiosk started one. It returns the heads
// and how many restart problems it recorded. A fixed number of statements per batch,
// whatever the number of kiosks.
func advanceAll(ctx context.Context, tx pgx.Tx, kiosks []string) (map[string]Head, int, error) {
	if _, err := tx.Exec(ctx, `INSERT INTO kiosks (kiosk) SELECT unnest($1::text[]) ORDER BY 1 ON CONFLICT DO NOTHING`, kiosks); err != nil {
		return nil, 0, fmt.Errorf("warehouse: kiosks: %w", err)
	}
	// ORDER BY puts the lock below the sort: rows are locked in kiosk order.
	rows, err := tx.Query(ctx, `SELECT kiosk, head_seq, head_hash, genesis, chain, signed_seq, head_time
		FROM kiosks WHERE kiosk = ANY($1) ORDER BY kiosk FOR UPDATE`, kiosks)
	if err != nil {
		return nil, 0, fmt.Errorf("warehouse: lock heads: %w", err)
	}
	heads := map[string]*headRow{}
	for rows.Next() {
		h := &headRow{}
		if err := rows.Scan(&h.kiosk, &h.seq, &h.hash, &h.genesis, &h.chain, &h.signed, &h.time); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("warehouse: lock heads: %w", err)
		}
		heads[h.kiosk] = h
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("warehouse: lock heads: %w", err)
	}
	// Read after the lock: under READ COMMITTED this statement sees every record committed
	// by a replica that held the lock before. Records below the head are read too: after a
	// restart the new chain's record 2 has a seq the old head passed. (Forks stay here
	// unread by any chain; they are few.)
	rows, err = tx.Query(ctx, `SELECT r.kiosk, r.seq, r.hash, r.prev, r.time, coalesce(c.valid, false)
		FROM records r LEFT JOIN checkpoints c USING (kiosk, seq, hash)
		WHERE r.kiosk = ANY($1) AND r.chain IS NULL
		ORDER BY r.kiosk, r.seq, r.received`, kiosks)
	if err != nil {
		return nil, 0, fmt.Errorf("warehouse: follow: %w", err)
	}
	cands := map[string]map[int64][]cand{}
	for rows.Next() {
		var k string
		var c cand
		if err := rows.Scan(&k, &c.seq, &c.hash, &c.prev, &c.time, &c.valid); err != nil {
			rows.Close()
			return nil, 0, fmt.Errorf("warehouse: follow: %w", err)
		}
		if cands[k] == nil {
			cands[k] = map[int64][]cand{}
		}
		cands[k][c.seq] = append(cands[k][c.seq], c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("warehouse: follow: %w", err)
	}
	var mk, mh []string
	var mc []int32
	type restart struct {
		kiosk, hash string
		after       int64
	}
	var restarts []restart
	out := make(map[string]Head, len(kiosks))
	for _, k := range kiosks {
		h := heads[k]
		if h == nil {
			return nil, 0, fmt.Errorf("warehouse: head of %s not found", k)
		}
		cs := cands[k]
		used := map[string]bool{}
		for {
			want := h.hash
			if h.seq == 0 {
				want = audit.ZeroHash
			}
			var next *cand
			for i := range cs[h.seq+1] {
				if c := &cs[h.seq+1][i]; c.prev == want && !used[c.hash] {
					next = c
					break
				}
			}
			if next == nil && h.seq > 0 {
				// Nothing continues the head. A record 1 no chain took is a restarted chain
				// (the kiosk's store was reset): follow it from the start.
				for i := range cs[1] {
					if c := &cs[1][i]; c.prev == audit.ZeroHash && c.hash != h.genesis && !used[c.hash] {
						restarts = append(restarts, restart{k, c.hash, h.seq})
						h.chain++
						h.seq, h.hash, h.genesis, h.signed = 0, "", "", 0
						next = c
						break
					}
				}
			}
			if next == nil {
				break
			}
			if h.seq == 0 {
				h.genesis = next.hash
			}
			t := next.time
			h.seq, h.hash, h.time, h.changed = next.seq, next.hash, &t, true
			if next.valid {
				h.signed = next.seq
			}
			used[next.hash] = true
			mk, mh, mc = append(mk, k), append(mh, next.hash), append(mc, int32(h.chain))
		}
		out[k] = Head{Seq: uint64(h.seq), Hash: h.hash, Genesis: h.genesis}
	}
	if len(mk) > 0 {
		if _, err := tx.Exec(ctx, `UPDATE records r SET chain = u.chain
			FROM unnest($1::text[], $2::text[], $3::int[]) AS u(kiosk, hash, chain)
			WHERE r.kiosk = u.kiosk AND r.hash = u.hash AND r.chain IS NULL`, mk, mh, mc); err != nil {
			return nil, 0, fmt.Errorf("warehouse: mark: %w", err)
		}
		var hk, hh, hg []string
		var hs, hsig []int64
		var hc []int32
		var ht []time.Time
		for _, k := range kiosks {
			if h := heads[k]; h.changed {
				hk, hh, hg = append(hk, k), append(hh, h.hash), append(hg, h.genesis)
				hs, hsig, hc, ht = append(hs, h.seq), append(hsig, h.signed), append(hc, int32(h.chain)), append(ht, *h.time)
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE kiosks k SET head_seq = u.seq, head_hash = u.hash, genesis = u.genesis, chain = u.chain,
			signed_seq = u.signed, head_time = u.t, updated = now()
			FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::int[], $6::bigint[], $7::timestamptz[]) AS u(kiosk, seq, hash, genesis, chain, signed, t)
			WHERE k.kiosk = u.kiosk`, hk, hs, hh, hg, hc, hsig, ht); err != nil {
			return nil, 0, fmt.Errorf("warehouse: heads: %w", err)
		}
	}
	n := 0
	for _, r := range restarts {
		tag, err := tx.Exec(ctx, `INSERT INTO problems (kiosk, seq, hash, kind, detail) VALUES ($1, 1, $2, 'restart', $3) ON CONFLICT DO NOTHING`,
			r.kiosk, r.hash, fmt.Sprintf("starts a new chain after record %d: the kiosk's store was reset (or another kiosk uses its id)", r.after))
		if err != nil {
			return nil, 0, fmt.Errorf("warehouse: problem: %w", err)
		}
		n += int(tag.RowsAffected())
	}
	return out, n, nil
}

// SetSite records which site a kiosk stands at (records carry no site; queries and views
// join on this).
func (w *DB) SetSite(ctx context.Context, kiosk, site string) error {
	_, err := w.pool.Exec(ctx, `INSERT INTO kiosks (kiosk, site) VALUES ($1, $2) ON CONFLICT (kiosk) DO UPDATE SET site = EXCLUDED.site`, kiosk, site)
	if err != nil {
		return fmt.Errorf("warehouse: set site: %w", err)
	}
	return nil
}

// Heads returns every kiosk's verified head.
func (w *DB) Heads(ctx context.Context) (map[string]Head, error) {
	rows, err := w.pool.Query(ctx, `SELECT kiosk, head_seq, head_hash, genesis FROM kiosks`)
	if err != nil {
		return nil, fmt.Errorf("warehouse: heads: %w", err)
	}
	defer rows.Close()
	out := map[string]Head{}
	for rows.Next() {
		var k string
		var s int64
		var h Head
		if err := rows.Scan(&k, &s, &h.Hash, &h.Genesis); err != nil {
			return nil, err
		}
		h.Seq = uint64(s)
		out[k] = h
	}
	return out, rows.Err()
}

func rawHash(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// clip bounds what a malformed message leaves in the problems table.
func clip(b []byte) []byte {
	if len(b) > 4096 {
		return b[:4096]
	}
	return b
}
