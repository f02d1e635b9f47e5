package fleet

import (
	"bytes"
	"testing"

	"github.com/edgeid/edgeid/daemon/audit"
)

// TestCollectorOrdering feeds records straight to the collector: in-order records are written
// once, re-sends are dropped and re-acked, records after a gap are dropped and the collector's
// position is acked (so the kiosk rewinds), malformed or misaddressed ones are dropped.
func TestCollectorOrdering(t *testing.T) {
	chain, err := audit.NewChain(&audit.Opts{Kiosk: "kiosk-1", SigningKey: newKey(t), DocKey: make([]byte, 32), CheckpointEvery: 3})
	if err != nil {
		t.Fatal(err)
	}
	var recs [][]byte
	for i := 0; i < 5; i++ {
		_, b, err := chain.Next(audit.Decision{Flow: "document", Outcome: "accept"})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, b)
	}
	var out bytes.Buffer
	c, err := NewCollector(&CollectorOpts{Broker: "tcp://127.0.0.1:1", Fleet: fleetName, Key: newKey(t), Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	topic := NewTopics(fleetName).Audit("kiosk-1")
	for _, step := range []struct {
		name      string
		topic     string
		msg       []byte
		wantPos   uint64
		wantDirty bool
	}{
		{"first", topic, recs[0], 1, true},
		{"gap", topic, recs[2], 1, true},
		{"second", topic, recs[1], 2, true},
		{"re-send", topic, recs[0], 2, true},
		{"third", topic, recs[2], 3, true},
		{"other kiosk's topic", NewTopics(fleetName).Audit("kiosk-2"), recs[3], 3, false},
		{"garbage", topic, []byte("{nope"), 3, false},
	} {
		c.dirty = map[string]bool{}
		if err := c.accept(step.topic, step.msg); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got := c.Positions()["kiosk-1"].Seq; got != step.wantPos {
			t.Errorf("%s: position got %d, want %d", step.name, got, step.wantPos)
		}
		if got := c.dirty["kiosk-1"]; got != step.wantDirty {
			t.Errorf("%s: ack due got %t, want %t", step.name, got, step.wantDirty)
		}
	}
	s, err := audit.VerifyJSONLines(bytes.NewReader(out.Bytes()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if k := s.Kiosks["kiosk-1"]; k.Records != 3 || k.Last != 3 {
		t.Errorf("written: %+v, want records 1-3 once each", k)
	}
	if c.Problems() != 0 {
		t.Errorf("chain problems: got %d, want 0", c.Problems())
	}
}
