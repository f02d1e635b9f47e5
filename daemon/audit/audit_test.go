package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/store"
)

var testSeed = bytes.Repeat([]byte{42}, ed25519.SeedSize)

func openStore(t testing.TB, dir string) *store.DB {
	t.Helper()
	o := store.DefaultOpts()
	o.Dir = dir
	o.EncryptionKey = bytes.Repeat([]byte{9}, 32)
	db, err := store.Open(&o)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func testOpts(every int) *Opts {
	return &Opts{Kiosk: "kiosk-1", SigningKey: ed25519.NewKeyFromSeed(testSeed),
		DocKey: bytes.Repeat([]byte{1}, 32), CheckpointEvery: every}
}

func decision(i int) Decision {
	return Decision{Flow: "document", Outcome: "accept", Reasons: []string{"pa-ok"},
		Scores: map[string]float64{"face": 0.5 + float64(i%100)/1000}, DocState: "UTO", DocNumber: fmt.Sprintf("D%08d", i)}
}

// fill appends n records and returns the JSON lines.
func fill(t testing.TB, l *Log, n int) [][]byte {
	t.Helper()
	var lines [][]byte
	for i := 0; i < n; i++ {
		r, err := l.Append(context.Background(), decision(i))
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, b)
	}
	return lines
}

func pubKeys() map[string]ed25519.PublicKey {
	return map[string]ed25519.PublicKey{"kiosk-1": ed25519.NewKeyFromSeed(testSeed).Public().(ed25519.PublicKey)}
}

func TestAppendVerifyAndReopen(t *testing.T) {
	dir := t.TempDir()
	db := openStore(t, dir)
	l, err := New(db, testOpts(10))
	if err != nil {
		t.Fatal(err)
	}
	lines := fill(t, l, 25)
	if got := bytes.Contains(bytes.Join(lines, nil), []byte("D00000003")); got {
		t.Error("a record contains a raw document number")
	}
	s, err := VerifyJSONLines(bytes.NewReader(append(bytes.Join(lines, []byte("\n")), '\n')), pubKeys())
	if err != nil {
		t.Fatal(err)
	}
	k := s.Kiosks["kiosk-1"]
	if len(s.Problems) != 0 || k.Records != 25 || k.Checkpoints != 2 || k.Signed != 20 {
		t.Errorf("verify: got problems %v, summary %+v; want none, 25 records, 2 checkpoints, signed 20", s.Problems, k)
	}
	db.Halt()
	db = openStore(t, dir)
	defer db.Halt()
	l, err = New(db, testOpts(10))
	if err != nil {
		t.Fatal(err)
	}
	fill(t, l, 5)
	if seq, _ := l.Head(); seq != 30 {
		t.Errorf("head after reopen and 5 more: got %d, want 30", seq)
	}
	if _, err := l.VerifyLocal(context.Background()); err != nil {
		t.Errorf("VerifyLocal: %v", err)
	}
	cp, err := VerifyCheckpoint(l.Checkpoint(), pubKeys()["kiosk-1"])
	if err != nil || cp.Size != 30 {
		t.Errorf("Checkpoint: got %+v, %v; want size 30", cp, err)
	}
}

func TestOutboxAck(t *testing.T) {
	db := openStore(t, t.TempDir())
	defer db.Halt()
	l, err := New(db, testOpts(100))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	fill(t, l, 12)
	p, err := l.Pending(ctx, 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	if len(p) != 5 || p[0].Seq != 4 || p[4].Seq != 8 {
		t.Fatalf("Pending(3, 5): got %d records from %v, want 5 from 4", len(p), p)
	}
	if n, err := l.Ack(ctx, 7); err != nil || n != 7 {
		t.Errorf("Ack(7): got %d, %v; want 7", n, err)
	}
	if n, _ := l.OutboxLen(ctx); n != 5 {
		t.Errorf("outbox after ack: got %d, want 5", n)
	}
	p, _ = l.Pending(ctx, 0, 100)
	if len(p) != 5 || p[0].Seq != 8 {
		t.Errorf("Pending after ack: got %d from %v, want 5 from 8", len(p), p[0].Seq)
	}
	// Acked records stay in the local chain.
	if _, err := l.VerifyLocal(ctx); err != nil {
		t.Errorf("VerifyLocal after ack: %v", err)
	}
}

func TestPrune(t *testing.T) {
	dir := t.TempDir()
	db := openStore(t, dir)
	ctx := context.Background()
	l, err := New(db, testOpts(10))
	if err != nil {
		t.Fatal(err)
	}
	fill(t, l, 30)
	if _, err := l.Ack(ctx, 20); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		upTo uint64
		want int
	}{
		{5, 5},   // 1-5
		{25, 15}, // 6-20: 21-25 are not acked yet
		{25, 0},
	} {
		n, err := l.Prune(ctx, tc.upTo)
		if err != nil || n != tc.want {
			t.Errorf("Prune(%d): got %d, %v; want %d", tc.upTo, n, err, tc.want)
		}
	}
	fill(t, l, 3)
	s, err := l.VerifyLocal(ctx)
	if err != nil {
		t.Fatalf("VerifyLocal after prune: %v", err)
	}
	if got := s.Kiosks["kiosk-1"].Records; got != 13 {
		t.Errorf("records kept: got %d, want 13", got)
	}
	db.Halt()
	db = openStore(t, dir)
	defer db.Halt()
	l, err = New(db, testOpts(10))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.VerifyLocal(ctx); err != nil {
		t.Errorf("VerifyLocal after reopen: %v", err)
	}
	if p, _ := l.Pending(ctx, 0, 100); len(p) != 13 || p[0].Seq != 21 {
		t.Errorf("outbox after prune: got %d records, want 13 from 21", len(p))
	}
}

