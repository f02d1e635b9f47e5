package fleet

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/audit"
	"github.com/edgeid/edgeid/daemon/fleet/fleettest"
	"github.com/edgeid/edgeid/daemon/store"
	"github.com/edgeid/edgeid/internal/testenv"
)

var (
	killFleetSeed     = bytes.Repeat([]byte{1}, ed25519.SeedSize)
	killCollectorSeed = bytes.Repeat([]byte{2}, ed25519.SeedSize)
	killKioskSeed     = bytes.Repeat([]byte{3}, ed25519.SeedSize)
)

// kioskParts opens a kiosk's store, log, revocations and client from dir.
func kioskParts(t testing.TB, dir, broker string, tlsConf *tls.Config) (*store.DB, *audit.Log, *Client) {
	o := store.DefaultOpts()
	o.Dir = filepath.Join(dir, "store")
	o.EncryptionKey = make([]byte, 32)
	db, err := store.Open(&o)
	if err != nil {
		t.Fatal(err)
	}
	log, err := audit.New(db, &audit.Opts{Kiosk: "kiosk-1", SigningKey: ed25519.NewKeyFromSeed(killKioskSeed),
		DocKey: make([]byte, 32), CheckpointEvery: 50})
	if err != nil {
		t.Fatal(err)
	}
	ro := DefaultRevocationOpts()
	ro.Keys = NewKeyring(ed25519.NewKeyFromSeed(killFleetSeed).Public().(ed25519.PublicKey))
	revs, err := NewRevocations(context.Background(), db, &ro)
	if err != nil {
		t.Fatal(err)
	}
	cl, err := NewClient(&ClientOpts{Broker: broker, TLS: tlsConf, Fleet: fleetName, Kiosk: "kiosk-1",
		SessionDir: filepath.Join(dir, "session"), Revocations: revs, Audit: log, ResendAfter: 2 * time.Second,
		AckKeys: NewKeyring(ed25519.NewKeyFromSeed(killCollectorSeed).Public().(ed25519.PublicKey))})
	if err != nil {
		t.Fatal(err)
	}
	return db, log, cl
}

// TestKioskKilledLosesNothing: a kiosk (a child process running the store, the audit log and
// the MQTT client) is killed with SIGKILL during a burst of decisions while the collector
// runs; restarted, it delivers every record it acknowledged, in order, and the chain verifies.
func TestKioskKilledLosesNothing(t *testing.T) {
	if dir := os.Getenv("EDGEID_KIOSK_CHILD_DIR"); dir != "" {
		kioskChild(t, dir)
		return
	}
	b := fleettest.StartMosquitto(t, fleettest.Opts{Fleet: fleetName, Admins: []string{"collector"}})
	kioskPub := ed25519.NewKeyFromSeed(killKioskSeed).Public().(ed25519.PublicKey)
	col := startCollector(t, b, ed25519.NewKeyFromSeed(killCollectorSeed), map[string]ed25519.PublicKey{"kiosk-1": kioskPub})
	dir := t.TempDir()
	cert, key, ca := b.ClientFiles("kiosk-1")

	var acked uint64
	testenv.KillChild(t, testenv.Child{Stderr: os.Stderr, Env: []string{"EDGEID_KIOSK_CHILD_DIR=" + dir, "EDGEID_KIOSK_CHILD_BROKER=" + b.URL,
		"EDGEID_KIOSK_CHILD_TLS=" + strings.Join([]string{cert, key, ca}, ",")}}, func(line string) bool {
		if v, err := strconv.ParseUint(strings.TrimPrefix(line, "acked "), 10, 64); err == nil {
			acked = v
		}
		return acked >= 400
	})
	if acked < 400 {
		t.Fatalf("child stopped after %d records", acked)
	}
	t.Logf("killed after %d acknowledged appends; %d records at the collector so far", acked, col.n.Load())

	db, log, cl := kioskParts(t, dir, b.URL, b.ClientTLS("kiosk-1"))
	// A cleanup, not a defer: cleanups run after defers and in reverse order, so the worker
	// started below by run stops before the store closes under it.
	t.Cleanup(func() { db.Halt() })
	head, _ := log.Head()
	if head < acked {
		t.Fatalf("head after restart: %d, but %d were acknowledged", head, acked)
	}
	if _, err := log.VerifyLocal(context.Background()); err != nil {
		t.Fatalf("local chain after SIGKILL: %v", err)
	}
	run(t, cl.Run)
	waitFor(t, fmt.Sprintf("all %d records at the collector", head), 20*time.Second, func() bool { return col.n.Load() == int64(head) })
	waitFor(t, "an empty outbox", 10*time.Second, outboxEmpty(log))
	s := verifyFile(t, col.path, map[string]ed25519.PublicKey{"kiosk-1": kioskPub})
	if len(s.Problems) != 0 || s.Kiosks["kiosk-1"].Records != int(head) {
		t.Errorf("collected file: %d records, problems %v; want %d and none", s.Kiosks["kiosk-1"].Records, s.Problems, head)
	}
}

func kioskChild(t *testing.T, dir string) {
	parts := strings.Split(os.Getenv("EDGEID_KIOSK_CHILD_TLS"), ",")
	pair, err := tls.LoadX509KeyPair(parts[0], parts[1])
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	_, log, cl := kioskParts(t, dir, os.Getenv("EDGEID_KIOSK_CHILD_BROKER"),
		&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12})
	go func() { _ = cl.Run(context.Background()) }()
	w := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		r, err := log.Append(context.Background(), audit.Decision{Flow: "document", Outcome: "accept", DocState: "UTO", DocNumber: fmt.Sprint(i)})
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(3)
		}
		fmt.Fprintf(w, "acked %d\n", r.Seq)
		w.Flush()
		if i%50 == 0 {
			time.Sleep(5 * time.Millisecond) // let some records go out before the kill
		}
	}
}
