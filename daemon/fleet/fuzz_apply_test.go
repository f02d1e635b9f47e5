package fleet

import (
	"context"
	"crypto/ed25519"
	"testing"
	"time"
)

// FuzzApplySigned feeds correctly signed but arbitrary bodies to the revocation and template
// state: whatever the body says, Apply must refuse or apply it without panicking, and the
// state must stay loadable.
func FuzzApplySigned(f *testing.F) {
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	f.Add(true, (&RevocationList{Version: 1, Issued: t0, Expires: t0.Add(time.Hour), Add: docs("F", 3)}).Marshal())
	f.Add(true, (&RevocationList{Version: 2, Base: 1, Issued: t0, Expires: t0.Add(time.Hour), Remove: docs("F", 1)}).Marshal())
	f.Add(false, (&TemplateSet{Version: 1, Site: "lobby", Issued: t0, Upsert: []Template{tmpl("a", "m", "x")}}).Marshal())
	f.Add(false, (&TemplateSet{Version: 2, Base: 1, Site: "lobby", Issued: t0, Delete: []string{"a"}}).Marshal())
	db := openStore(f, f.TempDir())
	f.Cleanup(func() { db.Halt() })
	revs := newRevs(f, db, key)
	tmpls, err := NewTemplates(context.Background(), db, &TemplateOpts{Site: "lobby", Keys: NewKeyring(key.Public().(ed25519.PublicKey))})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, revocation bool, body []byte) {
		ctx := context.Background()
		if revocation {
			_ = revs.Apply(ctx, Seal(KindRevocations, body, key))
			_ = revs.Check(DocumentEntry("UTO", "F000000"), t0)
			return
		}
		_ = tmpls.Apply(ctx, Seal(KindTemplates, body, key))
		_ = tmpls.Snapshot(t0, "")
	})
}
