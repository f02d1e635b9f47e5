package fleet

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgeid/edgeid/daemon/audit"
	"github.com/edgeid/edgeid/daemon/fleet/fleettest"
	"github.com/edgeid/edgeid/daemon/store"
)

const fleetName = "f1"

// kiosk is one kiosk's state for broker tests.
type kiosk struct {
	id      string
	db      *store.DB
	log     *audit.Log
	revs    *Revocations
	metrics *Metrics
	client  *Client
	sign    ed25519.PrivateKey
}

func newKiosk(t *testing.T, b *fleettest.Broker, id string, fleetKey, collectorKey ed25519.PrivateKey) *kiosk {
	t.Helper()
	k := &kiosk{id: id, db: openStore(t, t.TempDir()), sign: newKey(t), metrics: NewMetrics(nil)}
	t.Cleanup(func() { k.db.Halt() })
	var err error
	k.log, err = audit.New(k.db, &audit.Opts{Kiosk: id, SigningKey: k.sign, DocKey: bytes.Repeat([]byte{3}, 32), CheckpointEvery: 50})
	if err != nil {
		t.Fatal(err)
	}
	ro := DefaultRevocationOpts()
	ro.Keys = NewKeyring(fleetKey.Public().(ed25519.PublicKey))
	ro.Metrics = k.metrics
	k.revs, err = NewRevocations(context.Background(), k.db, &ro)
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kiosk %s log:\n%s", id, logs.String())
		}
	})
	k.client, err = NewClient(&ClientOpts{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), Broker: b.URL, TLS: b.ClientTLS(id), Fleet: fleetName, Kiosk: id,
		SessionDir: t.TempDir(), Revocations: k.revs, Audit: k.log, Metrics: k.metrics,
		AckKeys: NewKeyring(collectorKey.Public().(ed25519.PublicKey)), ResendAfter: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// start runs fn in a goroutine; stop cancels it and waits for it (once), failing the test if
// it returned an error.
func start(t *testing.T, fn func(ctx context.Context) error) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("worker: %v", err)
			}
		})
	}
}

// run starts fn for the rest of the test: it is stopped at cleanup.
func run(t *testing.T, fn func(ctx context.Context) error) { t.Cleanup(start(t, fn)) }

// outboxEmpty reports, for waitFor, whether l's outbox is empty.
func outboxEmpty(l *audit.Log) func() bool {
	return func() bool {
		n, err := l.OutboxLen(context.Background())
		return err == nil && n == 0
	}
}

