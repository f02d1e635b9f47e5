package node

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"log/slog"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/audit"
	"github.com/edgeid/edgeid/daemon/store"
)

// The daemon's pruning loop deletes collected records older than the retention at its first
// pass and keeps the rest: the one not yet collected, and the recent ones.
func TestPruneAudit(t *testing.T) {
	o := store.DefaultOpts()
	o.Dir, o.EncryptionKey = t.TempDir(), make([]byte, 32)
	db, err := store.Open(&o)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Halt()
	ctx := context.Background()
	at := time.Now().Add(-100 * 24 * time.Hour)
	l, err := audit.New(db, &audit.Opts{Kiosk: "k", SigningKey: ed25519.NewKeyFromSeed(make([]byte, 32)),
		DocKey: bytes.Repeat([]byte{1}, 32), Now: func() time.Time { return at }})
	if err != nil {
		t.Fatal(err)
	}
	for i, age := range []int{100, 95, 91, 30, 1} { // days
		at = time.Now().Add(-time.Duration(age) * 24 * time.Hour)
		if _, err := l.Append(ctx, audit.Decision{Flow: "document", Outcome: "accept"}); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			if _, err := l.Ack(ctx, 2); err != nil { // 3 onwards not collected yet
				t.Fatal(err)
			}
		}
	}
	var logs bytes.Buffer
	pctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	pruneAudit(pctx, l, 90*24*time.Hour, 50*time.Millisecond, slog.New(slog.NewTextHandler(&logs, nil)))
	var kept int
	if err := l.Records(ctx, func([]byte) error { kept++; return nil }); err != nil {
		t.Fatal(err)
	}
	if kept != 3 {
		t.Errorf("records kept: %d, want 3 (91 days old but not collected, 30 and 1 days old)\nlog: %s", kept, logs.String())
	}
	if !bytes.Contains(logs.Bytes(), []byte("records=2")) {
		t.Errorf("log does not report the 2 pruned records: %s", logs.String())
	}
}
