package main

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/edgeid/edgeid/daemon/cmd/internal/cli"
	"github.com/edgeid/edgeid/daemon/fleet"
	"github.com/edgeid/edgeid/internal/atomicfile"
)

// manifest describes a template push. Template files hold the bytes the face engine produced;
// edgeidctl treats them as opaque. Paths are relative to the manifest.
type manifest struct {
	Site     string          `json:"site"`
	Version  uint64          `json:"version"`
	Base     uint64          `json:"base,omitempty"` // 0: full snapshot (retained); else a delta from Base
	Validity string          `json:"validity,omitempty"`
	Upsert   []manifestEntry `json:"upsert,omitempty"`
	Delete   []string        `json:"delete,omitempty"`
}

type manifestEntry struct {
	Identity  string    `json:"identity"`
	Model     string    `json:"model"`
	File      string    `json:"file"`
	NotBefore time.Time `json:"not_before,omitzero"`
	NotAfter  time.Time `json:"not_after,omitzero"`
}

func loadManifest(path string, now time.Time) (*fleet.TemplateSet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var m manifest
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	validity := 30 * 24 * time.Hour
	if m.Validity != "" {
		if validity, err = time.ParseDuration(m.Validity); err != nil || validity <= 0 {
			return nil, fmt.Errorf("%s: validity %q is not a positive duration", path, m.Validity)
		}
	}
	set := &fleet.TemplateSet{Version: m.Version, Base: m.Base, Issued: now, Site: m.Site, Delete: m.Delete}
	for i, u := range m.Upsert {
		p := u.File
		if !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(path), p)
		}
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%s: upsert %d: %w", path, i, err)
		}
		if fi.Size() > fleet.MaxTemplateSize {
			return nil, fmt.Errorf("%s: upsert %d: %s is %d bytes, limit %d", path, i, p, fi.Size(), fleet.MaxTemplateSize)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		t := fleet.Template{Identity: u.Identity, Model: u.Model, NotBefore: u.NotBefore, NotAfter: u.NotAfter, Data: data}
		if t.NotBefore.IsZero() {
			t.NotBefore = now
		}
		if t.NotAfter.IsZero() {
			t.NotAfter = t.NotBefore.Add(validity)
		}
		set.Upsert = append(set.Upsert, t)
	}
	// Check the set the way a kiosk will, before signing it.
	if _, err := fleet.ParseTemplateSet(set.Marshal()); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return set, nil
}

func runEnrollPush(ctx context.Context, e env, args []string) error {
	fs := newFlags(e, "enroll push", "MANIFEST.json")
	keyFile := fs.String("key", "", "fleet signing key (PEM)")
	out := fs.String("out", "", "also write the signed message to this file")
	offline := fs.Bool("offline", false, "do not connect to a broker (with -out)")
	cf := addConnFlags(fs, "edgeidctl-enroll")
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return cli.Usagef("want one manifest file")
	}
	if *keyFile == "" {
		return cli.Usagef("-key is required")
	}
	if *offline && *out == "" {
		return cli.Usagef("-offline needs -out")
	}
	key, err := fleet.LoadPrivateKey(*keyFile)
	if err != nil {
		return err
	}
	set, err := loadManifest(pos[0], time.Now().UTC())
	if err != nil {
		return err
	}
	msg := fleet.Seal(fleet.KindTemplates, set.Marshal(), key)
	if *out != "" {
		if err := atomicfile.WriteFile(*out, msg, 0o644); err != nil {
			return err
		}
	}
	kind := "snapshot"
	if set.Base != 0 {
		kind = fmt.Sprintf("delta from %d", set.Base)
	}
	fmt.Fprintf(e.Stdout, "templates for site %s: version %d (%s), %d upserted, %d deleted, %d bytes signed\n",
		set.Site, set.Version, kind, len(set.Upsert), len(set.Delete), len(msg))
	if *offline {
		return nil
	}
	conn, err := cf.conn()
	if err != nil {
		return err
	}
	top := fleet.NewTopics(*cf.fleet)
	cl, err := fleet.Dial(ctx, conn)
	if err != nil {
		return err
	}
	defer cl.Disconnect(250)
	if set.Base == 0 {
		return fleet.Publish(ctx, cl, top.TmplSnapshot(set.Site), msg, true)
	}
	return fleet.Publish(ctx, cl, top.TmplDelta(set.Site), msg, false)
}

// kioskKeys parses repeated -kiosk-key ID=PUBFILE flags.
func kioskKeys(m cli.Multi) (map[string]ed25519.PublicKey, error) {
	out := map[string]ed25519.PublicKey{}
	for _, kv := range m {
		id, path, ok := strings.Cut(kv, "=")
		if !ok || id == "" || path == "" {
			return nil, cli.Usagef("-kiosk-key %q: want KIOSK_ID=PUBLIC_KEY_FILE", kv)
		}
		pub, err := fleet.LoadPublicKey(path)
		if err != nil {
			return nil, err
		}
		out[id] = pub
	}
	return out, nil
}
