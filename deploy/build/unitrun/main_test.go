package main

import (
	"os"
	"strings"
	"testing"
	"time"
)

// TestParseUnit reads the daemon's own unit: the settings unitrun acts on must come out whole.
func TestParseUnit(t *testing.T) {
	f, err := os.Open("../../../systemd/edgeid.service")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	svc, err := parseUnit(f)
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"Type":           "notify",
		"ExecStart":      "/usr/bin/edgeid run --config /etc/edgeid/edgeid.json",
		"User":           "edgeid",
		"LoadCredential": "store-key:/etc/edgeid/store.key",
		"StateDirectory": "edgeid",
		"WatchdogSec":    "30s",
	} {
		if got := svc.last(key, ""); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if got := len(svc["DeviceAllow"]); got < 5 {
		t.Errorf("DeviceAllow has %d values, want every line", got)
	}
	if _, ok := svc["Description"]; ok {
		t.Error("a [Unit] key landed in the [Service] section")
	}
	reset, err := parseUnit(strings.NewReader("[Service]\nSupplementaryGroups=a b\nSupplementaryGroups=\nSupplementaryGroups=c\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := reset["SupplementaryGroups"]; len(got) != 1 || got[0] != "c" {
		t.Errorf("an empty assignment did not reset the list: %q", got)
	}
	for _, bad := range []string{"[Service]\nExecStart=/bin/x \\\n  -y\n", "[Service]\nno equals sign\n"} {
		if _, err := parseUnit(strings.NewReader(bad)); err == nil {
			t.Errorf("parseUnit(%q): no error", bad)
		}
	}
}

func TestParseDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"30s": 30 * time.Second, "2min": 2 * time.Minute, "15": 15 * time.Second, "0": 0} {
		if got, err := parseDuration(in); err != nil || got != want {
			t.Errorf("parseDuration(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseDuration("soon"); err == nil {
		t.Error("parseDuration(soon): no error")
	}
}
