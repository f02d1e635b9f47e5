// Package pgtest runs Debian's PostgreSQL for tests: initdb in a temporary directory,
// postgres on a free loopback port (its socket in the same directory), stopped by PID at
// cleanup. No system service is used. PostgreSQL refuses to run as root, so as root the
// server runs as the unprivileged user nobody, which owns the data directory.
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is a running PostgreSQL.
type Server struct {
	Dir  string // temporary directory: data/, sock/, postgres.log
	Port int
	cmd  *exec.Cmd
	dbs  atomic.Int64
}

// BinDir returns the directory of initdb and postgres (the newest Debian major version
// installed), or "" when PostgreSQL is not installed.
func BinDir() string {
	if d := os.Getenv("EDGEID_PG_BIN"); d != "" {
		return d
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return major(dirs[i]) > major(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "postgres")); err == nil {
			return d
		}
	}
	return ""
}

func major(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

// Start starts a server for the test and stops it at cleanup. Without PostgreSQL it skips
// the test, but fails it when CI=true (CI installs postgresql-15: the Makefile's DEB_TEST).
func Start(t testing.TB) *Server {
	t.Helper()
	bin := BinDir()
	if bin == "" {
		msg := "PostgreSQL not installed (apt-get install postgresql-15); skipping the warehouse test"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	// Not t.TempDir: its parents are 0700 root, which the unprivileged server cannot pass.
	dir, err := os.MkdirTemp("", "edgeid-pgtest-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := &Server{Dir: dir}
	cred, err := s.prepare()
	if err != nil {
		t.Fatal(err)
	}
	run := func(name string, args ...string) *exec.Cmd {
		c := exec.Command(filepath.Join(bin, name), args...)
		c.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
		c.Env = []string{"LC_ALL=C", "TZ=UTC", "PATH=/usr/bin:/bin"}
		return c
	}
	data := filepath.Join(dir, "data")
	if out, err := run("initdb", "-D", data, "-U", "edgeid", "--auth=trust", "-E", "UTF8", "--no-sync", "--no-instructions").CombinedOutput(); err != nil {
		t.Fatalf("pgtest: initdb: %v\n%s", err, out)
	}
	for try := 0; ; try++ {
		s.Port = freePort(t)
		logf, err := os.Create(filepath.Join(dir, "postgres.log"))
		if err != nil {
			t.Fatal(err)
		}
		// fsync off: a test database need not survive a power cut, and it is far faster.
		c := run("postgres", "-D", data, "-p", strconv.Itoa(s.Port), "-c", "listen_addresses=127.0.0.1",
			"-c", "unix_socket_directories="+filepath.Join(dir, "sock"), "-c", "fsync=off",
			"-c", "synchronous_commit=off", "-c", "full_page_writes=off", "-c", "max_connections=200")
		c.Stdout, c.Stderr = logf, logf
		if err := c.Start(); err != nil {
			logf.Close()
			t.Fatalf("pgtest: postgres: %v", err)
		}
		logf.Close()
		s.cmd = c
		exited := make(chan error, 1)
		go func() { exited <- c.Wait() }()
		if err := s.waitReady(exited); err == nil {
			t.Cleanup(func() { s.stop(exited) })
			return s
		} else if try == 2 {
			log, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
			t.Fatalf("pgtest: postgres did not start: %v\n%s", err, log)
		}
		s.stop(exited) // most likely the port was taken meanwhile: try another
	}
}

// prepare makes the data and socket directories, owned by the user the server runs as.
func (s *Server) prepare() (*syscall.Credential, error) {
	var cred *syscall.Credential
	uid, gid := os.Getuid(), os.Getgid()
	if uid == 0 {
		uid, gid = 65534, 65534 // nobody:nogroup
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	for _, d := range []string{"data", "sock"} {
		p := filepath.Join(s.Dir, d)
		if err := os.Mkdir(p, 0o700); err != nil {
			return nil, err
		}
		if err := os.Chown(p, uid, gid); err != nil {
			return nil, err
		}
	}
	return cred, nil
}

func (s *Server) waitReady(exited chan error) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("postgres exited: %v", err)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		c, err := pgx.Connect(ctx, s.dsn("postgres"))
		if err == nil {
			c.Close(ctx)
			cancel()
			return nil
		}
		cancel()
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("not accepting connections after 30 s")
}

// stop sends SIGINT (PostgreSQL's fast shutdown) to the PID and SIGKILL if it lingers.
func (s *Server) stop(exited chan error) {
	_ = s.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-exited:
	case <-time.After(15 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
}

func (s *Server) dsn(db string) string {
	return fmt.Sprintf("postgres://edgeid@127.0.0.1:%d/%s?sslmode=disable", s.Port, db)
}

// DSN is the URL of the server's postgres database.
func (s *Server) DSN() string { return s.dsn("postgres") }

// NewDB creates an empty database and returns its URL.
func (s *Server) NewDB(t testing.TB) string {
	t.Helper()
	name := "t" + strconv.FormatInt(s.dbs.Add(1), 10) + "_" + strings.ToLower(strconv.FormatInt(time.Now().UnixNano()%1e6, 36))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, s.DSN())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	return s.dsn(name)
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
