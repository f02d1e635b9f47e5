package fleet

import (
	"context"
	"crypto/tls"
	"fmt"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Conn describes a short-lived connection of a fleet tool (edgeidctl) to the broker.
type Conn struct {
	Broker   string
	TLS      *tls.Config
	ClientID string
}

// Dial connects with a clean session and waits for the connection.
func Dial(ctx context.Context, c Conn) (mqtt.Client, error) {
	opts := addBrokers(mqtt.NewClientOptions(), c.Broker).SetClientID(c.ClientID).SetCleanSession(true).
		SetAutoReconnect(false).SetConnectTimeout(10 * time.Second).SetOrderMatters(true)
	if c.TLS != nil {
		opts.SetTLSConfig(c.TLS)
	}
	cl := mqtt.NewClient(opts)
	if err := wait(ctx, cl.Connect()); err != nil {
		return nil, fmt.Errorf("connect to %s: %w", c.Broker, err)
	}
	return cl, nil
}

func wait(ctx context.Context, t mqtt.Token) error {
	select {
	case <-t.Done():
		return t.Error()
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Publish sends one message with QoS 1 and waits for the broker's PUBACK. (For fleet
// messages that is enough: kiosks converge on the retained snapshot. Audit records instead
// wait for the collector's application-level ack.)
func Publish(ctx context.Context, cl mqtt.Client, topic string, payload []byte, retain bool) error {
	if err := wait(ctx, cl.Publish(topic, 1, retain, payload)); err != nil {
		return fmt.Errorf("publish %s: %w", topic, err)
	}
	return nil
}

// addBrokers adds every URL of a comma-separated list (the nodes of a broker cluster);
// paho tries them in turn when it connects and reconnects.
func addBrokers(o *mqtt.ClientOptions, urls string) *mqtt.ClientOptions {
	for _, u := range strings.Split(urls, ",") {
		if u = strings.TrimSpace(u); u != "" {
			o.AddBroker(u)
		}
	}
	return o
}
