package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/config"
	"github.com/edgeid/edgeid/daemon/kiosk"
	"github.com/edgeid/edgeid/daemon/store"
)

type countingActuator struct {
	mu     sync.Mutex
	pulses int
}

func (a *countingActuator) Pulse(context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pulses++
	return nil
}
func (a *countingActuator) Indicate(kiosk.Signal) error     { return nil }
func (a *countingActuator) Beep(context.Context, int) error { return nil }

// TestRunSimulation runs the daemon as `make run` does (simulated reader with the four demo
// passports, image-folder camera, in-process broker, real Badger) and follows it through its
// own web API: the holder is accepted and the door pulsed once; the others are refused with
// the right reasons; every decision reaches the collector; nothing else is kept.
func TestRunSimulation(t *testing.T) {
	t.Chdir("../../..") // the daemon finds testdata/ and models/ from the repo root, as make run does
	cfg, err := config.Defaults()
	if err != nil {
		t.Fatal(err)
	}
	state := t.TempDir()
	cfg.StateDir, cfg.Web.Listen = state, "127.0.0.1:0"
	cfg.Simulation.Interval = config.Duration(300 * time.Millisecond)
	cfg.Policy.CaptureWindow = config.Duration(200 * time.Millisecond)

	act := &countingActuator{}
	addr := make(chan string, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- runDaemon(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)),
			daemonHooks{actuator: act, listening: func(a string) { addr <- a }})
	}()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-done:
		t.Fatalf("daemon stopped: %v", err)
	}

	resp, err := http.Get(base + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	want := map[string]string{ // document order of the demo: outcome and reasons
		"1": "accepted ", "2": "rejected face_mismatch", "3": "rejected document_revoked", "4": "rejected passive_authentication_failed",
	}
	var got []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && len(got) < 4 {
		line := sc.Text()
		if !strings.HasPrefix(line, "data: ") {
			continue
		}
		var e kiosk.Event
		if err := json.Unmarshal([]byte(line[6:]), &e); err != nil {
			t.Fatal(err)
		}
		if e.Stage == kiosk.StageDecision {
			got = append(got, string(e.Outcome)+" "+strings.Join(e.Reasons, ","))
		}
	}
	for i, g := range got {
		if w := want[string(rune('1'+i))]; g != w {
			t.Errorf("decision %d: got %q, want %q", i+1, g, w)
		}
	}
	if len(got) != 4 {
		t.Fatalf("saw %d decisions, want 4 (%v)", len(got), sc.Err())
	}
	// The collector acknowledges what it wrote; give it a moment for the last one.
	collected := filepath.Join(state, "collected-audit.jsonl")
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(collected)
		if strings.Count(string(b), "\n") >= 4 {
			if strings.Contains(string(b), "UA000000") {
				t.Error("a document number reached the audit trail")
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("collector has %q", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("daemon: %v", err)
	}
	act.mu.Lock()
	if act.pulses != 1 {
		t.Errorf("relay pulsed %d times for one accepted holder", act.pulses)
	}
	act.mu.Unlock()

	// Nothing persisted but revocations, templates, audit records, their outbox and metadata.
	key, err := store.LoadKeyFile(filepath.Join(state, "store.key"))
	if err != nil {
		t.Fatal(err)
	}
	so := store.DefaultOpts()
	so.Dir, so.EncryptionKey = filepath.Join(state, "db"), key
	db, err := store.Open(&so)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Halt()
	allowed := []store.Space{store.Meta, store.Revocations, store.Templates, store.Audit, store.Outbox, store.Deny}
	err = db.Iterate(context.Background(), nil, func(k, v []byte) error {
		for _, s := range allowed {
			if strings.HasPrefix(string(k), string(s)) {
				if strings.Contains(string(v), "UA000000") || strings.Contains(string(v), "jP  ") {
					t.Errorf("key %q holds a document number or an image", k)
				}
				return nil
			}
		}
		t.Errorf("unexpected key %q in the store", k)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
