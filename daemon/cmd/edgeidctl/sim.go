package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/sync/errgroup"

	"github.com/edgeid/edgeid/daemon/audit"
	"github.com/edgeid/edgeid/daemon/cmd/internal/cli"
	"github.com/edgeid/edgeid/daemon/fleet"
)

// minter issues client certificates from a CA for simulated kiosks.
type minter struct {
	ca     *x509.Certificate
	key    crypto.Signer
	pool   *x509.CertPool
	serial atomic.Int64
}

func newMinter(certPath, keyPath string) (*minter, error) {
	cb, err := os.ReadFile(certPath)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(cb)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM certificate", certPath)
	}
	ca, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", certPath, err)
	}
	kb, err := os.ReadFile(keyPath)
	if err != nil {
		return nil, err
	}
	kblk, _ := pem.Decode(kb)
	if kblk == nil {
		return nil, fmt.Errorf("%s: no PEM key", keyPath)
	}
	var key any
	switch kblk.Type {
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(kblk.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(kblk.Bytes)
	default:
		key, err = x509.ParsePKCS8PrivateKey(kblk.Bytes)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", keyPath, err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("%s: key cannot sign", keyPath)
	}
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	m := &minter{ca: ca, key: signer, pool: pool}
	m.serial.Store(time.Now().UnixNano())
	return m, nil
}

func (m *minter) tls(cn string) (*tls.Config, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(m.serial.Add(1)),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, m.ca, &k.PublicKey, m.key)
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: m.pool, MinVersion: tls.VersionTLS12,
		Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: k}}}, nil
}

type arrival struct {
	version uint64
	at      time.Time
}

// simRun is one simulation: its settings and the fleet identity it publishes under.
type simRun struct {
	e                             env
	n, records, rounds, deltaSize int
	timeout, ackInterval          time.Duration
	broker, fleetName, colSession string
	mint                          *minter // nil: plain TCP broker
	top                           fleet.Topics
	fleetKey                      ed25519.PrivateKey
	check                         *deltaCheck
	deltaQoS                      byte
	refusals                      atomic.Int64 // delta subscriptions the broker refused, then granted
	cpuProfile                    string
}

