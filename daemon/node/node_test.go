package node

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/audit"
	"github.com/edgeid/edgeid/daemon/config"
	"github.com/edgeid/edgeid/daemon/kiosk"
	"github.com/edgeid/edgeid/daemon/store"
	"go.uber.org/goleak"
)

// repoRoot is the source tree the simulation takes its data from, as make run does.
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

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

// logBuffer is a goroutine-safe log sink.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// simConfig is the embedded simulation with short intervals.
func simConfig(t testing.TB) *config.Config {
	t.Helper()
	cfg, err := config.Defaults()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Simulation.Interval = config.Duration(300 * time.Millisecond)
	cfg.Policy.CaptureWindow = config.Duration(200 * time.Millisecond)
	return cfg
}

// simNode builds a simulation node on a free port with its state in state.
func simNode(t testing.TB, cfg *config.Config, state string, o Opts) *Node {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	o.Listener, o.StateDir, o.SimulationDir = ln, state, repoRoot(t)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	n, err := New(context.Background(), cfg, o)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	return n
}

// start runs n until the returned stop is called; stop returns Run's error.
func start(n *Node) (stop func() error) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	return func() error {
		cancel()
		return <-done
	}
}

// openAudit opens a stopped node's store and audit log.
func openAudit(t testing.TB, state string) (*store.DB, *audit.Log) {
	t.Helper()
	cfg := &config.Config{StateDir: state, Reader: "sim"}
	sec, err := loadSecrets(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	so := store.DefaultOpts()
	so.Dir, so.EncryptionKey = filepath.Join(state, "db"), sec.store
	db, err := store.Open(&so)
	if err != nil {
		t.Fatal(err)
	}
	l, err := audit.New(db, &audit.Opts{Kiosk: "demo-kiosk", SigningKey: sec.checkpoint, DocKey: sec.docHMAC})
	if err != nil {
		db.Halt()
		t.Fatal(err)
	}
	return db, l
}

// TestRunSimulation runs the node as `make run` does (simulated reader with the five demo
// passports, the demo camera showing each one's data page and then the face, which turns its
// head as the liveness challenge asks or, for the photo attack, is a print; the access key
// read from the page by the camera, in-process broker, real Badger) and follows it through
// its own web API: every demo document gets its expected outcome (the holder accepted and
// the door pulsed once, the others refused with the right reasons, the print as an attack), each chip opened with the
// MRZ the camera read and never the keypad; every decision reaches the collector and says the
// key came from the camera; nothing else is kept. Frames to the accepted read and the
// reader's time per frame are logged.
func TestRunSimulation(t *testing.T) {
	state := t.TempDir()
	act := &countingActuator{}
	logs := &logBuffer{}
	n := simNode(t, simConfig(t), state, Opts{Actuator: act, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	stop := start(n)
	base := "http://" + n.Addr().String()

	resp, err := http.Get(base + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var want []string
	for _, d := range n.dm.Docs {
		want = append(want, string(d.Expect)+" "+d.Reason)
	}
	var got []string
	keyDetails := map[string]int{}
	challengesMet := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() && len(got) < len(want) {
		line := sc.Text()
		if !strings.HasPrefix(line, "data: ") {
			continue
		}
		var e kiosk.Event
		if err := json.Unmarshal([]byte(line[6:]), &e); err != nil {
			t.Fatal(err)
		}
		if e.Stage == kiosk.StageAccessKey && e.CheckID != "" {
			keyDetails[e.Detail]++
		}
		if e.Stage == kiosk.StageCapture && e.Detail == "move_done" {
			challengesMet++
		}
		if e.Stage == kiosk.StageDecision {
			got = append(got, string(e.Outcome)+" "+strings.Join(e.Reasons, ","))
		}
	}
	for i, g := range got {
		if g != want[i] {
			t.Errorf("decision %d (%s): got %q, want %q", i+1, n.dm.Docs[i].Name, g, want[i])
		}
	}
	// The holder and the other person turn their heads as asked; the print cannot.
	if challengesMet != 2 {
		t.Errorf("%d head-movement challenges met, want 2 (the holder's and someone else's)", challengesMet)
	}
	if t.Failed() {
		for _, l := range strings.Split(logs.String(), "\n") {
			if strings.Contains(l, "presentation attack") {
				t.Log(l)
			}
		}
	}
	if len(got) != len(want) {
		t.Fatalf("saw %d decisions, want %d (%v)", len(got), len(want), sc.Err())
	}
	if keyDetails[kiosk.KeyRead] != len(want) || keyDetails[kiosk.KeyKeypad] != 0 || keyDetails[kiosk.KeyShowDocument] == 0 {
		t.Errorf("access-key events %v: want a search and an accepted read for each of %d documents, no keypad", keyDetails, len(want))
	}
	logMRZNumbers(t, logs.String())
	// The collector acknowledges what it wrote; give it a moment for the last one.
	collected := filepath.Join(state, "collected-audit.jsonl")
	deadline := time.Now().Add(10 * time.Second)
	for {
		b, _ := os.ReadFile(collected)
		if strings.Count(string(b), "\n") >= 4 {
			if strings.Contains(string(b), "UA000000") || strings.Contains(string(b), "SPECIMEN") {
				t.Error("a document number or an MRZ reached the audit trail")
			}
			for i, rec := range strings.SplitN(strings.TrimSpace(string(b)), "\n", 5)[:4] {
				if !strings.Contains(rec, `"access_key:camera"`) {
					t.Errorf("audit record %d does not say the key came from the camera: %s", i+1, rec)
				}
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("collector has %q", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := stop(); err != nil {
		t.Fatalf("node: %v", err)
	}
	act.mu.Lock()
	if act.pulses != 1 {
		t.Errorf("relay pulsed %d times for one accepted holder", act.pulses)
	}
	act.mu.Unlock()

	// Nothing persisted but revocations, templates, audit records, their outbox and metadata.
	db, _ := openAudit(t, state)
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

// logMRZNumbers reports, from the node's log, the frames the camera took to each accepted MRZ
// read and the reader's time per frame; the log must hold no MRZ.
func logMRZNumbers(t *testing.T, logs string) {
	t.Helper()
	reads, frames, ms := 0, 0, 0.0
	for _, line := range strings.Split(logs, "\n") {
		var l struct {
			Msg        string  `json:"msg"`
			Read       bool    `json:"read"`
			Frames     int     `json:"frames"`
			MsPerFrame float64 `json:"ms_per_frame"`
		}
		if json.Unmarshal([]byte(line), &l) != nil || l.Msg != "camera access key" || !l.Read {
			continue
		}
		reads++
		frames += l.Frames
		ms += l.MsPerFrame * float64(l.Frames)
	}
	if strings.Contains(logs, "UA000000") || strings.Contains(logs, "SPECIMEN") {
		t.Error("a document number or an MRZ reached the log")
	}
	if reads == 0 {
		t.Error("no camera read of an MRZ in the log")
		return
	}
	t.Logf("camera access key: %d reads, %.1f frames to the accepted read on average, %.1f ms a frame in the MRZ reader",
		reads, float64(frames)/float64(reads), ms/float64(frames))
}

// TestNewUndoesOnTakenPort: with the web port taken, New fails after building everything
// else; no goroutine of the node survives (the fleet client and the demo collector used to
// run on after the store closed), and the store is closed exactly once. Run, stopped, waits
// for its workers before it closes the store, once.
func TestNewUndoesOnTakenPort(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	before := goleak.IgnoreCurrent()
	var logs logBuffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	cfg := simConfig(t)
	cfg.Web.Listen = taken.Addr().String()
	_, err = New(context.Background(), cfg, Opts{Logger: log, StateDir: t.TempDir(), SimulationDir: repoRoot(t)})
	if err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Fatalf("New with the port taken: %v", err)
	}
	goleak.VerifyNone(t, before)
	if c := strings.Count(logs.String(), "part=store"); c != 1 {
		t.Errorf("store closed %d times, want once:\n%s", c, logs.String())
	}
	for _, part := range []string{"embedded broker", "reader", "demo back end", "camera", "face engine"} {
		if !strings.Contains(logs.String(), `part="`+part+`"`) && !strings.Contains(logs.String(), "part="+part) {
			t.Errorf("%s was not undone:\n%s", part, logs.String())
		}
	}

	logs = logBuffer{}
	log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	n := simNode(t, simConfig(t), t.TempDir(), Opts{Logger: log})
	stop := start(n)
	time.Sleep(500 * time.Millisecond)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	goleak.VerifyNone(t, before)
	out := logs.String()
	workers, closed := strings.Index(out, "workers stopped"), strings.Index(out, "part=store")
	if workers < 0 || closed < workers || strings.Count(out, "part=store") != 1 {
		t.Errorf("want the workers stopped, then the store closed once:\n%s", out)
	}
	if err := n.Run(context.Background()); err == nil {
		t.Error("a second Run was accepted")
	}
}

// TestStopRecordsCheckInProgress: a stop (SIGTERM) during a check lets it finish and audits
// it; it used to be lost ("audit append failed: not actuating err=context canceled").
func TestStopRecordsCheckInProgress(t *testing.T) {
	state := t.TempDir()
	var logs logBuffer
	n := simNode(t, simConfig(t), state, Opts{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	events, unsubscribe := n.Kiosk().Subscribe()
	stop := start(n)
	var check string
	deadline := time.After(60 * time.Second)
	for check == "" {
		select {
		case e := <-events:
			if e.Stage == kiosk.StageReading {
				check = e.CheckID
			}
		case <-deadline:
			t.Fatal("no check started")
		}
	}
	unsubscribe()
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	var decided []string
	for _, d := range n.Kiosk().Decisions() {
		decided = append(decided, d.CheckID)
	}
	if len(decided) == 0 || decided[len(decided)-1] != check {
		t.Errorf("the check in progress (%s) has no decision; decisions %v", check, decided)
	}
	if strings.Contains(logs.String(), "audit append failed") {
		t.Errorf("a decision was not audited:\n%s", logs.String())
	}
	db, l := openAudit(t, state)
	defer db.Halt()
	head, _ := l.Head()
	if int(head) != len(decided) {
		t.Errorf("%d audit records for %d decisions", head, len(decided))
	}
}

// TestConfigCheckedBeforeAnyWrite: every problem of the configuration, files included, is
// listed at once, before anything is written: no state folder, no store, no key.
func TestConfigCheckedBeforeAnyWrite(t *testing.T) {
	cfg := simConfig(t)
	cfg.Web.AttendantTokenFile = filepath.Join(t.TempDir(), "missing.token")
	cfg.ModelsDir = filepath.Join(t.TempDir(), "no-models")
	cfg.Policy.LivenessChecks = []string{"blink"}
	cfg.StoreKeyFile = filepath.Join(t.TempDir(), "store.key")
	if err := os.WriteFile(cfg.StoreKeyFile, bytes.Repeat([]byte("ab"), 32), 0o644); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(t.TempDir(), "state")
	_, err := New(context.Background(), cfg, Opts{StateDir: state, SimulationDir: repoRoot(t)})
	if err == nil {
		t.Fatal("accepted")
	}
	for _, w := range []string{"liveness_checks", "models_dir", "web.attendant_token_file", "has mode 0644"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not name %s:\n%v", w, err)
		}
	}
	if _, err := os.Stat(state); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("state folder written before the configuration was known good: %v", err)
	}
}

// TestSimulationOutsideTheTree: `edgeid run` from a folder that is not the checkout says
// what it needs and writes nothing there (it used to create ./out/state and a store first).
func TestSimulationOutsideTheTree(t *testing.T) {
	wd := t.TempDir()
	t.Chdir(wd)
	_, err := New(context.Background(), simConfig(t), Opts{})
	if err == nil || !strings.Contains(err.Error(), "testdata/face") || strings.Contains(err.Error(), "--models") {
		t.Fatalf("New outside the source tree: %v", err)
	}
	if ents, _ := os.ReadDir(wd); len(ents) != 0 {
		t.Errorf("wrote %v into the working directory", ents)
	}
}

// TestSimulationKeypad: with policy.access_key "keypad" the simulation waits for the key
// typed on the page (it used to ignore the setting and type it itself).
func TestSimulationKeypad(t *testing.T) {
	cfg := simConfig(t)
	cfg.Policy.AccessKey = "keypad"
	n := simNode(t, cfg, t.TempDir(), Opts{})
	events, unsubscribe := n.Kiosk().Subscribe()
	defer unsubscribe()
	stop := start(n)
	defer stop()
	waitStage := func(s kiosk.Stage, d time.Duration) bool {
		deadline := time.After(d)
		for {
			select {
			case e := <-events:
				if e.Stage == s {
					return true
				}
			case <-deadline:
				return false
			}
		}
	}
	if !waitStage(kiosk.StageAccessKey, 60*time.Second) {
		t.Fatal("no check asked for an access key")
	}
	if waitStage(kiosk.StageReading, time.Second) {
		t.Fatal("the chip was read before a key was typed: the keypad setting is ignored")
	}
	k := n.dm.Docs[0].Key
	body, _ := json.Marshal(map[string]string{"document_number": k.DocumentNumber, "date_of_birth": k.DateOfBirth, "date_of_expiry": k.DateOfExpiry})
	resp, err := http.Post("http://"+n.Addr().String()+"/api/key", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("key refused: %s", resp.Status)
	}
	if !waitStage(kiosk.StageReading, 10*time.Second) {
		t.Error("the typed key did not open the chip")
	}
}

// TestModelsMissing: without the models the daemon names the setting to change, not a
// --models flag that `edgeid run` does not have.
func TestModelsMissing(t *testing.T) {
	tree := t.TempDir()
	face := filepath.Join(tree, "testdata", "face")
	if err := os.MkdirAll(filepath.Join(face, "live"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"astronaut-320.jp2", "camera-320.jp2"} {
		b, err := os.ReadFile(filepath.Join(repoRoot(t), "testdata", "face", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(face, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(tree)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, err = New(context.Background(), simConfig(t), Opts{Listener: ln, StateDir: t.TempDir(), SimulationDir: tree})
	if err == nil || !strings.Contains(err.Error(), "models_dir") || strings.Contains(err.Error(), "--models") {
		t.Errorf("New without models: %v", err)
	}
}