func TestVerifyNamesTampering(t *testing.T) {
	db := openStore(t, t.TempDir())
	defer db.Halt()
	l, err := New(db, testOpts(5))
	if err != nil {
		t.Fatal(err)
	}
	orig := fill(t, l, 12)
	other := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, 32))
	edit := func(i int, f func(r *Record)) func([][]byte) [][]byte {
		return func(ls [][]byte) [][]byte {
			var r Record
			if err := json.Unmarshal(ls[i], &r); err != nil {
				t.Fatal(err)
			}
			f(&r)
			b, _ := json.Marshal(&r)
			ls[i] = b
			return ls
		}
	}
	for _, tc := range []struct {
		name string
		mut  func([][]byte) [][]byte
		want string // substring of the first problem
	}{
		{"untouched", func(ls [][]byte) [][]byte { return ls }, ""},
		{"deleted record", func(ls [][]byte) [][]byte { return append(ls[:3:3], ls[4:]...) }, "record 5: gap: record 4 is missing"},
		{"swapped records", func(ls [][]byte) [][]byte { ls[3], ls[4] = ls[4], ls[3]; return ls }, "record 5: gap: record 4 is missing"},
		{"duplicate", func(ls [][]byte) [][]byte { return append(ls[:4:4], ls[3:]...) }, "record 4: comes after record 4: reordered or duplicated"},
		{"edited outcome", edit(6, func(r *Record) { r.Outcome = "reject" }), "record 7: content does not match its hash: record edited"},
		{"edited and rehashed", edit(6, func(r *Record) { r.Outcome = "reject"; r.Hash, _ = r.ComputeHash() }), "record 8: prev hash does not match record 7"},
		{"forged checkpoint", edit(4, func(r *Record) {
			r.Checkpoint = strings.Replace(SignCheckpoint("kiosk-1", 5, make([]byte, 32), other), "kiosk-1", "kiosk-1", 1)
		}), "record 5: checkpoint of kiosk-1 at size 5: no signature by the kiosk's key"},
		{"truncated line", func(ls [][]byte) [][]byte { ls[2] = ls[2][:40]; return ls }, "line 3: audit:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ls := make([][]byte, len(orig))
			for i := range orig {
				ls[i] = append([]byte(nil), orig[i]...)
			}
			ls = tc.mut(ls)
			s, err := VerifyJSONLines(bytes.NewReader(bytes.Join(ls, []byte("\n"))), pubKeys())
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if len(s.Problems) != 0 {
					t.Errorf("problems: got %v, want none", s.Problems)
				}
				return
			}
			if len(s.Problems) == 0 {
				t.Fatalf("problems: got none, want %q", tc.want)
			}
			if got := s.Problems[0].String(); !strings.Contains(got, tc.want) {
				t.Errorf("first problem: got %q, want it to contain %q", got, tc.want)
			}
		})
	}
}