// verifyFile runs audit verify on a collector's output file.
func verifyFile(t *testing.T, path string, keys map[string]ed25519.PublicKey) *audit.Summary {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := audit.VerifyJSONLines(f, keys)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type collected struct {
	path string
	f    *os.File
	n    atomic.Int64
	c    *Collector
	stop func() // stops the collector before cleanup does
}

func startCollector(t *testing.T, b *fleettest.Broker, key ed25519.PrivateKey, kioskKeys map[string]ed25519.PublicKey) *collected {
	t.Helper()
	return startCollectorOpts(t, b, CollectorOpts{ClientID: "collector", Key: key, KioskKeys: kioskKeys})
}

// startCollectorOpts starts a collector with o's identity, keys and kiosks, writing to a new
// file; it is stopped at cleanup.
func startCollectorOpts(t *testing.T, b *fleettest.Broker, o CollectorOpts) *collected {
	t.Helper()
	out := &collected{path: filepath.Join(t.TempDir(), "audit.jsonl")}
	var err error
	out.f, err = os.OpenFile(out.path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { out.f.Close() })
	o.Broker, o.TLS, o.Fleet, o.Out, o.Sync = b.URL, b.ClientTLS(o.ClientID), fleetName, out.f, out.f.Sync
	if o.SessionDir == "" {
		o.SessionDir = t.TempDir()
	}
	o.AckInterval = 50 * time.Millisecond
	o.OnRecord = func(*audit.Record) { out.n.Add(1) }
	out.c, err = NewCollector(&o)
	if err != nil {
		t.Fatal(err)
	}
	out.stop = start(t, out.c.Run)
	t.Cleanup(out.stop)
	select {
	case <-out.c.Ready():
	case <-time.After(20 * time.Second):
		t.Fatal("collector not subscribed after 20 s")
	}
	return out
}

func appendN(t *testing.T, l *audit.Log, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		_, err := l.Append(context.Background(), audit.Decision{Flow: "document", Outcome: "accept",
			Reasons: []string{"ok"}, DocState: "UTO", DocNumber: fmt.Sprintf("Z%08d", i)})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// TestBrokerOutageLosesNothing: the broker is stopped while 1,000 decisions are recorded and
// then restarted; the collector ends up with every record, in order, once, and the chain and
// checkpoints verify.
func TestBrokerOutageLosesNothing(t *testing.T) {
	b := fleettest.StartMosquitto(t, fleettest.Opts{Fleet: fleetName, Admins: []string{"collector", "publisher"}})
	fleetKey, collKey := newKey(t), newKey(t)
	k := newKiosk(t, b, "kiosk-1", fleetKey, collKey)
	pubs := map[string]ed25519.PublicKey{k.id: k.sign.Public().(ed25519.PublicKey)}
	col := startCollector(t, b, collKey, pubs)
	run(t, k.client.Run)

	appendN(t, k.log, 10)
	waitFor(t, "the first 10 records at the collector", 20*time.Second, func() bool { return col.n.Load() == 10 })
	b.Stop()
	start := time.Now()
	appendN(t, k.log, 1000)
	t.Logf("1000 decisions recorded with the broker down in %v", time.Since(start))
	b.Start()
	waitFor(t, "1010 records at the collector", 30*time.Second, func() bool { return col.n.Load() == 1010 })
	waitFor(t, "an empty outbox", 10*time.Second, outboxEmpty(k.log))

	f, err := os.Open(col.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var seqs []uint64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r audit.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		seqs = append(seqs, r.Seq)
	}
	if len(seqs) != 1010 {
		t.Fatalf("records in the collector's file: got %d, want 1010", len(seqs))
	}
	for i, s := range seqs {
		if s != uint64(i+1) {
			t.Fatalf("record %d in the file has seq %d: out of order or duplicated", i+1, s)
		}
	}
	f.Seek(0, 0)
	sum, err := audit.VerifyJSONLines(f, pubs)
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Problems) != 0 || sum.Kiosks[k.id].Signed != 1000 {
		t.Errorf("verify: got problems %v, last signed checkpoint %d; want none and 1000", sum.Problems, sum.Kiosks[k.id].Signed)
	}
	if col.c.Problems() != 0 {
		t.Errorf("collector chain problems: got %d, want 0", col.c.Problems())
	}
}

// TestRevocationsOverBroker: a retained snapshot and a delta reach the kiosk; a forged one is
// refused and counted; a kiosk cannot publish fleet messages or another kiosk's audit records
// (ACL); a gap makes the kiosk fetch the retained snapshot again.
func TestRevocationsOverBroker(t *testing.T) {
	b := fleettest.StartMosquitto(t, fleettest.Opts{Fleet: fleetName, Admins: []string{"collector", "publisher"}})
	fleetKey, collKey := newKey(t), newKey(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	pub, err := Dial(ctx, Conn{Broker: b.URL, TLS: b.ClientTLS("publisher"), ClientID: "publisher"})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Disconnect(100)
	top := NewTopics(fleetName)
	a, c := DocumentEntry("UTO", "A0001"), DocumentEntry("UTO", "C0003")
	if err := Publish(ctx, pub, top.RevSnapshot(), snapshot(fleetKey, 1, []Entry{a}), true); err != nil {
		t.Fatal(err)
	}
	k := newKiosk(t, b, "kiosk-1", fleetKey, collKey)
	col := startCollector(t, b, collKey, nil)
	run(t, k.client.Run)
	now := t0.Add(time.Hour)
	waitFor(t, "the retained snapshot", 10*time.Second, func() bool { return errors.Is(k.revs.Check(a, now), ErrRevoked) })
	if err := Publish(ctx, pub, top.RevDelta(), delta(fleetKey, 1, 2, []Entry{c}, nil), false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the delta", 10*time.Second, func() bool { return errors.Is(k.revs.Check(c, now), ErrRevoked) })

	forged := delta(newKey(t), 2, 3, nil, []Entry{a})
	if err := Publish(ctx, pub, top.RevDelta(), forged, false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the forged delta to be refused", 10*time.Second, func() bool {
		return testutil.ToFloat64(k.metrics.Refused.WithLabelValues("revocations", "unknown-key")) == 1
	})
	// A gap: the kiosk re-subscribes and gets the retained snapshot (v1) again, which it
	// refuses as older than its v2.
	if err := Publish(ctx, pub, top.RevDelta(), delta(fleetKey, 7, 8, []Entry{DocumentEntry("UTO", "G")}, nil), false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the gap and the re-fetched snapshot", 10*time.Second, func() bool {
		return testutil.ToFloat64(k.metrics.Refused.WithLabelValues("revocations", "gap")) == 1 &&
			testutil.ToFloat64(k.metrics.Refused.WithLabelValues("revocations", "rollback")) == 1
	})
	if v, _ := k.revs.Version(); v != 2 {
		t.Errorf("version: got %d, want 2", v)
	}

	// ACLs: kiosk-2 tries to overwrite the retained snapshot and to write kiosk-1's audit topic.
	evil, err := Dial(ctx, Conn{Broker: b.URL, TLS: b.ClientTLS("kiosk-2"), ClientID: "kiosk-2"})
	if err != nil {
		t.Fatal(err)
	}
	defer evil.Disconnect(100)
	_ = Publish(ctx, evil, top.RevSnapshot(), []byte("junk"), true)
	_ = Publish(ctx, evil, top.Audit("kiosk-1"), []byte(`{"seq":1}`), false)
	probe, err := Dial(ctx, Conn{Broker: b.URL, TLS: b.ClientTLS("publisher"), ClientID: "publisher-probe"})
	if err != nil {
		t.Fatal(err)
	}
	defer probe.Disconnect(100)
	got := make(chan []byte, 1)
	probe.Subscribe(top.RevSnapshot(), 1, func(_ mqtt.Client, m mqtt.Message) {
		select {
		case got <- m.Payload():
		default:
		}
	})
	select {
	case p := <-got:
		if !bytes.Equal(p, snapshot(fleetKey, 1, []Entry{a})) {
			t.Errorf("retained snapshot after kiosk-2's publish: got %q..., want the fleet's", p[:min(len(p), 16)])
		}
	case <-time.After(5 * time.Second):
		t.Error("no retained snapshot")
	}
	time.Sleep(300 * time.Millisecond)
	if n := col.n.Load(); n != 0 {
		t.Errorf("collector records after kiosk-2 wrote kiosk-1's topic: got %d, want 0", n)
	}
}

// TestRestartTakesNewerSnapshot: a kiosk restarts with a list that is still fresh (v1) on a
// broker that holds no session of it (a new broker: the deltas it missed are gone) and whose
// retained snapshot is v2. It must take v2 at start, not wait for the next delta or for v1 to
// expire: the simulation once let a revoked document in after a restart this way.
func TestRestartTakesNewerSnapshot(t *testing.T) {
	b := fleettest.StartMosquitto(t, fleettest.Opts{Fleet: fleetName, Admins: []string{"publisher"}})
	fleetKey, collKey := newKey(t), newKey(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	now := time.Now()
	fresh := func(v uint64, add []Entry) []byte {
		l := RevocationList{Version: v, Issued: now, Expires: now.Add(24 * time.Hour), Add: add}
		return Seal(KindRevocations, l.Marshal(), fleetKey)
	}
	k := newKiosk(t, b, "kiosk-1", fleetKey, collKey)
	a, c := DocumentEntry("UTO", "A0001"), DocumentEntry("UTO", "C0003")
	if err := k.revs.Apply(ctx, fresh(1, []Entry{a})); err != nil {
		t.Fatal(err)
	}
	pub, err := Dial(ctx, Conn{Broker: b.URL, TLS: b.ClientTLS("publisher"), ClientID: "publisher"})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Disconnect(100)
	if err := Publish(ctx, pub, NewTopics(fleetName).RevSnapshot(), fresh(2, []Entry{a, c}), true); err != nil {
		t.Fatal(err)
	}
	run(t, k.client.Run)
	waitFor(t, "the newer retained snapshot", 10*time.Second, func() bool { return errors.Is(k.revs.Check(c, now), ErrRevoked) })
}

// TestCollectorsSplitFleet: two collectors, each given one of two kiosks, collect and ack
// their own kiosk's records and nothing else, even when one's persistent session was
// subscribed to every kiosk by an earlier run and the other's file holds the other kiosk's
// records from before a move.
func TestCollectorsSplitFleet(t *testing.T) {
	b := fleettest.StartMosquitto(t, fleettest.Opts{Fleet: fleetName, Admins: []string{"collector-a", "collector-b"}})
	fleetKey, collKey := newKey(t), newKey(t)
	k1 := newKiosk(t, b, "kiosk-1", fleetKey, collKey)
	k2 := newKiosk(t, b, "kiosk-2", fleetKey, collKey)
	keys := map[string]ed25519.PublicKey{k1.id: k1.sign.Public().(ed25519.PublicKey), k2.id: k2.sign.Public().(ed25519.PublicKey)}

	// collector-b once collected the whole fleet: its session on the broker keeps audit/+.
	sessB := t.TempDir()
	startCollectorOpts(t, b, CollectorOpts{ClientID: "collector-b", Key: collKey, SessionDir: sessB}).stop()

	run(t, k1.client.Run)
	run(t, k2.client.Run)
	appendN(t, k1.log, 30)
	appendN(t, k2.log, 20)
	waitFor(t, "both kiosks to publish", 20*time.Second, func() bool {
		return testutil.ToFloat64(k1.metrics.Sent) >= 30 && testutil.ToFloat64(k2.metrics.Sent) >= 20
	})

	// collector-a's file also holds kiosk-2's first 10 records, from before kiosk-2 moved to
	// collector-b: collector-a must not ack them, or kiosk-2 would drop records collector-b
	// never got (kiosk-2 would take such an ack: its record and hash are kiosk-2's own).
	q, err := k2.log.Since(context.Background(), 9, 1)
	if err != nil || len(q) != 1 {
		t.Fatalf("kiosk-2's record 10: %v %v", q, err)
	}
	r10, err := audit.ParseRecord(q[0].Data)
	if err != nil {
		t.Fatal(err)
	}
	colA := startCollectorOpts(t, b, CollectorOpts{ClientID: "collector-a", Key: collKey, KioskKeys: keys, Kiosks: []string{k1.id},
		Start: map[string]Position{k2.id: {Seq: 10, Hash: r10.Hash}}})
	waitFor(t, "kiosk-1's records at collector-a", 20*time.Second, func() bool { return colA.n.Load() == 30 })
	time.Sleep(300 * time.Millisecond) // several of collector-a's ack rounds
	if n, err := k2.log.OutboxLen(context.Background()); err != nil || n != 20 {
		t.Errorf("kiosk-2's outbox with only collector-a up: %d records (%v), want 20", n, err)
	}
	colB := startCollectorOpts(t, b, CollectorOpts{ClientID: "collector-b", Key: collKey, KioskKeys: keys, Kiosks: []string{k2.id}, SessionDir: sessB})
	for _, k := range []*kiosk{k1, k2} {
		waitFor(t, k.id+"'s outbox to empty", 30*time.Second, outboxEmpty(k.log))
	}
	time.Sleep(300 * time.Millisecond) // room for a stray record to arrive
	for _, tc := range []struct {
		c    *collected
		want string
		n    int
	}{{colA, k1.id, 30}, {colB, k2.id, 20}} {
		raw, err := os.ReadFile(tc.c.path)
		if err != nil {
			t.Fatal(err)
		}
		lines := bytes.Split(bytes.TrimSpace(raw), []byte("\n"))
		if len(lines) != tc.n {
			t.Errorf("collector of %s wrote %d records, want %d", tc.want, len(lines), tc.n)
		}
		for i, l := range lines {
			var r audit.Record
			if err := json.Unmarshal(l, &r); err != nil {
				t.Fatal(err)
			}
			if r.Kiosk != tc.want || r.Seq != uint64(i+1) {
				t.Errorf("collector of %s, line %d: kiosk %s seq %d", tc.want, i+1, r.Kiosk, r.Seq)
			}
		}
		if p := tc.c.c.Problems(); p != 0 {
			t.Errorf("collector of %s: %d chain problems", tc.want, p)
		}
	}
	if _, err := NewCollector(&CollectorOpts{Broker: b.URL, Fleet: fleetName, Key: collKey, Out: io.Discard, Kiosks: []string{"a/b"}}); err == nil {
		t.Error("NewCollector with kiosk id a/b: no error")
	}
}

// TestKioskStoreReset: a kiosk whose store is wiped comes back under the same id with a new
// chain. Acks for its old chain (queued in its broker session, or re-sent by the collector)
// must not make it delete new records, and the collector must write the new chain, naming the
// restart once, instead of taking its records for re-sends of the old one.
func TestKioskStoreReset(t *testing.T) {
	b := fleettest.StartMosquitto(t, fleettest.Opts{Fleet: fleetName, Admins: []string{"collector", "collector-b"}})
	fleetKey, collKey := newKey(t), newKey(t)
	col := startCollector(t, b, collKey, nil)

	old := newKiosk(t, b, "kiosk-1", fleetKey, collKey)
	stopOld := start(t, old.client.Run)
	appendN(t, old.log, 10)
	waitFor(t, "the old chain's 10 records at the collector", 20*time.Second, func() bool { return col.n.Load() == 10 })
	waitFor(t, "the old chain's outbox to empty", 10*time.Second, outboxEmpty(old.log))
	stopOld()
	_, h10 := old.log.Head()
	raw, err := os.ReadFile(col.path)
	if err != nil {
		t.Fatal(err)
	}
	var r3 audit.Record
	if err := json.Unmarshal(bytes.Split(raw, []byte("\n"))[2], &r3); err != nil {
		t.Fatal(err)
	}

	// Two acks of the old chain wait in kiosk-1's broker session (sent by a second collector:
	// only collectors may write acks, and the running one's client id is taken).
	pub, err := Dial(context.Background(), Conn{Broker: b.URL, TLS: b.ClientTLS("collector-b"), ClientID: "collector-b"})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Disconnect(100)
	for _, a := range []AuditAck{{Kiosk: "kiosk-1", Seq: 10, Hash: h10}, {Kiosk: "kiosk-1", Seq: 3, Hash: r3.Hash}} {
		if err := Publish(context.Background(), pub, NewTopics(fleetName).AuditAck("kiosk-1"), Seal(KindAuditAck, a.Marshal(), collKey), false); err != nil {
			t.Fatal(err)
		}
	}

	fresh := newKiosk(t, b, "kiosk-1", fleetKey, collKey) // the wiped store
	appendN(t, fresh.log, 5)
	run(t, fresh.client.Run)
	waitFor(t, "the new chain's 5 records at the collector", 20*time.Second, func() bool { return col.n.Load() == 15 })
	waitFor(t, "the new chain's outbox to empty", 10*time.Second, outboxEmpty(fresh.log))
	if n := testutil.ToFloat64(fresh.metrics.Refused.WithLabelValues("audit-ack", "foreign-chain")); n < 2 {
		t.Errorf("acks of the old chain refused by the new one: %v, want at least 2", n)
	}
	if p := col.c.Problems(); p != 1 {
		t.Errorf("collector problems: %d, want 1 (the restart)", p)
	}
	s := verifyFile(t, col.path, nil)
	if len(s.Problems) != 1 || !strings.Contains(s.Problems[0].String(), "starts a new chain after record 10") {
		t.Errorf("audit verify: %v, want the restart only", s.Problems)
	}
	if k := s.Kiosks["kiosk-1"]; k.Records != 15 || k.Last != 5 {
		t.Errorf("audit verify summary: %+v, want 15 records, last 5", k)
	}
	if pos, err := ResumePositions(col.path); err != nil || pos["kiosk-1"].Seq != 5 {
		t.Errorf("ResumePositions after the restart: %+v %v, want kiosk-1 at 5", pos, err)
	}
}

// TestCollectorLostFile: a collector whose output file is gone starts again at record 0 while
// the kiosk has long deleted those records from its outbox; the kiosk sends them again from its
// log, so the new file holds the whole chain.
func TestCollectorLostFile(t *testing.T) {
	b := fleettest.StartMosquitto(t, fleettest.Opts{Fleet: fleetName, Admins: []string{"collector"}})
	fleetKey, collKey := newKey(t), newKey(t)
	k := newKiosk(t, b, "kiosk-1", fleetKey, collKey)
	keys := map[string]ed25519.PublicKey{k.id: k.sign.Public().(ed25519.PublicKey)}
	session := t.TempDir()
	first := startCollectorOpts(t, b, CollectorOpts{ClientID: "collector", Key: collKey, KioskKeys: keys, SessionDir: session})
	run(t, k.client.Run)
	appendN(t, k.log, 20)
	waitFor(t, "the first collector's acks to empty the outbox", 20*time.Second, outboxEmpty(k.log))
	first.stop() // and its output file is lost

	col := startCollectorOpts(t, b, CollectorOpts{ClientID: "collector", Key: collKey, KioskKeys: keys, SessionDir: session})
	appendN(t, k.log, 5)
	waitFor(t, "all 25 records at the new file", 30*time.Second, func() bool { return col.n.Load() == 25 })
	waitFor(t, "an empty outbox", 10*time.Second, outboxEmpty(k.log))
	s := verifyFile(t, col.path, keys)
	if kk := s.Kiosks[k.id]; len(s.Problems) != 0 || kk.Records != 25 || kk.Last != 25 {
		t.Errorf("the new file: problems %v, summary %+v; want none, 25 records", s.Problems, kk)
	}
}

// TestSameKioskIDRefused: a kiosk configured with an id that is not its certificate's name is
// refused before it connects, and a client that claims another kiosk's client id over MQTT gets
// its certificate's id instead (use_username_as_clientid), so the two never fight.
func TestSameKioskIDRefused(t *testing.T) {
	b := fleettest.StartMosquitto(t, fleettest.Opts{Fleet: fleetName})
	fleetKey := newKey(t)
	db := openStore(t, t.TempDir())
	defer db.Halt()
	revs := newRevs(t, db, fleetKey)
	_, err := NewClient(&ClientOpts{Broker: b.URL, TLS: b.ClientTLS("kiosk-b"), Fleet: fleetName, Kiosk: "kiosk-a",
		SessionDir: t.TempDir(), Revocations: revs})
	if err == nil {
		t.Fatal("NewClient with kiosk id kiosk-a and certificate kiosk-b: got nil error, want a refusal")
	}

	var lostA atomic.Int32
	optsA := mqtt.NewClientOptions().AddBroker(b.URL).SetClientID("kiosk-a").SetTLSConfig(b.ClientTLS("kiosk-a")).
		SetAutoReconnect(false).SetConnectionLostHandler(func(mqtt.Client, error) { lostA.Add(1) })
	a := mqtt.NewClient(optsA)
	if tok := a.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("kiosk-a connect: %v", tok.Error())
	}
	defer a.Disconnect(100)
	optsB := mqtt.NewClientOptions().AddBroker(b.URL).SetClientID("kiosk-a").SetTLSConfig(b.ClientTLS("kiosk-b")).
		SetAutoReconnect(false)
	bc := mqtt.NewClient(optsB)
	if tok := bc.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("kiosk-b connect: %v", tok.Error())
	}
	defer bc.Disconnect(100)
	time.Sleep(500 * time.Millisecond)
	if lostA.Load() != 0 || !a.IsConnectionOpen() {
		t.Errorf("kiosk-a lost its connection when kiosk-b claimed its client id (lost %d times)", lostA.Load())
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent writers (log handlers).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestShippedBrokerRules checks what deploy/fleet's files promise that the tests above do not:
// no client without TLS or without a certificate; a kiosk reads its own acks, not another
// kiosk's; and a $share group deals one kiosk's records round robin among its members (why a
// file collector never shares a kiosk, deploy/fleet/README.md).
func TestShippedBrokerRules(t *testing.T) {
	b := fleettest.StartMosquitto(t, fleettest.Opts{Fleet: fleetName, Admins: []string{"collector", "collector-b"}})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	noCert := b.ClientTLS("kiosk-1")
	noCert.Certificates = nil
	if c, err := Dial(ctx, Conn{Broker: b.URL, TLS: noCert, ClientID: "kiosk-1"}); err == nil {
		c.Disconnect(0)
		t.Error("a client without a certificate connected")
	}
	if c, err := Dial(ctx, Conn{Broker: "tcp://" + b.Addr, ClientID: "kiosk-1"}); err == nil {
		c.Disconnect(0)
		t.Error("a client without TLS connected")
	}

	dial := func(cn string) mqtt.Client {
		t.Helper()
		c, err := Dial(ctx, Conn{Broker: b.URL, TLS: b.ClientTLS(cn), ClientID: cn})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Disconnect(100) })
		return c
	}
	top := NewTopics(fleetName)
	col := dial("collector")
	for _, k := range []string{"kiosk-1", "kiosk-2"} {
		if err := Publish(ctx, col, top.AuditAck(k), []byte("ack-for-"+k), true); err != nil {
			t.Fatal(err)
		}
	}
	got := make(chan string, 4)
	k1 := dial("kiosk-1")
	for _, k := range []string{"kiosk-2", "kiosk-1"} { // kiosk-1's own last: once it arrives, kiosk-2's had its turn
		if err := wait(ctx, k1.Subscribe(top.AuditAck(k), 1, func(_ mqtt.Client, m mqtt.Message) { got <- string(m.Payload()) })); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case p := <-got:
		if p != "ack-for-kiosk-1" {
			t.Errorf("kiosk-1 read %q", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("kiosk-1 did not get its own retained ack")
	}
	time.Sleep(300 * time.Millisecond)
	if len(got) != 0 {
		t.Errorf("kiosk-1 read another kiosk's ack: %q", <-got)
	}
	for _, k := range []string{"kiosk-1", "kiosk-2"} { // drop the retained acks
		if err := Publish(ctx, col, top.AuditAck(k), nil, true); err != nil {
			t.Fatal(err)
		}
	}

	var n [2]atomic.Int32
	for i, cn := range []string{"collector", "collector-b"} {
		c := col
		if i == 1 {
			c = dial(cn)
		}
		if err := wait(ctx, c.Subscribe("$share/g/"+top.AuditAll(), 1, func(mqtt.Client, mqtt.Message) { n[i].Add(1) })); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 8; i++ {
		if err := Publish(ctx, k1, top.Audit("kiosk-1"), []byte(fmt.Sprint(i)), false); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "kiosk-1's 8 records at the group", 10*time.Second, func() bool { return n[0].Load()+n[1].Load() == 8 })
	if n[0].Load() == 0 || n[1].Load() == 0 {
		t.Errorf("$share group: %d and %d of kiosk-1's 8 records, want them dealt between both", n[0].Load(), n[1].Load())
	}
	t.Logf("$share group: %d and %d of kiosk-1's 8 records", n[0].Load(), n[1].Load())
}
