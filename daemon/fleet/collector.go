package fleet

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/edgeid/edgeid/daemon/audit"
)

// Position is how far a kiosk's chain has been collected: the last record's number and hash,
// and the hash of the chain's first record when it was collected (Genesis), which tells a
// re-sent record 1 from the first record of a new chain (the kiosk's store was reset).
type Position struct {
	Seq     uint64
	Hash    string
	Genesis string
}

// CollectorOpts configures the fleet-side audit collector.
type CollectorOpts struct {
	Broker   string
	TLS      *tls.Config
	Fleet    string
	ClientID string // default "collector"; its session is persistent
	// SessionDir holds paho's file store. Empty keeps paho's in-flight state in memory: the
	// broker's persistent session and the output file are what make collection durable, and
	// the file store costs a file per in-flight message (see the sim numbers in the README).
	SessionDir string
	// CleanSession starts without the broker's stored session (the simulator); a real
	// collector keeps its session so that records published while it is away wait for it.
	CleanSession bool

	Key       ed25519.PrivateKey           // signs acks (its public key is in the kiosks' AckKeys)
	KioskKeys map[string]ed25519.PublicKey // checks checkpoints of the kiosks it knows

	// Kiosks, when set, are the only kiosks collected: the collector subscribes to their audit
	// topics alone, drops a wider subscription its persistent session kept from an earlier
	// run, and ignores any other kiosk's record. Several collectors split a fleet this way,
	// each with its own client id, session and output; no kiosk may be in two sets, since
	// each kiosk's chain is followed and acked by one collector.
	Kiosks []string

	Out io.Writer // JSON lines, one record each, in per-kiosk order without duplicates
	// Sink, when set, takes the records instead of Out (which is then not used): a shared
	// store that follows each kiosk's chain itself (daemon/warehouse), so any number of
	// collectors can share the kiosks' topics and each acks what the store has verified.
	Sink Sink
	// Share, when set, subscribes as member of the MQTT shared subscription group
	// $share/<Share>/... (mosquitto 2, EMQX): the broker deals the records among the
	// group's members. Only with a Sink, since no member sees a kiosk's whole chain.
	Share string
	Sync  func() error // makes Out durable; called before every ack

	Start       map[string]Position // where each kiosk's chain stands (see ResumePositions)
	AckInterval time.Duration       // default 200 ms
	Logger      *slog.Logger
	// OnRecord is called after each record is written (tests and the simulator count with it).
	OnRecord func(r *audit.Record)
}

// Collector subscribes to every kiosk's audit topic (or to those of CollectorOpts.Kiosks),
// writes records in order, deduplicates re-sends and acknowledges what it has durably written.
type Collector struct {
	o    CollectorOpts
	top  Topics
	only map[string]bool // Kiosks as a set; nil collects every kiosk

	ready     chan struct{}
	readyOnce sync.Once

	mu    sync.Mutex
	pos   map[string]Position
	dirty map[string]bool
	// unknownStart marks kiosks first heard of mid-chain, warned about once.
	unknownStart map[string]bool
	problems     int
}

// NewCollector validates o.
func NewCollector(o *CollectorOpts) (*Collector, error) {
	if o == nil || o.Broker == "" || (o.Out == nil && o.Sink == nil) || len(o.Key) != ed25519.PrivateKeySize {
		return nil, errors.New("collector: broker, output and signing key are required")
	}
	if o.Share != "" && o.Sink == nil {
		return nil, errors.New("collector: a shared subscription needs a sink that follows the chains (a database)")
	}
	if o.Share != "" {
		if err := checkName("share group", o.Share); err != nil {
			return nil, fmt.Errorf("collector: %w", err)
		}
	}
	if err := checkName("fleet", o.Fleet); err != nil {
		return nil, fmt.Errorf("collector: %w", err)
	}
	c := &Collector{o: *o, top: NewTopics(o.Fleet), pos: map[string]Position{}, dirty: map[string]bool{}, unknownStart: map[string]bool{}, ready: make(chan struct{})}
	if c.o.ClientID == "" {
		c.o.ClientID = "collector"
	}
	if c.o.AckInterval <= 0 {
		c.o.AckInterval = 200 * time.Millisecond
	}
	if c.o.Logger == nil {
		c.o.Logger = slog.New(slog.DiscardHandler)
	}
	if c.o.Sync == nil {
		c.o.Sync = func() error { return nil }
	}
	for k, p := range o.Start {
		c.pos[k] = p
	}
	for _, k := range o.Kiosks {
		if err := checkName("kiosk", k); err != nil {
			return nil, fmt.Errorf("collector: %w", err)
		}
		if c.only == nil {
			c.only = map[string]bool{}
		}
		c.only[k] = true
	}
	return c, nil
}

// Ready is closed once the collector's subscription is in place for the first time.
func (c *Collector) Ready() <-chan struct{} { return c.ready }

// Positions returns a copy of the collected positions.
func (c *Collector) Positions() map[string]Position {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]Position, len(c.pos))
	for k, p := range c.pos {
		out[k] = p
	}
	return out
}

