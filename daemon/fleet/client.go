package fleet

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/edgeid/edgeid/daemon/audit"
)

// ClientOpts configures a kiosk's fleet link.
type ClientOpts struct {
	Broker string      // e.g. ssl://fleet.example:8883; a comma-separated list for a broker cluster
	TLS    *tls.Config // with the kiosk's client certificate (its CN must be Kiosk)
	Fleet  string
	Kiosk  string // kiosk id: MQTT client id and audit topic name
	Site   string // template site; empty when Templates is nil
	// SessionDir holds paho's file store for the persistent session (CleanSession=false is
	// used either way). Empty keeps paho's in-flight state in memory: the audit outbox in the
	// store is what survives a restart, and the file store costs a file write and delete per
	// published record (BenchmarkOutboxDrain measures both).
	SessionDir string

	Revocations *Revocations // required
	Templates   *Templates   // optional
	Audit       *audit.Log   // optional: publishes the outbox
	AckKeys     Keyring      // keys that sign the collector's acks

	Window      int           // audit records published but not yet acked; default 256
	ResendAfter time.Duration // re-send unacked records after this long without an ack; default 10 s
	Logger      *slog.Logger
	Metrics     *Metrics
}

// Client is a kiosk's MQTT link: it applies revocation and template messages and drains the
// audit outbox. Create it with NewClient, then call Run.
type Client struct {
	o      ClientOpts
	topics Topics
	cl     mqtt.Client

	in      chan mqtt.Message
	connect chan struct{} // signalled on every (re)connect
	acked   chan uint64   // cumulative acks, from the message worker to the outbox loop
	handler mqtt.MessageHandler

	needRev, needTmpl atomic.Bool // subscribe to the snapshot topic

	connected   atomic.Bool
	lastContact atomic.Int64 // unix nanoseconds of the last connect or message; 0: never
	session     *sessionStore
}

// Status is the state of the link, for the kiosk's health.
type Status struct {
	Connected   bool
	LastContact time.Time // zero: never connected
	// SessionFault is set once paho's session file store failed (a full disk); the link then
	// keeps its in-flight state in memory.
	SessionFault string
}

// Status reports the link's state; it is safe to call at any time.
func (c *Client) Status() Status {
	s := Status{Connected: c.connected.Load()}
	if n := c.lastContact.Load(); n != 0 {
		s.LastContact = time.Unix(0, n)
	}
	if c.session != nil {
		s.SessionFault = c.session.fault()
	}
	return s
}

func (c *Client) contact() { c.lastContact.Store(time.Now().UnixNano()) }

// NewClient validates o. Configuration that would let two kiosks share an identity is refused:
// the MQTT client id is the kiosk id, and it must be the common name of the client certificate
// (the broker config maps the certificate name to the user name and client id).
func NewClient(o *ClientOpts) (*Client, error) {
	if o == nil {
		return nil, errors.New("fleet: no client options")
	}
	c := &Client{o: *o, topics: NewTopics(o.Fleet)}
	for _, n := range []struct{ what, v string }{{"fleet", o.Fleet}, {"kiosk id", o.Kiosk}} {
		if err := checkName(n.what, n.v); err != nil {
			return nil, fmt.Errorf("fleet: %w", err)
		}
	}
	if o.Templates != nil {
		if err := checkName("site", o.Site); err != nil {
			return nil, fmt.Errorf("fleet: %w", err)
		}
	}
	switch {
	case o.Broker == "":
		return nil, errors.New("fleet: no broker URL")
	case o.Revocations == nil:
		return nil, errors.New("fleet: no revocation state")
	case o.Audit != nil && len(o.AckKeys) == 0:
		return nil, errors.New("fleet: audit outbox configured without collector ack keys")
	}
	if o.TLS != nil {
		if len(o.TLS.Certificates) == 0 {
			return nil, errors.New("fleet: TLS without a client certificate")
		}
		leaf, err := x509.ParseCertificate(o.TLS.Certificates[0].Certificate[0])
		if err != nil {
			return nil, fmt.Errorf("fleet: client certificate: %w", err)
		}
		if leaf.Subject.CommonName != o.Kiosk {
			return nil, fmt.Errorf("fleet: kiosk id %q differs from the client certificate's name %q: two kiosks must not share an id",
				o.Kiosk, leaf.Subject.CommonName)
		}
	}
	if c.o.Window <= 0 {
		c.o.Window = 256
	}
	if c.o.ResendAfter <= 0 {
		c.o.ResendAfter = 10 * time.Second
	}
	if c.o.Logger == nil {
		c.o.Logger = slog.New(slog.DiscardHandler)
	}
	if c.o.Metrics == nil {
		c.o.Metrics = NewMetrics(nil)
	}
	if c.o.SessionDir != "" { // made here, not in Run: Status reads it from other goroutines
		c.session = &sessionStore{file: mqtt.NewFileStore(c.o.SessionDir), log: c.o.Logger}
	}
	c.in = make(chan mqtt.Message, 16)
	c.connect = make(chan struct{}, 1)
	c.acked = make(chan uint64, 16)
	return c, nil
}

