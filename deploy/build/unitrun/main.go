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

	l, err := plan(o.root, svc)
	if err != nil {
		return err
	}
	name := strings.TrimSuffix(filepath.Base(o.unit), ".service")
	if err := l.directories(o.root, svc); err != nil {
		return err
	}
	removeCreds, err := l.credentials(o.root, name, svc)
	if err != nil {
		return err
	}
	defer removeCreds()
	notes, closeSocket, err := l.notifySocket(o.root, name)
	if err != nil {
		return err
	}
	defer closeSocket()

	p, err := l.start(o.root, notes)
	if err != nil {
		return err
	}
	defer p.kill()
	if o.expect == "exit" {
		return p.expectFailure(ctx, o.timeout)
	}
	return p.expectService(ctx, o)
}

// launch is how systemd would start the unit's main process.
type launch struct {
	argv                  []string
	user                  string
	uid, gid              int
	groups                []uint32
	umask                 int
	watchdog, stopTimeout time.Duration
	env                   []string
}

// plan reads what the unit says about its main process: the command, the user and groups
// (from the chroot's passwd and group), the umask and the timeouts.
func plan(root string, svc service) (*launch, error) {
	if t := svc.last("Type", "simple"); t != "notify" {
		return nil, fmt.Errorf("unit type %s: only Type=notify units are handled", t)
	}
	execStart := svc.last("ExecStart", "")
	l := &launch{argv: strings.Fields(execStart), user: svc.last("User", "root")}
	if len(l.argv) == 0 || !filepath.IsAbs(l.argv[0]) || strings.ContainsAny(execStart, `"'%$\`) {
		return nil, fmt.Errorf("ExecStart=%s: want an absolute path and plain words (no prefixes, quotes, specifiers or variables)", execStart)
	}
	id, err := readIDs(root)
	if err != nil {
		return nil, err
	}
	u, ok := id.users[l.user]
	if !ok {
		return nil, fmt.Errorf("user %s (User=): not in the chroot", l.user)
	}
	l.uid, l.gid = u[0], u[1]
	if g := svc.last("Group", ""); g != "" {
		if l.gid, ok = id.groups[g]; !ok {
			return nil, fmt.Errorf("group %s (Group=): not in the chroot", g)
		}
	}
	for _, line := range svc["SupplementaryGroups"] {
		for _, g := range strings.Fields(line) {
			n, ok := id.groups[g]
			if !ok {
				return nil, fmt.Errorf("SupplementaryGroups: no group %s in the chroot", g)
			}
			l.groups = append(l.groups, uint32(n))
		}
	}
	umask, err := strconv.ParseUint(svc.last("UMask", "0022"), 8, 32)
	if err != nil {
		return nil, fmt.Errorf("UMask: %w", err)
	}
	l.umask = int(umask)
	if l.watchdog, err = parseDuration(svc.last("WatchdogSec", "0")); err != nil {
		return nil, fmt.Errorf("WatchdogSec: %w", err)
	}
	if l.stopTimeout, err = parseDuration(svc.last("TimeoutStopSec", "90s")); err != nil {
		return nil, fmt.Errorf("TimeoutStopSec: %w", err)
	}
	l.env = []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
		"USER=" + l.user, "LOGNAME=" + l.user, "HOME=/", "SHELL=/usr/sbin/nologin"}
	if l.watchdog > 0 {
		l.env = append(l.env, "WATCHDOG_USEC="+strconv.FormatInt(l.watchdog.Microseconds(), 10))
	}
	return l, nil
}

// directories makes the StateDirectory and hands it to the user, and checks that the
// ConfigurationDirectory exists (systemd leaves its owner alone).
func (l *launch) directories(root string, svc service) error {
	for _, d := range strings.Fields(strings.Join(svc["StateDirectory"], " ")) {
		mode, err := strconv.ParseUint(svc.last("StateDirectoryMode", "0755"), 8, 32)
		if err != nil {
			return fmt.Errorf("StateDirectoryMode: %w", err)
		}
		p := filepath.Join(root, "var/lib", d)
		if err := os.MkdirAll(p, os.FileMode(mode)); err != nil {
			return err
		}
		if err := os.Chown(p, l.uid, l.gid); err != nil {
			return err
		}
		if err := os.Chmod(p, os.FileMode(mode)); err != nil {
			return err
		}
		l.env = append(l.env, "STATE_DIRECTORY=/var/lib/"+d)
	}
	for _, d := range strings.Fields(strings.Join(svc["ConfigurationDirectory"], " ")) {
		st, err := os.Stat(filepath.Join(root, "etc", d))
		if err != nil {
			return fmt.Errorf("ConfigurationDirectory=%s: %w", d, err)
		}
		if want := svc.last("ConfigurationDirectoryMode", ""); want != "" && fmt.Sprintf("%04o", st.Mode().Perm()) != want {
			fmt.Printf("unitrun: /etc/%s has mode %04o, the unit asks %s\n", d, st.Mode().Perm(), want)
		}
		l.env = append(l.env, "CONFIGURATION_DIRECTORY=/etc/"+d)
	}
	return nil
}

// credentials copies each LoadCredential file to /run/credentials/NAME.service, readable by
// the service user only, and returns what removes them.
func (l *launch) credentials(root, name string, svc service) (func(), error) {
	creds := svc["LoadCredential"]
	if len(creds) == 0 {
		return func() {}, nil
	}
	rel := "run/credentials/" + name + ".service"
	dir := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, err
	}
	if err := os.Mkdir(dir, 0o500); err != nil {
		return nil, err
	}
	remove := func() { os.RemoveAll(dir) }
	for _, c := range creds {
		cid, src, ok := strings.Cut(c, ":")
		if !ok || strings.Contains(cid, "/") {
			remove()
			return nil, fmt.Errorf("LoadCredential=%s: want ID:PATH", c)
		}
		b, err := os.ReadFile(filepath.Join(root, src))
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, cid), b, 0o400)
		}
		if err == nil {
			err = os.Chown(filepath.Join(dir, cid), l.uid, l.gid)
		}
		if err != nil {
			remove()
			return nil, fmt.Errorf("LoadCredential=%s: %w", c, err)
		}
	}
	if err := os.Chown(dir, l.uid, l.gid); err != nil {
		remove()
		return nil, err
	}
	l.env = append(l.env, "CREDENTIALS_DIRECTORY=/"+rel)
	return remove, nil
}

// notifySocket listens on a datagram socket in the chroot's /run, as $NOTIFY_SOCKET, and
// passes on each line the service sends.
func (l *launch) notifySocket(root, name string) (<-chan string, func(), error) {
	rel := "run/unitrun-" + name + ".notify"
	path := filepath.Join(root, rel)
	os.Remove(path)
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		return nil, nil, err
	}
	closeFn := func() {
		conn.Close()
		os.Remove(path)
	}
	if err := os.Chown(path, l.uid, l.gid); err != nil {
		closeFn()
		return nil, nil, err
	}
	l.env = append(l.env, "NOTIFY_SOCKET=/"+rel)
	notes := make(chan string, 64)
	go func() {
		defer close(notes)
		buf := make([]byte, 4096)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				return
			}
			for _, line := range strings.Split(string(buf[:n]), "\n") {
				if line != "" {
					notes <- line
				}
			}
		}
	}()
	return notes, closeFn, nil
}

// proc is the started main process.
type proc struct {
	cmd    *exec.Cmd
	l      *launch
	notes  <-chan string
	exited chan error
	start  time.Time
}

// start runs the main process chrooted, as the user, with the unit's umask, in a process
// group of its own.
func (l *launch) start(root string, notes <-chan string) (*proc, error) {
	cmd := &exec.Cmd{Path: l.argv[0], Args: l.argv, Env: l.env, Dir: "/", Stdout: prefixed("daemon| "), Stderr: prefixed("daemon| "),
		SysProcAttr: &syscall.SysProcAttr{Chroot: root, Setpgid: true,
			Credential: &syscall.Credential{Uid: uint32(l.uid), Gid: uint32(l.gid), Groups: l.groups}}}
	old := syscall.Umask(l.umask)
	err := cmd.Start()
	syscall.Umask(old)
	if err != nil {
		return nil, fmt.Errorf("start %s in the chroot as %s: %w", l.argv[0], l.user, err)
	}
	fmt.Printf("unitrun: started %s as %s (uid %d gid %d, %d supplementary groups), umask %04o\n",
		strings.Join(l.argv, " "), l.user, l.uid, l.gid, len(l.groups), l.umask)
	p := &proc{cmd: cmd, l: l, notes: notes, exited: make(chan error, 1), start: time.Now()}
	go func() { p.exited <- cmd.Wait() }()
	return p, nil
}

// kill ends the whole process group, whatever state it is in.
func (p *proc) kill() { syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL) }

func (p *proc) since() string { return fmt.Sprintf("%.1f s", time.Since(p.start).Seconds()) }

// wait reads notifications until want arrives (true), or the process exits or limit passes
// (false).
func (p *proc) wait(ctx context.Context, want string, limit time.Duration) (bool, error) {
	t := time.NewTimer(limit)
	defer t.Stop()
	for {
		select {
		case n, ok := <-p.notes:
			if !ok {
				return false, errors.New("notification socket closed")
			}
			fmt.Printf("unitrun: %s after %s\n", n, p.since())
			if n == want {
				return true, nil
			}
		case err := <-p.exited:
			p.exited <- err // for the caller
			return false, nil
		case <-t.C:
			return false, nil
		case <-ctx.Done():
			return false, ctx.Err()
		}
	}
}

// expectFailure wants the process to exit with a non-zero status before READY=1.
func (p *proc) expectFailure(ctx context.Context, timeout time.Duration) error {
	ready, err := p.wait(ctx, "READY=1", timeout)
	if err != nil {
		return err
	}
	if ready {
		return errors.New("the process reported READY=1; expected it to refuse to start")
	}
	select {
	case err := <-p.exited:
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return fmt.Errorf("the process exited with status 0 (or could not be waited for: %v); expected a failure", err)
		}
		fmt.Printf("unitrun: exited with status %d after %s, before READY=1, as expected\n", ee.ExitCode(), p.since())
		return nil
	default:
		return fmt.Errorf("still running after %s", timeout)
	}
}

// expectService wants READY=1, then (with -watchdog) a WATCHDOG=1, an answer from -healthz,
// and on SIGTERM STOPPING=1 and exit status 0 within TimeoutStopSec.
func (p *proc) expectService(ctx context.Context, o *opts) error {
	ready, err := p.wait(ctx, "READY=1", o.timeout)
	if err != nil {
		return err
	}
	if !ready {
		select {
		case err := <-p.exited:
			return fmt.Errorf("the process exited before READY=1: %v", err)
		default:
			return fmt.Errorf("no READY=1 within %s", o.timeout)
		}
	}
	if o.watchdog {
		if p.l.watchdog == 0 {
			return errors.New("-watchdog, but the unit sets no WatchdogSec")
		}
		ok, err := p.wait(ctx, "WATCHDOG=1", p.l.watchdog)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("no WATCHDOG=1 within WatchdogSec=%s", p.l.watchdog)
		}
	}
	if o.healthz != "" {
		if err := get(ctx, o.healthz); err != nil {
			return err
		}
	}
	stopAt := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	stopping, err := p.wait(ctx, "STOPPING=1", p.l.stopTimeout)
	if err != nil {
		return err
	}
	select {
	case err := <-p.exited:
		if err != nil {
			return fmt.Errorf("after SIGTERM: %v", err)
		}
	case <-time.After(p.l.stopTimeout - time.Since(stopAt)):
		return fmt.Errorf("still running %s after SIGTERM (TimeoutStopSec)", p.l.stopTimeout)
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
