package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"github.com/edgeid/edgeid/internal/boundedfile"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/edgeid/edgeid/daemon/cmd/internal/cli"
	"github.com/edgeid/edgeid/daemon/fleet"
	"github.com/edgeid/edgeid/drivers/emrtd/pki"
	"github.com/edgeid/edgeid/internal/atomicfile"
)

// revState is the fleet's revocation state file: what was last published and what is current.
// Entries are hex of kind byte + digest; no document number is kept.
type revState struct {
	Version   uint64   `json:"version"`
	Published []string `json:"published"`
	Current   []string `json:"current"`
}

// MaxStateFile bounds the state file (about 2 million entries).
const maxStateFile = 128 << 20

func loadRevState(path string) (*revState, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return &revState{}, nil
	}
	if err != nil {
		return nil, err
	}
	if fi.Size() > maxStateFile {
		return nil, fmt.Errorf("%s: %d bytes, limit %d", path, fi.Size(), maxStateFile)
	}
	b, err := boundedfile.ReadFile(path, maxStateFile)
	if err != nil {
		return nil, err
	}
	var s revState
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, set := range [][]string{s.Published, s.Current} {
		for i, h := range set {
			if _, err := decodeEntry(h); err != nil {
				return nil, fmt.Errorf("%s: entry %d: %w", path, i, err)
			}
		}
	}
	return &s, nil
}

func (s *revState) save(path string) error {
	sort.Strings(s.Current)
	sort.Strings(s.Published)
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	return atomicfile.WriteFile(path, append(b, '\n'), 0o600)
}

func encodeEntry(e fleet.Entry) string {
	return hex.EncodeToString(append([]byte{byte(e.Kind)}, e.Digest[:]...))
}

func decodeEntry(s string) (fleet.Entry, error) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 17 || b[0] < byte(fleet.Document) || b[0] > byte(fleet.Identity) {
		return fleet.Entry{}, fmt.Errorf("entry %q is not hex of a kind byte (1-3) and a 16-byte digest", s)
	}
	var e fleet.Entry
	e.Kind = fleet.EntryKind(b[0])
	copy(e.Digest[:], b[1:])
	return e, nil
}

// dsCertEntry names a document signer certificate the way kiosks look it up: the issuer in
// canonical form (order, case and spacing of its parts do not matter; real SODs differ from
// their certificates there) and the serial number without leading zeros.
func dsCertEntry(path string) (fleet.Entry, error) {
	b, err := boundedfile.ReadFile(path, boundedfile.Key)
	if err != nil {
		return fleet.Entry{}, err
	}
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	c, err := pki.ParseCertificate(b)
	if err != nil {
		return fleet.Entry{}, fmt.Errorf("-dscert %s: %w", path, err)
	}
	return fleet.DSCertEntry([]byte(c.Issuer.Canonical()), c.SerialNumber.Bytes()), nil
}

// ICAO 9303 shapes: a 3-character issuing state ('<' pads two-letter codes such as "D<<"),
// and a document number of 9 characters, extended to at most 22 through the optional data.
var (
	issuingStatePattern = regexp.MustCompile(`^[A-Z<]{3}$`)
	docNumberPattern    = regexp.MustCompile(`^[A-Z0-9<]{1,22}$`)
)

// entryFlags collects the entries named on the command line.
type entryFlags struct{ docs, dscerts, ids cli.Multi }

func (f *entryFlags) entries() ([]fleet.Entry, error) {
	var out []fleet.Entry
	for _, d := range f.docs {
		state, num, ok := strings.Cut(d, ":")
		if !ok || !issuingStatePattern.MatchString(strings.ToUpper(strings.TrimSpace(state))) {
			return nil, cli.Usagef("-doc %.40q: want STATE:NUMBER with a 3-letter issuing state", d)
		}
		if !docNumberPattern.MatchString(strings.ToUpper(strings.TrimSpace(num))) {
			return nil, cli.Usagef("-doc %.40q: the document number is 1 to 22 letters, digits or '<' (ICAO 9303, extended numbers included)", d)
		}
		out = append(out, fleet.DocumentEntry(state, num))
	}
	for _, path := range f.dscerts {
		e, err := dsCertEntry(path)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	for _, id := range f.ids {
		if id == "" {
			return nil, cli.Usagef("-identity: empty id")
		}
		out = append(out, fleet.IdentityEntry(id))
	}
	if len(out) == 0 {
		return nil, cli.Usagef("name at least one -doc, -dscert or -identity")
	}
	return out, nil
}

func runRevokeAdd(_ context.Context, e env, args []string) error { return revokeEdit(e, "add", args) }
func runRevokeRemove(_ context.Context, e env, args []string) error {
	return revokeEdit(e, "remove", args)
}

func revokeEdit(e env, verb string, args []string) error {
	fs := newFlags(e, "revoke "+verb, "")
	state := fs.String("state", "revocations.json", "fleet revocation state file")
	var ef entryFlags
	fs.Var(&ef.docs, "doc", "document as ISSUING_STATE:NUMBER (repeatable)")
	fs.Var(&ef.dscerts, "dscert", "document signer certificate file, DER or PEM (repeatable)")
	fs.Var(&ef.ids, "identity", "enrolled identity id (repeatable)")
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("unexpected arguments %q", pos)
	}
	entries, err := ef.entries()
	if err != nil {
		return err
	}
	s, err := loadRevState(*state)
	if err != nil {
		return err
	}
	cur := make(map[string]bool, len(s.Current))
	for _, h := range s.Current {
		cur[h] = true
	}
	changed := 0
	for _, en := range entries {
		h := encodeEntry(en)
		if cur[h] != (verb == "add") {
			changed++
		}
		cur[h] = verb == "add"
	}
	s.Current = s.Current[:0]
	for h, in := range cur {
		if in {
			s.Current = append(s.Current, h)
		}
	}
	if err := s.save(*state); err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.Stdout, "%s: %d entries changed, %d current, last published version %d\n", *state, changed, len(s.Current), s.Version)
	return err
}