// subscriptions returns the topics to subscribe on connect. Snapshot topics are subscribed
// only while the kiosk needs a snapshot (just started, a gap, or a stale list): the retained
// snapshot can be large, and deltas keep a kiosk current.
func (c *Client) subscriptions() map[string]byte {
	s := map[string]byte{c.topics.RevDelta(): 1}
	if c.needRev.Load() {
		s[c.topics.RevSnapshot()] = 1
	}
	if c.o.Templates != nil {
		s[c.topics.TmplDelta(c.o.Site)] = 1
		if c.needTmpl.Load() {
			s[c.topics.TmplSnapshot(c.o.Site)] = 1
		}
	}
	if c.o.Audit != nil {
		s[c.topics.AuditAck(c.o.Kiosk)] = 1
	}
	return s
}

func (c *Client) allTopics() []string {
	t := []string{c.topics.RevSnapshot(), c.topics.RevDelta()}
	if c.o.Templates != nil {
		t = append(t, c.topics.TmplSnapshot(c.o.Site), c.topics.TmplDelta(c.o.Site))
	}
	if c.o.Audit != nil {
		t = append(t, c.topics.AuditAck(c.o.Kiosk))
	}
	return t
}

// Run connects (retrying until ctx ends), applies incoming messages and drains the audit
// outbox until ctx is done; it then disconnects within a bounded time. Call it once.
func (c *Client) Run(ctx context.Context) error {
	var ps mqtt.Store = mqtt.NewMemoryStore()
	if c.o.SessionDir != "" {
		if err := os.MkdirAll(filepath.Clean(c.o.SessionDir), 0o700); err != nil {
			return fmt.Errorf("fleet: session dir: %w", err)
		}
		ps = c.session
	}
	// At start the kiosk takes the retained snapshots once, whatever it holds: deltas queued
	// while it was down are gone if the broker lost its session (a new or restarted broker, an
	// expired session), and a fresh list would otherwise not be renewed until its expiry or the
	// next delta's gap. A snapshot it already holds costs one download and is dropped as a replay.
	c.needRev.Store(true)
	c.needTmpl.Store(c.o.Templates != nil)
	opts := addBrokers(mqtt.NewClientOptions(), c.o.Broker).
		SetClientID(c.o.Kiosk).
		SetCleanSession(false).
		SetStore(ps).
		SetOrderMatters(true).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(500 * time.Millisecond).
		SetMaxReconnectInterval(5 * time.Second).
		SetKeepAlive(30 * time.Second).
		SetConnectTimeout(10 * time.Second).
		SetWriteTimeout(10 * time.Second).
		SetResumeSubs(true)
	if c.o.TLS != nil {
		opts.SetTLSConfig(c.o.TLS)
	}
	opts.SetOnConnectHandler(func(cl mqtt.Client) {
		c.o.Logger.Info("fleet: connected", "broker", c.o.Broker)
		c.connected.Store(true)
		c.contact()
		// Subscribing from the handler must not block it; the token completes later.
		cl.SubscribeMultiple(c.subscriptions(), c.handler) // re-adds routes an Unsubscribe dropped
		select {
		case c.connect <- struct{}{}:
		default:
		}
	})
	opts.SetConnectionLostHandler(func(_ mqtt.Client, err error) {
		c.connected.Store(false)
		c.o.Logger.Warn("fleet: connection lost", "err", err)
	})
	cl := mqtt.NewClient(opts)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	handler := func(_ mqtt.Client, m mqtt.Message) {
		c.contact()
		select {
		case c.in <- m:
		case <-wctx.Done(): // the worker is gone: do not hold paho's goroutine
		}
	}
	for _, t := range c.allTopics() {
		cl.AddRoute(t, handler)
	}
	c.handler = handler
	c.cl = cl
	cl.Connect() // with ConnectRetry the token completes once connected; progress shows in OnConnect

	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); c.worker(wctx) }()
	outErr := make(chan error, 1)
	if c.o.Audit != nil {
		wg.Add(1)
		go func() { defer wg.Done(); outErr <- c.outbox(wctx) }()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-outErr: // the outbox cannot read the store: stop, the caller decides
	}
	cancel()
	wg.Wait()
	cl.Disconnect(250)
	c.connected.Store(false)
	if err != nil {
		return fmt.Errorf("fleet: audit outbox: %w", err)
	}
	return nil
}

