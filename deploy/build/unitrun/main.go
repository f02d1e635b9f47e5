// Command unitrun starts a systemd service's main process inside a chroot the way systemd would
// start it, as far as a program that is not PID 1 can, and reports what the process does.
//
// From the unit's [Service] section it follows ExecStart, User, Group, SupplementaryGroups,
// UMask, StateDirectory(Mode) (created and owned by the user), ConfigurationDirectory (must
// exist; its owner is left alone, as systemd does), LoadCredential (copied to
// $CREDENTIALS_DIRECTORY, readable by the user only), Type=notify (a NOTIFY_SOCKET it reads
// READY=1, WATCHDOG=1 and STOPPING=1 from), WatchdogSec ($WATCHDOG_USEC) and TimeoutStopSec.
// Every other setting (the sandboxing above all) is listed as not emulated: a chroot does not
// show whether the daemon works under it.
//
//	unitrun -root DIR -unit /lib/systemd/system/x.service -expect ready [-healthz URL] [-watchdog]
//	unitrun -root DIR -unit ... -expect exit
//
// With -expect ready the process must report READY=1, with -watchdog ping the watchdog once,
// answer -healthz (any HTTP status), then stop on SIGTERM with STOPPING=1 and exit status 0.
// With -expect exit it must exit with a non-zero status before reporting READY=1.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	var o opts
	flag.StringVar(&o.root, "root", "", "the chroot")
	flag.StringVar(&o.unit, "unit", "", "the unit file, as a path inside the chroot")
	flag.StringVar(&o.expect, "expect", "ready", "ready: READY=1, then a clean stop on SIGTERM; exit: a failing exit before READY=1")
	flag.StringVar(&o.healthz, "healthz", "", "URL to GET once ready (and after the first watchdog ping, with -watchdog)")
	flag.BoolVar(&o.watchdog, "watchdog", false, "once ready, wait for the first WATCHDOG=1 (up to WatchdogSec)")
	flag.DurationVar(&o.timeout, "timeout", 90*time.Second, "how long the process may take to be ready, or to exit")
	flag.Parse()
	if o.root == "" || o.unit == "" || (o.expect != "ready" && o.expect != "exit") || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "usage: unitrun -root DIR -unit PATH [-expect ready|exit] [-healthz URL] [-watchdog] [-timeout D]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, &o)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "unitrun: FAIL:", err)
		os.Exit(1)
	}
}

type opts struct {
	root, unit, expect, healthz string
	watchdog                    bool
	timeout                     time.Duration
}

// service is the [Service] section: every key with its values in order.
type service map[string][]string

func (s service) last(key, def string) string {
	if v := s[key]; len(v) > 0 {
		return v[len(v)-1]
	}
	return def
}

// emulated says whether this program follows a [Service] setting (or, for Type, checks it).
func emulated(key string) bool {
	switch key {
	case "Type", "ExecStart", "User", "Group", "SupplementaryGroups", "UMask", "StateDirectory", "StateDirectoryMode",
		"ConfigurationDirectory", "ConfigurationDirectoryMode", "LoadCredential", "WatchdogSec", "TimeoutStopSec", "NotifyAccess":
		return true
	}
	return false
}

func parseUnit(r io.Reader) (service, error) {
	s := service{}
	section := ""
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || line[0] == '#' || line[0] == ';' {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			return nil, fmt.Errorf("line %d: continued lines are not handled", n)
		}
		if line[0] == '[' {
			section = strings.Trim(line, "[]")
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			return nil, fmt.Errorf("line %d: not key=value: %q", n, line)
		}
		if section == "Service" {
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if v == "" { // an empty assignment resets a list
				s[k] = nil
				continue
			}
			s[k] = append(s[k], v)
		}
	}
	return s, sc.Err()
}

// ids reads a user's and groups' numeric ids from the chroot's passwd and group files.
type ids struct {
	users  map[string][2]int // name -> uid, primary gid
	groups map[string]int
}

func readIDs(root string) (*ids, error) {
	r := &ids{users: map[string][2]int{}, groups: map[string]int{}}
	for _, f := range []string{"etc/passwd", "etc/group"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			return nil, err
		}
		for _, line := range strings.Split(string(b), "\n") {
			fields := strings.Split(line, ":")
			if len(fields) < 4 {
				continue
			}
			a, err1 := strconv.Atoi(fields[2])
			b, err2 := strconv.Atoi(fields[3])
			switch {
			case f == "etc/passwd" && err1 == nil && err2 == nil:
				r.users[fields[0]] = [2]int{a, b}
			case f == "etc/group" && err1 == nil:
				r.groups[fields[0]] = a
			}
		}
	}
	return r, nil
}

// parseDuration reads systemd's time spans as this unit writes them ("30s", "2min", "15").
func parseDuration(s string) (time.Duration, error) {
	s = strings.ReplaceAll(s, "min", "m")
	if _, err := strconv.Atoi(s); err == nil {
		s += "s"
	}
	return time.ParseDuration(s)
}

