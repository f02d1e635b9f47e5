package fleet

import (
	"log/slog"

	"github.com/edgeid/edgeid/daemon/fleet/natsmqtt"
)

// EmbeddedBroker is an in-process MQTT broker on loopback for simulation and the demo: the
// NATS server's MQTT listener with JetStream in a temporary directory, plain TCP, no
// authentication, so it refuses to listen anywhere but a loopback address.
type EmbeddedBroker struct {
	s   *natsmqtt.Server
	URL string
}

// StartEmbeddedBroker listens on addr (host:port, loopback only; port 0 picks a free one).
func StartEmbeddedBroker(addr string, log *slog.Logger) (*EmbeddedBroker, error) {
	s, err := natsmqtt.Start(&natsmqtt.Opts{MQTT: addr, Loopback: true, Logger: log})
	if err != nil {
		return nil, err
	}
	return &EmbeddedBroker{s: s, URL: s.URL()}, nil
}

// Close stops the broker and removes its store.
func (b *EmbeddedBroker) Close() error { return b.s.Close() }
