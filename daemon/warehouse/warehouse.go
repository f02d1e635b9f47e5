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
	r        *audit.Record
	raw      []byte
	distance *float64
	cpValid  bool
}

type problem struct {
	kiosk  string
	seq    uint64
	hash   string
	kind   string
	detail string
	raw    []byte
}

// Ingest stores a batch of messages and advances the heads of the kiosks they name, in one
// transaction (retried on a deadlock or serialization failure). Malformed and edited records
// become problem rows, not records.
func (w *DB) Ingest(ctx context.Context, msgs []Msg) (*Result, error) {
	var rows []row
	var probs []problem
	for _, m := range msgs {
		r, err := audit.ParseRecord(m.Raw)
		if err != nil {
			probs = append(probs, problem{kiosk: m.Kiosk, hash: rawHash(m.Raw), kind: "malformed", detail: err.Error(), raw: clip(m.Raw)})
			continue
		}
		if r.Kiosk != m.Kiosk {
			probs = append(probs, problem{kiosk: m.Kiosk, seq: r.Seq, hash: r.Hash, kind: "malformed",
				detail: fmt.Sprintf("record names kiosk %q on this kiosk's topic", r.Kiosk), raw: m.Raw})
			continue
		}
		if h, err := r.ComputeHash(); err != nil || h != r.Hash {
			probs = append(probs, problem{kiosk: r.Kiosk, seq: r.Seq, hash: r.Hash, kind: "edited", detail: "content does not match its hash", raw: m.Raw})
			continue
		}
		rw := row{r: r, raw: m.Raw}
		if d, ok := r.Scores["face_distance"]; ok {
			rw.distance = &d
		}
		if r.Checkpoint != "" {
			pub, ok := w.keys[r.Kiosk]
			if ok {
				cp, err := audit.VerifyCheckpoint(r.Checkpoint, pub)
				switch {
				case err != nil:
					probs = append(probs, problem{kiosk: r.Kiosk, seq: r.Seq, hash: r.Hash, kind: "checkpoint", detail: err.Error()})
				case cp.Kiosk != r.Kiosk || cp.Size != r.Seq || hex.EncodeToString(cp.Head[:]) != r.Hash:
					probs = append(probs, problem{kiosk: r.Kiosk, seq: r.Seq, hash: r.Hash, kind: "checkpoint",
						detail: fmt.Sprintf("checkpoint signs %s size %d, not this record", cp.Kiosk, cp.Size)})
				default:
					rw.cpValid = true
				}
			}
		}
		rows = append(rows, rw)
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
		for _, k := range kiosks {
			h, restarts, err := advance(ctx, tx, k)
			if err != nil {
				return err
			}
			res.Heads[k] = h
			res.Problems += restarts
		}
		// A new record that the head did not take while another record with its seq is on
		// the kiosk's current chain: a fork. It stays, as evidence; the chain is unchanged.
		// (A restarted chain's records are on the new chain by now, so they are not forks.)
		for _, r := range fresh {
			var other string
			err := tx.QueryRow(ctx, `SELECT o.hash FROM records n
				JOIN kiosks k ON k.kiosk = n.kiosk
				JOIN records o ON o.kiosk = n.kiosk AND o.seq = n.seq AND o.hash <> n.hash AND o.chain = k.chain
				WHERE n.kiosk = $1 AND n.seq = $2 AND n.hash = $3 AND n.chain IS NULL LIMIT 1`, r.Kiosk, int64(r.Seq), r.Hash).Scan(&other)
			if errors.Is(err, pgx.ErrNoRows) {
				continue
			}
			if err != nil {
				return fmt.Errorf("warehouse: fork check: %w", err)
			}
			tag, err := tx.Exec(ctx, `INSERT INTO problems (kiosk, seq, hash, kind, detail) VALUES ($1, $2, $3, 'fork', $4) ON CONFLICT DO NOTHING`,
				r.Kiosk, int64(r.Seq), r.Hash, fmt.Sprintf("a different record %d (hash %.12s) is on the kiosk's chain", r.Seq, other))
			if err != nil {
				return fmt.Errorf("warehouse: problem: %w", err)
			}
			res.Problems += int(tag.RowsAffected())
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// advance locks kiosk's head and moves it over every contiguous record that continues it,
// and onto a new chain when the kiosk started one (returned: how many restarts it recorded).
func advance(ctx context.Context, tx pgx.Tx, kiosk string) (Head, int, error) {
	if _, err := tx.Exec(ctx, `INSERT INTO kiosks (kiosk) VALUES ($1) ON CONFLICT DO NOTHING`, kiosk); err != nil {
		return Head{}, 0, fmt.Errorf("warehouse: kiosk %s: %w", kiosk, err)
	}
	var (
		seq          int64
		signed       int64
		h            Head
		chain        int
		headTime     *time.Time
		startSeq     int64
		startChain   int
		startGenesis string
		restarts     int
	)
	err := tx.QueryRow(ctx, `SELECT head_seq, head_hash, genesis, chain, signed_seq, head_time FROM kiosks WHERE kiosk = $1 FOR UPDATE`, kiosk).
		Scan(&seq, &h.Hash, &h.Genesis, &chain, &signed, &headTime)
	if err != nil {
		return Head{}, 0, fmt.Errorf("warehouse: lock head of %s: %w", kiosk, err)
	}
	startSeq, startChain, startGenesis = seq, chain, h.Genesis
	var moved []string
	mark := func() error {
		if len(moved) == 0 {
			return nil
		}
		_, err := tx.Exec(ctx, `UPDATE records SET chain = $2 WHERE kiosk = $1 AND hash = ANY($3) AND chain IS NULL`, kiosk, chain, moved)
		moved = moved[:0]
		return err
	}
	for {
		rows, err := tx.Query(ctx, `SELECT r.seq, r.hash, r.prev, r.time, coalesce(c.valid, false)
			FROM records r LEFT JOIN checkpoints c USING (kiosk, seq, hash)
			WHERE r.kiosk = $1 AND r.chain IS NULL AND r.seq > $2 ORDER BY r.seq LIMIT 2000`, kiosk, seq)
		if err != nil {
			return Head{}, 0, fmt.Errorf("warehouse: follow %s: %w", kiosk, err)
		}
		step := false
		for rows.Next() {
			var (
				s          int64
				hash, prev string
				t          time.Time
				valid      bool
			)
			if err := rows.Scan(&s, &hash, &prev, &t, &valid); err != nil {
				rows.Close()
				return Head{}, 0, err
			}
			want := h.Hash
			if seq == 0 {
				want = audit.ZeroHash
			}
			if s != seq+1 || prev != want {
				continue // a fork, or past a gap: records are in seq order, so a later one may still fit
			}
			if seq == 0 {
				h.Genesis = hash
			}
			seq, h.Hash, headTime = s, hash, &t
			if valid {
				signed = s
			}
			moved = append(moved, hash)
			step = true
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return Head{}, 0, fmt.Errorf("warehouse: follow %s: %w", kiosk, err)
		}
		if step {
			continue
		}
		// Nothing continues the head. A new record 1 the head never passed is a restarted
		// chain (the problem row is written at insert): follow it from the start.
		var g string
		err = tx.QueryRow(ctx, `SELECT hash FROM records WHERE kiosk = $1 AND seq = 1 AND prev = $2 AND chain IS NULL AND hash <> $3 ORDER BY received LIMIT 1`,
			kiosk, audit.ZeroHash, h.Genesis).Scan(&g)
		if errors.Is(err, pgx.ErrNoRows) || seq == 0 {
			break
		}
		if err != nil {
			return Head{}, 0, fmt.Errorf("warehouse: restart check %s: %w", kiosk, err)
		}
		if err := mark(); err != nil {
			return Head{}, 0, err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO problems (kiosk, seq, hash, kind, detail) VALUES ($1, 1, $2, 'restart', $3) ON CONFLICT DO NOTHING`,
			kiosk, g, fmt.Sprintf("starts a new chain after record %d: the kiosk's store was reset (or another kiosk uses its id)", seq)); err != nil {
			return Head{}, 0, fmt.Errorf("warehouse: problem: %w", err)
		}
		restarts++
		chain++
		seq, h.Hash, h.Genesis, signed = 0, "", "", 0
	}
	if err := mark(); err != nil {
		return Head{}, 0, fmt.Errorf("warehouse: mark %s: %w", kiosk, err)
	}
	if seq != startSeq || chain != startChain || h.Genesis != startGenesis {
		if _, err := tx.Exec(ctx, `UPDATE kiosks SET head_seq = $2, head_hash = $3, genesis = $4, chain = $5, signed_seq = $6, head_time = $7, updated = now() WHERE kiosk = $1`,
			kiosk, seq, h.Hash, h.Genesis, chain, signed, headTime); err != nil {
			return Head{}, 0, fmt.Errorf("warehouse: head %s: %w", kiosk, err)
		}
	}
	h.Seq = uint64(seq)
	return h, restarts, nil
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
