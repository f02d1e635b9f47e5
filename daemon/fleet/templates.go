package fleet

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/edgeid/edgeid/daemon/store"
)

// Template is one enrolled face template. Data is opaque here (daemon/match defines it).
type Template struct {
	Identity  string
	Model     string
	NotBefore time.Time
	NotAfter  time.Time
	Data      []byte
}

// Valid reports whether t is within its validity at now.
func (t *Template) Valid(now time.Time) bool {
	return !now.Before(t.NotBefore) && now.Before(t.NotAfter)
}

// TemplateSet is a site's full template set (Base == 0) or a delta from Base to Version.
type TemplateSet struct {
	Version uint64
	Base    uint64
	Issued  time.Time
	Site    string
	Upsert  []Template
	Delete  []string // identities removed with all their templates (deltas only)
}

// Limits of a template message.
const (
	MaxTemplates    = 200000
	MaxTemplateSize = 64 << 10
	maxIDLen        = 128
)

// Marshal encodes the set body (to be sealed in a KindTemplates envelope).
func (s *TemplateSet) Marshal() []byte {
	b := binary.BigEndian.AppendUint64(nil, s.Version)
	b = binary.BigEndian.AppendUint64(b, s.Base)
	b = binary.BigEndian.AppendUint64(b, uint64(s.Issued.Unix()))
	b = appendStr(b, s.Site)
	b = binary.BigEndian.AppendUint32(b, uint32(len(s.Upsert)))
	for _, t := range s.Upsert {
		b = appendStr(b, t.Identity)
		b = appendStr(b, t.Model)
		b = binary.BigEndian.AppendUint64(b, uint64(t.NotBefore.Unix()))
		b = binary.BigEndian.AppendUint64(b, uint64(t.NotAfter.Unix()))
		b = binary.BigEndian.AppendUint32(b, uint32(len(t.Data)))
		b = append(b, t.Data...)
	}
	b = binary.BigEndian.AppendUint32(b, uint32(len(s.Delete)))
	for _, id := range s.Delete {
		b = appendStr(b, id)
	}
	return b
}

// ParseTemplateSet decodes a template set body, checking every field.
func ParseTemplateSet(body []byte) (*TemplateSet, error) {
	r := &reader{b: body}
	s := &TemplateSet{
		Version: r.u64("version"),
		Base:    r.u64("base version"),
		Issued:  time.Unix(int64(r.u64("issued")), 0).UTC(),
		Site:    r.str("site", maxIDLen),
	}
	n := r.count("templates", 2+2+8+8+4, MaxTemplates)
	s.Upsert = make([]Template, 0, n)
	for i := 0; i < n && r.err == nil; i++ {
		at := r.off
		t := Template{Identity: r.str("identity", maxIDLen), Model: r.str("model id", maxIDLen)}
		t.NotBefore = time.Unix(int64(r.u64("not before")), 0).UTC()
		t.NotAfter = time.Unix(int64(r.u64("not after")), 0).UTC()
		dl := r.u32("template length")
		if r.err == nil && dl > MaxTemplateSize {
			r.err = fmt.Errorf("template %d at offset %d: %d bytes, limit %d: %w", i, at, dl, MaxTemplateSize, ErrOversize)
		}
		t.Data = r.take("template", int(dl))
		if r.err == nil && (t.Identity == "" || t.Model == "" || len(t.Data) == 0 || !t.NotAfter.After(t.NotBefore)) {
			r.err = fmt.Errorf("template %d at offset %d: empty identity, model or data, or empty validity: %w", i, at, ErrMalformed)
		}
		s.Upsert = append(s.Upsert, t)
	}
	m := r.count("deleted identities", 2, MaxTemplates)
	for i := 0; i < m && r.err == nil; i++ {
		s.Delete = append(s.Delete, r.str("deleted identity", maxIDLen))
	}
	if err := r.done("template set"); err != nil {
		return nil, err
	}
	switch {
	case s.Version == 0:
		return nil, fmt.Errorf("template set: version 0: %w", ErrMalformed)
	case s.Base >= s.Version:
		return nil, fmt.Errorf("template set: base version %d not below version %d: %w", s.Base, s.Version, ErrMalformed)
	case s.Base == 0 && len(s.Delete) > 0:
		return nil, fmt.Errorf("template set: snapshot with %d deletions: %w", len(s.Delete), ErrMalformed)
	case s.Site == "":
		return nil, fmt.Errorf("template set: no site: %w", ErrMalformed)
	}
	return s, nil
}

// TemplateOpts configures NewTemplates.
type TemplateOpts struct {
	Site       string
	Keys       Keyring
	MaxMessage int // default 64 MiB
	Logger     *slog.Logger
	Metrics    *Metrics
	OnChange   func() // called after each change, outside locks (the gallery rebuilds)
	OnGap      func(have, base uint64)
}