// runSim simulates kiosks on one broker. Each simulated kiosk is a real MQTT client with its
// own certificate that verifies and parses every revocation delta (signature included) and
// publishes a hash-chained, checkpointed audit stream; it keeps no store (500 Badger instances
// would measure this machine's memory, not the fleet link). A real collector ingests and acks.
func runSim(ctx context.Context, e env, args []string) error {
	s, err := parseSim(e, args)
	if err != nil {
		return err
	}
	if s.cpuProfile != "" {
		stop, err := startCPUProfile(s.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	col, ingested, ingestDone, stop, err := s.startCollector(ctx)
	if err != nil {
		return err
	}
	defer stop()
	arrivals := make(chan arrival, s.n*s.rounds+16)
	kiosks, chains, err := s.connectKiosks(ctx, arrivals)
	defer func() {
		for _, k := range kiosks {
			if k != nil {
				k.Disconnect(50)
			}
		}
	}()
	if err != nil {
		return err
	}
	if err := s.fanOut(ctx, arrivals); err != nil {
		return err
	}
	return s.ingest(ctx, col, kiosks, chains, ingested, ingestDone)
}

// parseSim reads the flags and loads the certificate minter when the broker speaks TLS.
func parseSim(e env, args []string) (*simRun, error) {
	fs := newFlags(e, "sim", "")
	n := fs.Int("kiosks", 500, "number of simulated kiosks")
	records := fs.Int("records", 20, "audit records per kiosk for the ingest measurement")
	rounds := fs.Int("rounds", 5, "revocation deltas to fan out")
	deltaSize := fs.Int("delta-entries", 100, "entries per revocation delta")
	timeout := fs.Duration("timeout", 60*time.Second, "limit for each phase")
	caCert := fs.String("mint-ca-cert", "", "CA certificate to mint client certificates from (TLS brokers)")
	caKey := fs.String("mint-ca-key", "", "CA private key to mint client certificates with")
	colSession := fs.String("collector-session", "", "directory for the collector's paho file store (default: in memory)")
	verify := fs.String("verify", "each", "each: every kiosk verifies every delta's signature; once: the first arrival is verified, the others are compared with its bytes (leaves the CPU to the broker when both run on one machine)")
	deltaQoS := fs.Int("delta-qos", 1, "QoS of the kiosks' delta subscription (0 or 1)")
	cpuProfile := fs.String("cpuprofile", "", "write the simulator's CPU profile to this file")
	ackInterval := fs.Duration("ack-interval", 200*time.Millisecond, "the collector's ack interval (each round signs an ack for every kiosk heard from: 10,000 signatures)")
	cf := addConnFlags(fs, "sim")
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return nil, err
	}
	if len(pos) > 0 {
		return nil, cli.Usagef("unexpected arguments %q", pos)
	}
	if *n < 1 || *records < 1 || *rounds < 1 || *deltaSize < 0 {
		return nil, cli.Usagef("-kiosks, -records and -rounds must be at least 1")
	}
	if *verify != "each" && *verify != "once" || *deltaQoS != 0 && *deltaQoS != 1 {
		return nil, cli.Usagef("-verify is each or once, -delta-qos 0 or 1")
	}
	if *cf.broker == "" || *cf.fleet == "" {
		return nil, cli.Usagef("-broker and -fleet are required")
	}
	s := &simRun{e: e, n: *n, records: *records, rounds: *rounds, deltaSize: *deltaSize, timeout: *timeout,
		broker: *cf.broker, fleetName: *cf.fleet, colSession: *colSession, top: fleet.NewTopics(*cf.fleet),
		deltaQoS: byte(*deltaQoS), cpuProfile: *cpuProfile, ackInterval: *ackInterval}
	if *caCert != "" || *caKey != "" {
		if s.mint, err = newSimMinter(*caCert, *caKey, *cf.ca); err != nil {
			return nil, err
		}
	}
	_, s.fleetKey, _ = ed25519.GenerateKey(rand.Reader)
	s.check = &deltaCheck{once: *verify == "once", keys: fleet.NewKeyring(s.fleetKey.Public().(ed25519.PublicKey))}
	return s, nil
}

// newSimMinter loads the client-signing CA; brokerCA, when set, is the CA of the broker's
// certificate if it differs from the one that signs clients.
func newSimMinter(caCert, caKey, brokerCA string) (*minter, error) {
	mint, err := newMinter(caCert, caKey)
	if err != nil {
		return nil, err
	}
	if brokerCA != "" {
		b, err := os.ReadFile(brokerCA)
		if err != nil {
			return nil, err
		}
		mint.pool = x509.NewCertPool()
		if !mint.pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("%s: no PEM certificate", brokerCA)
		}
	}
	return mint, nil
}

func (s *simRun) tlsFor(cn string) (*tls.Config, error) {
	if s.mint == nil {
		return nil, nil
	}
	return s.mint.tls(cn)
}

// startCollector runs a real collector until stop is called; ingestDone closes when it has
// ingested every record the kiosks will publish.
func (s *simRun) startCollector(ctx context.Context) (col *fleet.Collector, ingested *atomic.Int64, ingestDone chan struct{}, stop func(), err error) {
	_, colKey, _ := ed25519.GenerateKey(rand.Reader)
	total := int64(s.n * s.records)
	ingested = new(atomic.Int64)
	ingestDone = make(chan struct{})
	colTLS, err := s.tlsFor("collector")
	if err != nil {
		return nil, nil, nil, nil, err
	}
	col, err = fleet.NewCollector(&fleet.CollectorOpts{Broker: s.broker, TLS: colTLS, Fleet: s.fleetName, ClientID: "collector",
		SessionDir: s.colSession, CleanSession: true, Key: colKey, Out: io.Discard, AckInterval: s.ackInterval, OnRecord: func(*audit.Record) {
			if ingested.Add(1) == total {
				close(ingestDone)
			}
		}})
	if err != nil {
		return nil, nil, nil, nil, err
	}
	cctx, ccancel := context.WithCancel(ctx)
	colErr := make(chan error, 1)
	go func() { colErr <- col.Run(cctx) }()
	stop = func() { ccancel(); <-colErr }
	select {
	case <-col.Ready():
		return col, ingested, ingestDone, stop, nil
	case <-time.After(s.timeout):
		err = fmt.Errorf("sim: collector not subscribed within %v", s.timeout)
	case <-ctx.Done():
		err = ctx.Err()
	}
	stop()
	return nil, nil, nil, nil, err
}

