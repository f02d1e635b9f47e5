package fleet

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/audit"
	"github.com/edgeid/edgeid/daemon/fleet/fleettest"
)

// TestClientInProcessBroker runs the kiosk client and the collector against an in-process
// NATS MQTT broker (no TLS), so the MQTT paths are tested even where mosquitto is not installed.
func TestClientInProcessBroker(t *testing.T) {
	url := fleettest.NATS(t)
	fleetKey, collKey, kioskKey := newKey(t), newKey(t), newKey(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pub, err := Dial(ctx, Conn{Broker: url, ClientID: "publisher"})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Disconnect(100)
	top := NewTopics(fleetName)
	a, c := DocumentEntry("UTO", "M1"), DocumentEntry("UTO", "M2")
	if err := Publish(ctx, pub, top.RevSnapshot(), snapshot(fleetKey, 3, []Entry{a}), true); err != nil {
		t.Fatal(err)
	}

	db := openStore(t, t.TempDir())
	// A cleanup, not a defer: cleanups run after defers and in reverse order, so the worker
	// started below by run stops before the store closes under it.
	t.Cleanup(func() { db.Halt() })
	revs := newRevs(t, db, fleetKey)
	log, err := audit.New(db, &audit.Opts{Kiosk: "kiosk-1", SigningKey: kioskKey, DocKey: bytes.Repeat([]byte{5}, 32), CheckpointEvery: 5})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	got := make(chan struct{}, 100)
	col, err := NewCollector(&CollectorOpts{Broker: url, Fleet: fleetName, Key: collKey, Out: &out,
		KioskKeys:   map[string]ed25519.PublicKey{"kiosk-1": kioskKey.Public().(ed25519.PublicKey)},
		AckInterval: 20 * time.Millisecond, OnRecord: func(*audit.Record) { got <- struct{}{} }})
	if err != nil {
		t.Fatal(err)
	}
	run(t, col.Run)
	<-col.Ready()
	cl, err := NewClient(&ClientOpts{Broker: url, Fleet: fleetName, Kiosk: "kiosk-1", SessionDir: filepath.Join(t.TempDir(), "s"),
		Revocations: revs, Audit: log, AckKeys: NewKeyring(collKey.Public().(ed25519.PublicKey)), ResendAfter: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	run(t, cl.Run)
	now := t0.Add(time.Hour)
	waitFor(t, "the retained snapshot", 10*time.Second, func() bool { return errors.Is(revs.Check(a, now), ErrRevoked) })
	if err := Publish(ctx, pub, top.RevDelta(), delta(fleetKey, 3, 4, []Entry{c}, []Entry{a}), false); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the delta", 10*time.Second, func() bool {
		return errors.Is(revs.Check(c, now), ErrRevoked) && revs.Check(a, now) == nil
	})
	for i := 0; i < 12; i++ {
		if _, err := log.Append(ctx, audit.Decision{Flow: "document", Outcome: "reject", Reasons: []string{"revoked"}}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 12; i++ {
		select {
		case <-got:
		case <-ctx.Done():
			t.Fatalf("collector got %d of 12 records", i)
		}
	}
	waitFor(t, "acks to empty the outbox", 10*time.Second, outboxEmpty(log))
	if col.Problems() != 0 {
		t.Errorf("collector chain problems: got %d, want 0", col.Problems())
	}
}
