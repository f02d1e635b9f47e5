package node

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/audit"
	"github.com/edgeid/edgeid/daemon/kiosk"
	"github.com/edgeid/edgeid/internal/testenv"
)

// TestNodeKilledLosesNothing: the daemon as it runs (the node's own wiring: store key, store,
// audit log, fleet link, the simulation's broker and collector) is killed with SIGKILL while
// it checks people; restarted on the same state, every record it had written reaches the
// collector, whose file verifies as one chain.
func TestNodeKilledLosesNothing(t *testing.T) {
	if state := os.Getenv("EDGEID_NODE_CHILD_STATE"); state != "" {
		n := simNode(t, simConfig(t), state, Opts{})
		events, _ := n.Kiosk().Subscribe()
		go func() {
			for e := range events {
				if e.Stage == kiosk.StageDecision {
					fmt.Printf("decided %s\n", e.CheckID) // audited before the event
				}
			}
		}()
		_ = n.Run(context.Background()) // until killed
		return
	}
	state := t.TempDir()
	collected := filepath.Join(state, "collected-audit.jsonl")
	decided := 0
	// Killed right after its third decision was audited: that record has most likely not
	// reached the collector yet.
	testenv.KillChild(t, testenv.Child{Env: []string{"EDGEID_NODE_CHILD_STATE=" + state}, Limit: 90 * time.Second}, func(line string) bool {
		if strings.HasPrefix(line, "decided ") {
			decided++
		}
		return decided >= 3
	})
	if decided < 3 {
		t.Fatalf("the child stopped after %d decisions", decided)
	}
	before := lines(collected)

	n := simNode(t, simConfig(t), state, Opts{})
	head, _ := n.auditLog.Head()
	kioskKey := n.sec.checkpoint.Public().(ed25519.PublicKey)
	stop := start(n)
	deadline := time.Now().Add(30 * time.Second)
	for lines(collected) < int(head) {
		if time.Now().After(deadline) {
			stop()
			t.Fatalf("the collector has %d records after the restart, the kiosk had written %d", lines(collected), head)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(collected)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s, err := audit.VerifyJSONLines(f, map[string]ed25519.PublicKey{"demo-kiosk": kioskKey})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Problems) != 0 || s.Kiosks["demo-kiosk"].Records < int(head) {
		t.Errorf("collected file: %d records, problems %v; want at least %d and none", s.Kiosks["demo-kiosk"].Records, s.Problems, head)
	}
	t.Logf("killed after %d audited decisions, %d of them collected; all %d collected after the restart", decided, before, head)
}

// lines counts the complete lines of a file (0 when it is missing).
func lines(path string) int {
	b, _ := os.ReadFile(path)
	return strings.Count(string(b), "\n")
}