func run(ctx context.Context, o *opts) error {
	f, err := os.Open(filepath.Join(o.root, o.unit))
	if err != nil {
		return err
	}
	svc, err := parseUnit(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", o.unit, err)
	}
	var skipped []string
	for k := range svc {
		if !emulated(k) {
			skipped = append(skipped, k)
		}
	}
	slices.Sort(skipped)
	fmt.Printf("unitrun: not emulated (systemd's own): %s\n", strings.Join(skipped, " "))

	if t := svc.last("Type", "simple"); t != "notify" {
		return fmt.Errorf("unit type %s: only Type=notify units are handled", t)
	}
	argv := strings.Fields(svc.last("ExecStart", ""))
	if len(argv) == 0 || !filepath.IsAbs(argv[0]) || strings.ContainsAny(svc.last("ExecStart", ""), `"'%$\`) {
		return fmt.Errorf("ExecStart=%s: want an absolute path and plain words (no prefixes, quotes, specifiers or variables)", svc.last("ExecStart", ""))
	}
	id, err := readIDs(o.root)
	if err != nil {
		return err
	}
	user := svc.last("User", "root")
	u, ok := id.users[user]
	if !ok {
		return fmt.Errorf("user %s (User=): not in the chroot", user)
	}
	gid := u[1]
	if g := svc.last("Group", ""); g != "" {
		if gid, ok = id.groups[g]; !ok {
			return fmt.Errorf("group %s (Group=): not in the chroot", g)
		}
	}
	var groups []uint32
	for _, line := range svc["SupplementaryGroups"] {
		for _, g := range strings.Fields(line) {
			n, ok := id.groups[g]
			if !ok {
				return fmt.Errorf("SupplementaryGroups: no group %s in the chroot", g)
			}
			groups = append(groups, uint32(n))
		}
	}
	umask, err := strconv.ParseUint(svc.last("UMask", "0022"), 8, 32)
	if err != nil {
		return fmt.Errorf("UMask: %w", err)
	}
	watchdog, err := parseDuration(svc.last("WatchdogSec", "0"))
	if err != nil {
		return fmt.Errorf("WatchdogSec: %w", err)
	}
	stopTimeout, err := parseDuration(svc.last("TimeoutStopSec", "90s"))
	if err != nil {
		return fmt.Errorf("TimeoutStopSec: %w", err)
	}
	env := []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
		"USER=" + user, "LOGNAME=" + user, "HOME=/", "SHELL=/usr/sbin/nologin"}

	// StateDirectory: made and handed to the user; ConfigurationDirectory: must exist.
	for _, d := range strings.Fields(strings.Join(svc["StateDirectory"], " ")) {
		mode, err := strconv.ParseUint(svc.last("StateDirectoryMode", "0755"), 8, 32)
		if err != nil {
			return fmt.Errorf("StateDirectoryMode: %w", err)
		}
		p := filepath.Join(o.root, "var/lib", d)
		if err := os.MkdirAll(p, os.FileMode(mode)); err != nil {
			return err
		}
		if err := os.Chown(p, u[0], gid); err != nil {
			return err
		}
		if err := os.Chmod(p, os.FileMode(mode)); err != nil {
			return err
		}
		env = append(env, "STATE_DIRECTORY=/var/lib/"+d)
	}
	for _, d := range strings.Fields(strings.Join(svc["ConfigurationDirectory"], " ")) {
		st, err := os.Stat(filepath.Join(o.root, "etc", d))
		if err != nil {
			return fmt.Errorf("ConfigurationDirectory=%s: %w", d, err)
		}
		if want := svc.last("ConfigurationDirectoryMode", ""); want != "" && fmt.Sprintf("%04o", st.Mode().Perm()) != want {
			fmt.Printf("unitrun: /etc/%s has mode %04o, the unit asks %s\n", d, st.Mode().Perm(), want)
		}
		env = append(env, "CONFIGURATION_DIRECTORY=/etc/"+d)
	}

	// Credentials: copies readable by the service user only.
	name := strings.TrimSuffix(filepath.Base(o.unit), ".service")
	credRel := "run/credentials/" + name + ".service"
	if creds := svc["LoadCredential"]; len(creds) > 0 {
		dir := filepath.Join(o.root, credRel)
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return err
		}
		if err := os.Mkdir(dir, 0o500); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		for _, c := range creds {
			cid, src, ok := strings.Cut(c, ":")
			if !ok || strings.Contains(cid, "/") {
				return fmt.Errorf("LoadCredential=%s: want ID:PATH", c)
			}
			b, err := os.ReadFile(filepath.Join(o.root, src))
			if err != nil {
				return fmt.Errorf("LoadCredential=%s: %w", c, err)
			}
			p := filepath.Join(dir, cid)
			if err := os.WriteFile(p, b, 0o400); err != nil {
				return err
			}
			if err := os.Chown(p, u[0], gid); err != nil {
				return err
			}
		}
		if err := os.Chown(dir, u[0], gid); err != nil {
			return err
		}
		env = append(env, "CREDENTIALS_DIRECTORY=/"+credRel)
	}

	// The notification socket, in the chroot's /run.
	sockRel := "run/unitrun-" + name + ".notify"
	sockPath := filepath.Join(o.root, sockRel)
	os.Remove(sockPath)
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sockPath, Net: "unixgram"})
	if err != nil {
		return err
	}
	defer os.Remove(sockPath)
	defer conn.Close()
	if err := os.Chown(sockPath, u[0], gid); err != nil {
		return err
	}
	env = append(env, "NOTIFY_SOCKET=/"+sockRel)
	if watchdog > 0 {
		env = append(env, "WATCHDOG_USEC="+strconv.FormatInt(watchdog.Microseconds(), 10))
	}
	notes := make(chan string, 64)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				close(notes)
				return
			}
			for _, l := range strings.Split(string(buf[:n]), "\n") {
				if l != "" {
					notes <- l
				}
			}
		}
	}()

	cmd := &exec.Cmd{Path: argv[0], Args: argv, Env: env, Dir: "/", Stdout: prefixed("daemon| "), Stderr: prefixed("daemon| "),
		SysProcAttr: &syscall.SysProcAttr{Chroot: o.root, Setpgid: true,
			Credential: &syscall.Credential{Uid: uint32(u[0]), Gid: uint32(gid), Groups: groups}}}
	old := syscall.Umask(int(umask))
	err = cmd.Start()
	syscall.Umask(old)
	if err != nil {
		return fmt.Errorf("start %s in the chroot as %s: %w", argv[0], user, err)
	}
	fmt.Printf("unitrun: started %s as %s (uid %d gid %d, %d supplementary groups), umask %04o\n", strings.Join(argv, " "), user, u[0], gid, len(groups), umask)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the whole process group, whatever happens
	start := time.Now()
	since := func() string { return fmt.Sprintf("%.1f s", time.Since(start).Seconds()) }

	// wait reads notifications until want arrives or the process exits.
	wait := func(want string, limit time.Duration) (bool, error) {
		t := time.NewTimer(limit)
		defer t.Stop()
		for {
			select {
			case n, ok := <-notes:
				if !ok {
					return false, errors.New("notification socket closed")
				}
				fmt.Printf("unitrun: %s after %s\n", n, since())
				if n == want {
					return true, nil
				}
			case err := <-exited:
				exited <- err
				return false, nil
			case <-t.C:
				return false, nil
			case <-ctx.Done():
				return false, ctx.Err()
			}
		}
	}

	if o.expect == "exit" {
		ready, err := wait("READY=1", o.timeout)
		if err != nil {
			return err
		}
		if ready {
			return errors.New("the process reported READY=1; expected it to refuse to start")
		}
		select {
		case err := <-exited:
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				return fmt.Errorf("the process exited with status 0 (or could not be waited for: %v); expected a failure", err)
			}
			fmt.Printf("unitrun: exited with status %d after %s, before READY=1, as expected\n", ee.ExitCode(), since())
			return nil
		default:
			return fmt.Errorf("still running after %s", o.timeout)
		}
	}

	ready, err := wait("READY=1", o.timeout)
	if err != nil {
		return err
	}
	if !ready {
		select {
		case err := <-exited:
			return fmt.Errorf("the process exited before READY=1: %v", err)
		default:
			return fmt.Errorf("no READY=1 within %s", o.timeout)
		}
	}
	if o.watchdog {
		if watchdog == 0 {
			return errors.New("-watchdog, but the unit sets no WatchdogSec")
		}
		ok, err := wait("WATCHDOG=1", watchdog)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("no WATCHDOG=1 within WatchdogSec=%s", watchdog)
		}
	}
	if o.healthz != "" {
		if err := get(ctx, o.healthz); err != nil {
			return err
		}
	}
	stopAt := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	stopping, err := wait("STOPPING=1", stopTimeout)
	if err != nil {
		return err
	}
	select {
	case err := <-exited:
		if err != nil {
			return fmt.Errorf("after SIGTERM: %v", err)
		}
	case <-time.After(stopTimeout - time.Since(stopAt)):
		return fmt.Errorf("still running %s after SIGTERM (TimeoutStopSec)", stopTimeout)
	}
	if !stopping {
		return errors.New("exited on SIGTERM without STOPPING=1")
	}
	fmt.Printf("unitrun: stopped on SIGTERM with status 0 in %.1f s\n", time.Since(stopAt).Seconds())
	return nil
}

// get fetches a URL and prints the answer; any HTTP status counts as an answer.
func get(ctx context.Context, url string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("GET %s: %w", url, err)
	}
	fmt.Printf("unitrun: GET %s: %s %s\n", url, resp.Status, strings.TrimSpace(string(body)))
	return nil
}

// prefixed writes each line to stdout behind a prefix.
type prefixWriter struct {
	prefix string
	buf    []byte
}

func prefixed(p string) io.Writer { return &prefixWriter{prefix: p} }

func (w *prefixWriter) Write(b []byte) (int, error) {
	w.buf = append(w.buf, b...)
	for {
		i := slices.Index(w.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		fmt.Printf("%s%s\n", w.prefix, w.buf[:i])
		w.buf = w.buf[i+1:]
	}
}
