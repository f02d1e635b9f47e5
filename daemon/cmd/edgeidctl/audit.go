package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"time"

	"github.com/edgeid/edgeid/daemon/audit"
	"github.com/edgeid/edgeid/daemon/cmd/internal/cli"
	"github.com/edgeid/edgeid/daemon/fleet"
	"github.com/edgeid/edgeid/daemon/warehouse"
)

func runAuditCollect(ctx context.Context, e env, args []string) error {
	fs := newFlags(e, "audit collect", "")
	out := fs.String("out", "audit.jsonl", "JSON-lines file to append records to (read at start to resume)")
	keyFile := fs.String("key", "", "collector signing key for acks (PEM); kiosks trust its public key")
	session := fs.String("session", "", "directory for paho's file store (default: in memory; the broker keeps the persistent session)")
	dur := fs.Duration("for", 0, "stop after this long (0: until interrupted)")
	var kk cli.Multi
	fs.Var(&kk, "kiosk-key", "KIOSK_ID=PUBLIC_KEY_FILE to check that kiosk's checkpoints (repeatable)")
	var only cli.Multi
	fs.Var(&only, "kiosk", "collect only this kiosk's records (repeatable; default: every kiosk). Several collectors split a fleet\nthis way, each with its own -client-id, -session and -out, and no kiosk in two of them")
	db := fs.String("db", "", "store records in this PostgreSQL warehouse (postgres://...) instead of -out; any number of\ncollectors may share one database")
	share := fs.String("share", "", "with -db: subscribe as a member of this MQTT shared subscription group ($share/GROUP/...)")
	var sites cli.Multi
	fs.Var(&sites, "site", "with -db: KIOSK=SITE, the site a kiosk stands at, for queries (repeatable)")
	cf := addConnFlags(fs, "collector")
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("unexpected arguments %q", pos)
	}
	if *keyFile == "" {
		return cli.Usagef("-key is required")
	}
	if *db == "" && (*share != "" || len(sites) > 0) {
		return cli.Usagef("-share and -site need -db")
	}
	conn, err := cf.conn()
	if err != nil {
		return err
	}
	key, err := fleet.LoadPrivateKey(*keyFile)
	if err != nil {
		return err
	}
	keys, err := kioskKeys(kk)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(e.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	co := &fleet.CollectorOpts{Broker: conn.Broker, TLS: conn.TLS, Fleet: *cf.fleet,
		ClientID: conn.ClientID, SessionDir: *session, Key: key, KioskKeys: keys, Kiosks: only, Logger: logger, Share: *share,
		// A shared-subscription member with a persistent session keeps being dealt records
		// while it is dead (mosquitto queues them for it): replicas start clean, so a killed
		// one leaves the group at once and the kiosks' re-sends reach the live ones.
		CleanSession: *share != ""}
	f, done, err := collectorSink(ctx, co, *db, *out, sites)
	if err != nil {
		return err
	}
	defer done()
	c, err := fleet.NewCollector(co)
	if err != nil {
		return err
	}
	if *dur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *dur)
		defer cancel()
	}
	if err := c.Run(ctx); err != nil {
		return err
	}
	printPositions(e, c)
	if n := c.Problems(); n > 0 {
		return &cli.ExitStatus{Code: 1, Msg: fmt.Sprintf("%d chain problems seen while collecting (logged above); run audit verify", n)}
	}
	if f == nil {
		return nil
	}
	return f.Sync()
}

// collectorSink points co at the warehouse (db set) or appends to the JSON-lines file out,
// resuming from what it holds; f is that file (nil with db), done releases what was opened.
func collectorSink(ctx context.Context, co *fleet.CollectorOpts, db, out string, sites cli.Multi) (f *os.File, done func(), err error) {
	if db != "" {
		w, err := warehouse.Open(ctx, db, &warehouse.Opts{KioskKeys: co.KioskKeys})
		if err != nil {
			return nil, nil, err
		}
		if err := setSites(ctx, w, sites); err != nil {
			w.Close()
			return nil, nil, err
		}
		co.Sink = sink{w}
		return nil, func() { w.Close() }, nil
	}
	start, err := fleet.ResumePositions(out)
	if err != nil {
		return nil, nil, fmt.Errorf("resume: %w", err)
	}
	f, err = os.OpenFile(out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, nil, err
	}
	co.Out, co.Sync, co.Start = f, f.Sync, start
	return f, func() { f.Close() }, nil
}

// printPositions reports, kiosk by kiosk, the last record collected.
func printPositions(e env, c *fleet.Collector) {
	pos := c.Positions()
	ids := make([]string, 0, len(pos))
	for k := range pos {
		ids = append(ids, k)
	}
	sort.Strings(ids)
	for _, k := range ids {
		fmt.Fprintf(e.Stdout, "%s: collected through %d\n", k, pos[k].Seq)
	}
}

func runAuditVerify(ctx context.Context, e env, args []string) error {
	fs := newFlags(e, "audit verify", "FILE.jsonl | -db URL")
	var kk cli.Multi
	fs.Var(&kk, "kiosk-key", "KIOSK_ID=PUBLIC_KEY_FILE (repeatable); checkpoints of kiosks without a key are reported")
	db := fs.String("db", "", "verify every chain in this PostgreSQL warehouse (postgres://...) instead of a file")
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *db != "" {
		if len(pos) != 0 {
			return cli.Usagef("want a file or -db, not both")
		}
		return verifyDB(ctx, e, *db, kk)
	}
	if len(pos) != 1 {
		return cli.Usagef("want one file")
	}
	keys, err := kioskKeys(kk)
	if err != nil {
		return err
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	t := time.Now()
	s, err := audit.VerifyJSONLines(f, keys)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(s.Kiosks))
	for k := range s.Kiosks {
		ids = append(ids, k)
	}
	sort.Strings(ids)
	for _, k := range ids {
		ks := s.Kiosks[k]
		fmt.Fprintf(e.Stdout, "%s: %d records, last %d, %d checkpoints, signed through %d", k, ks.Records, ks.Last, ks.Checkpoints, ks.Signed)
		if ks.Signed < ks.Last {
			fmt.Fprintf(e.Stdout, " (%d records after the last checkpoint are covered by the chain only)", ks.Last-ks.Signed)
		}
		fmt.Fprintln(e.Stdout)
	}
	for _, p := range s.Problems {
		fmt.Fprintln(e.Stdout, p)
	}
	if len(s.Problems) > 0 {
		return &cli.ExitStatus{Code: 1, Msg: fmt.Sprintf("audit verify: %d problems in %s", len(s.Problems), pos[0])}
	}
	fmt.Fprintf(e.Stdout, "ok: chains and checkpoints verify (%v)\n", time.Since(t).Round(time.Millisecond))
	return nil
}