// Since reads the log above a sequence number, acknowledged records included, from the
// prune base up.
func TestSince(t *testing.T) {
	db := openStore(t, t.TempDir())
	defer db.Halt()
	ctx := context.Background()
	l, err := New(db, testOpts(10))
	if err != nil {
		t.Fatal(err)
	}
	fill(t, l, 10)
	if _, err := l.Ack(ctx, 6); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Prune(ctx, 4); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		after     uint64
		n         int
		wantFirst uint64
		wantLen   int
	}{{0, 100, 5, 6}, {5, 2, 6, 2}, {7, 100, 8, 3}, {10, 5, 0, 0}} {
		q, err := l.Since(ctx, tc.after, tc.n)
		if err != nil || len(q) != tc.wantLen || len(q) > 0 && q[0].Seq != tc.wantFirst {
			t.Errorf("Since(%d, %d): %d records from %v, %v; want %d from %d", tc.after, tc.n, len(q), q, err, tc.wantLen, tc.wantFirst)
			continue
		}
		for i, r := range q {
			if p, err := ParseRecord(r.Data); err != nil || p.Seq != r.Seq || r.Seq != tc.wantFirst+uint64(i) {
				t.Errorf("Since(%d, %d)[%d]: seq %d, record %v %v", tc.after, tc.n, i, r.Seq, p, err)
			}
		}
	}
}

// TestPruneBefore: records are pruned by age, acknowledged ones only, always the oldest first:
// a record stamped long ago by a clock that was set back is not pruned before the newer
// records in front of it.
func TestPruneBefore(t *testing.T) {
	db := openStore(t, t.TempDir())
	defer db.Halt()
	ctx := context.Background()
	day := 24 * time.Hour
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := t0
	o := testOpts(10)
	o.Now = func() time.Time { return now }
	l, err := New(db, o)
	if err != nil {
		t.Fatal(err)
	}
	// Records 1-10 on days 0-9, 11 on day -100 (the clock set back), 12-15 on days 10-13.
	for i, d := range []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, -100, 10, 11, 12, 13} {
		now = t0.Add(time.Duration(d) * day)
		if _, err := l.Append(ctx, decision(i)); err != nil {
			t.Fatal(err)
		}
	}
	prune := func(cutoffDay, want int) {
		t.Helper()
		if n, err := l.PruneBefore(ctx, t0.Add(time.Duration(cutoffDay)*day)); err != nil || n != want {
			t.Errorf("PruneBefore(day %d): %d, %v; want %d", cutoffDay, n, err, want)
		}
	}
	if _, err := l.Ack(ctx, 6); err != nil { // the collector has 1-6
		t.Fatal(err)
	}
	prune(2, 2)  // 1-2
	prune(12, 4) // 3-6: 7 onwards is not acknowledged
	if _, err := l.Ack(ctx, 15); err != nil {
		t.Fatal(err)
	}
	prune(5, 0)   // 7 (day 6) is first: 11 (day -100) waits behind it
	prune(12, 7)  // 7-13
	prune(100, 2) // 14-15
	if _, err := l.VerifyLocal(ctx); err != nil {
		t.Errorf("VerifyLocal after pruning: %v", err)
	}
}

// TestVerifyNamesChainRestart: a kiosk whose store was reset begins a new chain at record 1;
// the verifier names the restart once and follows the new chain without further problems.
func TestVerifyNamesChainRestart(t *testing.T) {
	var lines [][]byte
	for _, n := range []int{7, 4} { // the first store's records, then the reset store's
		db := openStore(t, t.TempDir())
		l, err := New(db, testOpts(5))
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, fill(t, l, n)...)
		db.Halt()
	}
	lines = append(lines, lines[8]) // and a re-sent record 2 of the new chain
	s, err := VerifyJSONLines(bytes.NewReader(bytes.Join(lines, []byte("\n"))), pubKeys())
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range s.Problems {
		got = append(got, p.String())
	}
	if len(got) != 2 || !strings.Contains(got[0], "line 8") || !strings.Contains(got[0], "starts a new chain after record 7") ||
		!strings.Contains(got[1], "line 12") || !strings.Contains(got[1], "comes after record 4") {
		t.Errorf("problems: got %q, want the restart at line 8 and the duplicate at line 12", got)
	}
	if k := s.Kiosks["kiosk-1"]; k.Records != 11 || k.Last != 4 {
		t.Errorf("summary: %+v, want 11 records, last 4", k)
	}
}

