package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/config"
	"github.com/edgeid/edgeid/daemon/kiosk"
)

// TestRunSIGTERMDuringCheck runs `edgeid run` (the simulation, from the checkout as make run
// does) in a child process and sends it SIGTERM while a check is reading the chip: the check
// finishes and is audited, and the daemon exits 0. It used to lose the decision ("audit append
// failed: not actuating err=context canceled").
func TestRunSIGTERMDuringCheck(t *testing.T) {
	if os.Getenv("EDGEID_RUN_CHILD") != "" {
		os.Args = []string{"edgeid", "run", "--config", os.Getenv("EDGEID_RUN_CHILD")}
		main()
		return
	}
	cfg, err := config.Defaults()
	if err != nil {
		t.Fatal(err)
	}
	cfg.StateDir, cfg.Web.Listen = t.TempDir(), "127.0.0.1:0"
	cfg.Simulation.Interval = config.Duration(300 * time.Millisecond)
	b, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(t.TempDir(), "edgeid.json")
	if err := os.WriteFile(cfgFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestRunSIGTERMDuringCheck$", "-test.count=1")
	cmd.Dir = "../../.." // the checkout, as make run
	cmd.Env = append(os.Environ(), "EDGEID_RUN_CHILD="+cfgFile)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	watchdog := time.AfterFunc(90*time.Second, func() { _ = cmd.Process.Kill() })
	defer watchdog.Stop()
	logs := bufio.NewScanner(stderr)
	var url string
	var log strings.Builder
	for url == "" && logs.Scan() {
		log.WriteString(logs.Text() + "\n")
		if _, rest, ok := strings.Cut(logs.Text(), `msg="kiosk page" url=`); ok {
			url, _, _ = strings.Cut(rest, " ")
		}
	}
	if url == "" {
		t.Fatalf("the daemon did not start:\n%s", log.String())
	}
	resp, err := http.Get(url + "api/events")
	if err != nil {
		t.Fatal(err)
	}
	var check string
	events := bufio.NewScanner(resp.Body)
	for check == "" && events.Scan() {
		var e kiosk.Event
		if line, ok := strings.CutPrefix(events.Text(), "data: "); ok && json.Unmarshal([]byte(line), &e) == nil && e.Stage == kiosk.StageReading {
			check = e.CheckID
		}
	}
	resp.Body.Close()
	if check == "" {
		t.Fatal("no check started")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for logs.Scan() {
		log.WriteString(logs.Text() + "\n")
	}
	if err := cmd.Wait(); err != nil {
		t.Errorf("edgeid run after SIGTERM: %v\n%s", err, log.String())
	}
	out := log.String()
	if !strings.Contains(out, "msg=decision check="+check) {
		t.Errorf("the check in progress (%s) was not decided:\n%s", check, out)
	}
	if strings.Contains(out, "audit append failed") {
		t.Errorf("a decision was not audited:\n%s", out)
	}
}
