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
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

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

// runSim simulates kiosks on one broker. Each simulated kiosk is a real MQTT client with its
// own certificate that verifies and parses every revocation delta (signature included) and
// publishes a hash-chained, checkpointed audit stream; it keeps no store (500 Badger instances
// would measure this machine's memory, not the fleet link). A real collector ingests and acks.
func runSim(ctx context.Context, e env, args []string) error {
	fs := newFlags(e, "sim", "")
	n := fs.Int("kiosks", 500, "number of simulated kiosks")
	records := fs.Int("records", 20, "audit records per kiosk for the ingest measurement")
	rounds := fs.Int("rounds", 5, "revocation deltas to fan out")
	deltaSize := fs.Int("delta-entries", 100, "entries per revocation delta")
	timeout := fs.Duration("timeout", 60*time.Second, "limit for each phase")
	caCert := fs.String("mint-ca-cert", "", "CA certificate to mint client certificates from (TLS brokers)")
	caKey := fs.String("mint-ca-key", "", "CA private key to mint client certificates with")
	colSession := fs.String("collector-session", "", "directory for the collector's paho file store (default: in memory)")
	cf := addConnFlags(fs, "sim")
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("unexpected arguments %q", pos)
	}
	if *n < 1 || *records < 1 || *rounds < 1 || *deltaSize < 0 {
		return cli.Usagef("-kiosks, -records and -rounds must be at least 1")
	}
	if *cf.broker == "" || *cf.fleet == "" {
		return cli.Usagef("-broker and -fleet are required")
	}
	var mint *minter
	if *caCert != "" || *caKey != "" {
		if mint, err = newMinter(*caCert, *caKey); err != nil {
			return err
		}
		if *cf.ca != "" { // the broker's CA, when it differs from the one that signs clients
			b, err := os.ReadFile(*cf.ca)
			if err != nil {
				return err
			}
			mint.pool = x509.NewCertPool()
			if !mint.pool.AppendCertsFromPEM(b) {
				return fmt.Errorf("%s: no PEM certificate", *cf.ca)
			}
		}
	}
	tlsFor := func(cn string) (*tls.Config, error) {
		if mint == nil {
			return nil, nil
		}
		return mint.tls(cn)
	}
	top := fleet.NewTopics(*cf.fleet)
	_, fleetKey, _ := ed25519.GenerateKey(rand.Reader)
	_, colKey, _ := ed25519.GenerateKey(rand.Reader)
	keys := fleet.NewKeyring(fleetKey.Public().(ed25519.PublicKey))

	// Collector.
	total := int64(*n * *records)
	var ingested atomic.Int64
	ingestDone := make(chan struct{})
	colTLS, err := tlsFor("collector")
	if err != nil {
		return err
	}
	col, err := fleet.NewCollector(&fleet.CollectorOpts{Broker: *cf.broker, TLS: colTLS, Fleet: *cf.fleet, ClientID: "collector",
		SessionDir: *colSession, CleanSession: true, Key: colKey, Out: io.Discard, OnRecord: func(*audit.Record) {
			if ingested.Add(1) == total {
				close(ingestDone)
			}
		}})
	if err != nil {
		return err
	}
	cctx, ccancel := context.WithCancel(ctx)
	colErr := make(chan error, 1)
	go func() { colErr <- col.Run(cctx) }()
	defer func() { ccancel(); <-colErr }()
	select {
	case <-col.Ready():
	case <-time.After(*timeout):
		return fmt.Errorf("sim: collector not subscribed within %v", *timeout)
	case <-ctx.Done():
		return ctx.Err()
	}

	// Kiosks.
	arrivals := make(chan arrival, *n**rounds+16)
	kiosks := make([]mqtt.Client, *n)
	chains := make([]*audit.Chain, *n)
	start := time.Now()
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for i := range kiosks {
		id := fmt.Sprintf("sim-%04d", i)
		_, sk, _ := ed25519.GenerateKey(rand.Reader)
		chains[i], err = audit.NewChain(&audit.Opts{Kiosk: id, SigningKey: sk, DocKey: make([]byte, 32), CheckpointEvery: 10})
		if err != nil {
			return err
		}
		wg.Add(1)
		sem <- struct{}{}
		go func(i int, id string) {
			defer wg.Done()
			defer func() { <-sem }()
			t, err := tlsFor(id)
			if err == nil {
				kiosks[i], err = simConnect(ctx, *cf.broker, id, t, top.RevDelta(), keys, arrivals)
			}
			if err != nil {
				mu.Lock()
				if firstErr == nil {
					firstErr = fmt.Errorf("kiosk %s: %w", id, err)
				}
				mu.Unlock()
			}
		}(i, id)
	}
	wg.Wait()
	defer func() {
		for _, k := range kiosks {
			if k != nil {
				k.Disconnect(50)
			}
		}
	}()
	if firstErr != nil {
		return firstErr
	}
	fmt.Fprintf(e.Stdout, "sim: %d kiosks connected in %v\n", *n, time.Since(start).Round(time.Millisecond))

	// Revocation fan-out.
	pubTLS, err := tlsFor("publisher")
	if err != nil {
		return err
	}
	pub, err := fleet.Dial(ctx, fleet.Conn{Broker: *cf.broker, TLS: pubTLS, ClientID: "publisher"})
	if err != nil {
		return err
	}
	defer pub.Disconnect(100)
	var lat []time.Duration
	for r := 1; r <= *rounds; r++ {
		d := fleet.RevocationList{Version: uint64(r + 1), Base: uint64(r), Issued: time.Now(), Expires: time.Now().Add(time.Hour)}
		for j := 0; j < *deltaSize; j++ {
			d.Add = append(d.Add, fleet.DocumentEntry("UTO", fmt.Sprintf("SIM%03d%06d", r, j)))
		}
		msg := fleet.Seal(fleet.KindRevocations, d.Marshal(), fleetKey)
		t0 := time.Now()
		if err := fleet.Publish(ctx, pub, top.RevDelta(), msg, false); err != nil {
			return err
		}
		deadline := time.After(*timeout)
		for got := 0; got < *n; {
			select {
			case a := <-arrivals:
				if a.version == d.Version {
					lat = append(lat, a.at.Sub(t0))
					got++
				}
			case <-deadline:
				return &cli.ExitStatus{Code: 1, Msg: fmt.Sprintf("sim: round %d: only %d of %d kiosks got the delta within %v", r, got, *n, *timeout)}
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(float64(len(lat))*p))] }
	fmt.Fprintf(e.Stdout, "revocation fan-out: %d deltas of %d entries to %d kiosks: p50 %v, p99 %v, max %v\n",
		*rounds, *deltaSize, *n, pct(0.50).Round(time.Microsecond), pct(0.99).Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond))

	// Audit ingest.
	t0 := time.Now()
	var perr atomic.Value
	for i, k := range kiosks {
		wg.Add(1)
		go func(i int, k mqtt.Client) {
			defer wg.Done()
			var last mqtt.Token
			for j := 0; j < *records; j++ {
				r, b, err := chains[i].Next(audit.Decision{Flow: "enrolled", Outcome: "accept", Identity: fmt.Sprintf("id-%d", j)})
				if err != nil {
					perr.Store(err)
					return
				}
				_ = r
				last = k.Publish(top.Audit(fmt.Sprintf("sim-%04d", i)), 1, false, b)
			}
			if last != nil {
				last.WaitTimeout(*timeout)
			}
		}(i, k)
	}
	wg.Wait()
	if err, _ := perr.Load().(error); err != nil {
		return err
	}
	select {
	case <-ingestDone:
	case <-time.After(*timeout):
		return &cli.ExitStatus{Code: 1, Msg: fmt.Sprintf("sim: collector ingested %d of %d records within %v", ingested.Load(), total, *timeout)}
	case <-ctx.Done():
		return ctx.Err()
	}
	el := time.Since(t0)
	store := "memory"
	if *colSession != "" {
		store = "file"
	}
	fmt.Fprintf(e.Stdout, "audit ingest: %d records from %d kiosks in %v: %.0f records/s (collector paho store: %s; chain problems: %d)\n",
		total, *n, el.Round(time.Millisecond), float64(total)/el.Seconds(), store, col.Problems())
	if col.Problems() > 0 {
		return &cli.ExitStatus{Code: 1, Msg: "sim: the collector saw chain problems"}
	}
	return nil
}

func simConnect(ctx context.Context, broker, id string, t *tls.Config, deltaTopic string, keys fleet.Keyring, out chan<- arrival) (mqtt.Client, error) {
	opts := mqtt.NewClientOptions().AddBroker(broker).SetClientID(id).SetCleanSession(true).
		SetAutoReconnect(true).SetConnectTimeout(30 * time.Second).SetOrderMatters(false)
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
	st := cl.Subscribe(deltaTopic, 1, func(_ mqtt.Client, m mqtt.Message) {
		kind, body, err := fleet.Unseal(m.Payload(), keys, 64<<20)
		if err != nil || kind != fleet.KindRevocations {
			return
		}
		l, err := fleet.ParseRevocationList(body)
		if err != nil {
			return
		}
		select {
		case out <- arrival{version: l.Version, at: time.Now()}: // verified and parsed
		default:
		}
	})
	if !st.WaitTimeout(30*time.Second) || st.Error() != nil {
		cl.Disconnect(0)
		if st.Error() != nil {
			return nil, st.Error()
		}
		return nil, errors.New("subscribe timed out")
	}
	return cl, nil
}