// TestKillDuringWrites re-executes the test binary as a child that appends records and reports
// each acknowledged sequence number on stdout, kills it with SIGKILL mid-burst, and checks that
// every acknowledged record survived and the chain verifies.
func TestKillDuringWrites(t *testing.T) {
	if dir := os.Getenv("EDGEID_AUDIT_CHILD_DIR"); dir != "" {
		childWriter(dir)
		return
	}
	dir := t.TempDir()
	for round := 0; round < 3; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKillDuringWrites$", "-test.count=1")
		cmd.Env = append(os.Environ(), "EDGEID_AUDIT_CHILD_DIR="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(out)
		var acked uint64
		target := uint64(200 + round*150 + time.Now().Nanosecond()%97)
		deadline := time.AfterFunc(15*time.Second, func() { _ = cmd.Process.Kill() })
		for sc.Scan() {
			v, err := strconv.ParseUint(strings.TrimPrefix(sc.Text(), "acked "), 10, 64)
			if err != nil {
				continue
			}
			acked = v
			if acked >= target {
				_ = cmd.Process.Signal(syscall.SIGKILL)
				break
			}
		}
		deadline.Stop()
		_ = cmd.Wait()
		if acked < target {
			t.Fatalf("round %d: child stopped at %d before reaching %d", round, acked, target)
		}
		db := openStore(t, dir)
		l, err := New(db, testOpts(50))
		if err != nil {
			t.Fatal(err)
		}
		seq, _ := l.Head()
		s, err := l.VerifyLocal(context.Background())
		if err != nil {
			t.Errorf("round %d: chain after SIGKILL: %v", round, err)
		}
		if seq < acked {
			t.Errorf("round %d: head %d after SIGKILL, but %d were acknowledged", round, seq, acked)
		}
		if s != nil && s.Kiosks["kiosk-1"].Records != int(seq) {
			t.Errorf("round %d: %d records stored, head says %d", round, s.Kiosks["kiosk-1"].Records, seq)
		}
		t.Logf("round %d: killed after %d acknowledged, %d on disk", round, acked, seq)
		db.Halt()
	}
}

func childWriter(dir string) {
	o := store.DefaultOpts()
	o.Dir = dir
	o.EncryptionKey = bytes.Repeat([]byte{9}, 32)
	db, err := store.Open(&o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	l, err := New(db, testOpts(50))
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(3)
	}
	w := bufio.NewWriter(os.Stdout)
	for i := 0; ; i++ {
		r, err := l.Append(context.Background(), decision(i))
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(3)
		}
		fmt.Fprintf(w, "acked %d\n", r.Seq)
		w.Flush()
	}
}

func TestNoRawDocumentNumberOnDisk(t *testing.T) {
	dir := t.TempDir()
	o := store.DefaultOpts()
	o.Dir, o.AllowPlaintext = dir, true // even without encryption the number must not be there
	db, err := store.Open(&o)
	if err != nil {
		t.Fatal(err)
	}
	l, err := New(db, testOpts(10))
	if err != nil {
		t.Fatal(err)
	}
	fill(t, l, 20)
	db.Halt()
	err = filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if bytes.Contains(b, []byte("D00000007")) {
			t.Errorf("raw document number found in %s", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func BenchmarkDurableAppend(b *testing.B) {
	db := openStore(b, b.TempDir())
	defer db.Halt()
	l, err := New(db, testOpts(100))
	if err != nil {
		b.Fatal(err)
	}
	d := decision(1)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := l.Append(context.Background(), d); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "appends/s")
}

// BenchmarkDurableAppendParallel appends from 16 goroutines: group commit shares fsyncs.
func BenchmarkDurableAppendParallel(b *testing.B) {
	db := openStore(b, b.TempDir())
	defer db.Halt()
	l, err := New(db, testOpts(100))
	if err != nil {
		b.Fatal(err)
	}
	d := decision(1)
	b.SetParallelism(8) // 8 x GOMAXPROCS goroutines
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := l.Append(context.Background(), d); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "appends/s")
}

func TestConcurrentAppendsChain(t *testing.T) {
	db := openStore(t, t.TempDir())
	defer db.Halt()
	l, err := New(db, testOpts(7))
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 60
	seen := make(chan uint64, workers*each)
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		go func(w int) {
			for i := 0; i < each; i++ {
				r, err := l.Append(context.Background(), decision(w*1000+i))
				if err != nil {
					errs <- err
					return
				}
				seen <- r.Seq
			}
			errs <- nil
		}(w)
	}
	for w := 0; w < workers; w++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	close(seen)
	got := map[uint64]bool{}
	for s := range seen {
		if got[s] {
			t.Fatalf("seq %d returned twice", s)
		}
		got[s] = true
	}
	if len(got) != workers*each {
		t.Errorf("distinct seqs: got %d, want %d", len(got), workers*each)
	}
	if s, err := l.VerifyLocal(context.Background()); err != nil || s.Kiosks["kiosk-1"].Records != workers*each {
		t.Errorf("VerifyLocal: %v, summary %+v", err, s)
	}
}

