package fleet

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"os/exec"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/audit"
	"github.com/edgeid/edgeid/daemon/fleet/fleettest"
)

// BenchmarkRevocationSnapshot applies a full list (verify, parse, persist, swap). The
// 1,000,000-entry case is the goal (<= 10 s).
func BenchmarkRevocationSnapshot(b *testing.B) {
	for _, n := range []int{10000, 1000000} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			key := newKey(b)
			entries := docs("S", n)
			msgs := make([][]byte, b.N)
			for i := range msgs {
				msgs[i] = snapshot(key, uint64(i+1), entries)
			}
			db := openStore(b, b.TempDir())
			defer db.Halt()
			r := newRevs(b, db, key)
			r.opts.MaxMessage = 64 << 20
			cpu0 := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := r.Apply(context.Background(), msgs[i]); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.Elapsed().Seconds())/float64(b.N), "s/apply")
			// CPU seconds of the whole process (Badger's compactors included): a figure that
			// depends less on how busy the shared machine is than wall-clock time.
			b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/apply")
		})
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRevocationDelta applies 1,000-entry deltas (500 added, 500 removed) to a 100,000-entry list.
func BenchmarkRevocationDelta(b *testing.B) {
	key := newKey(b)
	db := openStore(b, b.TempDir())
	defer db.Halt()
	r := newRevs(b, db, key)
	if err := r.Apply(context.Background(), snapshot(key, 1, docs("BASE", 100000))); err != nil {
		b.Fatal(err)
	}
	msgs := make([][]byte, b.N)
	for i := range msgs {
		add := docs(fmt.Sprintf("D%d-", i), 500)
		rm := docs("BASE", 500)
		msgs[i] = delta(key, uint64(i+1), uint64(i+2), add, rm)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := r.Apply(context.Background(), msgs[i]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRevocationLookup measures Check against a 1,000,000-entry list and reports the
// per-lookup p50 and p99 (goal: p99 <= 5 us).
func BenchmarkRevocationLookup(b *testing.B) {
	key := newKey(b)
	db := openStore(b, b.TempDir())
	defer db.Halt()
	r := newRevs(b, db, key)
	r.opts.MaxMessage = 64 << 20
	entries := docs("L", 1000000)
	if err := r.Apply(context.Background(), snapshot(key, 1, entries)); err != nil {
		b.Fatal(err)
	}
	probes := append(docs("L", 1000)[:500:500], docs("MISS", 500)...)
	now := t0.Add(time.Hour)
	lat := make([]time.Duration, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e := probes[i%len(probes)]
		s := time.Now()
		_ = r.Check(e, now)
		lat[i] = time.Since(s)
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}

// BenchmarkOutboxDrain measures how fast 2,000 queued audit records reach the collector
// through mosquitto (published, written, acked, removed), and in the same run how fast
// mosquitto_pub publishes the same records (QoS 1, one connection); it reports both and the ratio.
func BenchmarkOutboxDrain(b *testing.B) {
	const n = 2000
	pubBin, err := exec.LookPath("mosquitto_pub")
	if err != nil {
		b.Skip("mosquitto_pub not installed (package mosquitto-clients)")
	}
	for _, store := range []string{"memory", "file"} {
		b.Run("paho-store="+store, func(b *testing.B) {
			var ours, peer time.Duration
			for i := 0; i < b.N; i++ {
				o, p := drainOnce(b, n, pubBin, store == "file")
				ours += o
				peer += p
			}
			b.ReportMetric(float64(n*b.N)/ours.Seconds(), "records/s")
			b.ReportMetric(float64(n*b.N)/peer.Seconds(), "mosquitto_pub-msgs/s")
			b.ReportMetric(ours.Seconds()/peer.Seconds(), "time-ratio-vs-mosquitto_pub")
		})
	}
}

func drainOnce(b *testing.B, n int, pubBin string, fileStore bool) (ours, peer time.Duration) {
	b.StopTimer()
	broker := fleettest.StartMosquitto(b, fleettest.Opts{Fleet: fleetName, Admins: []string{"collector", "publisher"}})
	fleetKey, collKey := newKey(b), newKey(b)
	db := openStore(b, b.TempDir())
	defer db.Halt()
	sign := newKey(b)
	log, err := audit.New(db, &audit.Opts{Kiosk: "kiosk-1", SigningKey: sign, DocKey: bytes.Repeat([]byte{3}, 32)})
	if err != nil {
		b.Fatal(err)
	}
	// The peer publishes the same kind of records, from a second kiosk's log.
	db2 := openStore(b, b.TempDir())
	defer db2.Halt()
	log2, err := audit.New(db2, &audit.Opts{Kiosk: "kiosk-2", SigningKey: sign, DocKey: bytes.Repeat([]byte{3}, 32)})
	if err != nil {
		b.Fatal(err)
	}
	var lines []string
	for i := 0; i < n; i++ {
		d := audit.Decision{Flow: "document", Outcome: "accept", DocState: "UTO", DocNumber: fmt.Sprint(i)}
		if _, err := log.Append(context.Background(), d); err != nil {
			b.Fatal(err)
		}
		r, err := log2.Append(context.Background(), d)
		if err != nil {
			b.Fatal(err)
		}
		q, _ := log2.Pending(context.Background(), r.Seq-1, 1)
		lines = append(lines, string(q[0].Data))
	}
	revs := newRevs(b, db, fleetKey)
	got := make(chan struct{}, n)
	var sink bytes.Buffer
	col, err := NewCollector(&CollectorOpts{Broker: broker.URL, TLS: broker.ClientTLS("collector"), Fleet: fleetName,
		Key: collKey, Out: &sink, AckInterval: 20 * time.Millisecond,
		OnRecord: func(*audit.Record) { got <- struct{}{} }})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	colDone := make(chan error, 1)
	go func() { colDone <- col.Run(ctx) }()
	defer func() { cancel(); <-colDone }()
	select {
	case <-col.Ready():
	case <-time.After(20 * time.Second):
		b.Fatal("collector not subscribed")
	}
	sessionDir := ""
	if fileStore {
		sessionDir = b.TempDir()
	}
	cl, err := NewClient(&ClientOpts{Broker: broker.URL, TLS: broker.ClientTLS("kiosk-1"), Fleet: fleetName, Kiosk: "kiosk-1",
		SessionDir: sessionDir, Revocations: revs, Audit: log, AckKeys: NewKeyring(collKey.Public().(ed25519.PublicKey))})
	if err != nil {
		b.Fatal(err)
	}
	b.StartTimer()
	start := time.Now()
	cctx, ccancel := context.WithCancel(ctx)
	clDone := make(chan error, 1)
	go func() { clDone <- cl.Run(cctx) }()
	for i := 0; i < n; i++ {
		select {
		case <-got:
		case <-time.After(20 * time.Second):
			b.Fatalf("drain stalled after %d records", i)
		}
	}
	for {
		if k, _ := log.OutboxLen(ctx); k == 0 {
			break
		}
		if time.Since(start) > 30*time.Second {
			b.Fatal("outbox not emptied")
		}
		time.Sleep(5 * time.Millisecond)
	}
	ours = time.Since(start)
	b.StopTimer()
	ccancel()
	<-clDone

	cert, key, ca := broker.ClientFiles("kiosk-2")
	host, port, _ := strings.Cut(broker.Addr, ":")
	cmd := exec.Command(pubBin, "-h", host, "-p", port, "--cafile", ca, "--cert", cert, "--key", key,
		"-i", "kiosk-2", "-q", "1", "-t", NewTopics(fleetName).Audit("kiosk-2"), "-l")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	start = time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("mosquitto_pub: %v\n%s", err, out)
	}
	for i := 0; i < n; i++ {
		select {
		case <-got:
		case <-time.After(20 * time.Second):
			b.Fatalf("mosquitto_pub's records: collector stalled after %d", i)
		}
	}
	peer = time.Since(start)
	b.StartTimer()
	return ours, peer
}

// BenchmarkIndexMemory reports the heap used by the in-memory lookup set for 1,000,000 entries.
func BenchmarkIndexMemory(b *testing.B) {
	entries := docs("M", 1000000)
	var before, after runtime.MemStats
	for i := 0; i < b.N; i++ {
		runtime.GC()
		runtime.ReadMemStats(&before)
		set := make(map[Entry]struct{}, len(entries))
		for _, e := range entries {
			set[e] = struct{}{}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MB/1M-entries")
		runtime.KeepAlive(set)
	}
}
