package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/edgeid/edgeid/daemon/audit"
	"github.com/edgeid/edgeid/daemon/fleet"
	"github.com/edgeid/edgeid/daemon/fleet/fleettest"
	"github.com/edgeid/edgeid/daemon/store"
	"github.com/edgeid/edgeid/daemon/warehouse/pgtest"
)

// TestMain lets a test start edgeidctl as a child process (a collector replica it can
// SIGKILL): the test binary runs edgeidctl with the arguments in EDGEIDCTL_TEST_ARGS.
func TestMain(m *testing.M) {
	if spec := os.Getenv("EDGEIDCTL_TEST_NATS"); spec != "" {
		os.Exit(runNATSNode(spec))
	}
	if a := os.Getenv("EDGEIDCTL_TEST_ARGS"); a != "" {
		var args []string
		if err := json.Unmarshal([]byte(a), &args); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		code := run(ctx, args, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// kioskState is a test kiosk's store (tuned by tune, when given), revocation list and audit log.
func kioskState(t *testing.T, ctx context.Context, id string, key ed25519.PrivateKey, fleetPub ed25519.PublicKey, tune func(*store.Opts)) (*fleet.Revocations, *audit.Log) {
	t.Helper()
	o := store.DefaultOpts()
	o.Dir, o.EncryptionKey = t.TempDir(), make([]byte, 32)
	if tune != nil {
		tune(&o)
	}
	db, err := store.Open(&o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Halt() })
	ro := fleet.DefaultRevocationOpts()
	ro.Keys = fleet.NewKeyring(fleetPub)
	revs, err := fleet.NewRevocations(ctx, db, &ro)
	if err != nil {
		t.Fatal(err)
	}
	log, err := audit.New(db, &audit.Opts{Kiosk: id, SigningKey: key, DocKey: make([]byte, 32), CheckpointEvery: 10})
	if err != nil {
		t.Fatal(err)
	}
	return revs, log
}

// replica starts `edgeidctl args...` as a child process.
func replica(t *testing.T, name string, args []string) *exec.Cmd {
	t.Helper()
	a, _ := json.Marshal(args)
	c := exec.Command(os.Args[0], "-test.run=^$")
	c.Env = append(os.Environ(), "EDGEIDCTL_TEST_ARGS="+string(a))
	logf, err := os.Create(filepath.Join(t.TempDir(), name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	c.Stdout, c.Stderr = logf, logf
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = c.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = c.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = c.Process.Kill()
			<-done
		}
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("%s log:\n%s", name, b)
		}
	})
	return c
}

type testKiosk struct {
	id  string
	log *audit.Log
	pub ed25519.PublicKey
}