func FuzzParseRecord(f *testing.F) {
	db := openStore(f, f.TempDir())
	l, err := New(db, testOpts(2))
	if err != nil {
		f.Fatal(err)
	}
	for _, line := range fill(f, l, 3) {
		f.Add(line)
	}
	d := decision(4)
	d.Frames = []float64{0.55, 0.57}
	d.Referral = &Referral{Reason: "face_uncertain", Referred: time.Unix(1_800_000_000, 0), Decision: "denied", By: "attendant", At: time.Unix(1_800_000_030, 0)}
	if r, err := l.Append(context.Background(), d); err == nil {
		b, _ := json.Marshal(r)
		f.Add(b)
	}
	db.Halt()
	f.Add([]byte(`{"seq":1}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[`))
	keys := pubKeys()
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := ParseRecord(b); err == nil {
			if r.Seq == 0 || r.Kiosk == "" {
				t.Fatalf("accepted a record without seq or kiosk: %+v", r)
			}
			if f := r.Referral; f != nil && (f.Reason == "" || f.Decision == "" || f.By == "") {
				t.Fatalf("accepted a referral without reason, decision or attendant: %+v", f)
			}
			_, _ = VerifyCheckpoint(r.Checkpoint, keys["kiosk-1"])
		}
		_, _ = VerifyCheckpoint(string(b), keys["kiosk-1"])
		if _, err := VerifyJSONLines(bytes.NewReader(b), keys); err != nil {
			t.Fatalf("VerifyJSONLines on an in-memory reader: %v", err)
		}
	})
}

// A record without frames or a referral hashes as it did before those fields existed (the
// hash below was computed by the code of that time), so old chains still verify.
func TestOldRecordsHashAsBefore(t *testing.T) {
	r := Record{Seq: 7, Time: time.Date(2026, 12, 4, 15, 0, 0, 123456000, time.UTC), Kiosk: "lobby-1", Flow: "document", Outcome: "accepted",
		Scores: map[string]float64{"face_distance": 0.41, "face_threshold": 0.5253}, DocHMAC: "ab", Prev: ZeroHash}
	h, err := r.ComputeHash()
	if want := "402d152746b5e2ee2c93458802de01bf4e132de21485164320d0285a96f74694"; err != nil || h != want {
		t.Errorf("hash %s, %v; want %s", h, err, want)
	}
}

// A referred check's record carries the frames and the attendant's decision through the log
// and the verifier, and a changed decision breaks the chain.
func TestReferralRecords(t *testing.T) {
	db := openStore(t, t.TempDir())
	defer db.Halt()
	l, err := New(db, testOpts(10))
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 12, 4, 15, 1, 2, 345678901, time.FixedZone("CST", 8*3600))
	d := decision(1)
	d.Outcome, d.Frames = "accepted", []float64{0.551, 0.549, 0.562}
	d.Referral = &Referral{Reason: "face_uncertain", Referred: at.Add(-20 * time.Second), Decision: "approved", By: "token:1a2b3c4d", At: at}
	var lines [][]byte
	for _, dd := range []Decision{decision(0), d, decision(2)} {
		r, err := l.Append(context.Background(), dd)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(r)
		lines = append(lines, b)
	}
	if !bytes.Contains(lines[1], []byte(`"referral":{"reason":"face_uncertain"`)) || !bytes.Contains(lines[1], []byte(`"frames":[0.551,0.549,0.562]`)) {
		t.Errorf("record 2 lacks the referral or frames: %s", lines[1])
	}
	if bytes.Contains(lines[0], []byte("referral")) || bytes.Contains(lines[0], []byte("frames")) {
		t.Errorf("record 1 has empty fields written: %s", lines[0])
	}
	verify := func(ls [][]byte) *Summary {
		t.Helper()
		s, err := VerifyJSONLines(bytes.NewReader(append(bytes.Join(ls, []byte("\n")), '\n')), pubKeys())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := verify(lines); len(s.Problems) != 0 {
		t.Fatalf("verify: %v", s.Problems)
	}
	r, err := ParseRecord(lines[1])
	if err != nil || r.Referral == nil || r.Referral.By != "token:1a2b3c4d" || !r.Referral.At.Equal(at.Round(time.Microsecond)) {
		t.Fatalf("parsed referral %+v, %v", r.Referral, err)
	}
	forged := bytes.Replace(lines[1], []byte(`"decision":"approved"`), []byte(`"decision":"denied"`), 1)
	if s := verify([][]byte{lines[0], forged, lines[2]}); len(s.Problems) == 0 {
		t.Error("a changed attendant decision verified")
	}
	if _, err := ParseRecord(bytes.Replace(lines[1], []byte(`"by":"token:1a2b3c4d"`), []byte(`"by":""`), 1)); err == nil {
		t.Error("a referral without its attendant parsed")
	}
}
