package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/edgeid/edgeid/daemon/cmd/internal/cli"
	"github.com/edgeid/edgeid/daemon/fleet"
	"github.com/edgeid/edgeid/daemon/warehouse"
)

// sink adapts the warehouse to the collector.
type sink struct{ w *warehouse.DB }

func (s sink) Ingest(ctx context.Context, kiosks []string, raws [][]byte) (map[string]fleet.Position, error) {
	msgs := make([]warehouse.Msg, len(raws))
	for i := range raws {
		msgs[i] = warehouse.Msg{Kiosk: kiosks[i], Raw: raws[i]}
	}
	res, err := s.w.Ingest(ctx, msgs)
	if err != nil {
		return nil, err
	}
	out := make(map[string]fleet.Position, len(res.Heads))
	for k, h := range res.Heads {
		out[k] = fleet.Position{Seq: h.Seq, Hash: h.Hash, Genesis: h.Genesis}
	}
	return out, nil
}

// setSites stores KIOSK=SITE pairs.
func setSites(ctx context.Context, w *warehouse.DB, pairs cli.Multi) error {
	for _, kv := range pairs {
		k, s, ok := strings.Cut(kv, "=")
		if !ok || k == "" || s == "" {
			return cli.Usagef("-site wants KIOSK=SITE, got %q", kv)
		}
		if err := w.SetSite(ctx, k, s); err != nil {
			return err
		}
	}
	return nil
}

func runAuditExport(ctx context.Context, e env, args []string) error {
	fs := newFlags(e, "audit export", "")
	db := fs.String("db", "", "warehouse URL (postgres://...)")
	out := fs.String("out", "-", "JSON-lines file to write (- for standard output)")
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *db == "" {
		return cli.Usagef("want -db and no arguments")
	}
	w, err := warehouse.Open(ctx, *db, nil)
	if err != nil {
		return err
	}
	defer w.Close()
	dst := e.Stdout
	var f *os.File
	if *out != "-" {
		if f, err = os.OpenFile(*out, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err != nil {
			return err
		}
		defer f.Close()
		dst = f
	}
	bw := bufio.NewWriter(dst)
	n, err := w.Export(ctx, bw)
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if f != nil {
		if err := f.Sync(); err != nil {
			return err
		}
		fmt.Fprintf(e.Stderr, "%d records written to %s\n", n, *out)
	}
	return nil
}

func runAuditQuery(ctx context.Context, e env, args []string) error {
	fs := newFlags(e, "audit query", "")
	db := fs.String("db", "", "warehouse URL (postgres://...)")
	var f warehouse.Filter
	fs.StringVar(&f.Kiosk, "kiosk", "", "only this kiosk")
	fs.StringVar(&f.Site, "site", "", "only kiosks at this site (see audit collect -site)")
	fs.StringVar(&f.Outcome, "outcome", "", "only this outcome (accept, reject, ...)")
	fs.StringVar(&f.Reason, "reason", "", "only records with this reason (or reason name before ':')")
	since := fs.String("since", "", "from this time (RFC 3339 or 2006-01-02)")
	until := fs.String("until", "", "before this time (RFC 3339 or 2006-01-02)")
	fs.IntVar(&f.Limit, "limit", 1000, "at most this many records")
	asJSON := fs.Bool("json", false, "JSON lines instead of a table")
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 || *db == "" {
		return cli.Usagef("want -db and no arguments")
	}
	if f.Since, err = parseTime("since", *since); err != nil {
		return err
	}
	if f.Until, err = parseTime("until", *until); err != nil {
		return err
	}
	w, err := warehouse.Open(ctx, *db, nil)
	if err != nil {
		return err
	}
	defer w.Close()
	rows, err := w.Query(ctx, f)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(e.Stdout)
		for i := range rows {
			if err := enc.Encode(&rows[i]); err != nil {
				return err
			}
		}
		return nil
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tSITE\tKIOSK\tSEQ\tFLOW\tOUTCOME\tDISTANCE\tREASONS\tVERIFIED")
	for _, r := range rows {
		d := "-"
		if r.Distance != nil {
			d = fmt.Sprintf("%.3f", *r.Distance)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%v\n", r.Time.UTC().Format(time.RFC3339), r.Site, r.Kiosk, r.Seq, r.Flow, r.Outcome, d, strings.Join(r.Reasons, ","), r.Verified)
	}
	return tw.Flush()
}

func parseTime(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return time.Time{}, cli.Usagef("-%s %q: want RFC 3339 (2026-03-01T09:00:00Z) or a date (2026-03-01)", name, s)
	}
	return t, nil
}

// verifyDB re-verifies every chain in the warehouse and lists the problem rows.
func verifyDB(ctx context.Context, e env, dsn string, kk cli.Multi) error {
	keys, err := kioskKeys(kk)
	if err != nil {
		return err
	}
	w, err := warehouse.Open(ctx, dsn, nil)
	if err != nil {
		return err
	}
	defer w.Close()
	t := time.Now()
	rep, err := w.Verify(ctx, keys)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(rep.Chains.Kiosks))
	for k := range rep.Chains.Kiosks {
		ids = append(ids, k)
	}
	sort.Strings(ids)
	for _, k := range ids {
		ks := rep.Chains.Kiosks[k]
		fmt.Fprintf(e.Stdout, "%s: %d verified records, last %d, %d checkpoints, signed through %d", k, ks.Records, ks.Last, ks.Checkpoints, ks.Signed)
		if n := rep.Waiting[k]; n > 0 {
			fmt.Fprintf(e.Stdout, ", %d records wait for a missing one", n)
		}
		fmt.Fprintln(e.Stdout)
	}
	for _, p := range rep.Chains.Problems {
		fmt.Fprintln(e.Stdout, "chain:", p)
	}
	for _, p := range rep.Problems {
		fmt.Fprintln(e.Stdout, "collected:", p)
	}
	if n := len(rep.Chains.Problems) + len(rep.Problems); n > 0 {
		return &cli.ExitStatus{Code: 1, Msg: fmt.Sprintf("audit verify: %d problems in the warehouse", n)}
	}
	fmt.Fprintf(e.Stdout, "ok: chains and checkpoints verify (%v)\n", time.Since(t).Round(time.Millisecond))
	return nil
}
