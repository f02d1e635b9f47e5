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
