package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/audit"
	"github.com/edgeid/edgeid/daemon/fleet"
	"github.com/edgeid/edgeid/daemon/fleet/fleettest"
	"github.com/edgeid/edgeid/drivers/emrtd/emrtdsim"
	"github.com/edgeid/edgeid/drivers/emrtd/pki"
)

func ctl(t *testing.T, ctx context.Context, wantCode int, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(ctx, args, &out, &errOut)
	if code != wantCode {
		t.Fatalf("edgeidctl %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, wantCode, out.String(), errOut.String())
	}
	return out.String() + errOut.String()
}

func TestOfflinePublishAndVerify(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fk := filepath.Join(dir, "fleet")
	ctl(t, ctx, 0, "keygen", fk)
	ctl(t, ctx, 2, "keygen", fk) // refuses to overwrite
	state := filepath.Join(dir, "rev.json")
	ctl(t, ctx, 0, "revoke", "add", "-state", state, "-doc", "UTO:L898902C3", "-doc", "UTO:X0000001", "-identity", "emp-7")
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o755); err != nil {
		t.Fatal(err)
	}
	ctl(t, ctx, 0, "revoke", "publish", "-state", state, "-key", fk+".key", "-offline", "-out", out)
	ctl(t, ctx, 0, "revoke", "remove", "-state", state, "-doc", "UTO:X0000001")
	// A document signer certificate, named by its file as an operator has it.
	gen, err := emrtdsim.GenerateDocument(&emrtdsim.DocumentOpts{MRZ: "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<\nL898902C36UTO7408122F1204159ZE184226B<<<<<10",
		Face: []byte{0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, 0, 16, 0, 16, 1, 1, 0x11, 0, 0xff, 0xd9}})
	if err != nil {
		t.Fatal(err)
	}
	ds := filepath.Join(dir, "ds.der")
	if err := os.WriteFile(ds, gen.DS, 0o644); err != nil {
		t.Fatal(err)
	}
	ctl(t, ctx, 0, "revoke", "add", "-state", state, "-dscert", ds)
	dsCert, err := pki.ParseCertificate(gen.DS)
	if err != nil {
		t.Fatal(err)
	}
	ctl(t, ctx, 2, "revoke", "add", "-state", state, "-dscert", state) // not a certificate
	got := ctl(t, ctx, 0, "revoke", "publish", "-state", state, "-key", fk+".key", "-offline", "-out", out)
	if !strings.Contains(got, "delta 1->2: 1 added, 1 removed") {
		t.Errorf("second publish: got %q, want a 1->2 delta with 1 added and 1 removed", got)
	}
	ctl(t, ctx, 2, "revoke", "add", "-state", state, "-doc", "nonsense")
	if b, _ := os.ReadFile(state); bytes.Contains(b, []byte("L898902C3")) {
		t.Error("the state file holds a raw document number")
	}

	pub, err := fleet.LoadPublicKey(fk + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	_, kioskKey, _ := ed25519.GenerateKey(nil)
	revs, _ := kioskState(t, ctx, "kiosk-1", kioskKey, pub, nil)
	for _, name := range []string{"revocations-snapshot-1.bin", "revocations-delta-1-2.bin"} {
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := revs.Apply(ctx, b); err != nil {
			t.Fatalf("apply %s: %v", name, err)
		}
	}
	now := time.Now()
	for _, tc := range []struct {
		e    fleet.Entry
		want error
	}{
		{fleet.DocumentEntry("UTO", "L898902C3"), fleet.ErrRevoked},
		{fleet.DocumentEntry("UTO", "X0000001"), nil},
		{fleet.IdentityEntry("emp-7"), fleet.ErrRevoked},
		// As the kiosk names the signer of a document it reads (daemon/document).
		{fleet.DSCertEntry([]byte(dsCert.Issuer.Canonical()), dsCert.SerialNumber.Bytes()), fleet.ErrRevoked},
	} {
		if err := revs.Check(tc.e, now); !errors.Is(err, tc.want) || (tc.want == nil && err != nil) {
			t.Errorf("Check %v: got %v, want %v", tc.e.Kind, err, tc.want)
		}
	}
}

// checkCollected checks the collected file: 25 records that verify, and the same file without
// record 13 fails verification with the gap named.
func checkCollected(t *testing.T, ctx context.Context, out, kioskPub, dir string) {
	got := ctl(t, ctx, 0, "audit", "verify", out, "-kiosk-key", "kiosk-1="+kioskPub)
	if !strings.Contains(got, "kiosk-1: 25 records, last 25, 2 checkpoints, signed through 20") {
		t.Errorf("verify: got %q", got)
	}
	raw, _ := os.ReadFile(out)
	lines := bytes.Split(bytes.TrimSpace(raw), []byte("\n"))
	if len(lines) != 25 {
		t.Fatalf("collected lines: got %d, want 25", len(lines))
	}
	lines = append(lines[:12:12], lines[13:]...) // drop record 13
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, bytes.Join(lines, []byte("\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	got = ctl(t, ctx, 1, "audit", "verify", bad, "-kiosk-key", "kiosk-1="+kioskPub)
	if !strings.Contains(got, "kiosk kiosk-1 record 14: gap: record 13 is missing") {
		t.Errorf("verify of a file without record 13: got %q", got)
	}
}

// pushTemplate pushes one template for identity alice (model m1) to site lobby.
func pushTemplate(t *testing.T, ctx context.Context, dir, fleetKey string, conn []string) {
	if err := os.WriteFile(filepath.Join(dir, "alice.tmpl"), []byte("opaque-template-bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	man, _ := json.Marshal(manifest{Site: "lobby", Version: 1, Upsert: []manifestEntry{{Identity: "alice", Model: "m1", File: "alice.tmpl"}}})
	if err := os.WriteFile(filepath.Join(dir, "m.json"), man, 0o600); err != nil {
		t.Fatal(err)
	}
	ctl(t, ctx, 0, append([]string{"enroll", "push", filepath.Join(dir, "m.json"), "-key", fleetKey}, conn...)...)
}

// TestFleetRoundTrip runs the fleet tools against mosquitto with a kiosk client: revocations
// published by edgeidctl reach the kiosk, templates are pushed, audit records are collected,
// verified, and a tampered copy fails verification with the problem named.
func TestFleetRoundTrip(t *testing.T) {
	b := fleettest.StartMosquitto(t, fleettest.Opts{Fleet: "f1", Admins: []string{"collector", "publisher"}})
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	dir := t.TempDir()
	fk, ck, kk := filepath.Join(dir, "fleet"), filepath.Join(dir, "collector"), filepath.Join(dir, "kiosk-1")
	for _, k := range []string{fk, ck, kk} {
		ctl(t, ctx, 0, "keygen", k)
	}
	pubCert, pubKey, ca := b.ClientFiles("publisher")
	colCert, colKey, _ := b.ClientFiles("collector")
	conn := func(cert, key string) []string {
		return []string{"-broker", b.URL, "-fleet", "f1", "-ca", ca, "-cert", cert, "-cert-key", key}
	}
	state := filepath.Join(dir, "rev.json")
	publish := func(doc string) {
		ctl(t, ctx, 0, "revoke", "add", "-state", state, "-doc", doc)
		ctl(t, ctx, 0, append([]string{"revoke", "publish", "-state", state, "-key", fk + ".key"}, conn(pubCert, pubKey)...)...)
	}
	publish("UTO:AAA000001")

	// The kiosk.
	fleetPub, _ := fleet.LoadPublicKey(fk + ".pub")
	colPub, _ := fleet.LoadPublicKey(ck + ".pub")
	kioskKey, err := fleet.LoadPrivateKey(kk + ".key")
	if err != nil {
		t.Fatal(err)
	}
	db, revs, log := kioskStore(t, ctx, "kiosk-1", kioskKey, fleetPub, nil)
	tmpls, err := fleet.NewTemplates(ctx, db, &fleet.TemplateOpts{Site: "lobby", Keys: fleet.NewKeyring(fleetPub)})
	if err != nil {
		t.Fatal(err)
	}
	runClient(t, ctx, &fleet.ClientOpts{Broker: b.URL, TLS: b.ClientTLS("kiosk-1"), Fleet: "f1", Kiosk: "kiosk-1", Site: "lobby",
		SessionDir: t.TempDir(), Revocations: revs, Templates: tmpls, Audit: log, AckKeys: fleet.NewKeyring(colPub),
		ResendAfter: 2 * time.Second})

	waitFor(t, ctx, "snapshot 1", func() bool { v, _ := revs.Version(); return v == 1 })
	publish("UTO:BBB000002")
	waitFor(t, ctx, "delta 1->2", func() bool {
		return errors.Is(revs.Check(fleet.DocumentEntry("UTO", "BBB000002"), time.Now()), fleet.ErrRevoked)
	})
	pushTemplate(t, ctx, dir, fk+".key", conn(pubCert, pubKey))
	waitFor(t, ctx, "templates", func() bool { return len(tmpls.Snapshot(time.Now(), "m1")) == 1 })

	// Audit: the collector runs (its persistent session subscribed) while the kiosk records.
	out := filepath.Join(dir, "audit.jsonl")
	args := append([]string{"audit", "collect", "-out", out, "-key", ck + ".key", "-session", filepath.Join(dir, "sess"),
		"-kiosk-key", "kiosk-1=" + kk + ".pub", "-for", "5s"}, conn(colCert, colKey)...)
	var colOut, colErr bytes.Buffer
	colCode := make(chan int, 1)
	go func() { colCode <- run(ctx, args, &colOut, &colErr) }()
	time.Sleep(time.Second)
	for i := 0; i < 25; i++ {
		if _, err := log.Append(ctx, audit.Decision{Flow: "document", Outcome: "accept", DocState: "UTO", DocNumber: "AAA000001"}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, ctx, "acks to empty the outbox", func() bool { n, _ := log.OutboxLen(ctx); return n == 0 })
	if code := <-colCode; code != 0 || !strings.Contains(colOut.String(), "kiosk-1: collected through 25") {
		t.Fatalf("collect: exit %d, output %q %q; want 0 and kiosk-1 collected through 25", code, colOut.String(), colErr.String())
	}
	checkCollected(t, ctx, out, kk+".pub", dir)
}

func TestSim(t *testing.T) {
	b := fleettest.StartMosquitto(t, fleettest.Opts{Fleet: "f1", Admins: []string{"collector", "publisher"}})
	caCert, caKey := b.CAFiles()
	_, _, ca := b.ClientFiles("unused")
	// EDGEIDCTL_SIM_KIOSKS=500 gives the fleet simulation (the default keeps go test
	// fast); EDGEIDCTL_SIM_ARGS adds flags (e.g. "-verify once -delta-qos 0 -timeout 120s").
	n, records := 20, 5
	if v, err := strconv.Atoi(os.Getenv("EDGEIDCTL_SIM_KIOSKS")); err == nil && v > 0 {
		n, records = v, 20
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	args := append([]string{"sim", "-kiosks", strconv.Itoa(n), "-records", strconv.Itoa(records), "-rounds", "5", "-timeout", "60s",
		"-broker", b.URL, "-fleet", "f1", "-ca", ca, "-mint-ca-cert", caCert, "-mint-ca-key", caKey}, strings.Fields(os.Getenv("EDGEIDCTL_SIM_ARGS"))...)
	if n == 20 {
		args = append(args, "-verify", "once", "-delta-qos", "0") // the fast path's options, checked below
	}
	got := ctl(t, ctx, 0, args...)
	t.Log(got)
	for _, want := range []string{fmt.Sprintf("sim: %d kiosks connected", n), fmt.Sprintf("revocation fan-out: 5 deltas of 100 entries to %d kiosks: p50", n),
		fmt.Sprintf("audit ingest: %d records from %d kiosks", n*records, n), "chain problems: 0;", "unacked publishes: 0;", "fan-out phase: "} {
		if !strings.Contains(got, want) {
			t.Errorf("sim output %q lacks %q", got, want)
		}
	}
	if n == 20 && !strings.Contains(got, "(delta QoS 0, verify once)") {
		t.Errorf("sim output %q: -delta-qos 0 -verify once not taken", got)
	}
}

// -doc is bounded by ICAO 9303's shapes (issue 15 item 16: a 100,000-character number was accepted).
func TestRevokeDocShape(t *testing.T) {
	for _, tt := range []struct {
		doc string
		ok  bool
	}{
		{"UTO:L898902C3", true},
		{"D<<:C01X00T47", true},
		{"uto:ab123456789012345678901", false}, // 23 characters
		{"UTO:" + strings.Repeat("1", 100_000), false},
		{"UTO:", false},
		{"UTOPIA:123", false},
		{"UTO:12-34", false},
	} {
		var f entryFlags
		f.docs = append(f.docs, tt.doc)
		_, err := f.entries()
		if (err == nil) != tt.ok {
			t.Errorf("-doc %.30q: err %v, want ok=%v", tt.doc, err, tt.ok)
		}
		if err != nil && len(err.Error()) > 300 {
			t.Errorf("-doc %.30q: error of %d bytes repeats the input", tt.doc, len(err.Error()))
		}
	}
}