// Templates is the kiosk's enrolled-template cache for its site: persisted, and indexed in
// memory for the 1:N gallery.
type Templates struct {
	opts  TemplateOpts
	gs    genSet
	db    *store.DB
	apply sync.Mutex

	mu  sync.RWMutex
	idx map[string][]Template // identity -> templates, sorted by model
	hdr genHeader
}

func tmplMeta() []byte { return store.Meta.Key([]byte("templates")) }

func tmplKey(id, model string) []byte {
	b := appendStr(nil, id)
	return append(b, model...)
}

func tmplPrefix(id string) []byte { return appendStr(nil, id) }

func tmplValue(t *Template) []byte {
	b := binary.BigEndian.AppendUint64(nil, uint64(t.NotBefore.Unix()))
	b = binary.BigEndian.AppendUint64(b, uint64(t.NotAfter.Unix()))
	return append(b, t.Data...)
}

// NewTemplates loads the persisted templates.
func NewTemplates(ctx context.Context, db *store.DB, o *TemplateOpts) (*Templates, error) {
	if o == nil || o.Site == "" || len(o.Keys) == 0 {
		return nil, errors.New("templates: site and fleet keys must be configured")
	}
	opts := *o
	if opts.MaxMessage <= 0 {
		opts.MaxMessage = 64 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	t := &Templates{opts: opts, db: db, gs: genSet{db: db, space: store.Templates, meta: tmplMeta()}, idx: map[string][]Template{}}
	hdr, err := t.gs.load()
	if err != nil {
		return nil, fmt.Errorf("templates: load: %w", err)
	}
	t.hdr = hdr
	if hdr.Gen != 0 {
		err := t.gs.each(ctx, hdr.Gen, func(k, v []byte) error {
			r := &reader{b: k}
			id := r.str("identity", maxIDLen)
			model := string(r.take("model", len(k)-r.off))
			if r.err != nil || len(v) < 16 {
				return fmt.Errorf("stored template key %q: %w", k, ErrMalformed)
			}
			t.idx[id] = append(t.idx[id], Template{Identity: id, Model: model,
				NotBefore: time.Unix(int64(binary.BigEndian.Uint64(v)), 0).UTC(),
				NotAfter:  time.Unix(int64(binary.BigEndian.Uint64(v[8:])), 0).UTC(),
				Data:      append([]byte(nil), v[16:]...)})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("templates: load generation %d: %w", hdr.Gen, err)
		}
	}
	opts.Metrics.Versions.WithLabelValues("templates").Set(float64(hdr.Version))
	return t, nil
}

// Apply verifies and applies a signed template message for this kiosk's site.
func (t *Templates) Apply(ctx context.Context, msg []byte) error {
	err := t.applyMsg(ctx, msg)
	if err != nil {
		reason := Reason(err)
		t.opts.Metrics.Refused.WithLabelValues("templates", reason).Inc()
		t.opts.Logger.Warn("template message refused", "reason", reason, "err", err, "bytes", len(msg))
		var gap *gapError
		if errors.As(err, &gap) && t.opts.OnGap != nil {
			t.opts.OnGap(gap.have, gap.base)
		}
		return err
	}
	if t.opts.OnChange != nil {
		t.opts.OnChange()
	}
	return nil
}

func (t *Templates) applyMsg(ctx context.Context, msg []byte) error {
	kind, body, err := Unseal(msg, t.opts.Keys, t.opts.MaxMessage)
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	if kind != KindTemplates {
		return fmt.Errorf("templates: got a %s message: %w", kind, ErrKind)
	}
	s, err := ParseTemplateSet(body)
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	if s.Site != t.opts.Site {
		return fmt.Errorf("templates: set for site %q, this kiosk is at %q: %w", s.Site, t.opts.Site, ErrSite)
	}
	t.apply.Lock()
	defer t.apply.Unlock()
	t.mu.RLock()
	cur := t.hdr
	t.mu.RUnlock()
	next := genHeader{Version: s.Version, Issued: s.Issued.Unix()}
	if s.Base == 0 {
		switch {
		case s.Version == cur.Version:
			return fmt.Errorf("templates: snapshot version %d: %w", s.Version, ErrReplay)
		case s.Version < cur.Version:
			return fmt.Errorf("templates: snapshot version %d, live version %d: %w", s.Version, cur.Version, ErrRollback)
		}
		idx := map[string][]Template{}
		for _, tp := range s.Upsert {
			idx[tp.Identity] = upsert(idx[tp.Identity], cloneTemplate(tp))
		}
		hdr, err := t.gs.replace(ctx, cur, next, func(put func(k, v []byte) error) error {
			for _, ts := range idx {
				for i := range ts {
					if err := put(tmplKey(ts[i].Identity, ts[i].Model), tmplValue(&ts[i])); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err != nil && hdr.Version != s.Version {
			return fmt.Errorf("templates: persist snapshot %d: %w", s.Version, err)
		}
		t.mu.Lock()
		t.idx, t.hdr = idx, hdr
		t.mu.Unlock()
		t.done("snapshot", s)
		return nil
	}
	switch {
	case s.Version <= cur.Version || s.Base < cur.Version:
		return fmt.Errorf("templates: delta %d->%d, live version %d: %w", s.Base, s.Version, cur.Version, ErrReplay)
	case s.Base > cur.Version || cur.Gen == 0:
		return fmt.Errorf("templates: %w", &gapError{have: cur.Version, base: s.Base})
	}
	// Deleting an identity removes all its models: find their keys first.
	t.mu.RLock()
	var dels [][]byte
	for _, id := range s.Delete {
		for _, tp := range t.idx[id] {
			dels = append(dels, tmplKey(id, tp.Model))
		}
	}
	t.mu.RUnlock()
	err = t.gs.update(cur, next, func(set func(k, v []byte) error, del func(k []byte) error) error {
		for _, k := range dels {
			if err := del(k); err != nil {
				return err
			}
		}
		for i := range s.Upsert {
			if err := set(tmplKey(s.Upsert[i].Identity, s.Upsert[i].Model), tmplValue(&s.Upsert[i])); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("templates: persist delta %d->%d: %w", s.Base, s.Version, err)
	}
	next.Gen = cur.Gen
	t.mu.Lock()
	for _, id := range s.Delete {
		delete(t.idx, id)
	}
	for _, tp := range s.Upsert {
		t.idx[tp.Identity] = upsert(t.idx[tp.Identity], cloneTemplate(tp))
	}
	t.hdr = next
	t.mu.Unlock()
	t.done("delta", s)
	return nil
}

func cloneTemplate(t Template) Template {
	t.Data = append([]byte(nil), t.Data...)
	return t
}

// upsert replaces the template with the same model or adds it, keeping models sorted.
func upsert(ts []Template, t Template) []Template {
	out := make([]Template, 0, len(ts)+1)
	for _, x := range ts {
		if x.Model != t.Model {
			out = append(out, x)
		}
	}
	out = append(out, t)
	sort.Slice(out, func(i, j int) bool { return out[i].Model < out[j].Model })
	return out
}

func (t *Templates) done(typ string, s *TemplateSet) {
	t.opts.Metrics.Applied.WithLabelValues("templates", typ).Inc()
	t.opts.Metrics.Versions.WithLabelValues("templates").Set(float64(s.Version))
	t.opts.Logger.Info("templates applied", "type", typ, "version", s.Version, "site", s.Site,
		"upserted", len(s.Upsert), "deleted", len(s.Delete))
}

// Snapshot returns the templates valid at now for the given model id (all models when model
// is empty), sorted by identity then model. The Data slices are shared and must not be changed.
func (t *Templates) Snapshot(now time.Time, model string) []Template {
	t.mu.RLock()
	out := make([]Template, 0, len(t.idx))
	for _, ts := range t.idx {
		for _, tp := range ts {
			if (model == "" || tp.Model == model) && tp.Valid(now) {
				out = append(out, tp)
			}
		}
	}
	t.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Identity != out[j].Identity {
			return out[i].Identity < out[j].Identity
		}
		return out[i].Model < out[j].Model
	})
	return out
}

// Version returns the live template-set version (0 when none).
func (t *Templates) Version() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.hdr.Version
}

// DeleteIdentity erases every template of id from memory and from disk (all stored versions)
// and returns how many it removed. A later fleet snapshot that still lists id brings it back.
func (t *Templates) DeleteIdentity(id string) (int, error) {
	t.apply.Lock()
	defer t.apply.Unlock()
	n, err := EraseIdentity(t.db, id)
	if err != nil {
		return 0, err
	}
	t.mu.Lock()
	delete(t.idx, id)
	t.mu.Unlock()
	if n > 0 && t.opts.OnChange != nil {
		t.opts.OnChange()
	}
	return n, nil
}

// EraseIdentity erases every stored template of id (all stored versions, in every generation)
// without loading the template cache; edgeid enroll delete uses it on a stopped daemon's store.
func EraseIdentity(db *store.DB, id string) (int, error) {
	if id == "" || len(id) > maxIDLen || strings.IndexFunc(id, func(r rune) bool { return r < 0x21 || r > 0x7e }) >= 0 {
		return 0, fmt.Errorf("templates: identity %q: want 1 to %d bytes of printable ASCII", id, maxIDLen)
	}
	gs := genSet{db: db, space: store.Templates, meta: tmplMeta()}
	v, ok, err := db.Get(tmplMeta())
	if err != nil || !ok {
		return 0, err
	}
	h, err := parseGenHeader(v)
	if err != nil {
		return 0, fmt.Errorf("templates: %w", err)
	}
	n := 0
	for _, gen := range []uint64{h.Gen, h.Pending} {
		if gen == 0 {
			continue
		}
		pfx := append(gs.prefix(gen), tmplPrefix(id)...)
		err := db.Iterate(context.Background(), pfx, func(_, _ []byte) error { n++; return nil })
		if err != nil {
			return 0, err
		}
		if err := db.Erase(pfx); err != nil {
			return 0, fmt.Errorf("templates: erase %s: %w", id, err)
		}
	}
	return n, nil
}
