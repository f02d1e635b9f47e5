package fleet

import (
	"bytes"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/edgeid/edgeid/daemon/audit"
)

// TestCollectorOrdering feeds records straight to the collector: in-order records are written
// once, re-sends are dropped and re-acked, records after a gap are dropped and the collector's
// position is acked (so the kiosk rewinds), malformed or misaddressed ones are dropped.
func TestCollectorOrdering(t *testing.T) {
	chain, err := audit.NewChain(&audit.Opts{Kiosk: "kiosk-1", SigningKey: newKey(t), DocKey: make([]byte, 32), CheckpointEvery: 3})
	if err != nil {
		t.Fatal(err)
	}
	var recs [][]byte
	for i := 0; i < 5; i++ {
		_, b, err := chain.Next(audit.Decision{Flow: "document", Outcome: "accept"})
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, b)
	}
	var out bytes.Buffer
	c, err := NewCollector(&CollectorOpts{Broker: "tcp://127.0.0.1:1", Fleet: fleetName, Key: newKey(t), Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	topic := NewTopics(fleetName).Audit("kiosk-1")
	for _, step := range []struct {
		name      string
		topic     string
		msg       []byte
		wantPos   uint64
		wantDirty bool
	}{
		{"first", topic, recs[0], 1, true},
		{"gap", topic, recs[2], 1, true},
		{"second", topic, recs[1], 2, true},
		{"re-send", topic, recs[0], 2, true},
		{"third", topic, recs[2], 3, true},
		{"other kiosk's topic", NewTopics(fleetName).Audit("kiosk-2"), recs[3], 3, false},
		{"garbage", topic, []byte("{nope"), 3, false},
	} {
		c.dirty = map[string]bool{}
		if err := c.accept(step.topic, step.msg); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if got := c.Positions()["kiosk-1"].Seq; got != step.wantPos {
			t.Errorf("%s: position got %d, want %d", step.name, got, step.wantPos)
		}
		if got := c.dirty["kiosk-1"]; got != step.wantDirty {
			t.Errorf("%s: ack due got %t, want %t", step.name, got, step.wantDirty)
		}
	}
	s, err := audit.VerifyJSONLines(bytes.NewReader(out.Bytes()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if k := s.Kiosks["kiosk-1"]; k.Records != 3 || k.Last != 3 {
		t.Errorf("written: %+v, want records 1-3 once each", k)
	}
	if c.Problems() != 0 {
		t.Errorf("chain problems: got %d, want 0", c.Problems())
	}
}

// refusingBroker is an MQTT 3.1.1 server on loopback that answers the first refuse SUBSCRIBE
// packets with the failure code 0x80 for every filter (as NATS does while JetStream cannot
// create the consumer, or mosquitto for a v5 client its ACL denies), then grants, and once a
// subscription is granted sends it publish. mosquitto 2.0.11 cannot play this part: it grants
// every MQTT 3.1.1 subscription and checks its ACL only when it delivers.
func refusingBroker(t *testing.T, refuse int, publish *packets.PublishPacket) (url string, subscribes *atomic.Int64, conns *atomic.Int64) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	subscribes, conns = new(atomic.Int64), new(atomic.Int64)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			t.Cleanup(func() { c.Close() })
			go serveRefusing(c, refuse, publish, subscribes)
		}
	}()
	return "tcp://" + l.Addr().String(), subscribes, conns
}

func serveRefusing(c net.Conn, refuse int, publish *packets.PublishPacket, subscribes *atomic.Int64) {
	defer c.Close()
	for {
		p, err := packets.ReadPacket(c)
		if err != nil {
			return
		}
		var reply packets.ControlPacket
		switch p := p.(type) {
		case *packets.ConnectPacket:
			reply = packets.NewControlPacket(packets.Connack)
		case *packets.SubscribePacket:
			ack := packets.NewControlPacket(packets.Suback).(*packets.SubackPacket)
			ack.MessageID = p.MessageID
			code := byte(0x80)
			if subscribes.Add(1) > int64(refuse) {
				code = 1
			}
			for range p.Topics {
				ack.ReturnCodes = append(ack.ReturnCodes, code)
			}
			if err := ack.Write(c); err != nil {
				return
			}
			if code == 1 {
				reply = publish
			}
		case *packets.PublishPacket:
			if p.Qos == 1 {
				ack := packets.NewControlPacket(packets.Puback).(*packets.PubackPacket)
				ack.MessageID = p.MessageID
				reply = ack
			}
		case *packets.PingreqPacket:
			reply = packets.NewControlPacket(packets.Pingresp)
		case *packets.DisconnectPacket:
			return
		}
		if reply != nil {
			if err := reply.Write(c); err != nil {
				return
			}
		}
	}
}

// TestCollectorRetriesRefusedSubscription: the broker refuses the collector's subscription
// twice (SUBACK 0x80). paho completes such a token without an error; the collector must not
// count itself subscribed and run on without records: it subscribes again on the same
// connection until the broker grants it, and then takes the records.
func TestCollectorRetriesRefusedSubscription(t *testing.T) {
	chain, err := audit.NewChain(&audit.Opts{Kiosk: "kiosk-1", SigningKey: newKey(t), DocKey: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	_, rec, err := chain.Next(audit.Decision{Flow: "document", Outcome: "accept"})
	if err != nil {
		t.Fatal(err)
	}
	pub := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	pub.TopicName, pub.Payload = NewTopics(fleetName).Audit("kiosk-1"), rec
	url, subscribes, conns := refusingBroker(t, 2, pub)
	var n atomic.Int64
	c, err := NewCollector(&CollectorOpts{Broker: url, Fleet: fleetName, Key: newKey(t), Out: io.Discard, CleanSession: true,
		OnRecord: func(*audit.Record) { n.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	run(t, c.Run)
	waitFor(t, "the first refusal", 10*time.Second, func() bool { return subscribes.Load() >= 1 })
	time.Sleep(200 * time.Millisecond) // room for a collector that takes the refusal as granted
	if subscribes.Load() == 1 {
		select {
		case <-c.Ready():
			t.Fatal("collector reports itself subscribed, but the broker refused its subscription")
		default:
		}
	}
	select {
	case <-c.Ready():
	case <-time.After(20 * time.Second):
		t.Fatalf("collector not subscribed after 20 s; %d SUBSCRIBE packets", subscribes.Load())
	}
	waitFor(t, "the record", 10*time.Second, func() bool { return n.Load() == 1 })
	if got := subscribes.Load(); got != 3 {
		t.Errorf("%d SUBSCRIBE packets, want 3 (two refused, one granted)", got)
	}
	if got := conns.Load(); got != 1 {
		t.Errorf("%d connections, want 1: the retry works on the same connection", got)
	}
}
