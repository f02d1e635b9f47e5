// Package demo is the simulation behind `make run`: a made-up PKI, four generated passports
// with known outcomes (the holder, someone else, a revoked document, a forged one), and a
// PN532 emulator on a fake I2C bus that presents them in turn to the real reader driver, and
// a fleet back end (BackEnd) that signs the revocation list and collects the audit records.
// No real person's data: the names are invented and the photos are public-domain samples.
package demo

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/edgeid/edgeid/daemon/kiosk"
	"github.com/edgeid/edgeid/drivers/emrtd/emrtdsim"
	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
	"github.com/edgeid/edgeid/drivers/emrtd/pki"
	"github.com/edgeid/edgeid/drivers/nfc"
	"github.com/edgeid/edgeid/drivers/nfc/pn532/pn532sim"
	"github.com/edgeid/edgeid/drivers/nfc/readers"
)

// Document is one demo passport and what the kiosk should decide for it.
type Document struct {
	Name   string
	Key    kiosk.AccessKey
	State  string
	Number string
	Expect kiosk.Outcome
	Reason string // the expected reason code, "" for accepted
	// PhotoAttack: the person shows the camera a printed photo of the holder, not their face.
	PhotoAttack bool
	card        *pn532sim.Card
	revoked     bool
	mrz         []string // the printed MRZ of the data page (invented data)
}

// Demo holds the documents, the trust store that vouches for them and the emulated reader.
type Demo struct {
	Docs   []Document
	Trust  *pki.TrustStore
	Reader nfc.Reader
	field  *pn532sim.Chip

	mu      sync.Mutex
	current int // index into Docs of the document in the field, -1 when empty
}

// docSpec is a demo document to make.
type docSpec struct {
	name, number string
	photo        []byte // DG2
	tamper       string // the data group whose hash no longer matches
	revoked      bool
	expect       kiosk.Outcome
	reason       string
	attack       bool
}

// Options choose the demo's documents.
type Options struct {
	// PhotoAttack adds a genuine passport whose bearer shows the camera a printed photo of its
	// holder: with the presentation-attack checks on, the kiosk must refuse it.
	PhotoAttack bool
}

// New builds the documents from the photos in faceDir (astronaut-320.jp2, camera-320.jp2).
func New(ctx context.Context, faceDir string, now time.Time, o Options) (*Demo, error) {
	astronaut, err := os.ReadFile(filepath.Join(faceDir, "astronaut-320.jp2"))
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	cameraman, err := os.ReadFile(filepath.Join(faceDir, "camera-320.jp2"))
	if err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	specs := []docSpec{
		{"holder", "UA0000001", astronaut, "", false, kiosk.Accepted, "", false},
		{"someone_else", "UA0000002", cameraman, "", false, kiosk.Rejected, kiosk.ReasonFaceMismatch, false},
		{"revoked", "UA0000003", astronaut, "", true, kiosk.Rejected, kiosk.ReasonRevokedDocument, false},
		{"forged", "UA0000004", astronaut, "DG2", false, kiosk.Rejected, kiosk.ReasonPassiveAuth, false},
	}
	if o.PhotoAttack {
		specs = append(specs, docSpec{"photo_attack", "UA0000005", astronaut, "", false, kiosk.Rejected, kiosk.ReasonLiveness, true})
	}
	d := &Demo{Trust: pki.NewTrustStore(), current: -1}
	for i, s := range specs {
		h := emrtdsim.Holder{IssuingState: "UTO", Surname: "SPECIMEN", GivenNames: fmt.Sprintf("DEMO %c", 'A'+i), DocumentNumber: s.number,
			Nationality: "UTO", DateOfBirth: "800101", Sex: "F", DateOfExpiry: now.AddDate(5, 0, 0).Format("060102")}
		line, err := emrtdsim.TD3(h)
		if err != nil {
			return nil, err
		}
		gen, err := emrtdsim.GenerateDocument(&emrtdsim.DocumentOpts{MRZ: line, Face: s.photo, Now: now, Country: "UT", AAKey: emrtdsim.AAECP256, Tamper: s.tamper})
		if err != nil {
			return nil, fmt.Errorf("demo: %s: %w", s.name, err)
		}
		for _, c := range gen.Trust.CSCAs() {
			d.Trust.AddCSCA(c, "demo PKI")
		}
		key := kiosk.AccessKey{DocumentNumber: h.DocumentNumber, DateOfBirth: h.DateOfBirth, DateOfExpiry: h.DateOfExpiry}
		ek, err := mrz.NewMRZKey(key.DocumentNumber, key.DateOfBirth, key.DateOfExpiry)
		if err != nil {
			return nil, err
		}
		co := emrtdsim.DefaultOpts()
		co.Files, co.MRZInformation, co.AAKey = gen.Files, ek.MRZInformation(), gen.AAKey
		co.PACE = []emrtdsim.PACEOffer{{Cipher: "AES-128", ParamID: 13}}
		chip, err := emrtdsim.New(&co)
		if err != nil {
			return nil, err
		}
		d.Docs = append(d.Docs, Document{Name: s.name, Key: key, State: "UTO", Number: s.number, Expect: s.expect, Reason: s.reason, PhotoAttack: s.attack,
			card: pn532sim.PassportA(chip), revoked: s.revoked, mrz: strings.Split(line, "\n")})
	}
	r, field, err := readers.OpenSim(ctx, readers.Opts{})
	if err != nil {
		return nil, err
	}
	field.Remove() // the field starts empty; Present puts the documents in
	d.Reader, d.field = r, field
	return d, nil
}

