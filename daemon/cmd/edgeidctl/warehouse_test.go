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

// kioskState is a test kiosk's revocation list and audit log, in a store of its own.
func kioskState(t *testing.T, ctx context.Context, id string, key ed25519.PrivateKey, fleetPub ed25519.PublicKey, tune func(*store.Opts)) (*fleet.Revocations, *audit.Log) {
	t.Helper()
	_, revs, log := kioskStore(t, ctx, id, key, fleetPub, tune)
	return revs, log
}

// kioskStore is kioskState with the store (tuned by tune, when given) itself.
func kioskStore(t *testing.T, ctx context.Context, id string, key ed25519.PrivateKey, fleetPub ed25519.PublicKey, tune func(*store.Opts)) (*store.DB, *fleet.Revocations, *audit.Log) {
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
	return db, revs, log
}

// runClient starts a kiosk's fleet client until the test ends.
func runClient(t *testing.T, ctx context.Context, o *fleet.ClientOpts) {
	t.Helper()
	cl, err := fleet.NewClient(o)
	if err != nil {
		t.Fatal(err)
	}
	kctx, kcancel := context.WithCancel(ctx)
	kdone := make(chan error, 1)
	go func() { kdone <- cl.Run(kctx) }()
	t.Cleanup(func() { kcancel(); <-kdone })
}

// waitFor polls cond until it holds, or fails the test when ctx ends.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		if ctx.Err() != nil {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
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

// failoverKiosks starts n kiosks on the broker, each with its own key file in dir; it returns
// them and the -kiosk-key arguments that name their public keys.
func failoverKiosks(t *testing.T, ctx context.Context, b *fleettest.Broker, dir string, n int, colPub, fleetPub ed25519.PublicKey) ([]testKiosk, []string) {
	var kiosks []testKiosk
	var keyArgs []string
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("kiosk-%d", i)
		kf := filepath.Join(dir, id)
		ctl(t, ctx, 0, "keygen", kf)
		key, err := fleet.LoadPrivateKey(kf + ".key")
		if err != nil {
			t.Fatal(err)
		}
		keyArgs = append(keyArgs, "-kiosk-key", id+"="+kf+".pub")
		revs, log := kioskState(t, ctx, id, key, fleetPub, nil)
		runClient(t, ctx, &fleet.ClientOpts{Broker: b.URL, TLS: b.ClientTLS(id), Fleet: "f1", Kiosk: id,
			SessionDir: t.TempDir(), Revocations: revs, Audit: log, AckKeys: fleet.NewKeyring(colPub), ResendAfter: 2 * time.Second})
		kiosks = append(kiosks, testKiosk{id: id, log: log, pub: key.Public().(ed25519.PublicKey)})
	}
	return kiosks, keyArgs
}

// record appends perKiosk decisions on every kiosk at once, 10 ms apart, every fourth a
// rejection; the returned WaitGroup is done when all are appended.
func record(t *testing.T, ctx context.Context, kiosks []testKiosk, perKiosk int) *sync.WaitGroup {
	var wg sync.WaitGroup
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
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	return &wg
}

// checkWarehouseTools checks the warehouse after the failover: every record once and verified,
// and what verify -db, query and export make of it.
func checkWarehouseTools(t *testing.T, ctx context.Context, conn *pgx.Conn, dsn, dir string, nk, perKiosk int, keyArgs []string) {
	var rows, distinct, verified int
	if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT (kiosk, seq)), count(*) FILTER (WHERE chain IS NOT NULL) FROM records`).Scan(&rows, &distinct, &verified); err != nil {
		t.Fatal(err)
	}
	if rows != nk*perKiosk || distinct != rows || verified != rows {
		t.Fatalf("warehouse: %d rows, %d distinct (kiosk, seq), %d verified; want %d each", rows, distinct, verified, nk*perKiosk)
	}
	got := ctl(t, ctx, 0, append([]string{"audit", "verify", "-db", dsn}, keyArgs...)...)
	if !strings.Contains(got, fmt.Sprintf("kiosk-3: %d verified records, last %d, 12 checkpoints, signed through 120", perKiosk, perKiosk)) {
		t.Errorf("verify -db: %s", got)
	}
	got = ctl(t, ctx, 0, "audit", "query", "-db", dsn, "-site", "lobby", "-outcome", "reject", "-json")
	if n := strings.Count(got, "\n"); n != perKiosk/4 {
		t.Errorf("query -site lobby -outcome reject: %d lines, want %d:\n%s", n, perKiosk/4, got)
	}
	exp := filepath.Join(dir, "export.jsonl")
	ctl(t, ctx, 0, "audit", "export", "-db", dsn, "-out", exp)
	got = ctl(t, ctx, 0, append([]string{"audit", "verify", exp}, keyArgs...)...)
	if !strings.Contains(got, "ok: chains and checkpoints verify") {
		t.Errorf("verify of the export: %s", got)
	}
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
	ck, fk := filepath.Join(dir, "collector"), filepath.Join(dir, "fleet")
	ctl(t, ctx, 0, "keygen", ck)
	ctl(t, ctx, 0, "keygen", fk)
	colPub, _ := fleet.LoadPublicKey(ck + ".pub")
	fleetPub, _ := fleet.LoadPublicKey(fk + ".pub")
	const nk, perKiosk = 5, 120
	kiosks, keyArgs := failoverKiosks(t, ctx, b, dir, nk, colPub, fleetPub)

	start := func(name string) *exec.Cmd {
		cert, key, ca := b.ClientFiles(name)
		args := append([]string{"audit", "collect", "-db", dsn, "-share", "g", "-key", ck + ".key",
			"-broker", b.URL, "-fleet", "f1", "-ca", ca, "-cert", cert, "-cert-key", key, "-client-id", name,
			"-site", "kiosk-0=lobby"}, keyArgs...)
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

	wg := record(t, ctx, kiosks, perKiosk)
	// Kill replica a once the warehouse holds some records, mid-stream.
	waitFor(t, ctx, "records in the warehouse", func() bool { return heads() >= nk*perKiosk/4 })
	killed, before := time.Now(), heads()
	if err := a.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, "a head advance after the SIGKILL", func() bool { return heads() != before })
	t.Logf("first head advance after the SIGKILL: %v", time.Since(killed).Round(time.Millisecond))
	wg.Wait()
	for _, k := range kiosks {
		waitFor(t, ctx, k.id+"'s outbox to empty", func() bool { n, _ := k.log.OutboxLen(ctx); return n == 0 })
	}
	t.Logf("all %d records acked %v after the SIGKILL", nk*perKiosk, time.Since(killed).Round(time.Millisecond))
	checkWarehouseTools(t, ctx, conn, dsn, dir, nk, perKiosk, keyArgs)
}