// connectKiosks connects the simulated kiosks, 32 at a time. The clients that did connect are
// returned even with an error, for the caller to disconnect.
func (s *simRun) connectKiosks(ctx context.Context, arrivals chan<- arrival) ([]mqtt.Client, []*audit.Chain, error) {
	kiosks := make([]mqtt.Client, s.n)
	chains := make([]*audit.Chain, s.n)
	start := time.Now()
	var g errgroup.Group
	g.SetLimit(32)
	for i := range kiosks {
		id := fmt.Sprintf("sim-%04d", i)
		_, sk, _ := ed25519.GenerateKey(rand.Reader)
		var err error
		chains[i], err = audit.NewChain(&audit.Opts{Kiosk: id, SigningKey: sk, DocKey: make([]byte, 32), CheckpointEvery: 10})
		if err != nil {
			_ = g.Wait() // the ones already started; their clients are disconnected by the caller
			return kiosks, nil, err
		}
		g.Go(func() error {
			t, err := s.tlsFor(id)
			if err == nil {
				kiosks[i], err = s.connect(ctx, i, id, t, arrivals)
			}
			if err != nil {
				return fmt.Errorf("kiosk %s: %w", id, err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return kiosks, nil, err
	}
	fmt.Fprintf(s.e.Stdout, "sim: %d kiosks connected in %v (%s; refused subscriptions retried: %d)\n", s.n, time.Since(start).Round(time.Millisecond), fdLimit(), s.refusals.Load())
	return kiosks, chains, nil
}

// fanOut publishes the revocation deltas one round at a time and reports how long each took
// to reach every kiosk.
func (s *simRun) fanOut(ctx context.Context, arrivals <-chan arrival) error {
	pubTLS, err := s.tlsFor("publisher")
	if err != nil {
		return err
	}
	pub, err := fleet.Dial(ctx, fleet.Conn{Broker: s.broker, TLS: pubTLS, ClientID: "publisher"})
	if err != nil {
		return err
	}
	defer pub.Disconnect(100)
	var lat []time.Duration
	wall, cpu := time.Now(), cpuTime()
	for r := 1; r <= s.rounds; r++ {
		d := fleet.RevocationList{Version: uint64(r + 1), Base: uint64(r), Issued: time.Now(), Expires: time.Now().Add(time.Hour)}
		for j := 0; j < s.deltaSize; j++ {
			d.Add = append(d.Add, fleet.DocumentEntry("UTO", fmt.Sprintf("SIM%03d%06d", r, j)))
		}
		msg := fleet.Seal(fleet.KindRevocations, d.Marshal(), s.fleetKey)
		t0 := time.Now()
		if err := fleet.Publish(ctx, pub, s.top.RevDelta(), msg, false); err != nil {
			return err
		}
		if lat, err = s.awaitRound(ctx, arrivals, r, d.Version, t0, lat); err != nil {
			return err
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(float64(len(lat))*p))] }
	fmt.Fprintf(s.e.Stdout, "revocation fan-out: %d deltas of %d entries to %d kiosks: p50 %v, p99 %v, max %v (delta QoS %d, verify %s)\n",
		s.rounds, s.deltaSize, s.n, pct(0.50).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond),
		s.deltaQoS, s.check.mode())
	fmt.Fprintf(s.e.Stdout, "fan-out phase: %v wall, simulator CPU %v\n", time.Since(wall).Round(time.Millisecond), (cpuTime() - cpu).Round(time.Millisecond))
	return nil
}

// awaitRound waits until every kiosk has verified delta version, appending the latencies.
func (s *simRun) awaitRound(ctx context.Context, arrivals <-chan arrival, r int, version uint64, t0 time.Time, lat []time.Duration) ([]time.Duration, error) {
	deadline := time.After(s.timeout)
	for got := 0; got < s.n; {
		select {
		case a := <-arrivals:
			if a.version == version {
				lat = append(lat, a.at.Sub(t0))
				got++
			}
		case <-deadline:
			return lat, &cli.ExitStatus{Code: 1, Msg: fmt.Sprintf("sim: round %d: only %d of %d kiosks got the delta within %v", r, got, s.n, s.timeout)}
		case <-ctx.Done():
			return lat, ctx.Err()
		}
	}
	return lat, nil
}

// ingest has every kiosk publish its audit records and measures how fast the collector takes
// them. A publish whose PUBACK has not come back within the timeout counts as unacked.
func (s *simRun) ingest(ctx context.Context, col *fleet.Collector, kiosks []mqtt.Client, chains []*audit.Chain, ingested *atomic.Int64, ingestDone <-chan struct{}) error {
	total := int64(s.n * s.records)
	t0, cpu := time.Now(), cpuTime()
	deadline := t0.Add(s.timeout)
	var unacked atomic.Int64
	var g errgroup.Group
	for i, k := range kiosks {
		g.Go(func() error {
			toks := make([]mqtt.Token, 0, s.records)
			for j := 0; j < s.records; j++ {
				_, b, err := chains[i].Next(audit.Decision{Flow: "enrolled", Outcome: "accept", Identity: fmt.Sprintf("id-%d", j)})
				if err != nil {
					return err
				}
				toks = append(toks, k.Publish(s.top.Audit(fmt.Sprintf("sim-%04d", i)), 1, false, b))
			}
			for _, t := range toks {
				if !t.WaitTimeout(max(time.Until(deadline), time.Millisecond)) || t.Error() != nil {
					unacked.Add(1)
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	select {
	case <-ingestDone:
	case <-time.After(time.Until(deadline)):
		return &cli.ExitStatus{Code: 1, Msg: fmt.Sprintf("sim: collector ingested %d of %d records within %v (unacked publishes: %d)", ingested.Load(), total, s.timeout, unacked.Load())}
	case <-ctx.Done():
		return ctx.Err()
	}
	el := time.Since(t0)
	store := "memory"
	if s.colSession != "" {
		store = "file"
	}
	fmt.Fprintf(s.e.Stdout, "audit ingest: %d records from %d kiosks in %v: %.0f records/s (collector paho store: %s; chain problems: %d; unacked publishes: %d; simulator CPU %v)\n",
		total, s.n, el.Round(time.Millisecond), float64(total)/el.Seconds(), store, col.Problems(), unacked.Load(), (cpuTime() - cpu).Round(time.Millisecond))
	if col.Problems() > 0 {
		return &cli.ExitStatus{Code: 1, Msg: "sim: the collector saw chain problems"}
	}
	return nil
}

// connect connects kiosk i, starting at the i-th broker of a comma-separated list (the nodes
// of a cluster), and subscribes it to the revocation deltas.
func (s *simRun) connect(ctx context.Context, i int, id string, t *tls.Config, out chan<- arrival) (mqtt.Client, error) {
	opts := mqtt.NewClientOptions().SetClientID(id).SetCleanSession(true).SetAutoReconnect(true).
		SetConnectTimeout(30 * time.Second).SetOrderMatters(false).SetCustomOpenConnectionFn(bufferedDial)
	urls := strings.Split(s.broker, ",")
	for j := range urls {
		opts.AddBroker(strings.TrimSpace(urls[(i+j)%len(urls)]))
	}
	if t != nil {
		opts.SetTLSConfig(t)
	}
	cl := mqtt.NewClient(opts)
	tok := cl.Connect()
	select {
	case <-tok.Done():
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if tok.Error() != nil {
		return nil, tok.Error()
	}
	onDelta := func(_ mqtt.Client, m mqtt.Message) {
		if v, ok := s.check.version(m.Payload()); ok {
			select {
			case out <- arrival{version: v, at: time.Now()}: // verified and parsed
			default:
			}
		}
	}
	// A refusal (SUBACK 0x80: NATS while JetStream is busy) is retried, as a kiosk does.
	deadline := time.Now().Add(s.timeout)
	for wait := 200 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		st := cl.Subscribe(s.top.RevDelta(), s.deltaQoS, onDelta)
		if !st.WaitTimeout(30 * time.Second) {
			cl.Disconnect(0)
			return nil, errors.New("subscribe timed out")
		}
		err := fleet.Granted(st)
		if err == nil {
			break
		}
		if !errors.Is(err, fleet.ErrSubscribeRefused) || time.Now().Add(wait).After(deadline) {
			cl.Disconnect(0)
			return nil, err
		}
		s.refusals.Add(1)
		time.Sleep(wait)
	}
	return cl, nil
}
