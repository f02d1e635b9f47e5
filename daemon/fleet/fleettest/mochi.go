package fleettest

import (
	"fmt"
	"log/slog"
	"net"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
)

// Mochi starts an in-process mochi-mqtt broker on 127.0.0.1 (plain TCP, every client
// allowed, no ACLs) for unit tests that need a broker but not TLS; it is closed at cleanup.
// It returns the broker URL (tcp://127.0.0.1:port).
func Mochi(t testing.TB) string {
	t.Helper()
	s := mqtt.New(&mqtt.Options{Logger: slog.New(slog.DiscardHandler), InlineClient: false})
	if err := s.AddHook(new(auth.AllowHook), nil); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	if err := s.AddListener(listeners.NewTCP(listeners.Config{ID: "fleettest", Address: addr})); err != nil {
		t.Fatalf("fleettest: mochi listener: %v", err)
	}
	if err := s.Serve(); err != nil {
		t.Fatalf("fleettest: mochi: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return "tcp://" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("fleettest: mochi not listening on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
