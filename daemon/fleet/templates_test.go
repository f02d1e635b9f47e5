package fleet

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgeid/edgeid/daemon/store"
)

func tmpl(id, model string, data string) Template {
	return Template{Identity: id, Model: model, NotBefore: t0, NotAfter: t0.Add(24 * time.Hour), Data: []byte(data)}
}

func sealTemplates(key ed25519.PrivateKey, s TemplateSet) []byte {
	if s.Issued.IsZero() {
		s.Issued = t0
	}
	return Seal(KindTemplates, s.Marshal(), key)
}

func newTemplates(t *testing.T, db *store.DB, key ed25519.PrivateKey, changed *int) *Templates {
	t.Helper()
	ts, err := NewTemplates(context.Background(), db, &TemplateOpts{Site: "lobby", Keys: NewKeyring(key.Public().(ed25519.PublicKey)),
		OnChange: func() { *changed++ }})
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func ids(ts []Template) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Identity+"/"+t.Model+"="+string(t.Data))
	}
	return out
}

func TestTemplatesApplyDeleteErase(t *testing.T) {
	ctx := context.Background()
	key := newKey(t)
	dir := t.TempDir()
	o := store.DefaultOpts()
	o.Dir, o.AllowPlaintext = dir, true // plaintext so that the erasure check reads something
	db, err := store.Open(&o)
	if err != nil {
		t.Fatal(err)
	}
	changed := 0
	ts := newTemplates(t, db, key, &changed)
	secret := string(bytes.Repeat([]byte("ALICE-TEMPLATE-"), 20))
	steps := []struct {
		name    string
		msg     []byte
		wantErr error
		want    []string
	}{
		{"snapshot", sealTemplates(key, TemplateSet{Version: 1, Site: "lobby", Upsert: []Template{
			tmpl("alice", "m1", secret), tmpl("bob", "m1", "b1"), tmpl("bob", "m2", "b2")}}), nil,
			[]string{"alice/m1=" + secret, "bob/m1=b1", "bob/m2=b2"}},
		{"other site", sealTemplates(key, TemplateSet{Version: 2, Site: "garage", Upsert: []Template{tmpl("eve", "m1", "e")}}), ErrSite,
			[]string{"alice/m1=" + secret, "bob/m1=b1", "bob/m2=b2"}},
		{"delta", sealTemplates(key, TemplateSet{Version: 2, Base: 1, Site: "lobby", Upsert: []Template{tmpl("carol", "m1", "c1"), tmpl("bob", "m1", "b1new")},
			Delete: []string{"nobody"}}), nil,
			[]string{"alice/m1=" + secret, "bob/m1=b1new", "bob/m2=b2", "carol/m1=c1"}},
		{"replayed delta", sealTemplates(key, TemplateSet{Version: 2, Base: 1, Site: "lobby", Upsert: []Template{tmpl("mallory", "m1", "x")}}), ErrReplay,
			[]string{"alice/m1=" + secret, "bob/m1=b1new", "bob/m2=b2", "carol/m1=c1"}},
		{"gap", sealTemplates(key, TemplateSet{Version: 9, Base: 8, Site: "lobby", Upsert: []Template{tmpl("mallory", "m1", "x")}}), ErrGap,
			[]string{"alice/m1=" + secret, "bob/m1=b1new", "bob/m2=b2", "carol/m1=c1"}},
		{"delete bob", sealTemplates(key, TemplateSet{Version: 3, Base: 2, Site: "lobby", Delete: []string{"bob"}}), nil,
			[]string{"alice/m1=" + secret, "carol/m1=c1"}},
	}
	for _, s := range steps {
		err := ts.Apply(ctx, s.msg)
		if !errors.Is(err, s.wantErr) || (s.wantErr == nil && err != nil) {
			t.Fatalf("%s: got %v, want %v", s.name, err, s.wantErr)
		}
		if got := ids(ts.Snapshot(t0.Add(time.Hour), "")); !equal(got, s.want) {
			t.Errorf("%s: gallery got %v, want %v", s.name, got, s.want)
		}
	}
	if changed != 3 {
		t.Errorf("OnChange calls: got %d, want 3", changed)
	}
	if got := ts.Snapshot(t0.Add(48*time.Hour), ""); len(got) != 0 {
		t.Errorf("templates valid after their validity: got %v, want none", ids(got))
	}
	if n, err := ts.DeleteIdentity("alice"); err != nil || n != 1 {
		t.Fatalf("DeleteIdentity: got %d, %v; want 1", n, err)
	}
	db.Halt()
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			b, _ := os.ReadFile(p)
			if bytes.Contains(b, []byte(secret[:30])) {
				t.Errorf("erased template bytes still on disk in %s", p)
			}
		}
		return nil
	})
	db, err = store.Open(&o)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Halt()
	ts = newTemplates(t, db, key, &changed)
	if got, want := ids(ts.Snapshot(t0.Add(time.Hour), "")), []string{"carol/m1=c1"}; !equal(got, want) {
		t.Errorf("after reopen: got %v, want %v", got, want)
	}
	if v := ts.Version(); v != 3 {
		t.Errorf("version after reopen: got %d, want 3", v)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func FuzzParseTemplateSet(f *testing.F) {
	f.Add((&TemplateSet{Version: 1, Site: "lobby", Issued: t0, Upsert: []Template{tmpl("a", "m", "x")}}).Marshal())
	f.Add((&TemplateSet{Version: 2, Base: 1, Site: "s", Issued: t0, Delete: []string{"a", "b"}}).Marshal())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseTemplateSet(b)
		if err != nil {
			return
		}
		again, err := ParseTemplateSet(s.Marshal())
		if err != nil || len(again.Upsert) != len(s.Upsert) || again.Site != s.Site {
			t.Fatalf("round trip: %v", err)
		}
	})
}

