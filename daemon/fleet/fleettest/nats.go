package fleettest

import (
	"testing"

	"github.com/edgeid/edgeid/daemon/fleet/natsmqtt"
)

// NATS starts an in-process NATS server with its MQTT listener on 127.0.0.1 (plain TCP,
// every client allowed, no ACLs, JetStream in a temporary directory) for tests that need a
// broker but not TLS; it is closed at cleanup. It returns the broker URL (tcp://127.0.0.1:port).
func NATS(t testing.TB) string {
	t.Helper()
	s, err := natsmqtt.Start(&natsmqtt.Opts{Loopback: true, StoreDir: t.TempDir()})
	if err != nil {
		t.Fatalf("fleettest: nats: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s.URL()
}
