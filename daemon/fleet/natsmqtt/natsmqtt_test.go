package natsmqtt

import (
	"fmt"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/nats-io/nats-server/v2/server"
)

func dial(t *testing.T, url, id string, clean bool, onMsg mqtt.MessageHandler) mqtt.Client {
	t.Helper()
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID(id).SetCleanSession(clean).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second).SetDefaultPublishHandler(onMsg)
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("connect %s: %v", id, tok.Error())
	}
	return c
}

func wait(t *testing.T, tok mqtt.Token) {
	t.Helper()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt: %v", tok.Error())
	}
}

func recv(t *testing.T, ch chan mqtt.Message, what string) mqtt.Message {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(30 * time.Second): // generous: the cross tests run under qemu
		t.Fatalf("no %s", what)
		return nil
	}
}

// gone waits until the server has closed the MQTT client id's connection: a message published
// before that may be sent to the closing connection and come back only after AckWait.
func gone(t *testing.T, s *Server, id string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		cz, err := s.s.Connz(&server.ConnzOptions{MQTTClient: id})
		if err != nil {
			t.Fatal(err)
		}
		if cz.NumConns == 0 {
			return
		}
	}
	t.Fatalf("the server still holds %s's connection", id)
}

// taken waits until the server hands the retained message on topic to a new subscriber. NATS
// acknowledges a retained publish once its stream holds it, but adds it to the table that new
// subscriptions are served from only when the message comes back from that stream: a
// subscriber in between gets nothing (seen under qemu; the fleet link's kiosks recover
// through the gap path, asking for the snapshot again at the next delta).
func taken(t *testing.T, url, topic string) {
	t.Helper()
	for i, deadline := 0, time.Now().Add(60*time.Second); time.Now().Before(deadline); i++ {
		got := make(chan mqtt.Message, 1)
		h := func(_ mqtt.Client, m mqtt.Message) {
			select {
			case got <- m:
			default:
			}
		}
		c := dial(t, url, fmt.Sprintf("probe-%d", i), true, h)
		wait(t, c.Subscribe(topic, 1, h))
		select {
		case <-got:
			c.Disconnect(50)
			return
		case <-time.After(time.Second):
			c.Disconnect(50)
		}
	}
	t.Fatalf("no subscriber got the retained %s in 60 s", topic)
}

// TestFeatures checks the MQTT features the fleet link relies on, on the NATS server: a
// retained message reaches a later subscriber with the retain flag; a QoS 1 message
// published while a CleanSession=false client is away is delivered when it comes back, also
// after the broker restarts on the same store.
func TestFeatures(t *testing.T) {
	dir := t.TempDir()
	s, err := Start(&Opts{Loopback: true, StoreDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	url := s.URL()
	pub := dial(t, url, "publisher", true, nil)
	wait(t, pub.Publish("edgeid/v1/f/revocations/snapshot", 1, true, []byte("snap-1")))
	taken(t, url, "edgeid/v1/f/revocations/snapshot")

	got := make(chan mqtt.Message, 10)
	h := func(_ mqtt.Client, m mqtt.Message) { got <- m }
	k := dial(t, url, "kiosk-1", false, h)
	wait(t, k.Subscribe("edgeid/v1/f/revocations/#", 1, h))
	m := recv(t, got, "retained snapshot")
	if string(m.Payload()) != "snap-1" || !m.Retained() {
		t.Fatalf("retained: got %q retained=%v", m.Payload(), m.Retained())
	}
	k.Disconnect(100)
	gone(t, s, "kiosk-1")

	wait(t, pub.Publish("edgeid/v1/f/revocations/delta", 1, false, []byte("delta-2")))
	k = dial(t, url, "kiosk-1", false, h)
	if m := recv(t, got, "queued delta"); string(m.Payload()) != "delta-2" {
		t.Fatalf("persistent session: got %q", m.Payload())
	}
	k.Disconnect(100)
	gone(t, s, "kiosk-1")
	wait(t, pub.Publish("edgeid/v1/f/revocations/delta", 1, false, []byte("delta-3")))
	pub.Disconnect(100)

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Start(&Opts{Loopback: true, StoreDir: dir, MQTT: s.MQTTAddr}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	k = dial(t, s.URL(), "kiosk-1", false, h)
	defer k.Disconnect(100)
	if m := recv(t, got, "delta queued before the restart"); string(m.Payload()) != "delta-3" {
		t.Fatalf("after restart: got %q", m.Payload())
	}
}

func TestRefusesNonLoopback(t *testing.T) {
	if _, err := Start(&Opts{Loopback: true, MQTT: "0.0.0.0:0"}); err == nil {
		t.Fatal("listening on 0.0.0.0 with Loopback set: want an error")
	}
}

// TestConsumerOptions: ConsumerMemoryStorage and MaxAckPending reach the JetStream consumers
// NATS creates for MQTT subscriptions, and a session's subscriptions past 65,535 pending acks
// together are refused (SUBACK 0x80), as the option's comment says.
func TestConsumerOptions(t *testing.T) {
	s, err := Start(&Opts{Loopback: true, StoreDir: t.TempDir(), ConsumerMemoryStorage: true, MaxAckPending: 40000})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	c := dial(t, s.URL(), "kiosk-1", false, func(mqtt.Client, mqtt.Message) {})
	defer c.Disconnect(50)
	tok := c.SubscribeMultiple(map[string]byte{"a/b": 1, "c/d": 1}, nil)
	wait(t, tok)
	codes := tok.(*mqtt.SubscribeToken).Result()
	refused := 0
	for _, q := range codes {
		if q == 0x80 {
			refused++
		}
	}
	if refused != 1 {
		t.Errorf("granted %v: want one of the two filters refused (40,000 + 40,000 pending acks > 65,535)", codes)
	}
	info, err := s.s.Jsz(&server.JSzOptions{Accounts: true, Streams: true, Consumer: true, Config: true})
	if err != nil {
		t.Fatal(err)
	}
	found := 0
	for _, a := range info.AccountDetails {
		for _, st := range a.Streams {
			for _, ci := range st.Consumer {
				if ci.Config == nil || !strings.HasSuffix(ci.Config.FilterSubject, ".a.b") && !strings.HasSuffix(ci.Config.FilterSubject, ".c.d") {
					continue
				}
				found++
				if !ci.Config.MemoryStorage || ci.Config.MaxAckPending != 40000 {
					t.Errorf("consumer %s: memory storage %t, max ack pending %d; want true, 40000", ci.Name, ci.Config.MemoryStorage, ci.Config.MaxAckPending)
				}
			}
		}
	}
	if found != 1 {
		t.Errorf("%d consumers for the subscription, want 1", found)
	}
}
