package node

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/config"
	"github.com/edgeid/edgeid/daemon/kiosk"
	"github.com/edgeid/edgeid/daemon/pad"
	"github.com/edgeid/edgeid/drivers/gpio"
	"github.com/edgeid/edgeid/internal/testenv"
)

// waitCondition waits until the named health condition is ok (or not).
func waitCondition(t *testing.T, n *Node, name string, ok bool, d time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if c, seen := n.Health().Get(name); seen && c.OK == ok {
			return c.Detail
		}
		if time.Now().After(deadline) {
			c, _ := n.Health().Get(name)
			t.Fatalf("condition %s did not become ok=%v in %v: %+v", name, ok, d, c)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestFullDiskAtStart: a state disk with less than the minimum free is refused with a clear
// message before the store opens (Badger on a full disk died of SIGBUS in its memtable map),
// and nothing is written to it.
func TestFullDiskAtStart(t *testing.T) {
	disk := testenv.SmallDisk(t, 16<<20)
	testenv.Fill(t, disk, 1<<20)
	state := filepath.Join(disk, "state")
	_, err := New(context.Background(), simConfig(t), Opts{StateDir: state, SimulationDir: repoRoot(t), MinFree: 8 << 20})
	if err == nil || !strings.Contains(err.Error(), "free some space") {
		t.Fatalf("New on a full disk: %v", err)
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Errorf("wrote to the full disk: %v", err)
	}
}

// TestFullDiskRefusesChecksAndRecovers: when the state disk fills while the kiosk runs, the
// disk condition goes bad (on /healthz, so on the attendant view and the metrics), no new
// check starts (its audit record could not be written), the page keeps being served, and
// checks resume by themselves when space returns.
func TestFullDiskRefusesChecksAndRecovers(t *testing.T) {
	disk := testenv.SmallDisk(t, 48<<20)
	n := simNode(t, simConfig(t), filepath.Join(disk, "state"), Opts{MinFree: 8 << 20, HealthInterval: 50 * time.Millisecond})
	events, unsubscribe := n.Kiosk().Subscribe()
	defer unsubscribe()
	stop := start(n)
	defer stop()
	waitStage(t, events, kiosk.StageDecision, 60*time.Second)
	waitCondition(t, n, "disk", true, 5*time.Second)

	filler := testenv.Fill(t, disk, 4<<20)
	detail := waitCondition(t, n, "disk", false, 5*time.Second)
	if !strings.Contains(detail, "no new checks") {
		t.Errorf("disk condition: %q", detail)
	}
	resp, err := http.Get("http://" + n.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), `"disk"`) {
		t.Errorf("/healthz with a full disk: %d %s", resp.StatusCode, body)
	}
	resp, err = http.Get("http://" + n.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), `edgeid_condition_ok{name="disk"} 0`) {
		t.Error("the metrics do not show the disk condition down")
	}
	// A check already past the gate finishes; after it, none starts.
	for busy(n.Kiosk().Current().Stage) {
		time.Sleep(20 * time.Millisecond)
	}
	drain(events)
	if e, ok := nextStage(events, kiosk.StageDocument, 2500*time.Millisecond); ok {
		t.Fatalf("a check started with the disk full: %+v", e)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitCondition(t, n, "disk", true, 5*time.Second)
	waitStage(t, events, kiosk.StageDecision, 30*time.Second)
}

// TestFleetCondition: with the broker gone the fleet condition goes bad on /healthz and the
// fall is logged once; it used to say healthy and log nothing.
func TestFleetCondition(t *testing.T) {
	var logs logBuffer
	n := simNode(t, simConfig(t), t.TempDir(), Opts{Logger: slog.New(slog.NewTextHandler(&logs, nil)), HealthInterval: 50 * time.Millisecond, HealthSettle: time.Millisecond})
	stop := start(n)
	defer stop()
	if d := waitCondition(t, n, "fleet", true, 20*time.Second); !strings.Contains(d, "connected; last contact") {
		t.Errorf("fleet condition when connected: %q", d)
	}
	waitCondition(t, n, "revocations", true, 20*time.Second)
	if d := waitCondition(t, n, "fleet", true, 5*time.Second); !strings.Contains(d, "revocation list") || strings.Contains(d, "no revocation list") {
		t.Errorf("fleet condition does not give the list's age: %q", d)
	}
	mark := len(logs.String())
	n.broker()
	d := waitCondition(t, n, "fleet", false, 20*time.Second)
	if !strings.Contains(d, "not connected") || !strings.Contains(d, "last contact") {
		t.Errorf("fleet condition when down: %q", d)
	}
	time.Sleep(300 * time.Millisecond) // several polls
	if c := strings.Count(logs.String()[mark:], "health: fleet is down"); c != 1 {
		t.Errorf("the fall was logged %d times, want once:\n%s", c, logs.String())
	}
}

// TestLEDSignal: every kiosk signal has its LED pattern by name.
func TestLEDSignal(t *testing.T) {
	want := map[kiosk.Signal]gpio.Signal{kiosk.SignalIdle: gpio.Idle, kiosk.SignalWorking: gpio.Working,
		kiosk.SignalAccept: gpio.Accept, kiosk.SignalReject: gpio.Reject, kiosk.SignalFault: gpio.Fault}
	for k, w := range want {
		if got, err := ledSignal(k); err != nil || got != w {
			t.Errorf("ledSignal(%d) = %d, %v; want %d", k, got, err, w)
		}
	}
	if _, err := ledSignal(kiosk.SignalFault + 1); err == nil {
		t.Error("an unknown signal was mapped")
	}
}

func waitStage(t *testing.T, events <-chan kiosk.Event, s kiosk.Stage, d time.Duration) kiosk.Event {
	t.Helper()
	e, ok := nextStage(events, s, d)
	if !ok {
		t.Fatalf("no %s event in %v", s, d)
	}
	return e
}

func nextStage(events <-chan kiosk.Event, s kiosk.Stage, d time.Duration) (kiosk.Event, bool) {
	deadline := time.After(d)
	for {
		select {
		case e := <-events:
			if e.Stage == s {
				return e, true
			}
		case <-deadline:
			return kiosk.Event{}, false
		}
	}
}

func drain(events <-chan kiosk.Event) {
	for {
		select {
		case <-events:
		default:
			return
		}
	}
}

// TestLivenessNamesMatchPad: the names the configuration accepts in policy.liveness_checks
// are exactly pad's checks (config checks them before anything starts and cannot import the
// cgo package).
func TestLivenessNamesMatchPad(t *testing.T) {
	names := config.LivenessCheckNames()
	s, err := pad.NewSuite(names, 0.5)
	if err != nil {
		t.Fatalf("config accepts a name pad does not know: %v", err)
	}
	for _, c := range s.Checks() {
		if !slices.Contains(names, c.Name()) {
			t.Errorf("pad's check %q is refused by config", c.Name())
		}
	}
	var moves []pad.Move
	for _, m := range config.ChallengeMoveNames() {
		moves = append(moves, pad.Move(m))
	}
	if !slices.Equal(moves, pad.Moves()) {
		t.Errorf("config's challenge moves %v, pad's %v", moves, pad.Moves())
	}
}
