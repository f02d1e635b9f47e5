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
	memConsumers := fs.Bool("consumer-memory", false, "keep the MQTT subscriptions' JetStream consumers in memory (faster with thousands of kiosks; a restart forgets unacked deliveries)")
	maxAck := fs.Uint("max-ack-pending", 0, "QoS 1 messages a subscription may have unacked (0: NATS's 1024; at most 65535 for a session's subscriptions together)")
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("unexpected arguments %q", pos)
	}
	if *maxAck > 65535 {
		return cli.Usagef("-max-ack-pending is at most 65535")
	}
	log := slog.New(slog.NewTextHandler(e.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	s, err := natsmqtt.Start(&natsmqtt.Opts{MQTT: *listen, StoreDir: *store, Loopback: true, Logger: log,
		ConsumerMemoryStorage: *memConsumers, MaxAckPending: uint16(*maxAck)})
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Fprintf(e.Stdout, "broker: %s (NATS %s)\n", s.URL(), s.NATSURL)
	<-ctx.Done()
	return nil
}