// Problems returns how many chain problems were seen (each is logged).
func (c *Collector) Problems() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.problems
}

// serves reports whether the collector collects kiosk's records.
func (c *Collector) serves(kiosk string) bool { return c.only == nil || c.only[kiosk] }

// filters are the audit topics the collector subscribes to.
func (c *Collector) filters() map[string]byte {
	pre := ""
	if c.o.Share != "" {
		pre = "$share/" + c.o.Share + "/" // paho's router strips it when it matches topics
	}
	if c.only == nil {
		return map[string]byte{pre + c.top.AuditAll(): 1}
	}
	f := make(map[string]byte, len(c.only))
	for k := range c.only {
		f[pre+c.top.Audit(k)] = 1
	}
	return f
}

// Run collects until ctx is done.
func (c *Collector) Run(ctx context.Context) error {
	in := make(chan mqtt.Message, 256)
	filters := c.filters()
	opts := addBrokers(mqtt.NewClientOptions(), c.o.Broker).
		SetClientID(c.o.ClientID).
		SetCleanSession(c.o.CleanSession).
		SetOrderMatters(true).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(500 * time.Millisecond).
		SetMaxReconnectInterval(5 * time.Second).
		SetResumeSubs(true)
	if c.o.SessionDir != "" {
		opts.SetStore(mqtt.NewFileStore(c.o.SessionDir))
	} else {
		opts.SetStore(mqtt.NewMemoryStore())
	}
	if c.o.TLS != nil {
		opts.SetTLSConfig(c.o.TLS)
	}
	opts.SetOnConnectHandler(func(cl mqtt.Client) {
		if c.only != nil {
			// A session that once collected every kiosk keeps that subscription. paho also
			// drops the route of an unsubscribed filter, which is why the routes below are
			// per kiosk in this case.
			cl.Unsubscribe(c.top.AuditAll())
		}
		tok := cl.SubscribeMultiple(filters, nil)
		go func() {
			if tok.WaitTimeout(30*time.Second) && tok.Error() == nil {
				c.readyOnce.Do(func() { close(c.ready) })
			}
		}()
		c.mu.Lock()
		for k := range c.pos {
			// Re-ack after a reconnect in case an ack was lost; a kiosk moved to another
			// collector keeps its lines in this one's file but is acked by that one only.
			if c.serves(k) {
				c.dirty[k] = true
			}
		}
		c.mu.Unlock()
	})
	cl := mqtt.NewClient(opts)
	rctx, cancel := context.WithCancel(ctx)
	for f := range filters {
		cl.AddRoute(f, func(_ mqtt.Client, m mqtt.Message) {
			select {
			case in <- m:
			case <-rctx.Done(): // Run has returned: do not hold paho's goroutine
			}
		})
	}
	cl.Connect()
	defer cl.Disconnect(250)
	defer cancel() // runs before Disconnect
	tick := time.NewTicker(c.o.AckInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return c.flushAcks(cl)
		case m := <-in:
			if c.o.Sink != nil {
				c.ingest(ctx, m, in)
				continue
			}
			if err := c.accept(m.Topic(), m.Payload()); err != nil {
				return err
			}
		case <-tick.C:
			if err := c.flushAcks(cl); err != nil {
				return err
			}
		}
	}
}

// Sink stores audit records and follows each kiosk's chain; it returns the verified
// position of every kiosk the batch names, which the collector acks.
type Sink interface {
	Ingest(ctx context.Context, kiosks []string, raws [][]byte) (map[string]Position, error)
}

// ingest hands m and whatever else is already queued (up to 512) to the sink. When the sink
// fails the batch is dropped and nothing is acked: the kiosks re-send it.
func (c *Collector) ingest(ctx context.Context, m mqtt.Message, in <-chan mqtt.Message) {
	var kiosks []string
	var raws [][]byte
	add := func(m mqtt.Message) {
		k := strings.TrimPrefix(m.Topic(), c.top.Root+"/audit/")
		if c.serves(k) {
			kiosks, raws = append(kiosks, k), append(raws, m.Payload())
		}
	}
	add(m)
	for len(raws) < 512 {
		select {
		case m := <-in:
			add(m)
			continue
		default:
		}
		break
	}
	if len(raws) == 0 {
		return
	}
	heads, err := c.o.Sink.Ingest(ctx, kiosks, raws)
	if err != nil {
		if ctx.Err() == nil {
			c.o.Logger.Warn("collector: store failed; the batch is left to the kiosks' re-sends", "records", len(raws), "err", err)
			select {
			case <-time.After(500 * time.Millisecond):
			case <-ctx.Done():
			}
		}
		return
	}
	c.mu.Lock()
	for k, p := range heads {
		c.pos[k] = p
		c.dirty[k] = true
	}
	c.mu.Unlock()
}

