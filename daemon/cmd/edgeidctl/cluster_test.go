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
	"strconv"
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
// JetStream with the MQTT streams replicated three times; tune, if set, changes each node's options.
func startCluster(t *testing.T, tune func(*natsmqtt.Opts)) []*natsNode {
	nodes := make([]*natsNode, 3)
	var routes []string
	for i := range nodes {
		nodes[i] = &natsNode{opts: natsmqtt.Opts{Name: fmt.Sprintf("n%d", i), MQTT: freeAddr(t), NATS: freeAddr(t), Cluster: freeAddr(t),
			ClusterName: "edgeid", StoreDir: t.TempDir(), Replicas: 3, Loopback: true}}
		routes = append(routes, "nats-route://"+nodes[i].opts.Cluster)
	}
	for _, n := range nodes {
		n.opts.Routes = routes
		if tune != nil {
			tune(&n.opts)
		}
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

// clusterFleet is TestClusterKillNode's world: the NATS nodes, the fleet's keys, the
// revocation state file, and the kiosks once started.
type clusterFleet struct {
	t        *testing.T
	ctx      context.Context
	nodes    []*natsNode
	dsn      string
	ck, fk   string // collector and fleet key paths (without .key/.pub)
	state    string // the revocation publisher's state file
	fleetPub ed25519.PublicKey
	kiosks   []clusterKiosk
}

type clusterKiosk struct {
	id   string
	log  *audit.Log
	revs *fleet.Revocations
}

func newClusterFleet(t *testing.T, ctx context.Context, dsn string, nodes []*natsNode) *clusterFleet {
	dir := t.TempDir()
	f := &clusterFleet{t: t, ctx: ctx, nodes: nodes, dsn: dsn, ck: filepath.Join(dir, "collector"), fk: filepath.Join(dir, "fleet"),
		state: filepath.Join(dir, "rev.json")}
	ctl(t, ctx, 0, "keygen", f.ck)
	ctl(t, ctx, 0, "keygen", f.fk)
	f.fleetPub, _ = fleet.LoadPublicKey(f.fk + ".pub")
	return f
}

// brokers lists every node's URL, starting at node i: each client starts at another node.
func (f *clusterFleet) brokers(i int) string {
	var u []string
	for j := range f.nodes {
		u = append(u, "tcp://"+f.nodes[(i+j)%len(f.nodes)].opts.MQTT)
	}
	return strings.Join(u, ",")
}

// revoke adds a document to the list and publishes it. Right after a node dies the cluster
// elects new stream leaders for a few seconds and refuses MQTT connections meanwhile; an
// operator publishes again, and so does this.
func (f *clusterFleet) revoke(doc string) {
	ctl(f.t, f.ctx, 0, "revoke", "add", "-state", f.state, "-doc", doc)
	var out, errOut bytes.Buffer
	for try := 0; ; try++ {
		out.Reset()
		errOut.Reset()
		code := run(f.ctx, []string{"revoke", "publish", "-state", f.state, "-key", f.fk + ".key", "-broker", f.brokers(1), "-fleet", "f1", "-client-id", "publisher"}, &out, &errOut)
		if code == 0 {
			return
		}
		if try == 30 || f.ctx.Err() != nil {
			f.t.Fatalf("revoke publish: exit %d: %s %s", code, out.String(), errOut.String())
		}
		f.t.Logf("revoke publish failed (try %d): %s", try+1, strings.TrimSpace(errOut.String()))
		time.Sleep(time.Second)
	}
}

// startCollectors starts two collectors, each subscribed to every kiosk (NATS's MQTT has no
// $share): the warehouse keeps each record once whichever writes it first.
func (f *clusterFleet) startCollectors() {
	t := f.t
	colKey, _ := fleet.LoadPrivateKey(f.ck + ".key")
	keys := map[string]ed25519.PublicKey{}
	for i := 0; i < 2; i++ {
		w, err := warehouse.Open(f.ctx, f.dsn, &warehouse.Opts{KioskKeys: keys})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(w.Close)
		c, err := fleet.NewCollector(&fleet.CollectorOpts{Broker: f.brokers(i), Fleet: "f1", ClientID: fmt.Sprintf("collector-%d", i),
			Key: colKey, Sink: sink{w}, AckInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		cctx, ccancel := context.WithCancel(f.ctx)
		done := make(chan error, 1)
		go func() { done <- c.Run(cctx) }()
		t.Cleanup(func() { ccancel(); <-done })
		select {
		case <-c.Ready():
		case <-f.ctx.Done():
			t.Fatal("collector never subscribed")
		}
	}
}

// startKiosks starts n kiosk fleet clients, each with its own store and audit log.
func (f *clusterFleet) startKiosks(n int) {
	t := f.t
	colPub, _ := fleet.LoadPublicKey(f.ck + ".pub")
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("kiosk-%02d", i)
		_, key, _ := ed25519.GenerateKey(nil)
		revs, log := kioskState(t, f.ctx, id, key, f.fleetPub, func(o *store.Opts) {
			o.SyncWrites = false // fifty kiosks in one process: small, unsynced stores
			o.MemTableSize, o.BlockCacheSize, o.IndexCacheSize, o.ValueLogFileSize = 8<<20, 1<<20, 1<<20, 2<<20
		})
		runClient(t, f.ctx, &fleet.ClientOpts{Broker: f.brokers(i), Fleet: "f1", Kiosk: id, SessionDir: t.TempDir(),
			Revocations: revs, Audit: log, AckKeys: fleet.NewKeyring(colPub), ResendAfter: 3 * time.Second})
		f.kiosks = append(f.kiosks, clusterKiosk{id: id, log: log, revs: revs})
	}
}

// waitAll waits until ok holds for every kiosk, or fails when the test's time is up.
func (f *clusterFleet) waitAll(what string, ok func(k clusterKiosk) bool) {
	f.t.Helper()
	for _, k := range f.kiosks {
		waitFor(f.t, f.ctx, k.id+": "+what, func() bool { return ok(k) })
	}
}

// missingList1 lists the kiosks that have not got revocation list 1 within 30 s. Every kiosk
// should get it as the retained snapshot when it subscribes. Once, on a loaded machine, NATS's
// MQTT side never delivered it to one kiosk of 50 (unexplained). Such a kiosk must catch up
// through the gap path (delta 1->2 makes it ask for the retained snapshot again), which the
// list-2 wait checks; more than a few misses is a broken cluster.
func (f *clusterFleet) missingList1() []string {
	var missed []string
	settle := time.Now().Add(30 * time.Second)
	for _, k := range f.kiosks {
		for v, _ := k.revs.Version(); v != 1; v, _ = k.revs.Version() {
			if time.Now().After(settle) || f.ctx.Err() != nil {
				missed = append(missed, k.id)
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	return missed
}

// burst appends perKiosk decisions on every kiosk at once, 20 ms apart, and SIGKILLs node 0
// a third of the way in. It returns when the node was killed.
func (f *clusterFleet) burst(perKiosk int) time.Time {
	var wg sync.WaitGroup
	var killed time.Time
	var once sync.Once
	var mu sync.Mutex
	n, total := 0, len(f.kiosks)*perKiosk
	for _, k := range f.kiosks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < perKiosk; j++ {
				if _, err := k.log.Append(f.ctx, audit.Decision{Flow: "document", Outcome: "accept"}); err != nil {
					f.t.Error(err)
					return
				}
				mu.Lock()
				n++
				kill := n == total/3
				mu.Unlock()
				if kill {
					once.Do(func() {
						killed = time.Now()
						_ = f.nodes[0].cmd.Process.Signal(syscall.SIGKILL)
					})
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	return killed
}

// checkWarehouse: want records in all, each (kiosk, seq) once, all on verified chains, from
// every kiosk, and no chain problem.
func (f *clusterFleet) checkWarehouse(want int) {
	t := f.t
	conn, err := pgx.Connect(f.ctx, f.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var rows, distinct, verified, kiosks int
	if err := conn.QueryRow(f.ctx, `SELECT count(*), count(DISTINCT (kiosk, seq)), count(*) FILTER (WHERE chain = 1), count(DISTINCT kiosk) FROM records`).
		Scan(&rows, &distinct, &verified, &kiosks); err != nil {
		t.Fatal(err)
	}
	if rows != want || distinct != rows || verified != rows || kiosks != len(f.kiosks) {
		t.Fatalf("warehouse: %d rows, %d distinct (kiosk, seq), %d on the verified chain, %d kiosks; want %d, %d, %d, %d",
			rows, distinct, verified, kiosks, want, want, want, len(f.kiosks))
	}
	var probs int
	if err := conn.QueryRow(f.ctx, `SELECT count(*) FROM problems`).Scan(&probs); err != nil || probs != 0 {
		t.Fatalf("problems: %d (%v)", probs, err)
	}
}

// TestClusterKillNode: three NATS nodes (MQTT + JetStream, replicas 3), 50 kiosks connected
// round robin with every node's URL, two collectors writing to PostgreSQL. During a burst of
// 1,000 decisions and a revocation publish one node is SIGKILLed. Every record must reach
// the warehouse exactly once per (kiosk, seq), in chain order, and every kiosk must end with
// the newest revocation list.
func TestClusterKillNode(t *testing.T) {
	pg := pgtest.Start(t)
	dsn := pg.NewDB(t)
	nodes := startCluster(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	f := newClusterFleet(t, ctx, dsn, nodes)
	f.revoke("UTO:AAA000001")
	f.startCollectors()
	const nk, perKiosk = 50, 20
	f.startKiosks(nk)
	if missed := f.missingList1(); len(missed) > nk/10 {
		t.Fatalf("%d kiosks never got revocation list 1: %v", len(missed), missed)
	} else if len(missed) > 0 {
		t.Logf("retained list 1 not delivered to %v within 30 s; they must catch up at list 2", missed)
	}

	killed := f.burst(perKiosk)
	f.revoke("UTO:BBB000002")
	f.waitAll("revocation list 2", func(k clusterKiosk) bool { v, _ := k.revs.Version(); return v == 2 })
	f.waitAll("an empty outbox", func(k clusterKiosk) bool { n, _ := k.log.OutboxLen(ctx); return n == 0 })
	t.Logf("node n0 SIGKILLed; all %d records acked and list 2 everywhere %v later", nk*perKiosk, time.Since(killed).Round(time.Millisecond))

	f.checkWarehouse(nk * perKiosk)
	if !errors.Is(f.kiosks[7].revs.Check(fleet.DocumentEntry("UTO", "BBB000002"), time.Now()), fleet.ErrRevoked) {
		t.Error("kiosk-07: BBB000002 not revoked")
	}
}

// TestClusterSim runs edgeidctl sim on the three-node cluster, kiosks spread over the nodes:
// a measurement, run by hand (EDGEIDCTL_CLUSTER_SIM_KIOSKS=2000; EDGEIDCTL_CLUSTER_MEM=1 keeps
// the MQTT consumers in memory; EDGEIDCTL_SIM_ARGS adds sim flags such as -delta-qos 0).
func TestClusterSim(t *testing.T) {
	n, err := strconv.Atoi(os.Getenv("EDGEIDCTL_CLUSTER_SIM_KIOSKS"))
	if err != nil || n <= 0 {
		t.Skip("EDGEIDCTL_CLUSTER_SIM_KIOSKS not set: a measurement, not a check")
	}
	mem := os.Getenv("EDGEIDCTL_CLUSTER_MEM") == "1"
	nodes := startCluster(t, func(o *natsmqtt.Opts) { o.ConsumerMemoryStorage = mem })
	var urls []string
	for _, nd := range nodes {
		urls = append(urls, "tcp://"+nd.opts.MQTT)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	args := append([]string{"sim", "-kiosks", strconv.Itoa(n), "-records", "20", "-rounds", "5", "-timeout", "120s",
		"-broker", strings.Join(urls, ","), "-fleet", "c1"}, strings.Fields(os.Getenv("EDGEIDCTL_SIM_ARGS"))...)
	t.Logf("consumers in memory: %t", mem)
	if code := run(ctx, args, os.Stdout, os.Stderr); code != 0 { // as it goes: a stalled phase shows
		t.Fail()
	}
}