// worker applies messages in arrival order, outside paho's goroutine, and asks for the
// retained snapshot again when the revocation list goes stale.
func (c *Client) worker(ctx context.Context) {
	stale := time.NewTicker(30 * time.Second)
	defer stale.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-stale.C:
			if c.o.Revocations.Stale(time.Now()) && !c.needRev.Load() {
				c.wantSnapshot(&c.needRev, c.topics.RevSnapshot())
			}
		case m := <-c.in:
			c.handle(ctx, m)
		}
	}
}

// wantSnapshot subscribes to a snapshot topic; (re)subscribing makes the broker send the
// retained snapshot again.
func (c *Client) wantSnapshot(flag *atomic.Bool, topic string) {
	flag.Store(true)
	c.o.Logger.Info("fleet: asking for the retained snapshot", "topic", topic)
	c.cl.Subscribe(topic, 1, c.handler)
}

// doneSnapshot unsubscribes from a snapshot topic once the kiosk holds that snapshot's version
// (applied, or the same version already live). After a rollback refusal it stays subscribed,
// so that a newer retained snapshot reaches it when the fleet publishes one.
func (c *Client) doneSnapshot(flag *atomic.Bool, topic string, err error) {
	if err == nil || errors.Is(err, ErrReplay) {
		if flag.CompareAndSwap(true, false) {
			c.cl.Unsubscribe(topic) // also drops paho's route; wantSnapshot adds it back
		}
	}
}

func (c *Client) handle(ctx context.Context, m mqtt.Message) {
	switch t := m.Topic(); t {
	case c.topics.RevSnapshot():
		c.doneSnapshot(&c.needRev, t, c.o.Revocations.Apply(ctx, m.Payload()))
	case c.topics.RevDelta():
		if err := c.o.Revocations.Apply(ctx, m.Payload()); errors.Is(err, ErrGap) {
			c.wantSnapshot(&c.needRev, c.topics.RevSnapshot())
		}
	case c.topics.TmplSnapshot(c.o.Site):
		c.doneSnapshot(&c.needTmpl, t, c.o.Templates.Apply(ctx, m.Payload()))
	case c.topics.TmplDelta(c.o.Site):
		if err := c.o.Templates.Apply(ctx, m.Payload()); errors.Is(err, ErrGap) {
			c.wantSnapshot(&c.needTmpl, c.topics.TmplSnapshot(c.o.Site))
		}
	case c.topics.AuditAck(c.o.Kiosk):
		seq, err := c.handleAck(m.Payload())
		if err != nil {
			c.o.Metrics.Refused.WithLabelValues("audit-ack", Reason(err)).Inc()
			c.o.Logger.Warn("fleet: audit ack refused", "err", err)
			return
		}
		select {
		case c.acked <- seq:
		case <-ctx.Done():
		}
	default:
		c.o.Logger.Warn("fleet: message on an unexpected topic", "topic", t)
	}
	// Revocation and template refusals are logged and counted by Apply.
}

