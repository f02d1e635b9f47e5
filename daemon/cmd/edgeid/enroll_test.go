package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/fleet"
	"github.com/edgeid/edgeid/daemon/store"
)

func TestEnrollDelete(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(t.TempDir(), "store.key")
	if err := os.WriteFile(keyFile, []byte(strings.Repeat("ab", 32)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := store.LoadKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	o := store.DefaultOpts()
	o.Dir, o.EncryptionKey = dir, key
	db, err := store.Open(&o)
	if err != nil {
		t.Fatal(err)
	}
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	ts, err := fleet.NewTemplates(context.Background(), db, &fleet.TemplateOpts{Site: "s", Keys: fleet.NewKeyring(pub)})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	set := fleet.TemplateSet{Version: 1, Site: "s", Issued: now, Upsert: []fleet.Template{
		{Identity: "alice", Model: "m1", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), Data: []byte("a")},
		{Identity: "alice", Model: "m2", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), Data: []byte("b")},
		{Identity: "bob", Model: "m1", NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), Data: []byte("c")},
	}}
	if err := ts.Apply(context.Background(), fleet.Seal(fleet.KindTemplates, set.Marshal(), priv)); err != nil {
		t.Fatal(err)
	}
	db.Halt()

	for _, tc := range []struct {
		args     []string
		wantCode int
		wantOut  string
	}{
		{[]string{"enroll", "delete", "alice", "-store", dir, "-store-key", keyFile}, 0, "erased 2 template(s) of identity alice"},
		{[]string{"enroll", "delete", "alice", "-store", dir, "-store-key", keyFile}, 1, "no templates stored"},
		{[]string{"enroll", "delete", "-store", dir, "-store-key", keyFile}, 2, "want exactly one identity"},
		{[]string{"enroll", "delete", "x", "-store", dir, "-store-key", filepath.Join(dir, "missing")}, 2, "key file"},
	} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), tc.args, &out, &errOut)
		if code != tc.wantCode || !strings.Contains(out.String()+errOut.String(), tc.wantOut) {
			t.Errorf("%v: got exit %d, output %q %q; want exit %d with %q", tc.args, code, out.String(), errOut.String(), tc.wantCode, tc.wantOut)
		}
	}
	db, err = store.Open(&o)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Halt()
	ts, err = fleet.NewTemplates(context.Background(), db, &fleet.TemplateOpts{Site: "s", Keys: fleet.NewKeyring(pub)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tp := range ts.Snapshot(now, "") {
		got = append(got, tp.Identity+"/"+tp.Model)
	}
	if strings.Join(got, ",") != "bob/m1" {
		t.Errorf("templates after delete: got %v, want [bob/m1]", got)
	}
}
