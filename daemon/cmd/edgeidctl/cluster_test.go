package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/jackc/pgx/v5"

	"github.com/edgeid/edgeid/daemon/audit"
	"github.com/edgeid/edgeid/daemon/fleet"
	"github.com/edgeid/edgeid/daemon/fleet/natsmqtt"
	"github.com/edgeid/edgeid/daemon/store"
	"github.com/edgeid/edgeid/daemon/warehouse"
	"github.com/edgeid/edgeid/daemon/warehouse/pgtest"
)

// runNATSNode is the child side of natsNode: one cluster node until it is killed.
func runNATSNode(spec string) int {
	var o natsmqtt.Opts
	if err := json.Unmarshal([]byte(spec), &o); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	s, err := natsmqtt.Start(&o)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	select {} // until SIGKILL (or the test's cleanup kills it)
}

type natsNode struct {
	opts natsmqtt.Opts
	cmd  *exec.Cmd
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startCluster starts three NATS nodes as processes (the test binary), MQTT on each,
// JetStream with the MQTT streams replicated three times.
func startCluster(t *testing.T) []*natsNode {
	nodes := make([]*natsNode, 3)
	var routes []string
	for i := range nodes {
		nodes[i] = &natsNode{opts: natsmqtt.Opts{Name: fmt.Sprintf("n%d", i), MQTT: freeAddr(t), NATS: freeAddr(t), Cluster: freeAddr(t),
			ClusterName: "edgeid", StoreDir: t.TempDir(), Replicas: 3, Loopback: true}}
		routes = append(routes, "nats-route://"+nodes[i].opts.Cluster)
	}
	for _, n := range nodes {
		n.opts.Routes = routes
		spec, _ := json.Marshal(n.opts)
		c := exec.Command(os.Args[0], "-test.run=^$")
		c.Env = append(os.Environ(), "EDGEIDCTL_TEST_NATS="+string(spec))
		logf, err := os.Create(filepath.Join(t.TempDir(), n.opts.Name+".log"))
		if err != nil {
			t.Fatal(err)
		}
		c.Stdout, c.Stderr = logf, logf
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		n.cmd = c
		t.Cleanup(func() { _ = c.Process.Kill(); _ = c.Wait(); logf.Close() })
	}
	// MQTT works once JetStream has a meta leader and the MQTT streams exist.
	deadline := time.Now().Add(60 * time.Second)
	for _, n := range nodes {
		for {
			cl := mqtt.NewClient(mqtt.NewClientOptions().AddBroker("tcp://" + n.opts.MQTT).SetClientID("probe-" + n.opts.Name).
				SetConnectTimeout(2 * time.Second).SetAutoReconnect(false))
			tok := cl.Connect()
			if tok.WaitTimeout(5*time.Second) && tok.Error() == nil {
				cl.Disconnect(50)
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("cluster node %s: MQTT not ready: %v", n.opts.Name, tok.Error())
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	return nodes
}

// TestClusterKillNode: three NATS nodes (MQTT + JetStream, replicas 3), 50 kiosks connected
// round robin with every node's URL, two collectors writing to PostgreSQL. During a burst of
// 1,000 decisions and a revocation publish one node is SIGKILLed. Every record must reach
// the warehouse exactly once per (kiosk, seq), in chain order, and every kiosk must end with
// the newest revocation list.
func TestClusterKillNode(t *testing.T) {
	pg := pgtest.Start(t)
	dsn := pg.NewDB(t)
	nodes := startCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	dir := t.TempDir()
	ck, fk := filepath.Join(dir, "collector"), filepath.Join(dir, "fleet")
	ctl(t, ctx, 0, "keygen", ck)
	ctl(t, ctx, 0, "keygen", fk)
	colPub, _ := fleet.LoadPublicKey(ck + ".pub")
	colKey, _ := fleet.LoadPrivateKey(ck + ".key")
	fleetPub, _ := fleet.LoadPublicKey(fk + ".pub")
	urls := make([]string, len(nodes))
	for i, n := range nodes {
		urls[i] = "tcp://" + n.opts.MQTT
	}
	rotated := func(i int) string { // each kiosk starts at another node
		var u []string
		for j := range urls {
			u = append(u, urls[(i+j)%len(urls)])
		}
		return strings.Join(u, ",")
	}
	state := filepath.Join(dir, "rev.json")
	// Right after a node dies the cluster elects new stream leaders for a few seconds and
	// refuses MQTT connections meanwhile; an operator publishes again, and so does this.
	publish := func() {
		var out, errOut bytes.Buffer
		for try := 0; ; try++ {
			out.Reset()
			errOut.Reset()
			code := run(ctx, []string{"revoke", "publish", "-state", state, "-key", fk + ".key", "-broker", rotated(1), "-fleet", "f1", "-client-id", "publisher"}, &out, &errOut)
			if code == 0 {
				return
			}
			if try == 30 || ctx.Err() != nil {
				t.Fatalf("revoke publish: exit %d: %s %s", code, out.String(), errOut.String())
			}
			t.Logf("revoke publish failed (try %d): %s", try+1, strings.TrimSpace(errOut.String()))
			time.Sleep(time.Second)
		}
	}
	ctl(t, ctx, 0, "revoke", "add", "-state", state, "-doc", "UTO:AAA000001")
	publish()

	// Two collectors, each subscribed to every kiosk (NATS's MQTT has no $share): the
	// warehouse keeps each record once whichever writes it first.
	keys := map[string]ed25519.PublicKey{}
	for i := 0; i < 2; i++ {
		w, err := warehouse.Open(ctx, dsn, &warehouse.Opts{KioskKeys: keys})
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		c, err := fleet.NewCollector(&fleet.CollectorOpts{Broker: rotated(i), Fleet: "f1", ClientID: fmt.Sprintf("collector-%d", i),
			Key: colKey, Sink: sink{w}, AckInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		cctx, ccancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- c.Run(cctx) }()
		defer func() { ccancel(); <-done }()
		select {
		case <-c.Ready():
		case <-ctx.Done():
			t.Fatal("collector never subscribed")
		}
	}

	const nk, perKiosk = 50, 20
	type kio struct {
		id   string
		log  *audit.Log
		revs *fleet.Revocations
	}
	var ks []kio
	for i := 0; i < nk; i++ {
		id := fmt.Sprintf("kiosk-%02d", i)
		_, key, _ := ed25519.GenerateKey(nil)
		revs, log := kioskState(t, ctx, id, key, fleetPub, func(o *store.Opts) {
			o.SyncWrites = false // fifty kiosks in one process: small, unsynced stores
			o.MemTableSize, o.BlockCacheSize, o.IndexCacheSize, o.ValueLogFileSize = 8<<20, 1<<20, 1<<20, 2<<20
		})
		cl, err := fleet.NewClient(&fleet.ClientOpts{Broker: rotated(i), Fleet: "f1", Kiosk: id, SessionDir: t.TempDir(),
			Revocations: revs, Audit: log, AckKeys: fleet.NewKeyring(colPub), ResendAfter: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		kctx, kcancel := context.WithCancel(ctx)
		kdone := make(chan error, 1)
		go func() { kdone <- cl.Run(kctx) }()
		t.Cleanup(func() { kcancel(); <-kdone })
		ks = append(ks, kio{id: id, log: log, revs: revs})
	}
	waitAll := func(what string, ok func(k kio) bool) {
		t.Helper()
		for _, k := range ks {
			for !ok(k) {
				if ctx.Err() != nil {
					t.Fatalf("%s: %s never happened", k.id, what)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
	}
	// Every kiosk should get list 1 as the retained snapshot when it subscribes. Once, on a loaded
	// machine, NATS's MQTT side never delivered it to one kiosk of 50 (unexplained). Such a kiosk
	// must catch up through the gap path (delta 1->2 makes it ask for the retained snapshot
	// again), which the list-2 wait below checks; more than a few misses is a broken cluster.
	var missed []string
	settle := time.Now().Add(30 * time.Second)
	for _, k := range ks {
		for v, _ := k.revs.Version(); v != 1; v, _ = k.revs.Version() {
			if time.Now().After(settle) || ctx.Err() != nil {
				missed = append(missed, k.id)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	if len(missed) > nk/10 {
		t.Fatalf("%d kiosks never got revocation list 1: %v", len(missed), missed)
	} else if len(missed) > 0 {
		t.Logf("retained list 1 not delivered to %v within 30 s; they must catch up at list 2", missed)
	}

	// The burst: 1,000 decisions; node 0 is killed a third of the way in, and the revocation
	// list 2 is published right after.
	var wg sync.WaitGroup
	var killed time.Time
	var once sync.Once
	var mu sync.Mutex
	n := 0
	for _, k := range ks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < perKiosk; j++ {
				if _, err := k.log.Append(ctx, audit.Decision{Flow: "document", Outcome: "accept"}); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				n++
				kill := n == nk*perKiosk/3
				mu.Unlock()
				if kill {
					once.Do(func() {
						killed = time.Now()
						_ = nodes[0].cmd.Process.Signal(syscall.SIGKILL)
					})
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	ctl(t, ctx, 0, "revoke", "add", "-state", state, "-doc", "UTO:BBB000002")
	publish()
	waitAll("revocation list 2", func(k kio) bool { v, _ := k.revs.Version(); return v == 2 })
	waitAll("an empty outbox", func(k kio) bool { n, _ := k.log.OutboxLen(ctx); return n == 0 })
	t.Logf("node n0 SIGKILLed; all %d records acked and list 2 everywhere %v later", nk*perKiosk, time.Since(killed).Round(time.Millisecond))

	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var rows, distinct, verified, kiosks int
	if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT (kiosk, seq)), count(*) FILTER (WHERE chain = 1), count(DISTINCT kiosk) FROM records`).
		Scan(&rows, &distinct, &verified, &kiosks); err != nil {
		t.Fatal(err)
	}
	if rows != nk*perKiosk || distinct != rows || verified != rows || kiosks != nk {
		t.Fatalf("warehouse: %d rows, %d distinct (kiosk, seq), %d on the verified chain, %d kiosks; want %d, %d, %d, %d",
			rows, distinct, verified, kiosks, nk*perKiosk, nk*perKiosk, nk*perKiosk, nk)
	}
	var probs int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM problems`).Scan(&probs); err != nil || probs != 0 {
		t.Fatalf("problems: %d (%v)", probs, err)
	}
	if !errors.Is(ks[7].revs.Check(fleet.DocumentEntry("UTO", "BBB000002"), time.Now()), fleet.ErrRevoked) {
		t.Error("kiosk-07: BBB000002 not revoked")
	}
}
