package warehouse

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/edgeid/edgeid/daemon/audit"
)

// Filter selects records for Query; zero fields select everything.
type Filter struct {
	Kiosk, Site, Outcome string
	// Reason matches a reason exactly or its name before ':' (face matches "face:fail").
	Reason       string
	Since, Until time.Time // Since inclusive, Until exclusive
	Limit        int       // 0: 1000
}

// Row is one record as Query returns it.
type Row struct {
	Kiosk    string    `json:"kiosk"`
	Site     string    `json:"site,omitempty"`
	Seq      uint64    `json:"seq"`
	Hash     string    `json:"hash"`
	Time     time.Time `json:"time"`
	Flow     string    `json:"flow"`
	Outcome  string    `json:"outcome"`
	Reasons  []string  `json:"reasons,omitempty"`
	Distance *float64  `json:"distance,omitempty"`
	// Verified: the kiosk's verified head has passed it (false: it waits for a gap, or is a fork).
	Verified bool `json:"verified"`
}

// Query returns the records f selects, oldest first.
func (w *DB) Query(ctx context.Context, f Filter) ([]Row, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "$?", "$"+strconv.Itoa(len(args))))
	}
	if f.Kiosk != "" {
		add("r.kiosk = $?", f.Kiosk)
	}
	if f.Site != "" {
		add("k.site = $?", f.Site)
	}
	if f.Outcome != "" {
		add("r.outcome = $?", f.Outcome)
	}
	if f.Reason != "" {
		add("EXISTS (SELECT 1 FROM unnest(r.reasons) x WHERE x = $? OR split_part(x, ':', 1) = $?)", f.Reason)
	}
	if !f.Since.IsZero() {
		add("r.time >= $?", f.Since)
	}
	if !f.Until.IsZero() {
		add("r.time < $?", f.Until)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	q := `SELECT r.kiosk, coalesce(k.site, ''), r.seq, r.hash, r.time, r.flow, r.outcome, r.reasons, r.distance, r.chain IS NOT NULL
		FROM records r LEFT JOIN kiosks k USING (kiosk)`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY r.time, r.kiosk, r.seq LIMIT %d", limit)
	rows, err := w.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("warehouse: query: %w", err)
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		var r Row
		var seq int64
		if err := rows.Scan(&r.Kiosk, &r.Site, &seq, &r.Hash, &r.Time, &r.Flow, &r.Outcome, &r.Reasons, &r.Distance, &r.Verified); err != nil {
			return nil, fmt.Errorf("warehouse: query: %w", err)
		}
		r.Seq = uint64(seq)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("warehouse: query: %w", err)
	}
	return out, nil
}

// Export writes every verified record as received, one per line, each kiosk's chains in
// order: the collector's JSON-lines format, which `edgeidctl audit verify FILE` reads.
func (w *DB) Export(ctx context.Context, out io.Writer) (int, error) {
	n := 0
	err := w.each(ctx, func(raw []byte) error {
		n++
		if _, err := out.Write(raw); err != nil {
			return err
		}
		_, err := out.Write([]byte{'\n'})
		return err
	})
	return n, err
}

func (w *DB) each(ctx context.Context, fn func(raw []byte) error) error {
	rows, err := w.pool.Query(ctx, `SELECT raw FROM records WHERE chain IS NOT NULL ORDER BY kiosk, chain, seq`)
	if err != nil {
		return fmt.Errorf("warehouse: export: %w", err)
	}
	defer rows.Close()
	var raw []byte
	for rows.Next() {
		if err := rows.Scan(&raw); err != nil {
			return fmt.Errorf("warehouse: export: %w", err)
		}
		if err := fn(raw); err != nil {
			return fmt.Errorf("warehouse: export: %w", err)
		}
	}
	return rows.Err()
}

// Problem is a chain problem row.
type Problem struct {
	Kiosk, Hash, Kind, Detail string
	Seq                       uint64
	At                        time.Time
}

func (p Problem) String() string {
	return fmt.Sprintf("kiosk %s record %d (%.12s): %s: %s", p.Kiosk, p.Seq, p.Hash, p.Kind, p.Detail)
}

// Report is what Verify found.
type Report struct {
	// Chains re-verifies the verified records (hashes, links, checkpoints against the keys).
	Chains *audit.Summary
	// Problems are the rows collectors wrote (restarts, forks, edits, bad checkpoints).
	Problems []Problem
	// Waiting counts, per kiosk, records past its head that wait for a missing one.
	Waiting map[string]int
}

// Verify re-checks every chain in the database from the stored records.
func (w *DB) Verify(ctx context.Context, keys map[string]ed25519.PublicKey) (*Report, error) {
	v := audit.NewVerifier(keys)
	line := 0
	if err := w.each(ctx, func(raw []byte) error { line++; v.AddRaw(line, raw); return nil }); err != nil {
		return nil, err
	}
	rep := &Report{Chains: v.Finish(), Waiting: map[string]int{}}
	// A fork row whose record a chain took later was the early arrival of a restarted
	// chain's record (another replica held its record 1): not a problem.
	rows, err := w.pool.Query(ctx, `SELECT p.kiosk, p.seq, p.hash, p.kind, p.detail, p.at FROM problems p
		WHERE NOT (p.kind = 'fork' AND EXISTS (SELECT 1 FROM records r WHERE r.kiosk = p.kiosk AND r.seq = p.seq AND r.hash = p.hash AND r.chain IS NOT NULL))
		ORDER BY p.id`)
	if err != nil {
		return nil, fmt.Errorf("warehouse: problems: %w", err)
	}
	for rows.Next() {
		var p Problem
		var seq int64
		if err := rows.Scan(&p.Kiosk, &seq, &p.Hash, &p.Kind, &p.Detail, &p.At); err != nil {
			rows.Close()
			return nil, err
		}
		p.Seq = uint64(seq)
		rep.Problems = append(rep.Problems, p)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows, err = w.pool.Query(ctx, `SELECT r.kiosk, count(*) FROM records r JOIN kiosks k USING (kiosk) WHERE r.chain IS NULL AND r.seq > k.head_seq GROUP BY 1`)
	if err != nil {
		return nil, fmt.Errorf("warehouse: waiting: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			return nil, err
		}
		rep.Waiting[k] = n
	}
	return rep, rows.Err()
}
