package fleet

import (
	"fmt"
	"log/slog"
	"net"

	mqttserver "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// EmbeddedBroker is an in-process MQTT broker on loopback for simulation and the demo: plain
// TCP, no authentication, so it refuses to listen anywhere but a loopback address.
type EmbeddedBroker struct {
	s   *mqttserver.Server
	URL string
}

// StartEmbeddedBroker listens on addr (host:port, loopback only; port 0 picks a free one).
func StartEmbeddedBroker(addr string, log *slog.Logger) (*EmbeddedBroker, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("embedded broker: %s is not a loopback address", addr)
	}
	ln, err := net.Listen("tcp", addr) // reserve the port, then hand it to mochi
	if err != nil {
		return nil, err
	}
	bound := ln.Addr().String()
	ln.Close()
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := mqttserver.New(&mqttserver.Options{Logger: log, InlineClient: false})
	if err := s.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, err
	}
	if err := s.AddListener(listeners.NewTCP(listeners.Config{ID: "embedded", Address: bound})); err != nil {
		return nil, err
	}
	if err := s.Serve(); err != nil {
		return nil, err
	}
	return &EmbeddedBroker{s: s, URL: "tcp://" + bound}, nil
}

// Close stops the broker.
func (b *EmbeddedBroker) Close() error { return b.s.Close() }
