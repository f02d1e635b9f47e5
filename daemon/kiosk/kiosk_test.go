package kiosk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/face"
	"github.com/edgeid/edgeid/daemon/face/facetest"
	"github.com/edgeid/edgeid/daemon/match"
	"github.com/edgeid/edgeid/daemon/pad"
	"github.com/edgeid/edgeid/drivers/camera"
	"github.com/edgeid/edgeid/internal/testenv"
	"gocv.io/x/gocv"
)

// The doubles below stand in for the reader, the chip and the fleet; the face engine, the
// camera driver (image-folder source) and the decisions are real.

type fakeCard struct {
	removed chan struct{}
	once    sync.Once
}

func newCard() *fakeCard { return &fakeCard{removed: make(chan struct{})} }

func (c *fakeCard) remove() { c.once.Do(func() { close(c.removed) }) }

func (c *fakeCard) Transceive(context.Context, []byte) ([]byte, error) {
	return nil, errors.New("not used by the fake document reader")
}

func (c *fakeCard) WaitRemoved(ctx context.Context) error {
	select {
	case <-c.removed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *fakeCard) Close(context.Context) error { return nil }

type fakeReader struct{ cards chan Card }

func (r *fakeReader) WaitCard(ctx context.Context) (Card, error) {
	select {
	case c := <-r.cards:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type fixedKey struct{}

func (fixedKey) AccessKey(context.Context) (AccessKey, error) {
	return AccessKey{DocumentNumber: "C01X00T47", DateOfBirth: "640812", DateOfExpiry: "321031"}, nil
}

type fakeDocs struct {
	doc    *Document
	err    error
	remove bool // the card is taken away during the read
}

func (f *fakeDocs) ReadDocument(ctx context.Context, card Card, key AccessKey) (*Document, error) {
	if f.remove {
		card.(*fakeCard).remove()
		return nil, errors.New("no answer from the chip")
	}
	return f.doc, f.err
}

type fakeRevocations struct{ r RevocationResult }

func (f fakeRevocations) Check(RevocationQuery) (RevocationResult, error) { return f.r, nil }

type fakeActuator struct {
	mu      sync.Mutex
	pulses  int
	signals []Signal
	// audit, when set, is looked at on every pulse: unaudited is the number of pulses that
	// came before their record was kept.
	audit     *fakeAudit
	unaudited int
}

func (a *fakeActuator) Pulse(context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.pulses++
	if a.audit != nil {
		a.audit.mu.Lock()
		if len(a.audit.recs) < a.pulses {
			a.unaudited++
		}
		a.audit.mu.Unlock()
	}
	return nil
}

func (a *fakeActuator) Indicate(s Signal) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.signals = append(a.signals, s)
	return nil
}

func (a *fakeActuator) Beep(context.Context, int) error { return nil }

type fakeAudit struct {
	mu   sync.Mutex
	recs []Record
	err  error
}

func (f *fakeAudit) Append(_ context.Context, r Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	f.recs = append(f.recs, r)
	return nil
}

// enginePolicy is the default policy with the engine's shipped (fused) thresholds.
func enginePolicy(t *testing.T) Policy {
	return DefaultPolicy(testEngine(t).Thresholds())
}

func testEngine(t *testing.T) *face.Engine { return facetest.Engine(t, "../../models") }

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("../../testdata/face", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// folderCamera serves the given testdata images, in a loop, through the real camera driver.
func folderCamera(t *testing.T, names ...string) Camera {
	t.Helper()
	dir := t.TempDir()
	for i, n := range names {
		if err := os.WriteFile(filepath.Join(dir, string(rune('a'+i))+filepath.Ext(n)), readFile(t, n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return cameraAt(t, dir)
}

func cameraAt(t *testing.T, dir string) Camera {
	t.Helper()
	o := camera.DefaultOpts()
	o.Source = "folder:" + dir
	o.Loop = true
	o.RetryMin, o.RetryMax = time.Millisecond, 10*time.Millisecond
	o.Decode = func(b []byte) (gocv.Mat, error) {
		m, _, err := face.Decode(b, face.DefaultLimits(), "frame")
		return m, err
	}
	cam, err := camera.New(&o)
	if err != nil {
		t.Fatal(err)
	}
	return cam
}

func passedChecks() []DocCheck {
	return []DocCheck{
		{Name: "passive_authentication", Status: Pass},
		{Name: "active_authentication", Status: Pass},
		{Name: "chip_authentication", Status: NotApplicable},
	}
}

type setup struct {
	keys      KeySource // fixedKey{} when nil
	docs      *fakeDocs
	rev       fakeRevocations
	cam       Camera
	audit     *fakeAudit
	pol       func(*Policy)
	now       func() time.Time
	challenge func(time.Time) pad.Challenge
}

func runCheck(t *testing.T, s setup) (Record, *fakeActuator, *fakeAudit) {
	t.Helper()
	k, act, _ := newKiosk(t, &s)
	rec, err := k.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return rec, act, s.audit
}

// newKiosk builds a document-flow kiosk with one card waiting on the reader.
func newKiosk(t *testing.T, s *setup) (*Kiosk, *fakeActuator, *fakeCard) {
	t.Helper()
	eng := testEngine(t)
	if s.audit == nil {
		s.audit = &fakeAudit{}
	}
	act := &fakeActuator{audit: s.audit}
	card := newCard()
	r := &fakeReader{cards: make(chan Card, 1)}
	r.cards <- card
	pol := enginePolicy(t)
	pol.CaptureTimeout = 3 * time.Second
	pol.CaptureWindow = 50 * time.Millisecond
	pol.RemoveTimeout = 10 * time.Millisecond
	if s.pol != nil {
		s.pol(&pol)
	}
	var keys KeySource = fixedKey{}
	if s.keys != nil {
		keys = s.keys
	}
	k, err := New(Parts{Reader: r, Keys: keys, Documents: s.docs, Revocations: s.rev, Camera: s.cam, Faces: eng, Actuator: act, Audit: s.audit},
		Opts{Policy: pol, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: s.now, NewChallenge: s.challenge})
	if err != nil {
		t.Fatal(err)
	}
	return k, act, card
}

func TestDocumentCheck(t *testing.T) {
	holder := func() *fakeDocs {
		return &fakeDocs{doc: &Document{IssuingState: "UTO", DocumentNumber: "C01X00T47", Photo: readFile(t, "astronaut-320.jp2"), Checks: passedChecks(),
			DateOfExpiry: time.Now().AddDate(3, 0, 0)}}
	}
	with := func(edit func(*Document)) *fakeDocs {
		d := holder()
		edit(d.doc)
		return d
	}
	twoFaces := t.TempDir()
	{
		img, _, _ := face.Decode(readFile(t, "astronaut.png"), face.DefaultLimits(), "a")
		both := gocv.NewMat()
		gocv.Hconcat(img, img, &both)
		gocv.IMWrite(filepath.Join(twoFaces, "two.png"), both)
		img.Close()
		both.Close()
	}
	tests := []struct {
		name    string
		s       setup
		outcome Outcome
		reasons []string
	}{
		{"holder matches", setup{docs: holder(), cam: folderCamera(t, "astronaut-shifted.jpg")}, Accepted, nil},
		// The chip holds the cameraman's photo; the astronaut looks into the camera.
		{"someone else", setup{docs: with(func(d *Document) { d.Photo = readFile(t, "camera.png") }), cam: folderCamera(t, "astronaut.png")}, Rejected, []string{ReasonFaceMismatch}},
		{"forged SOD", setup{docs: with(func(d *Document) {
			d.Checks[0] = DocCheck{Name: "passive_authentication", Status: Fail, Reason: "signature"}
		}), cam: folderCamera(t, "astronaut.png")}, Rejected, []string{ReasonPassiveAuth}},
		{"no PA result", setup{docs: with(func(d *Document) { d.Checks = d.Checks[1:] }), cam: folderCamera(t, "astronaut.png")}, Rejected, []string{ReasonPassiveAuth}},
		{"AA failed", setup{docs: with(func(d *Document) { d.Checks[1].Status = Fail }), cam: folderCamera(t, "astronaut.png")}, Rejected, []string{ReasonActiveAuth}},
		{"AA failed, not required", setup{docs: with(func(d *Document) { d.Checks[1].Status = Fail }), cam: folderCamera(t, "astronaut.png"), pol: func(p *Policy) { p.RequireActiveAuth = false }}, Accepted, nil},
		{"revoked", setup{docs: holder(), rev: fakeRevocations{RevocationResult{DocumentRevoked: true}}, cam: folderCamera(t, "astronaut.png")}, Rejected, []string{ReasonRevokedDocument}},
		{"signer revoked", setup{docs: holder(), rev: fakeRevocations{RevocationResult{SignerRevoked: true}}, cam: folderCamera(t, "astronaut.png")}, Rejected, []string{ReasonRevokedSigner}},
		{"stale list refused", setup{docs: holder(), rev: fakeRevocations{RevocationResult{Stale: true}}, cam: folderCamera(t, "astronaut.png")}, Rejected, []string{ReasonRevocationsStale}},
		{"stale list tolerated", setup{docs: holder(), rev: fakeRevocations{RevocationResult{Stale: true}}, cam: folderCamera(t, "astronaut.png"), pol: func(p *Policy) { p.RefuseStaleRevocations = false }}, Accepted, nil},
		{"expired", setup{docs: with(func(d *Document) { d.DateOfExpiry = time.Now().AddDate(0, -2, 0) }), cam: folderCamera(t, "astronaut.png")}, Rejected, []string{ReasonDocumentExpired}},
		{"wrong access key", setup{docs: &fakeDocs{err: &AccessError{Err: errors.New("mutual authentication failed")}}, cam: folderCamera(t, "astronaut.png")}, Aborted, []string{ReasonAccessDenied}},
		{"card removed", setup{docs: &fakeDocs{remove: true}, cam: folderCamera(t, "astronaut.png")}, Aborted, []string{ReasonCardRemoved}},
		{"no chip photo", setup{docs: with(func(d *Document) { d.Photo = nil }), cam: folderCamera(t, "astronaut.png")}, Rejected, []string{ReasonNoChipPhoto}},
		{"camera lost", setup{docs: holder(), cam: cameraAt(t, filepath.Join(t.TempDir(), "gone")), pol: func(p *Policy) { p.CaptureTimeout = 300 * time.Millisecond; p.CaptureWindow = 0 }}, Aborted, []string{ReasonCameraLost}},
		{"turned away", setup{docs: holder(), cam: folderCamera(t, "camera.png"), pol: func(p *Policy) { p.CaptureTimeout = 300 * time.Millisecond; p.CaptureWindow = 0 }}, Aborted, []string{ReasonPoorCapture}},
		{"two faces", setup{docs: holder(), cam: cameraAt(t, twoFaces)}, Aborted, []string{ReasonSeveralFaces}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec, act, audit := runCheck(t, tt.s)
			if rec.Outcome != tt.outcome || strings.Join(rec.Reasons, ",") != strings.Join(tt.reasons, ",") {
				t.Fatalf("got %s %v, want %s %v", rec.Outcome, rec.Reasons, tt.outcome, tt.reasons)
			}
			wantPulses := 0
			if tt.outcome == Accepted {
				wantPulses = 1
			}
			if act.pulses != wantPulses {
				t.Errorf("relay pulsed %d times, want %d", act.pulses, wantPulses)
			}
			if len(audit.recs) != 1 {
				t.Fatalf("%d audit records, want 1", len(audit.recs))
			}
			r := audit.recs[0]
			if rec.IssuingState != "" && r.DocumentNumber != "C01X00T47" {
				t.Errorf("the auditor got document number %q, want it to hash C01X00T47", r.DocumentNumber)
			}
			if tt.outcome == Accepted && (!r.FaceMatched || r.FaceDistance > r.FaceAccept) {
				t.Errorf("accepted with distance %v and threshold %v", r.FaceDistance, r.FaceAccept)
			}
		})
	}
}

func TestAuditFailureKeepsTheDoorShut(t *testing.T) {
	docs := &fakeDocs{doc: &Document{IssuingState: "UTO", DocumentNumber: "C01X00T47", Photo: readFile(t, "astronaut-320.jp2"), Checks: passedChecks()}}
	rec, act, _ := runCheck(t, setup{docs: docs, cam: folderCamera(t, "astronaut-shifted.jpg"), audit: &fakeAudit{err: errors.New("disk full")}})
	if rec.Outcome != Aborted || act.pulses != 0 {
		t.Errorf("outcome %s with %d pulses, want aborted and none", rec.Outcome, act.pulses)
	}
}

func TestNewRefuses(t *testing.T) {
	if _, err := New(Parts{}, Opts{Policy: DefaultPolicy(0.5, 0.6)}); err == nil {
		t.Error("New without parts succeeded")
	}
	p := DefaultPolicy(math.NaN(), math.NaN())
	if err := p.validate(); err == nil {
		t.Error("NaN threshold accepted")
	}
	p = DefaultPolicy(0.5, 0.6)
	p.CaptureWindow = time.Hour
	if err := p.validate(); err == nil {
		t.Error("capture window longer than the capture limit accepted")
	}
}

// With liveness required, a still photo in front of the camera cannot make the head movements
// the kiosk asks for: refused as a presentation attack, and the record says why.
func TestLivenessRefusesAStill(t *testing.T) {
	docs := &fakeDocs{doc: &Document{IssuingState: "UTO", DocumentNumber: "C01X00T47", Photo: readFile(t, "astronaut-320.jp2"), Checks: passedChecks()}}
	rec, act, audit := runCheck(t, setup{docs: docs, cam: folderCamera(t, "astronaut-shifted.jpg"), pol: func(p *Policy) {
		p.Liveness, p.LivenessSameFace = true, 0.6
		p.CaptureTimeout, p.CaptureWindow = time.Second, 0
	}})
	if rec.Outcome != Rejected || strings.Join(rec.Reasons, ",") != ReasonLiveness || act.pulses != 0 {
		t.Fatalf("got %s %v with %d pulses, want rejected %s", rec.Outcome, rec.Reasons, act.pulses, ReasonLiveness)
	}
	if l := audit.recs[0].Liveness; !strings.Contains(l, "challenge FAIL") || !strings.Contains(l, "was not seen") {
		t.Errorf("audited liveness %q", l)
	}
}

// A printed photo held up with its paper margin in view: the border cue alone refuses it when
// the configuration requires only that, and the record carries every check's score.
func TestLivenessBorderRefusesAPrint(t *testing.T) {
	still, err := gocv.IMDecode(readFile(t, "astronaut.png"), gocv.IMReadColor)
	if err != nil {
		t.Fatal(err)
	}
	defer still.Close()
	dir := t.TempDir()
	for i, pose := range []pad.Pose{{Scale: 0.6}, {Yaw: 10, Scale: 0.6}, {Yaw: -10, Scale: 0.6}, {Pitch: 8, Scale: 0.6}} {
		img := pad.RenderAttack(still, pad.AttackPrint, pose, 640, 480)
		ok := gocv.IMWrite(filepath.Join(dir, fmt.Sprintf("%02d.png", i)), img)
		img.Close()
		if !ok {
			t.Fatal("writing a frame failed")
		}
	}
	tick := steppingClock(200 * time.Millisecond)
	docs := &fakeDocs{doc: &Document{IssuingState: "UTO", DocumentNumber: "C01X00T47", Photo: readFile(t, "astronaut-320.jp2"), Checks: passedChecks()}}
	rec, act, audit := runCheck(t, setup{docs: docs, cam: cameraAt(t, dir), now: tick, pol: func(p *Policy) {
		p.Liveness, p.LivenessSameFace, p.LivenessChecks = true, 0.6, []string{pad.NameBorder}
		p.CaptureTimeout, p.CaptureWindow = 2*time.Second, 0
	}})
	if rec.Outcome != Rejected || strings.Join(rec.Reasons, ",") != ReasonLiveness || act.pulses != 0 {
		t.Fatalf("got %s %v with %d pulses, want rejected %s; liveness %s", rec.Outcome, rec.Reasons, act.pulses, ReasonLiveness, audit.recs[0].Liveness)
	}
	l := audit.recs[0].Liveness
	for _, want := range []string{"border FAIL", "surrounds the face", "challenge advisory FAIL", "parallax advisory", "moire advisory", "glare advisory"} {
		if !strings.Contains(l, want) {
			t.Errorf("audited liveness lacks %q: %s", want, l)
		}
	}
}

// A real head turning: an AT&T subject's own images, ordered as a sweep from frontal to one
// side, across to the other and back to frontal, played by the folder camera with a clock that gives each frame a third
// of a second. The kiosk asks for exactly the moves the images contain.
func TestLivenessAcceptsATurningHead(t *testing.T) {
	const att = "../../../shared/datasets/faces-dev/att"
	if _, err := os.Stat(att); err != nil {
		testenv.Missing(t, "the AT&T dev set is not at %s (../shared/datasets beside the checkout): %v", att, err)
	}
	eng := testEngine(t)
	type shot struct {
		path string
		yaw  float64
	}
	var chosen []shot
	for i := 1; i <= 20 && chosen == nil; i++ {
		paths, _ := filepath.Glob(filepath.Join(att, fmt.Sprintf("s%d", i), "*.pgm"))
		var shots []shot
		for _, p := range paths {
			b, _ := os.ReadFile(p)
			img, _, err := face.Decode(b, face.DefaultLimits(), p)
			if err != nil {
				continue
			}
			a, err := eng.Analyze(img, false)
			img.Close()
			if err == nil {
				shots = append(shots, shot{p, a.Quality.Yaw})
			}
		}
		sort.Slice(shots, func(a, b int) bool { return shots[a].yaw < shots[b].yaw })
		if len(shots) >= 6 && shots[0].yaw <= -17 && shots[len(shots)-1].yaw >= 17 && shots[len(shots)-1].yaw < 40 {
			chosen = shots
		}
	}
	if chosen == nil {
		t.Skip("skipping: no AT&T subject turns both ways")
	}
	// Frontal first (the challenge's moves count from there), then to the right-most (negative
	// yaw), across to the left-most, and back to frontal.
	front := 0
	for i, s := range chosen {
		if math.Abs(s.yaw) < math.Abs(chosen[front].yaw) {
			front = i
		}
	}
	var order []shot
	for i := front; i >= 0; i-- {
		order = append(order, chosen[i])
	}
	order = append(append(order, chosen[1:]...), chosen[front])
	dir := t.TempDir()
	for i, s := range order {
		b, _ := os.ReadFile(s.path)
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("%02d.pgm", i)), b, 0o644)
	}
	tick := steppingClock(330 * time.Millisecond)
	docs := &fakeDocs{doc: &Document{IssuingState: "UTO", DocumentNumber: "C01X00T47", Photo: nil, Checks: passedChecks()}}
	// The chip photo is the subject's own most frontal image.
	docs.doc.Photo, _ = os.ReadFile(chosen[front].path)
	rec, _, audit := runCheck(t, setup{docs: docs, cam: cameraAt(t, dir), now: tick,
		challenge: func(at time.Time) pad.Challenge {
			return pad.Challenge{Moves: []pad.Move{pad.TurnRight, pad.TurnLeft}, Started: at}
		},
		pol: func(p *Policy) {
			p.Liveness, p.LivenessSameFace = true, 0.6
			// Generous: the capture runs in real time, two recognizers with flips on a loaded machine.
			p.CaptureTimeout, p.CaptureWindow = 30*time.Second, 0
		}})
	if l := audit.recs[0].Liveness; rec.Outcome != Accepted || !strings.Contains(l, "challenge pass") || !strings.Contains(l, "parallax pass") || !strings.Contains(l, "border pass") {
		t.Errorf("turning head: %s %v; liveness %s", rec.Outcome, rec.Reasons, l)
	}
}

// steppingClock is a clock that moves on by step at every reading, as if each camera frame
// took that long.
func steppingClock(step time.Duration) func() time.Time {
	clock := time.Unix(1_800_000_000, 0)
	var mu sync.Mutex
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clock = clock.Add(step)
		return clock
	}
}

type fakeGallery struct{ g *match.Gallery }

func (f fakeGallery) Snapshot() *match.Gallery { return f.g }

type identityRevocations struct{ revoked string }

func (r identityRevocations) Check(q RevocationQuery) (RevocationResult, error) {
	return RevocationResult{IdentityRevoked: q.Identity != "" && q.Identity == r.revoked}, nil
}

// enrollFile is the gallery entry of the face in testdata/face/file.
func enrollFile(t *testing.T, eng *face.Engine, id, file string) match.Entry {
	t.Helper()
	img, _, err := face.Decode(readFile(t, file), face.DefaultLimits(), file)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	a, err := eng.Analyze(img, false)
	if err != nil {
		t.Fatal(err)
	}
	return match.Entry{ID: id, Template: a.Template}
}

func TestEnrolledFlow(t *testing.T) {
	eng := testEngine(t)
	enroll := func(id, file string) match.Entry { return enrollFile(t, eng, id, file) }
	astronaut, cameraman := enroll("staff-001", "astronaut.png"), enroll("staff-002", "camera.png")
	both, _ := match.NewFusedGallery(testEngine(t).Fusion(), []match.Entry{astronaut, cameraman})
	onlyOther, _ := match.NewFusedGallery(testEngine(t).Fusion(), []match.Entry{cameraman})
	empty, _ := match.NewFusedGallery(testEngine(t).Fusion(), nil)
	tests := []struct {
		name     string
		g        *match.Gallery
		revoked  string
		outcome  Outcome
		reason   string
		identity string
	}{
		{"enrolled", both, "", Accepted, "", "staff-001"},
		{"stranger", onlyOther, "", Rejected, ReasonUnknownPerson, ""},
		{"revoked", both, "staff-001", Rejected, ReasonRevokedIdentity, "staff-001"},
		{"nobody enrolled", empty, "", Aborted, ReasonNoGallery, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			act, audit := &fakeActuator{}, &fakeAudit{}
			pol := enginePolicy(t)
			pol.CaptureWindow, pol.RemoveTimeout = 50*time.Millisecond, time.Millisecond
			k, err := New(Parts{Revocations: identityRevocations{tt.revoked}, Camera: folderCamera(t, "astronaut-shifted.jpg"), Faces: eng,
				Actuator: act, Audit: audit, Gallery: fakeGallery{tt.g}},
				Opts{Flow: FlowEnrolled, Policy: pol, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
			if err != nil {
				t.Fatal(err)
			}
			rec, err := k.RunOnce(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if rec.Outcome != tt.outcome || strings.Join(rec.Reasons, ",") != tt.reason || rec.Identity != tt.identity {
				t.Errorf("got %s %v %q, want %s %s %q", rec.Outcome, rec.Reasons, rec.Identity, tt.outcome, tt.reason, tt.identity)
			}
			if want := map[bool]int{true: 1, false: 0}[tt.outcome == Accepted]; act.pulses != want || len(audit.recs) != 1 {
				t.Errorf("%d pulses, %d records", act.pulses, len(audit.recs))
			}
		})
	}
	if _, err := New(Parts{Revocations: identityRevocations{}, Camera: folderCamera(t, "astronaut.png"), Faces: eng, Actuator: &fakeActuator{}, Audit: &fakeAudit{}},
		Opts{Flow: FlowEnrolled, Policy: DefaultPolicy(0.5, 0.6)}); err == nil {
		t.Error("enrolled flow without a gallery accepted")
	}
}

func TestPolicyRefusesUnknownLivenessChecks(t *testing.T) {
	p := DefaultPolicy(0.5, 0.6)
	p.Liveness, p.LivenessSameFace = true, 0.6
	if err := p.validate(); err != nil {
		t.Fatalf("default liveness checks: %v", err)
	}
	p.LivenessChecks = []string{"challenge", "ir_depth"}
	if err := p.validate(); err == nil || !strings.Contains(err.Error(), `unknown check "ir_depth"`) {
		t.Errorf("unknown check: %v", err)
	}
}