func TestTemplatesRefusals(t *testing.T) {
	ctx := context.Background()
	key, other := newKey(t), newKey(t)
	good := sealTemplates(key, TemplateSet{Version: 5, Site: "lobby", Upsert: []Template{tmpl("alice", "m1", "a")}})
	forged := append([]byte(nil), sealTemplates(key, TemplateSet{Version: 6, Site: "lobby", Upsert: []Template{tmpl("eve", "m1", "e")}})...)
	forged[len(forged)-3] ^= 0x40
	big := sealTemplates(key, TemplateSet{Version: 6, Site: "lobby", Upsert: []Template{tmpl("eve", "m1", string(make([]byte, 5000)))}})
	for _, tc := range []struct {
		name   string
		msg    []byte
		reason string
	}{
		{"forged signature", forged, "signature"},
		{"unknown key", sealTemplates(other, TemplateSet{Version: 6, Site: "lobby", Upsert: []Template{tmpl("eve", "m1", "e")}}), "unknown-key"},
		{"rollback", sealTemplates(key, TemplateSet{Version: 4, Site: "lobby", Upsert: []Template{tmpl("eve", "m1", "e")}}), "rollback"},
		{"replayed snapshot", good, "replay"},
		{"gap", sealTemplates(key, TemplateSet{Version: 8, Base: 7, Site: "lobby", Upsert: []Template{tmpl("eve", "m1", "e")}}), "gap"},
		{"other site", sealTemplates(key, TemplateSet{Version: 6, Site: "garage", Upsert: []Template{tmpl("eve", "m1", "e")}}), "site"},
		{"truncated", good[:len(good)-1], "malformed"},
		{"garbage", []byte("garbage garbage garbage garbage garbage garbage garbage garbage garbage garbage"), "malformed"},
		{"oversize", big, "oversize"},
		{"revocation kind", snapshot(key, 6, nil), "kind"},
		{"empty template", Seal(KindTemplates, (&TemplateSet{Version: 6, Site: "lobby", Issued: t0, Upsert: []Template{tmpl("eve", "m1", "")}}).Marshal(), key), "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := openStore(t, t.TempDir())
			defer db.Halt()
			m := NewMetrics(nil)
			changed := 0
			ts, err := NewTemplates(ctx, db, &TemplateOpts{Site: "lobby", Keys: NewKeyring(key.Public().(ed25519.PublicKey)),
				MaxMessage: 4096, Metrics: m, OnChange: func() { changed++ }})
			if err != nil {
				t.Fatal(err)
			}
			if err := ts.Apply(ctx, good); err != nil {
				t.Fatal(err)
			}
			err = ts.Apply(ctx, tc.msg)
			if err == nil {
				t.Fatal("Apply: got nil error, want a refusal")
			}
			if got := Reason(err); got != tc.reason {
				t.Errorf("reason: got %q (%v), want %q", got, err, tc.reason)
			}
			if got := testutil.ToFloat64(m.Refused.WithLabelValues("templates", tc.reason)); got != 1 {
				t.Errorf("refused metric: got %v, want 1", got)
			}
			if got, want := ids(ts.Snapshot(t0.Add(time.Hour), "")), []string{"alice/m1=a"}; !equal(got, want) || ts.Version() != 5 || changed != 1 {
				t.Errorf("state after refusal: %v at version %d (%d changes), want %v at 5 (1 change)", got, ts.Version(), changed, want)
			}
		})
	}
}
