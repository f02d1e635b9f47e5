package fleet

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgeid/edgeid/daemon/store"
)

var t0 = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func newKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return priv
}

func openStore(t testing.TB, dir string) *store.DB {
	t.Helper()
	o := store.DefaultOpts()
	o.Dir = dir
	o.EncryptionKey = make([]byte, 32)
	db, err := store.Open(&o)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func docs(prefix string, n int) []Entry {
	out := make([]Entry, n)
	for i := range out {
		out[i] = DocumentEntry("UTO", fmt.Sprintf("%s%06d", prefix, i))
	}
	return out
}

func snapshot(key ed25519.PrivateKey, version uint64, add []Entry) []byte {
	l := RevocationList{Version: version, Issued: t0, Expires: t0.Add(48 * time.Hour), Add: add}
	return Seal(KindRevocations, l.Marshal(), key)
}

func delta(key ed25519.PrivateKey, base, version uint64, add, remove []Entry) []byte {
	l := RevocationList{Version: version, Base: base, Issued: t0, Expires: t0.Add(48 * time.Hour), Add: add, Remove: remove}
	return Seal(KindRevocations, l.Marshal(), key)
}

func newRevs(t testing.TB, db *store.DB, key ed25519.PrivateKey) *Revocations {
	t.Helper()
	o := DefaultRevocationOpts()
	o.Keys = NewKeyring(key.Public().(ed25519.PublicKey))
	r, err := NewRevocations(context.Background(), db, &o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRevocationsApplyAndCheck(t *testing.T) {
	ctx := context.Background()
	key := newKey(t)
	dir := t.TempDir()
	db := openStore(t, dir)
	r := newRevs(t, db, key)
	now := t0.Add(time.Hour)
	a, b, c := DocumentEntry("UTO", "AB1234567"), DSCertEntry([]byte("issuer"), []byte{1, 2}), IdentityEntry("id-7")

	if err := r.Check(a, now); !errors.Is(err, ErrListStale) {
		t.Errorf("Check before any list: got %v, want ErrListStale", err)
	}
	if err := r.Apply(ctx, snapshot(key, 10, []Entry{a, b})); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	if err := r.Apply(ctx, delta(key, 10, 11, []Entry{c}, []Entry{b})); err != nil {
		t.Fatalf("delta: %v", err)
	}
	for _, tc := range []struct {
		e    Entry
		want error
	}{
		{a, ErrRevoked},
		{b, nil},
		{c, ErrRevoked},
		{DocumentEntry("uto", "AB1234567<<"), ErrRevoked}, // normalised like the MRZ
		{DocumentEntry("UTD", "AB1234567"), nil},
	} {
		if got := r.Check(tc.e, now); !errors.Is(got, tc.want) || (tc.want == nil && got != nil) {
			t.Errorf("Check(%v %x): got %v, want %v", tc.e.Kind, tc.e.Digest[:4], got, tc.want)
		}
	}
	if err := r.Check(IdentityEntry("other"), t0.Add(49*time.Hour)); !errors.Is(err, ErrListStale) {
		t.Errorf("Check after expiry: got %v, want ErrListStale", err)
	}
	// Local deny list.
	d := DocumentEntry("UTO", "LOCAL0001")
	if err := r.AddLocal(d); err != nil {
		t.Fatal(err)
	}
	// Survives a restart.
	if err := db.Halt(); err != nil {
		t.Fatal(err)
	}
	db = openStore(t, dir)
	defer db.Halt()
	r = newRevs(t, db, key)
	if v, _ := r.Version(); v != 11 {
		t.Errorf("version after reopen: got %d, want 11", v)
	}
	for _, e := range []Entry{a, c, d} {
		if err := r.Check(e, now); !errors.Is(err, ErrRevoked) {
			t.Errorf("after reopen Check(%v): got %v, want ErrRevoked", e.Kind, err)
		}
	}
	if err := r.Check(b, now); err != nil {
		t.Errorf("after reopen removed entry: got %v, want nil", err)
	}
	if err := r.RemoveLocal(d); err != nil {
		t.Fatal(err)
	}
	if err := r.Check(d, now); err != nil {
		t.Errorf("after RemoveLocal: got %v, want nil", err)
	}
}

func TestEntryNormalisation(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b Entry
		same bool
	}{
		{"mrz fillers and case", DocumentEntry("uto", "l898902c3<"), DocumentEntry("UTO", "L898902C3"), true},
		{"other state", DocumentEntry("UTO", "L898902C3"), DocumentEntry("D", "L898902C3"), false},
		{"serial leading zeros", DSCertEntry([]byte{0x30}, []byte{0, 5}), DSCertEntry([]byte{0x30}, []byte{5}), true},
		{"other issuer", DSCertEntry([]byte{0x30}, []byte{5}), DSCertEntry([]byte{0x31}, []byte{5}), false},
		{"field boundaries", DocumentEntry("UTO", "AB"), DocumentEntry("UTOA", "B"), false},
		{"kinds differ", IdentityEntry("x"), Entry{Document, IdentityEntry("x").Digest}, false},
	} {
		if got := tc.a == tc.b; got != tc.same {
			t.Errorf("%s: equal = %t, want %t", tc.name, got, tc.same)
		}
	}
}

func TestWarnPolicyKeepsChecking(t *testing.T) {
	key := newKey(t)
	db := openStore(t, t.TempDir())
	defer db.Halt()
	o := DefaultRevocationOpts()
	o.Keys = NewKeyring(key.Public().(ed25519.PublicKey))
	o.Policy = WarnWhenStale
	r, err := NewRevocations(context.Background(), db, &o)
	if err != nil {
		t.Fatal(err)
	}
	a := DocumentEntry("UTO", "X1")
	if err := r.Apply(context.Background(), snapshot(key, 1, []Entry{a})); err != nil {
		t.Fatal(err)
	}
	late := t0.Add(100 * time.Hour)
	if !r.Stale(late) {
		t.Error("Stale after expiry: got false, want true")
	}
	if err := r.Check(a, late); !errors.Is(err, ErrRevoked) {
		t.Errorf("revoked entry after expiry: got %v, want ErrRevoked", err)
	}
	if err := r.Check(DocumentEntry("UTO", "X2"), late); err != nil {
		t.Errorf("clear entry after expiry under warn policy: got %v, want nil", err)
	}
}

func TestRevocationsRefusals(t *testing.T) {
	ctx := context.Background()
	key := newKey(t)
	other := newKey(t)
	a := DocumentEntry("UTO", "KEEP00001")
	x := DocumentEntry("UTO", "INJECTED1")
	good := snapshot(key, 5, []Entry{a})
	forged := append([]byte(nil), snapshot(key, 6, []Entry{x})...)
	forged[len(forged)-1] ^= 1
	tampered := append([]byte(nil), snapshot(key, 6, []Entry{x})...)
	tampered[len(Magic)+9+3] ^= 1 // inside the version field
	bigger := snapshot(key, 6, docs("BIG", 1000))
	for _, tc := range []struct {
		name   string
		msg    []byte
		reason string
	}{
		{"forged signature", forged, "signature"},
		{"tampered body", tampered, "signature"},
		{"unknown key", snapshot(other, 6, []Entry{x}), "unknown-key"},
		{"rollback snapshot", snapshot(key, 4, []Entry{x}), "rollback"},
		{"replayed snapshot", snapshot(key, 5, []Entry{x}), "replay"},
		{"replayed delta", delta(key, 4, 5, []Entry{x}, nil), "replay"},
		{"gap delta", delta(key, 6, 7, []Entry{x}, nil), "gap"},
		{"truncated", good[:len(good)-10], "malformed"},
		{"garbage", []byte("this is not a fleet message at all, not even close......................"), "malformed"},
		{"empty", nil, "malformed"},
		{"oversize", bigger, "oversize"},
		{"wrong kind", Seal(KindTemplates, (&RevocationList{Version: 6, Issued: t0, Expires: t0.Add(time.Hour)}).Marshal(), key), "kind"},
		{"signed garbage body", Seal(KindRevocations, []byte{1, 2, 3}, key), "malformed"},
		{"snapshot with removals", Seal(KindRevocations, (&RevocationList{Version: 6, Issued: t0, Expires: t0.Add(time.Hour), Remove: []Entry{a}}).Marshal(), key), "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openStore(t, t.TempDir())
			defer db.Halt()
			o := DefaultRevocationOpts()
			o.Keys = NewKeyring(key.Public().(ed25519.PublicKey))
			o.MaxMessage = 4096
			o.Metrics = NewMetrics(nil)
			r, err := NewRevocations(ctx, db, &o)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Apply(ctx, good); err != nil {
				t.Fatal(err)
			}
			err = r.Apply(ctx, tc.msg)
			if err == nil {
				t.Fatal("Apply: got nil error, want a refusal")
			}
			if got := Reason(err); got != tc.reason {
				t.Errorf("reason: got %q (%v), want %q", got, err, tc.reason)
			}
			if got := testutil.ToFloat64(o.Metrics.Refused.WithLabelValues("revocations", tc.reason)); got != 1 {
				t.Errorf("refused metric %q: got %v, want 1", tc.reason, got)
			}
			now := t0.Add(time.Hour)
			if v, _ := r.Version(); v != 5 {
				t.Errorf("version after refusal: got %d, want 5", v)
			}
			if err := r.Check(a, now); !errors.Is(err, ErrRevoked) {
				t.Errorf("old entry after refusal: got %v, want ErrRevoked", err)
			}
			if err := r.Check(x, now); err != nil {
				t.Errorf("refused entry: got %v, want nil", err)
			}
		})
	}
}

func TestGapCallsOnGap(t *testing.T) {
	key := newKey(t)
	db := openStore(t, t.TempDir())
	defer db.Halt()
	o := DefaultRevocationOpts()
	o.Keys = NewKeyring(key.Public().(ed25519.PublicKey))
	var gotHave, gotBase uint64
	o.OnGap = func(have, base uint64) { gotHave, gotBase = have, base }
	r, err := NewRevocations(context.Background(), db, &o)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Apply(context.Background(), delta(key, 3, 4, nil, nil)); !errors.Is(err, ErrGap) {
		t.Fatalf("delta without a snapshot: got %v, want ErrGap", err)
	}
	if gotHave != 0 || gotBase != 3 {
		t.Errorf("OnGap(have, base): got (%d, %d), want (0, 3)", gotHave, gotBase)
	}
}

// A crash in the middle of writing a snapshot (simulated by cancelling its context half way
// and reopening without the clean-up) leaves the previous list live and erases the partial one.
func TestSnapshotApplyIsAtomic(t *testing.T) {
	key := newKey(t)
	dir := t.TempDir()
	db := openStore(t, dir)
	r := newRevs(t, db, key)
	old := docs("OLD", 50)
	if err := r.Apply(context.Background(), snapshot(key, 1, old)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	_, err := r.gs.replace(ctx, r.hdr, genHeader{Version: 2}, func(put func(k, v []byte) error) error {
		for _, e := range docs("NEW", 100) {
			if n == 30 {
				cancel()
			}
			n++
			if err := put(entryKey(e), nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		t.Fatal("interrupted replace: got nil error")
	}
	db.Halt()
	db = openStore(t, dir)
	defer db.Halt()
	r = newRevs(t, db, key)
	if v, _ := r.Version(); v != 1 {
		t.Errorf("version after crash: got %d, want 1", v)
	}
	if got := r.Len(); got != len(old) {
		t.Errorf("entries after crash: got %d, want %d", got, len(old))
	}
	leftover := 0
	err = db.Iterate(context.Background(), store.Revocations.Key(), func(k, v []byte) error { leftover++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if leftover != 1 {
		t.Errorf("revocation keys on disk: got %d, want 1 chunk (partial generation not erased)", leftover)
	}
	if err := r.Apply(context.Background(), snapshot(key, 2, docs("NEW", 10))); err != nil {
		t.Fatalf("snapshot after recovery: %v", err)
	}

	// A crash after the new generation went live but before the old one was erased: the
	// header names the old generation, and the next start erases it.
	stale := r.hdr
	stale.Old = stale.Gen + 7
	err = db.Update(func(txn *store.Txn) error {
		for _, e := range docs("GHOST", 5) {
			if err := txn.Set(append(r.gs.prefix(stale.Old), entryKey(e)...), nil); err != nil {
				return err
			}
		}
		return txn.Set(revMeta(), stale.marshal())
	})
	if err != nil {
		t.Fatal(err)
	}
	r = newRevs(t, db, key)
	leftover = 0
	err = db.Iterate(context.Background(), store.Revocations.Key(), func(k, v []byte) error { leftover++; return nil })
	if err != nil {
		t.Fatal(err)
	}
	if leftover != 1 || r.Len() != 10 {
		t.Errorf("after a start with an unerased old generation: %d keys on disk, %d entries live; want 1 chunk and 10", leftover, r.Len())
	}
}

// Many deltas: the delta log is compacted into a new generation, and a restart at any point
// gives the same set as the in-memory one.
func TestDeltaLogCompaction(t *testing.T) {
	ctx := context.Background()
	key := newKey(t)
	dir := t.TempDir()
	db := openStore(t, dir)
	r := newRevs(t, db, key)
	if err := r.Apply(ctx, snapshot(key, 1, docs("S", 5000))); err != nil {
		t.Fatal(err)
	}
	want := map[Entry]bool{}
	for _, e := range docs("S", 5000) {
		want[e] = true
	}
	v := uint64(1)
	for i := 0; i < compactDeltas+10; i++ {
		add := docs(fmt.Sprintf("A%d-", i), 3)
		rm := docs("S", 5000)[i*2 : i*2+2]
		if err := r.Apply(ctx, delta(key, v, v+1, add, rm)); err != nil {
			t.Fatalf("delta %d: %v", v, err)
		}
		v++
		for _, e := range add {
			want[e] = true
		}
		for _, e := range rm {
			delete(want, e)
		}
	}
	if r.deltas >= compactDeltas {
		t.Errorf("delta records after %d deltas: got %d, want fewer than %d (compaction)", compactDeltas+10, r.deltas, compactDeltas)
	}
	db.Halt()
	db = openStore(t, dir)
	defer db.Halt()
	r = newRevs(t, db, key)
	if got, _ := r.Version(); got != v {
		t.Errorf("version after reopen: got %d, want %d", got, v)
	}
	if r.Len() != len(want) {
		t.Errorf("entries after reopen: got %d, want %d", r.Len(), len(want))
	}
	now := t0.Add(time.Hour)
	for e := range want {
		if err := r.Check(e, now); !errors.Is(err, ErrRevoked) {
			t.Fatalf("entry missing after reopen: %v", err)
		}
	}
}

func FuzzParseRevocationList(f *testing.F) {
	key := newKey(f)
	f.Add((&RevocationList{Version: 1, Issued: t0, Expires: t0.Add(time.Hour), Add: docs("A", 3)}).Marshal())
	f.Add((&RevocationList{Version: 3, Base: 2, Issued: t0, Expires: t0.Add(time.Hour), Add: docs("A", 1), Remove: docs("B", 2)}).Marshal())
	f.Add(snapshot(key, 1, docs("C", 2)))
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff, 0xff})
	keys := NewKeyring(key.Public().(ed25519.PublicKey))
	f.Fuzz(func(t *testing.T, b []byte) {
		if l, err := ParseRevocationList(b); err == nil {
			again, err := ParseRevocationList(l.Marshal())
			if err != nil {
				t.Fatalf("re-parse of a parsed list: %v", err)
			}
			if again.Version != l.Version || len(again.Add) != len(l.Add) || len(again.Remove) != len(l.Remove) {
				t.Fatalf("round trip changed the list")
			}
		}
		_, _, _ = Unseal(b, keys, 1<<20)
	})
}

func TestParseAuditAck(t *testing.T) {
	h := strings.Repeat("0f", 32)
	for _, tc := range []struct {
		a  AuditAck
		ok bool
	}{
		{AuditAck{Kiosk: "k", Seq: 7, Hash: h}, true},
		{AuditAck{Kiosk: "k"}, true},
		{AuditAck{Kiosk: "k", Seq: 7}, false},               // a record without its hash
		{AuditAck{Kiosk: "k", Hash: h}, false},              // a hash for record 0
		{AuditAck{Kiosk: "k", Seq: 7, Hash: h[:62]}, false}, // short
		{AuditAck{Kiosk: "k", Seq: 7, Hash: h[:62] + "zz"}, false},
	} {
		got, err := ParseAuditAck(tc.a.Marshal())
		if tc.ok && (err != nil || *got != tc.a) {
			t.Errorf("%+v: got %+v, %v", tc.a, got, err)
		}
		if !tc.ok && !errors.Is(err, ErrMalformed) {
			t.Errorf("%+v: got %v, want ErrMalformed", tc.a, err)
		}
	}
}

func FuzzParseAuditAck(f *testing.F) {
	f.Add((&AuditAck{Kiosk: "kiosk-1", Seq: 42, Hash: strings.Repeat("ab", 32)}).Marshal())
	f.Add((&AuditAck{Kiosk: "kiosk-1"}).Marshal())
	f.Add([]byte{0, 0})
	f.Add([]byte{0xff, 0xff, 'a'})
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ParseAuditAck(b)
		if err != nil {
			return
		}
		if !bytes.Equal(a.Marshal(), b) {
			t.Fatalf("re-encoding %+v gives other bytes", a)
		}
	})
}