// TestWarehouseFailover runs two collector replicas as processes, sharing the kiosks'
// audit topics with a mosquitto shared subscription and one PostgreSQL warehouse, while
// five kiosks record decisions; one replica is killed with SIGKILL mid-stream. Every record
// must end in the warehouse exactly once, every chain verified to its end, and every
// kiosk's outbox empty (acked by the surviving replica).
func TestWarehouseFailover(t *testing.T) {
	pg := pgtest.Start(t)
	dsn := pg.NewDB(t)
	b := fleettest.StartMosquitto(t, fleettest.Opts{Fleet: "f1", Admins: []string{"collector-a", "collector-b"}})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	ck := filepath.Join(dir, "collector")
	ctl(t, ctx, 0, "keygen", ck)
	colPub, _ := fleet.LoadPublicKey(ck + ".pub")
	fk := filepath.Join(dir, "fleet")
	ctl(t, ctx, 0, "keygen", fk)
	fleetPub, _ := fleet.LoadPublicKey(fk + ".pub")

	const nk, perKiosk = 5, 120
	var kiosks []testKiosk
	var kioskKeyArgs []string
	for i := 0; i < nk; i++ {
		id := fmt.Sprintf("kiosk-%d", i)
		kf := filepath.Join(dir, id)
		ctl(t, ctx, 0, "keygen", kf)
		key, err := fleet.LoadPrivateKey(kf + ".key")
		if err != nil {
			t.Fatal(err)
		}
		kioskKeyArgs = append(kioskKeyArgs, "-kiosk-key", id+"="+kf+".pub")
		revs, log := kioskState(t, ctx, id, key, fleetPub, nil)
		cl, err := fleet.NewClient(&fleet.ClientOpts{Broker: b.URL, TLS: b.ClientTLS(id), Fleet: "f1", Kiosk: id,
			SessionDir: t.TempDir(), Revocations: revs, Audit: log, AckKeys: fleet.NewKeyring(colPub), ResendAfter: 2 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		kctx, kcancel := context.WithCancel(ctx)
		kdone := make(chan error, 1)
		go func() { kdone <- cl.Run(kctx) }()
		t.Cleanup(func() { kcancel(); <-kdone })
		kiosks = append(kiosks, testKiosk{id: id, log: log, pub: key.Public().(ed25519.PublicKey)})
	}

	start := func(name string) *exec.Cmd {
		cert, key, ca := b.ClientFiles(name)
		args := append([]string{"audit", "collect", "-db", dsn, "-share", "g", "-key", ck + ".key",
			"-broker", b.URL, "-fleet", "f1", "-ca", ca, "-cert", cert, "-cert-key", key, "-client-id", name,
			"-site", "kiosk-0=lobby"}, kioskKeyArgs...)
		return replica(t, name, args)
	}
	a := start("collector-a")
	start("collector-b")
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	heads := func() (total int) {
		_ = conn.QueryRow(ctx, `SELECT coalesce(sum(head_seq), 0) FROM kiosks`).Scan(&total)
		return total
	}

	var wg sync.WaitGroup
	appended := make(chan int, nk*perKiosk)
	for _, k := range kiosks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < perKiosk; j++ {
				d := audit.Decision{Flow: "document", Outcome: "accept", Scores: map[string]float64{"face_distance": 0.3}}
				if j%4 == 3 {
					d.Outcome, d.Reasons = "reject", []string{"revoked"}
				}
				if _, err := k.log.Append(ctx, d); err != nil {
					t.Error(err)
					return
				}
				appended <- 1
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	// Kill replica a once the warehouse holds some records, mid-stream.
	for heads() < nk*perKiosk/4 {
		if ctx.Err() != nil {
			t.Fatal("no records reached the warehouse")
		}
		time.Sleep(20 * time.Millisecond)
	}
	killed := time.Now()
	before := heads()
	if err := a.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	for heads() == before && ctx.Err() == nil {
		time.Sleep(5 * time.Millisecond)
	}
	t.Logf("first head advance after the SIGKILL: %v", time.Since(killed).Round(time.Millisecond))
	wg.Wait()
	for _, k := range kiosks {
		for {
			if n, _ := k.log.OutboxLen(ctx); n == 0 {
				break
			}
			if ctx.Err() != nil {
				t.Fatalf("%s: outbox never emptied; warehouse heads total %d of %d", k.id, heads(), nk*perKiosk)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	t.Logf("all %d records acked %v after the SIGKILL", nk*perKiosk, time.Since(killed).Round(time.Millisecond))
	var rows, distinct, verified int
	if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT (kiosk, seq)), count(*) FILTER (WHERE chain IS NOT NULL) FROM records`).Scan(&rows, &distinct, &verified); err != nil {
		t.Fatal(err)
	}
	if rows != nk*perKiosk || distinct != rows || verified != rows {
		t.Fatalf("warehouse: %d rows, %d distinct (kiosk, seq), %d verified; want %d each", rows, distinct, verified, nk*perKiosk)
	}
	got := ctl(t, ctx, 0, append([]string{"audit", "verify", "-db", dsn}, kioskKeyArgs...)...)
	if !strings.Contains(got, fmt.Sprintf("kiosk-3: %d verified records, last %d, 12 checkpoints, signed through 120", perKiosk, perKiosk)) {
		t.Errorf("verify -db: %s", got)
	}
	got = ctl(t, ctx, 0, "audit", "query", "-db", dsn, "-site", "lobby", "-outcome", "reject", "-json")
	if n := strings.Count(got, "\n"); n != perKiosk/4 {
		t.Errorf("query -site lobby -outcome reject: %d lines, want %d:\n%s", n, perKiosk/4, got)
	}
	exp := filepath.Join(dir, "export.jsonl")
	ctl(t, ctx, 0, "audit", "export", "-db", dsn, "-out", exp)
	got = ctl(t, ctx, 0, append([]string{"audit", "verify", exp}, kioskKeyArgs...)...)
	if !strings.Contains(got, "ok: chains and checkpoints verify") {
		t.Errorf("verify of the export: %s", got)
	}
}