// Revoked lists the documents that the local revocation list must name.
func (d *Demo) Revoked() []Document {
	var out []Document
	for _, doc := range d.Docs {
		if doc.revoked {
			out = append(out, doc)
		}
	}
	return out
}

// AccessKey is the key of the document in the field: the demo types it for the person.
func (d *Demo) AccessKey(ctx context.Context) (kiosk.AccessKey, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.current < 0 {
		return kiosk.AccessKey{}, fmt.Errorf("demo: no document in the field")
	}
	k := d.Docs[d.current].Key
	k.Source = kiosk.KeyFromSimulation
	return k, nil
}

// Current is the index in Docs of the document on the reader, -1 when there is none.
func (d *Demo) Current() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.current
}

// Present puts the documents on the reader one after another, forever: each stays until the
// kiosk has decided, then is taken away, and the next follows after interval.
func (d *Demo) Present(ctx context.Context, events <-chan kiosk.Event, interval time.Duration) error {
	return d.present(ctx, events, interval, func(i int) int { return (i + 1) % len(d.Docs) })
}

// PresentOnly presents document i again and again, with no pause (benchmarks).
func (d *Demo) PresentOnly(ctx context.Context, i int, events <-chan kiosk.Event) error {
	return d.present(ctx, events, 0, func(int) int { return i })
}

func (d *Demo) present(ctx context.Context, events <-chan kiosk.Event, interval time.Duration, next func(int) int) error {
	for i := next(len(d.Docs) - 1); ; i = next(i) {
		select {
		case <-time.After(interval):
		case <-ctx.Done():
			return ctx.Err()
		}
		d.mu.Lock()
		d.current = i
		d.mu.Unlock()
		d.field.Insert(d.Docs[i].card)
		deadline := time.After(2 * time.Minute)
	wait:
		for {
			select {
			case e := <-events:
				if e.Stage == kiosk.StageDecision {
					break wait
				}
			case <-deadline:
				break wait
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		// Leave the result on screen for a moment, as a person takes their passport back.
		if interval > 0 {
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		d.field.Remove()
		d.mu.Lock()
		d.current = -1
		d.mu.Unlock()
	}
}
