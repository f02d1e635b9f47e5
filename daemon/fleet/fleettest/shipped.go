package fleettest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// shippedFleet is the fleet name deploy/fleet/acl is written for.
const shippedFleet = "fleet1"

// shippedDir finds deploy/fleet of this module by walking up from the working directory (a
// package directory under go test) to the go.mod that names the module.
func shippedDir(t testing.TB) string {
	t.Helper()
	d, err := os.Getwd()
	if err != nil {
		t.Fatalf("fleettest: %v", err)
	}
	for {
		if m, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil {
			if !bytes.HasPrefix(m, []byte("module github.com/edgeid/edgeid\n")) {
				t.Fatalf("fleettest: %s/go.mod is not edgeid's: run the tests inside the edgeid module", d)
			}
			return filepath.Join(d, "deploy", "fleet")
		}
		up := filepath.Dir(d)
		if up == d {
			t.Fatal("fleettest: no go.mod above the working directory: deploy/fleet cannot be found")
		}
		d = up
	}
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("fleettest: %v", err)
	}
	return string(b)
}

// shippedConf sets the value of each directive in set, which must occur exactly once in conf
// (so a shipped file that grows a second listener, or renames a directive, fails the tests
// instead of leaving a production path or port in them). No absolute path may remain after.
func shippedConf(conf string, set map[string]string) (string, error) {
	seen := map[string]int{}
	var out strings.Builder
	sc := bufio.NewScanner(strings.NewReader(conf))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		if len(f) > 0 && !strings.HasPrefix(f[0], "#") {
			if v, ok := set[f[0]]; ok {
				seen[f[0]]++
				line = f[0] + " " + v
			} else if strings.Contains(line, "/") {
				return "", fmt.Errorf("directive %q names a path the test harness does not move", line)
			}
		}
		out.WriteString(line + "\n")
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(set)) {
		if seen[k] != 1 {
			errs = append(errs, fmt.Errorf("directive %s: found %d times, the test harness expects it once", k, seen[k]))
		}
	}
	return out.String(), errors.Join(errs...)
}

// shippedACL puts fleet in place of the shipped fleet name in every topic and adds a copy of
// the collector's block for each admin that has no block of its own. Every topic and pattern
// must be under edgeid/v1/fleet1/, so a rule the substitution would miss fails the tests.
func shippedACL(acl, fleet string, admins []string) (string, error) {
	root := "edgeid/v1/" + shippedFleet + "/"
	var out strings.Builder
	users := map[string]bool{}
	var collector []string // the collector block's rules
	user := ""
	sc := bufio.NewScanner(strings.NewReader(acl))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		switch {
		case len(f) == 0 || strings.HasPrefix(f[0], "#"):
		case f[0] == "user" && len(f) == 2:
			user = f[1]
			users[user] = true
		case (f[0] == "topic" || f[0] == "pattern") && len(f) >= 2:
			topic := f[len(f)-1]
			if !strings.HasPrefix(topic, root) {
				return "", fmt.Errorf("%q: topic not under %s (the harness substitutes the fleet name there)", line, root)
			}
			line = strings.Join(f[:len(f)-1], " ") + " edgeid/v1/" + fleet + "/" + strings.TrimPrefix(topic, root)
			if f[0] == "topic" && user == "collector" {
				collector = append(collector, line)
			}
			if f[0] == "pattern" {
				user = "" // patterns come after the user blocks and apply to every client
			}
		default:
			return "", fmt.Errorf("%q: a line the test harness does not know", line)
		}
		out.WriteString(line + "\n")
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	if len(collector) == 0 {
		return "", errors.New("no user collector block with topic rules to copy for further collectors")
	}
	for _, a := range admins {
		if users[a] {
			continue
		}
		users[a] = true
		fmt.Fprintf(&out, "\n# added by fleettest: a further collector\nuser %s\n%s\n", a, strings.Join(collector, "\n"))
	}
	return out.String(), nil
}
