package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// daemonUnit parses the daemon's own unit file.
func daemonUnit(t *testing.T) service {
	t.Helper()
	f, err := os.Open("../../../systemd/edgeid.service")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	svc, err := parseUnit(f)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// TestParseUnit reads the daemon's own unit: the settings unitrun acts on must come out whole.
func TestParseUnit(t *testing.T) {
	svc := daemonUnit(t)
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

// fakeRoot is a chroot-like folder with the edgeid user and the unit's groups, all mapped to
// this process's own ids so that chown works without root.
func fakeRoot(t *testing.T) (string, service) {
	t.Helper()
	root := t.TempDir()
	uid, gid := os.Getuid(), os.Getgid()
	for path, body := range map[string]string{
		"etc/passwd":           fmt.Sprintf("root:x:0:0::/root:/bin/sh\nedgeid:x:%d:%d::/var/lib/edgeid:/usr/sbin/nologin\n", uid, gid),
		"etc/group":            fmt.Sprintf("root:x:0:\nedgeid:x:%d:\nvideo:x:44:\ni2c:x:990:\nspi:x:991:\ngpio:x:992:\ndialout:x:20:\n", gid),
		"etc/edgeid/store.key": strings.Repeat("ab", 32) + "\n",
	} {
		p := filepath.Join(root, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o750); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return root, daemonUnit(t)
}

// TestLaunch prepares the daemon's unit in a fake root: user, groups, umask, timeouts, the
// state directory and the store-key credential, as systemd would hand them over.
func TestLaunch(t *testing.T) {
	root, svc := fakeRoot(t)
	l, err := plan(root, svc)
	if err != nil {
		t.Fatal(err)
	}
	if l.uid != os.Getuid() || l.gid != os.Getgid() || len(l.groups) != 5 || l.umask != 0o077 {
		t.Errorf("uid %d gid %d groups %v umask %04o; want %d, %d, five groups, 0077", l.uid, l.gid, l.groups, l.umask, os.Getuid(), os.Getgid())
	}
	if l.watchdog != 30*time.Second || l.stopTimeout != 15*time.Second {
		t.Errorf("watchdog %v, stop timeout %v; want 30s, 15s", l.watchdog, l.stopTimeout)
	}
	if err := l.directories(root, svc); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(filepath.Join(root, "var/lib/edgeid")); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("state directory: %v, %v; want mode 0700", st, err)
	}
	remove, err := l.credentials(root, "edgeid", svc)
	if err != nil {
		t.Fatal(err)
	}
	cred := filepath.Join(root, "run/credentials/edgeid.service/store-key")
	if st, err := os.Stat(cred); err != nil || st.Mode().Perm() != 0o400 {
		t.Errorf("credential: %v, %v; want mode 0400", st, err)
	}
	env := strings.Join(l.env, "\n")
	for _, want := range []string{"CREDENTIALS_DIRECTORY=/run/credentials/edgeid.service", "STATE_DIRECTORY=/var/lib/edgeid", "WATCHDOG_USEC=30000000", "USER=edgeid"} {
		if !strings.Contains(env, want) {
			t.Errorf("environment lacks %s:\n%s", want, env)
		}
	}
	remove()
	if _, err := os.Stat(cred); !os.IsNotExist(err) {
		t.Errorf("credential left behind: %v", err)
	}

	svc["User"] = []string{"nobody"}
	if _, err := plan(root, svc); err == nil || !strings.Contains(err.Error(), "user nobody") {
		t.Errorf("a user the chroot lacks: %v", err)
	}
	svc["User"], svc["ExecStart"] = []string{"edgeid"}, []string{"edgeid run"}
	if _, err := plan(root, svc); err == nil || !strings.Contains(err.Error(), "absolute path") {
		t.Errorf("a relative ExecStart: %v", err)
	}
}