// outMsg is a signed message to publish (and optionally write to a file).
type outMsg struct {
	name, topic string
	body        []byte
	retain      bool
}

func runRevokePublish(ctx context.Context, e env, args []string) error {
	fs := newFlags(e, "revoke publish", "")
	state := fs.String("state", "revocations.json", "fleet revocation state file")
	keyFile := fs.String("key", "", "fleet signing key (PEM, from edgeidctl keygen)")
	validity := fs.Duration("validity", 72*time.Hour, "how long kiosks may use this list")
	full := fs.Bool("full", false, "publish only the retained snapshot (kiosks on deltas pick it up at their next gap, start or stale list)")
	outDir := fs.String("out", "", "also write the signed messages to this directory")
	offline := fs.Bool("offline", false, "do not connect to a broker (with -out)")
	cf := addConnFlags(fs, "edgeidctl-publish")
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("unexpected arguments %q", pos)
	}
	if *keyFile == "" {
		return cli.Usagef("-key is required")
	}
	if *validity <= 0 {
		return cli.Usagef("-validity must be positive")
	}
	if *offline && *outDir == "" {
		return cli.Usagef("-offline needs -out")
	}
	key, err := fleet.LoadPrivateKey(*keyFile)
	if err != nil {
		return err
	}
	s, err := loadRevState(*state)
	if err != nil {
		return err
	}
	now := time.Now().UTC()
	next := s.Version + 1
	snap := fleet.RevocationList{Version: next, Issued: now, Expires: now.Add(*validity)}
	for _, h := range s.Current {
		en, _ := decodeEntry(h)
		snap.Add = append(snap.Add, en)
	}
	var msgs []outMsg
	var top fleet.Topics
	if *cf.fleet != "" {
		top = fleet.NewTopics(*cf.fleet)
	}
	if s.Version > 0 && !*full {
		d := revDelta(s, next, now, *validity)
		msgs = append(msgs, outMsg{fmt.Sprintf("revocations-delta-%d-%d.bin", s.Version, next), top.RevDelta(), fleet.Seal(fleet.KindRevocations, d.Marshal(), key), false})
		fmt.Fprintf(e.Stdout, "delta %d->%d: %d added, %d removed\n", s.Version, next, len(d.Add), len(d.Remove))
	}
	msgs = append([]outMsg{{fmt.Sprintf("revocations-snapshot-%d.bin", next), top.RevSnapshot(), fleet.Seal(fleet.KindRevocations, snap.Marshal(), key), true}}, msgs...)
	fmt.Fprintf(e.Stdout, "snapshot %d: %d entries, expires %s\n", next, len(snap.Add), snap.Expires.Format(time.RFC3339))
	if *outDir != "" {
		for _, m := range msgs {
			if err := atomicfile.WriteFile(filepath.Join(*outDir, m.name), m.body, 0o644); err != nil {
				return err
			}
		}
	}
	if !*offline {
		if err := publishAll(ctx, cf, msgs); err != nil {
			return err
		}
	}
	s.Version = next
	s.Published = append(s.Published[:0], s.Current...)
	if err := s.save(*state); err != nil {
		return fmt.Errorf("published version %d but could not save the state: %w", next, err)
	}
	return nil
}

// revDelta is the change from the published list to the current one.
func revDelta(s *revState, next uint64, now time.Time, validity time.Duration) fleet.RevocationList {
	d := fleet.RevocationList{Version: next, Base: s.Version, Issued: now, Expires: now.Add(validity)}
	pub := make(map[string]bool, len(s.Published))
	for _, h := range s.Published {
		pub[h] = true
	}
	cur := make(map[string]bool, len(s.Current))
	for _, h := range s.Current {
		cur[h] = true
		if !pub[h] {
			en, _ := decodeEntry(h)
			d.Add = append(d.Add, en)
		}
	}
	for _, h := range s.Published {
		if !cur[h] {
			en, _ := decodeEntry(h)
			d.Remove = append(d.Remove, en)
		}
	}
	return d
}

// publishAll sends msgs in order: the retained snapshot first, so that a kiosk that sees a
// gap in the delta finds it.
func publishAll(ctx context.Context, cf connFlags, msgs []outMsg) error {
	conn, err := cf.conn()
	if err != nil {
		return err
	}
	cl, err := fleet.Dial(ctx, conn)
	if err != nil {
		return err
	}
	defer cl.Disconnect(250)
	for _, m := range msgs {
		if err := fleet.Publish(ctx, cl, m.topic, m.body, m.retain); err != nil {
			return err
		}
	}
	return nil
}
