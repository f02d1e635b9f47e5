package warehouse

import (
	"bytes"
	"context"
	"crypto/ed25519"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/audit"
	"github.com/edgeid/edgeid/daemon/warehouse/pgtest"
)

type kiosk struct {
	id    string
	key   ed25519.PrivateKey
	chain *audit.Chain
	raws  [][]byte
	recs  []*audit.Record
	epoch int // chains of one kiosk differ in time
}

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func newKiosk(t testing.TB, id string, n int) *kiosk {
	t.Helper()
	_, key, err := ed25519.GenerateKey(crand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k := &kiosk{id: id, key: key}
	k.restart(t)
	k.add(t, n)
	return k
}

// restart begins a new chain, as a kiosk whose store was wiped.
func (k *kiosk) restart(t testing.TB) {
	i := 0
	start := t0.Add(time.Duration(k.epoch) * 24 * time.Hour)
	k.epoch++
	c, err := audit.NewChain(&audit.Opts{Kiosk: k.id, SigningKey: k.key, DocKey: bytes.Repeat([]byte{7}, 32), CheckpointEvery: 10,
		Now: func() time.Time { i++; return start.Add(time.Duration(i) * time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	k.chain = c
}

func (k *kiosk) add(t testing.TB, n int) {
	for i := 0; i < n; i++ {
		d := audit.Decision{Flow: "document", Outcome: "accept", Scores: map[string]float64{"face_distance": 0.25}}
		if i%3 == 2 {
			d.Outcome, d.Reasons = "reject", []string{"face:fail", "revoked"}
		}
		r, raw, err := k.chain.Next(d)
		if err != nil {
			t.Fatal(err)
		}
		k.raws, k.recs = append(k.raws, raw), append(k.recs, r)
	}
}

func (k *kiosk) msgs(from, to int) []Msg {
	var m []Msg
	for i := from; i < to; i++ {
		m = append(m, Msg{Kiosk: k.id, Raw: k.raws[i]})
	}
	return m
}

func open(t testing.TB, dsn string, keys map[string]ed25519.PublicKey) *DB {
	t.Helper()
	w, err := Open(context.Background(), dsn, &Opts{KioskKeys: keys})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Close)
	return w
}

func ingest(t testing.TB, w *DB, m []Msg) *Result {
	t.Helper()
	r, err := w.Ingest(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func count(t testing.TB, w *DB, q string, args ...any) int {
	t.Helper()
	var n int
	if err := w.pool.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestWarehouseIdempotence(t *testing.T) {
	t.Parallel()
	pg := pgtest.Start(t)
	k := newKiosk(t, "kiosk-1", 25)
	w := open(t, pg.NewDB(t), map[string]ed25519.PublicKey{k.id: k.key.Public().(ed25519.PublicKey)})
	r := ingest(t, w, k.msgs(0, 25))
	if r.Inserted != 25 || r.Heads[k.id].Seq != 25 || r.Heads[k.id].Hash != k.recs[24].Hash {
		t.Fatalf("first ingest: inserted %d, head %+v", r.Inserted, r.Heads[k.id])
	}
	r = ingest(t, w, append(k.msgs(0, 25), k.msgs(10, 20)...)) // re-sent, twice over
	if r.Inserted != 0 || r.Problems != 0 || r.Heads[k.id].Seq != 25 {
		t.Fatalf("re-send: inserted %d, problems %d, head %+v", r.Inserted, r.Problems, r.Heads[k.id])
	}
	if n := count(t, w, `SELECT count(*) FROM records`); n != 25 {
		t.Fatalf("records: %d, want 25", n)
	}
	if n := count(t, w, `SELECT signed_seq FROM kiosks WHERE kiosk = $1`, k.id); n != 20 {
		t.Errorf("signed through %d, want 20 (checkpoint every 10)", n)
	}
	// Opening again migrates nothing; a newer schema is refused.
	w2 := open(t, pg.NewDB(t), nil)
	if _, err := w2.pool.Exec(context.Background(), `UPDATE schema_version SET version = 99`); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), w2.pool.Config().ConnString(), nil); !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("newer schema: got %v, want ErrNewerSchema", err)
	}
}

// TestWarehouseOutOfOrder deals each kiosk's records to four replicas at random, each
// ingesting concurrently in small shuffled batches: the heads must end at every chain's end.
func TestWarehouseOutOfOrder(t *testing.T) {
	t.Parallel()
	pg := pgtest.Start(t)
	dsn := pg.NewDB(t)
	var ks []*kiosk
	var all []Msg
	for i := 0; i < 8; i++ {
		k := newKiosk(t, fmt.Sprintf("kiosk-%d", i), 60)
		ks = append(ks, k)
		all = append(all, k.msgs(0, 60)...)
	}
	rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	const replicas = 4
	var wg sync.WaitGroup
	errs := make(chan error, replicas)
	for r := 0; r < replicas; r++ {
		w := open(t, dsn, nil)
		var mine []Msg
		for i := r; i < len(all); i += replicas {
			mine = append(mine, all[i])
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for len(mine) > 0 {
				n := min(1+rand.IntN(7), len(mine))
				if _, err := w.Ingest(context.Background(), mine[:n]); err != nil {
					errs <- err
					return
				}
				mine = mine[n:]
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	w := open(t, dsn, nil)
	heads, err := w.Heads(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range ks {
		if h := heads[k.id]; h.Seq != 60 || h.Hash != k.recs[59].Hash || h.Genesis != k.recs[0].Hash {
			t.Errorf("%s: head %+v, want 60 %.12s", k.id, h, k.recs[59].Hash)
		}
	}
	if n := count(t, w, `SELECT count(*) FROM records WHERE chain IS NULL`); n != 0 {
		t.Errorf("%d records still waiting", n)
	}
	rep, err := w.Verify(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 0 || rep.Chains.Kiosks["kiosk-3"].Records != 60 {
		t.Errorf("verify: %d problems, kiosk-3 %+v", len(rep.Problems), rep.Chains.Kiosks["kiosk-3"])
	}
}

// TestWarehouseGapWaits: a record after a gap waits, nothing is acked past the gap, and the
// head jumps when the missing record lands.
func TestWarehouseGapWaits(t *testing.T) {
	t.Parallel()
	pg := pgtest.Start(t)
	w := open(t, pg.NewDB(t), nil)
	k := newKiosk(t, "kiosk-1", 10)
	ingest(t, w, k.msgs(0, 4))
	r := ingest(t, w, k.msgs(5, 10))
	if h := r.Heads[k.id]; h.Seq != 4 || h.Hash != k.recs[3].Hash {
		t.Fatalf("past a gap: head %+v, want 4", h)
	}
	rep, _ := w.Verify(context.Background(), nil)
	if rep.Waiting[k.id] != 5 {
		t.Errorf("waiting: %d, want 5", rep.Waiting[k.id])
	}
	if r = ingest(t, w, k.msgs(4, 5)); r.Heads[k.id].Seq != 10 {
		t.Fatalf("gap closed: head %+v, want 10", r.Heads[k.id])
	}
}

func TestWarehouseChainProblems(t *testing.T) {
	t.Parallel()
	pg := pgtest.Start(t)
	k := newKiosk(t, "kiosk-1", 6)
	other := newKiosk(t, "kiosk-1", 6) // same id, another chain: a fork at every seq
	w := open(t, pg.NewDB(t), map[string]ed25519.PublicKey{k.id: k.key.Public().(ed25519.PublicKey)})
	ingest(t, w, k.msgs(0, 6))

	// A different record 3: a fork, kept as a problem, the head and record 3 unchanged.
	forged := *other.recs[2]
	forged.Prev, forged.Outcome = k.recs[1].Hash, "refer"
	forged.Hash, _ = forged.ComputeHash()
	raw, _ := json.Marshal(&forged)
	r := ingest(t, w, []Msg{{Kiosk: k.id, Raw: raw}})
	if r.Problems != 1 || r.Heads[k.id].Seq != 6 || r.Heads[k.id].Hash != k.recs[5].Hash {
		t.Fatalf("fork: problems %d head %+v", r.Problems, r.Heads[k.id])
	}
	// An edited record (hash no longer matches): refused as a problem.
	ed := *k.recs[4]
	ed.Outcome = "accept-edited"
	raw, _ = json.Marshal(&ed)
	if r = ingest(t, w, []Msg{{Kiosk: k.id, Raw: raw}}); r.Problems != 1 || r.Inserted != 0 {
		t.Fatalf("edited: problems %d inserted %d", r.Problems, r.Inserted)
	}
	// Malformed, and a record on another kiosk's topic.
	if r = ingest(t, w, []Msg{{Kiosk: k.id, Raw: []byte(`{"seq":`)}, {Kiosk: "kiosk-9", Raw: k.raws[0]}}); r.Problems != 2 {
		t.Fatalf("malformed: problems %d", r.Problems)
	}
	first3 := k.raws[2]
	// The kiosk's store is wiped: a new chain from record 1 is followed and reported.
	k.restart(t)
	k.raws, k.recs = nil, nil
	k.add(t, 3)
	if r = ingest(t, w, k.msgs(0, 3)); r.Heads[k.id].Seq != 3 || r.Heads[k.id].Hash != k.recs[2].Hash {
		t.Fatalf("restart: head %+v", r.Heads[k.id])
	}
	rep, err := w.Verify(context.Background(), map[string]ed25519.PublicKey{k.id: k.key.Public().(ed25519.PublicKey)})
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, p := range rep.Problems {
		kinds[p.Kind]++
	}
	if kinds["fork"] != 1 || kinds["edited"] != 1 || kinds["malformed"] != 2 || kinds["restart"] != 1 {
		t.Errorf("problem rows: %v", rep.Problems)
	}
	if s := rep.Chains.Kiosks[k.id]; s.Records != 9 || s.Last != 3 {
		t.Errorf("re-verified chains: %+v (want 6 + 3 records, ending at 3)", s)
	}
	// The stored record 3 is the first one, byte for byte.
	var got []byte
	if err := w.pool.QueryRow(context.Background(), `SELECT raw FROM records WHERE kiosk = $1 AND seq = 3 AND chain = 1`, k.id).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, first3) {
		t.Errorf("record 3 of the first chain changed:\n%s\nwant\n%s", got, first3)
	}
	var n int
	if err := w.pool.QueryRow(context.Background(), `SELECT count(*) FROM records WHERE kiosk = $1 AND seq = 3`, k.id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 3 { // the first chain's, the fork's, the new chain's
		t.Errorf("records with seq 3: %d, want 3", n)
	}
}

func TestWarehouseQuery(t *testing.T) {
	t.Parallel()
	pg := pgtest.Start(t)
	w := open(t, pg.NewDB(t), nil)
	a, b := newKiosk(t, "lobby-1", 9), newKiosk(t, "gate-1", 6)
	ctx := context.Background()
	if err := w.SetSite(ctx, "lobby-1", "lobby"); err != nil {
		t.Fatal(err)
	}
	ingest(t, w, append(a.msgs(0, 9), b.msgs(0, 6)...))
	check := func(f Filter, want int) {
		t.Helper()
		rows, err := w.Query(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != want {
			t.Errorf("query %+v: %d rows, want %d", f, len(rows), want)
		}
	}
	check(Filter{}, 15)
	check(Filter{Site: "lobby"}, 9)
	check(Filter{Site: "lobby", Outcome: "reject"}, 3)
	check(Filter{Reason: "face"}, 5)
	check(Filter{Reason: "revoked", Kiosk: "gate-1"}, 2)
	check(Filter{Since: t0.Add(3 * time.Minute), Until: t0.Add(5 * time.Minute)}, 4)
	var rejects int
	if err := w.pool.QueryRow(ctx, `SELECT coalesce(sum(rejects), 0) FROM rejects_by_reason WHERE reason = 'revoked'`).Scan(&rejects); err != nil {
		t.Fatal(err)
	}
	if rejects != 5 {
		t.Errorf("rejects_by_reason revoked: %d, want 5", rejects)
	}
	var buf bytes.Buffer
	if n, err := w.Export(ctx, &buf); err != nil || n != 15 {
		t.Fatalf("export: %d, %v", n, err)
	}
	s, err := audit.VerifyJSONLines(&buf, nil)
	if err != nil || len(s.Problems) != 0 {
		t.Fatalf("exported file does not verify: %v %v", err, s.Problems)
	}
}
