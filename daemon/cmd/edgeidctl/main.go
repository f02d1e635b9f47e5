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
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"syscall"

	"github.com/edgeid/edgeid/daemon/cmd/internal/cli"
	"github.com/edgeid/edgeid/daemon/fleet"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

type env = cli.Env

func commands() []cli.Command {
	cmds := []cli.Command{
		{Path: "keygen", Summary: "write a new Ed25519 key pair (PREFIX.key, PREFIX.pub)", Run: runKeygen},
		{Path: "revoke add", Summary: "add entries to the fleet revocation state", Run: runRevokeAdd},
		{Path: "revoke remove", Summary: "remove entries from the fleet revocation state", Run: runRevokeRemove},
		{Path: "revoke publish", Summary: "sign and publish the revocation list (delta + retained snapshot, or -full)", Run: runRevokePublish},
		{Path: "enroll push", Summary: "sign and publish a site's enrolled templates from a manifest", Run: runEnrollPush},
		{Path: "audit collect", Summary: "collect, check, ack and store kiosks' audit records as JSON lines", Run: runAuditCollect},
		{Path: "audit verify", Summary: "verify a collected audit file: chains and checkpoint signatures", Run: runAuditVerify},
		{Path: "sim", Summary: "simulate a fleet of kiosks on a broker and measure fan-out and ingest", Run: runSim},
	}
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Path < cmds[j].Path })
	return cmds
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return cli.App{Name: "edgeidctl", Commands: commands()}.Run(ctx, args, stdout, stderr)
}

// newFlags makes the FlagSet of an edgeidctl subcommand.
func newFlags(e env, path, argsUsage string) *flag.FlagSet {
	return cli.NewFlags(e, "edgeidctl", path, argsUsage)
}

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
		return fleet.Conn{}, cli.Usagef("-broker is required")
	}
	if *c.fleet == "" {
		return fleet.Conn{}, cli.Usagef("-fleet is required")
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
		return nil, cli.Usagef("TLS needs -ca, -cert and -cert-key together")
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
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.Usagef("want one PREFIX (writes PREFIX.key and PREFIX.pub)")
	}
	pub, err := fleet.GenerateKeyFiles(pos[0])
	if err != nil {
		return err
	}
	id := fleet.KeyIDOf(pub)
	_, err = fmt.Fprintf(e.Stdout, "wrote %s.key (0600) and %s.pub, key id %x\n", pos[0], filepath.Clean(pos[0]), id[:])
	return err
}
