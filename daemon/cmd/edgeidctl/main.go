// Command edgeidctl is the fleet side of edgeid: keys, signed revocation lists, enrolled
// template pushes, and the audit collector and verifier.
//
// Exit status: 0 on success, 1 for a negative outcome that is not an error (audit verify found
// problems), 2 for an error.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"

	"github.com/edgeid/edgeid/daemon/fleet"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type env struct {
	stdout io.Writer
	stderr io.Writer
}

type command struct {
	path    string
	summary string
	run     func(ctx context.Context, e env, args []string) error
}

func commands() []command {
	cmds := []command{
		{path: "keygen", summary: "write a new Ed25519 key pair (PREFIX.key, PREFIX.pub)", run: runKeygen},
		{path: "revoke add", summary: "add entries to the fleet revocation state", run: runRevokeAdd},
		{path: "revoke remove", summary: "remove entries from the fleet revocation state", run: runRevokeRemove},
		{path: "revoke publish", summary: "sign and publish the revocation list (delta + retained snapshot, or -full)", run: runRevokePublish},
		{path: "enroll push", summary: "sign and publish a site's enrolled templates from a manifest", run: runEnrollPush},
		{path: "audit collect", summary: "collect, check, ack and store kiosks' audit records as JSON lines", run: runAuditCollect},
		{path: "audit verify", summary: "verify a collected audit file: chains and checkpoint signatures", run: runAuditVerify},
		{path: "sim", summary: "simulate a fleet of kiosks on a broker and measure fan-out and ingest", run: runSim},
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].path < cmds[j].path })
	return cmds
}

type exitStatus struct {
	code int
	msg  string
}

func (e *exitStatus) Error() string { return e.msg }

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{msg: fmt.Sprintf(format, a...)} }

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := env{stdout: stdout, stderr: stderr}
	cmd, rest := lookup(commands(), args)
	if cmd == nil {
		if len(args) > 0 && args[0] != "help" && args[0] != "-h" && args[0] != "--help" {
			fmt.Fprintf(stderr, "edgeidctl: unknown command %q\n\n", strings.Join(args, " "))
			printUsage(stderr)
			return 2
		}
		printUsage(stdout)
		return 0
	}
	err := cmd.run(ctx, e, rest)
	var st *exitStatus
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &st):
		if st.msg != "" {
			fmt.Fprintln(stderr, st.msg)
		}
		return st.code
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "edgeidctl %s: %s (see edgeidctl %s -h)\n", cmd.path, ue.msg, cmd.path)
		return 2
	default:
		fmt.Fprintf(stderr, "edgeidctl %s: %v\n", cmd.path, err)
		return 2
	}
}

func lookup(cmds []command, args []string) (*command, []string) {
	var best *command
	bestLen := 0
	for i := range cmds {
		words := strings.Fields(cmds[i].path)
		if len(words) > len(args) || len(words) <= bestLen {
			continue
		}
		if strings.Join(args[:len(words)], " ") == cmds[i].path {
			best, bestLen = &cmds[i], len(words)
		}
	}
	if best == nil {
		return nil, nil
	}
	return best, args[bestLen:]
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "usage: edgeidctl <command> [flags] [args]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-16s %s\n", c.path, c.summary)
	}
}

// parseInterspersed lets flags come before, between or after positional arguments.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var tail []string
	for i, a := range args {
		if a == "--" {
			args, tail = args[:i], args[i+1:]
			break
		}
	}
	var pos []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	return append(pos, tail...), nil
}

func newFlags(e env, path, argsUsage string) *flag.FlagSet {
	fs := flag.NewFlagSet("edgeidctl "+path, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: edgeidctl %s [flags] %s\n", path, argsUsage)
		fs.PrintDefaults()
	}
	return fs
}

// multi is a repeatable string flag.
type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

// connFlags are the broker connection flags shared by the commands that talk MQTT.
type connFlags struct {
	broker, ca, cert, key, clientID, fleet *string
}

func addConnFlags(fs *flag.FlagSet, clientID string) connFlags {
	return connFlags{
		broker:   fs.String("broker", "", "broker URL, e.g. ssl://fleet.example:8883"),
		ca:       fs.String("ca", "", "CA certificate (PEM) that signed the broker's certificate"),
		cert:     fs.String("cert", "", "client certificate (PEM); its common name is the MQTT identity"),
		key:      fs.String("cert-key", "", "client certificate's private key (PEM)"),
		clientID: fs.String("client-id", clientID, "MQTT client id (the broker may force the certificate's name)"),
		fleet:    fs.String("fleet", "", "fleet name (topic root edgeid/v1/<fleet>/)"),
	}
}

func (c connFlags) conn() (fleet.Conn, error) {
	if *c.broker == "" {
		return fleet.Conn{}, usagef("-broker is required")
	}
	if *c.fleet == "" {
		return fleet.Conn{}, usagef("-fleet is required")
	}
	cfg, err := c.tls()
	if err != nil {
		return fleet.Conn{}, err
	}
	return fleet.Conn{Broker: *c.broker, TLS: cfg, ClientID: *c.clientID}, nil
}

func (c connFlags) tls() (*tls.Config, error) {
	if *c.ca == "" && *c.cert == "" {
		return nil, nil
	}
	if *c.ca == "" || *c.cert == "" || *c.key == "" {
		return nil, usagef("TLS needs -ca, -cert and -cert-key together")
	}
	pem, err := os.ReadFile(*c.ca)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s: no PEM certificate", *c.ca)
	}
	pair, err := tls.LoadX509KeyPair(*c.cert, *c.key)
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}, nil
}

func runKeygen(_ context.Context, e env, args []string) error {
	fs := newFlags(e, "keygen", "PREFIX")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one PREFIX (writes PREFIX.key and PREFIX.pub)")
	}
	pub, err := fleet.GenerateKeyFiles(pos[0])
	if err != nil {
		return err
	}
	id := fleet.KeyIDOf(pub)
	_, err = fmt.Fprintf(e.stdout, "wrote %s.key (0600) and %s.pub, key id %x\n", pos[0], filepath.Clean(pos[0]), id[:])
	return err
}

// writeFileAtomic writes data to path through a synced temporary file and a rename.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