func (c *Client) handleAck(msg []byte) (uint64, error) {
	kind, body, err := Unseal(msg, c.o.AckKeys, 1024)
	if err != nil {
		return 0, err
	}
	if kind != KindAuditAck {
		return 0, fmt.Errorf("audit ack: got a %s message: %w", kind, ErrKind)
	}
	a, err := ParseAuditAck(body)
	if err != nil {
		return 0, err
	}
	if a.Kiosk != c.o.Kiosk {
		return 0, fmt.Errorf("audit ack for kiosk %q on %q's topic: %w", a.Kiosk, c.o.Kiosk, ErrMalformed)
	}
	if head, _ := c.o.Audit.Head(); a.Seq > head {
		return 0, fmt.Errorf("audit ack for record %d, but this kiosk's chain ends at %d (was its store reset?): %w", a.Seq, head, ErrForeignChain)
	}
	if a.Seq == 0 {
		return 0, nil // the collector has nothing of ours: re-send from the oldest record kept
	}
	q, err := c.o.Audit.Since(context.Background(), a.Seq-1, 1)
	if err != nil {
		return 0, err
	}
	if len(q) == 0 || q[0].Seq != a.Seq {
		return a.Seq, nil // record a.Seq was acked and pruned long ago: nothing to delete
	}
	ours, err := audit.ParseRecord(q[0].Data)
	if err != nil {
		return 0, err
	}
	if ours.Hash != a.Hash {
		return 0, fmt.Errorf("audit ack for record %d with hash %.12s, ours is %.12s: %w", a.Seq, a.Hash, ours.Hash, ErrForeignChain)
	}
	n, err := c.o.Audit.Ack(context.Background(), a.Seq)
	if err != nil {
		return 0, err
	}
	c.o.Metrics.Acked.Add(float64(n))
	return a.Seq, nil
}

// outbox publishes queued audit records in order, at most Window ahead of the last ack, and
// re-sends everything unacked after a reconnect or ResendAfter without progress.
func (c *Client) outbox(ctx context.Context) error {
	var sent, acked uint64
	// The head is read before the outbox: a record appended in between is then still counted
	// as unacked (reading them the other way round would skip it).
	acked, _ = c.o.Audit.Head()
	first, err := c.o.Audit.Pending(ctx, 0, 1)
	if err != nil {
		return err
	}
	if len(first) > 0 {
		acked = first[0].Seq - 1 // everything before the oldest queued record was acked earlier
	}
	sent = acked
	topic := c.topics.Audit(c.o.Kiosk)
	resend := time.NewTimer(c.o.ResendAfter)
	defer resend.Stop()
	lastProgress := time.Now()
	for {
		if c.cl.IsConnectionOpen() && sent-acked < uint64(c.o.Window) {
			// From the log, not the outbox: when the collector stands behind records it once
			// acked (it lost its file), the kiosk sends them again while it still keeps them.
			q, err := c.o.Audit.Since(ctx, max(sent, acked), c.o.Window-int(sent-acked))
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return err
			}
			for _, r := range q {
				c.cl.Publish(topic, 1, false, r.Data)
				c.o.Metrics.Sent.Inc()
				sent = r.Seq
			}
		}
		if head, _ := c.o.Audit.Head(); head >= acked {
			c.o.Metrics.Outbox.Set(float64(head - acked)) // the outbox holds (acked, head]
		}
		select {
		case <-ctx.Done():
			return nil
		case <-c.o.Audit.Notify():
		case <-c.connect:
			sent = acked // everything unacked goes out again on the new connection
		case a := <-c.acked:
			switch {
			case a > acked:
				acked = a
				lastProgress = time.Now()
			case a < acked:
				// The collector stands further back than we thought (it dropped records that
				// arrived out of order, lost its file, or an old ack was redelivered): resend
				// from there, as far back as the log still goes.
				acked, sent = a, a
			}
			if sent < acked {
				sent = acked
			}
		case <-resend.C:
			if sent > acked && time.Since(lastProgress) >= c.o.ResendAfter {
				c.o.Logger.Info("fleet: no ack, re-sending", "from", acked+1, "to", sent)
				sent = acked
				lastProgress = time.Now()
			}
			resend.Reset(c.o.ResendAfter / 2)
		}
	}
}