// accept handles one audit message; it returns an error only when the output fails.
func (c *Collector) accept(topic string, payload []byte) error {
	kiosk := strings.TrimPrefix(topic, c.top.Root+"/audit/")
	if !c.serves(kiosk) {
		c.o.Logger.Debug("collector: record of a kiosk not in its set ignored", "kiosk", kiosk)
		return nil
	}
	r, err := audit.ParseRecord(payload)
	if err != nil {
		c.o.Logger.Warn("collector: malformed record refused", "kiosk", kiosk, "err", err)
		return nil
	}
	if r.Kiosk != kiosk {
		c.o.Logger.Warn("collector: record names another kiosk than its topic", "topic", kiosk, "record", r.Kiosk)
		return nil
	}
	var probs []string
	c.mu.Lock()
	p := c.pos[kiosk]
	switch {
	case r.Seq == 1 && p.Seq > 0 && p.Genesis != "" && r.Hash != p.Genesis && r.Prev == audit.ZeroHash:
		// Written and followed from here; the file shows both chains, and audit verify names
		// the restart.
		probs = append(probs, fmt.Sprintf("starts a new chain after record %d: the kiosk's store was reset (or another kiosk uses its id)", p.Seq))
		p = Position{}
	case r.Seq <= p.Seq:
		c.dirty[kiosk] = true // a re-send: ack again so the kiosk can move on
		c.mu.Unlock()
		return nil
	case r.Seq > p.Seq+1:
		// Out of order: drop it, and ack our position so the kiosk re-sends from there.
		c.dirty[kiosk] = true
		warn := p.Seq == 0 && !c.unknownStart[kiosk]
		if warn {
			c.unknownStart[kiosk] = true
		}
		c.mu.Unlock()
		if warn {
			// The kiosk re-sends from record 1, or from the oldest it still keeps. If that is
			// after 1, the rest is only in an older output file.
			c.o.Logger.Warn("collector: kiosk sends from a later record and this collector has none of its records; it is asked to re-send what it keeps. If no earlier record follows, the kiosk pruned them: start this collector on the output file that has them",
				"kiosk", kiosk, "seq", r.Seq)
		}
		return nil
	}
	c.mu.Unlock()
	if h, err := r.ComputeHash(); err != nil || h != r.Hash {
		probs = append(probs, "hash does not match content")
	}
	if p.Seq > 0 && r.Prev != p.Hash || p.Seq == 0 && r.Seq == 1 && r.Prev != audit.ZeroHash {
		probs = append(probs, "prev hash does not continue the chain")
	}
	if r.Checkpoint != "" {
		if pub, ok := c.o.KioskKeys[kiosk]; ok {
			if cp, err := audit.VerifyCheckpoint(r.Checkpoint, pub); err != nil {
				probs = append(probs, err.Error())
			} else if cp.Size != r.Seq {
				probs = append(probs, "checkpoint size differs from the record")
			}
		}
	}
	line := append(append([]byte(nil), payload...), '\n')
	if _, err := c.o.Out.Write(line); err != nil {
		return fmt.Errorf("collector: write: %w", err)
	}
	if r.Seq == 1 {
		p.Genesis = r.Hash
	}
	c.mu.Lock()
	c.pos[kiosk] = Position{Seq: r.Seq, Hash: r.Hash, Genesis: p.Genesis}
	c.dirty[kiosk] = true
	c.problems += len(probs)
	c.mu.Unlock()
	for _, pr := range probs {
		c.o.Logger.Warn("collector: chain problem", "kiosk", kiosk, "seq", r.Seq, "problem", pr)
	}
	if c.o.OnRecord != nil {
		c.o.OnRecord(r)
	}
	return nil
}

func (c *Collector) flushAcks(cl mqtt.Client) error {
	c.mu.Lock()
	if len(c.dirty) == 0 {
		c.mu.Unlock()
		return nil
	}
	acks := make([]AuditAck, 0, len(c.dirty))
	for k := range c.dirty {
		acks = append(acks, AuditAck{Kiosk: k, Seq: c.pos[k].Seq, Hash: c.pos[k].Hash})
	}
	c.dirty = map[string]bool{}
	c.mu.Unlock()
	if err := c.o.Sync(); err != nil {
		return fmt.Errorf("collector: sync output: %w", err)
	}
	for _, a := range acks { // Seq 0 means "nothing yet: send from the first record"
		cl.Publish(c.top.AuditAck(a.Kiosk), 1, false, Seal(KindAuditAck, a.Marshal(), c.o.Key))
	}
	return nil
}

// ResumePositions reads a collector output file and returns each kiosk's position: its last
// record in the file (the collector writes each kiosk's records in order, so the last is the
// newest, also after a chain restart) and the first record of that chain, so that a
// restarted collector continues where it stopped.
func ResumePositions(path string) (map[string]Position, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return map[string]Position{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pos := map[string]Position{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), audit.MaxRecordSize+1)
	line := 0
	for sc.Scan() {
		line++
		r, err := audit.ParseRecord(sc.Bytes())
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", path, line, err)
		}
		p := pos[r.Kiosk]
		if r.Seq == 1 {
			p.Genesis = r.Hash
		}
		p.Seq, p.Hash = r.Seq, r.Hash
		pos[r.Kiosk] = p
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s line %d: %w", path, line+1, err)
	}
	return pos, nil
}
