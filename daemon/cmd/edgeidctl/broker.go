package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/edgeid/edgeid/daemon/cmd/internal/cli"
	"github.com/edgeid/edgeid/daemon/fleet/natsmqtt"
)

// runBroker runs the embedded broker (the NATS server's MQTT listener with JetStream) on
// loopback, for demos and local tests: no TLS, no authentication.
func runBroker(ctx context.Context, e env, args []string) error {
	fs := newFlags(e, "broker", "")
	listen := fs.String("listen", "127.0.0.1:1883", "MQTT listener (loopback only)")
	store := fs.String("store", "", "JetStream directory (default: a temporary one, removed at exit)")
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("unexpected arguments %q", pos)
	}
	log := slog.New(slog.NewTextHandler(e.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := natsmqtt.Start(&natsmqtt.Opts{MQTT: *listen, StoreDir: *store, Loopback: true, Logger: log})
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintf(e.Stdout, "broker: %s (NATS %s)\n", s.URL(), s.NATSURL)
	<-ctx.Done()
	return nil
}
