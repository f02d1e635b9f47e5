package web

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/edgeid/edgeid/daemon/audit"
	"github.com/edgeid/edgeid/daemon/face"
	"github.com/edgeid/edgeid/daemon/health"
	"github.com/edgeid/edgeid/daemon/kiosk"
	"github.com/edgeid/edgeid/drivers/camera"
	"gocv.io/x/gocv"
)

// The doubles below stand in for the NFC reader and the chip (no hardware here); the kiosk,
// its face engine, the camera driver, the audit chain, the server and the browser are real.

type oneCard struct{ removed chan struct{} }

func (c *oneCard) Transceive(context.Context, []byte) ([]byte, error) {
	return nil, errors.New("not used by the document double")
}

func (c *oneCard) WaitRemoved(ctx context.Context) error {
	select {
	case <-c.removed:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *oneCard) Close(context.Context) error { return nil }

type cardReader struct{ cards chan kiosk.Card }

func (r cardReader) WaitCard(ctx context.Context) (kiosk.Card, error) {
	select {
	case c := <-r.cards:
		return c, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type holderDocument struct{ photo []byte }

func (h holderDocument) AccessKey(context.Context) (kiosk.AccessKey, error) {
	return kiosk.AccessKey{CAN: "123456"}, nil
}

func (h holderDocument) ReadDocument(context.Context, kiosk.Card, kiosk.AccessKey) (*kiosk.Document, error) {
	return &kiosk.Document{IssuingState: "UTO", DocumentNumber: "C01X00T47", Photo: h.photo, DateOfExpiry: time.Now().AddDate(2, 0, 0),
		Checks: []kiosk.DocCheck{{Name: "passive_authentication", Status: kiosk.Pass}}}, nil
}

type noRevocations struct{}

func (noRevocations) Check(kiosk.RevocationQuery) (kiosk.RevocationResult, error) {
	return kiosk.RevocationResult{}, nil
}

type countingRelay struct {
	mu     sync.Mutex
	pulses int
}

func (r *countingRelay) Pulse(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pulses++
	return nil
}
func (r *countingRelay) Indicate(kiosk.Signal) error     { return nil }
func (r *countingRelay) Beep(context.Context, int) error { return nil }

// chainAudit writes the kiosk's records into a real hash chain, as the daemon's adapter does.
type chainAudit struct {
	mu    sync.Mutex
	c     *audit.Chain
	lines [][]byte
}

func (a *chainAudit) Append(_ context.Context, r kiosk.Record) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	d := audit.Decision{Flow: r.Flow, Outcome: string(r.Outcome), Reasons: r.Reasons, DocState: r.IssuingState, DocNumber: r.DocumentNumber,
		Scores: map[string]float64{"face_distance": r.FaceDistance, "face_threshold": r.FaceAccept, "face_reject_threshold": r.FaceReject}, Frames: r.FrameDistances}
	if f := r.Referral; f != nil {
		d.Referral = &audit.Referral{Reason: f.Reason, Referred: f.Referred, Decision: f.Decision, By: f.By, At: f.At}
	}
	_, b, err := a.c.Next(d)
	if err != nil {
		return err
	}
	a.lines = append(a.lines, b)
	return nil
}

// TestKioskPageInBrowserReferral drives a referral end to end: a real check whose face lands
// between the two thresholds is referred; the kiosk page asks the person to wait (in both
// languages); the attendant view shows the chip photo beside the live frame; the attendant
// approves in the browser; the relay opens only after the audit record, which names the
// attendant's token and verifies in its chain; and the images are gone.
func TestKioskPageInBrowserReferral(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("skipping: chromium is not installed (make test installs Debian's chromium)")
	}
	fo := face.DefaultOpts()
	fo.ModelDir = "../../models"
	eng, err := face.New(&fo)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	dir := t.TempDir()
	live, err := os.ReadFile("../../testdata/face/astronaut-shifted.jpg")
	if err != nil {
		t.Fatal(err)
	}
	chip, err := os.ReadFile("../../testdata/face/astronaut-320.jp2")
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "a.jpg"), live, 0o644)
	co := camera.DefaultOpts()
	co.Source, co.Loop = "folder:"+dir, true
	co.Decode = func(b []byte) (gocv.Mat, error) {
		m, _, err := face.Decode(b, face.DefaultLimits(), "frame")
		return m, err
	}
	cam, err := camera.New(&co)
	if err != nil {
		t.Fatal(err)
	}
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	chain, err := audit.NewChain(&audit.Opts{Kiosk: "kiosk-1", SigningKey: ed25519.NewKeyFromSeed(seed), DocKey: bytes.Repeat([]byte{1}, 32)})
	if err != nil {
		t.Fatal(err)
	}
	auditor, relay := &chainAudit{c: chain}, &countingRelay{}
	card := &oneCard{removed: make(chan struct{})}
	reader := cardReader{cards: make(chan kiosk.Card, 1)}
	reader.cards <- card
	doc := holderDocument{photo: chip}
	// Thresholds on either side of any fused distance the holder can have: the check is referred.
	pol := kiosk.DefaultPolicy(-10, 10)
	pol.CaptureWindow, pol.RemoveTimeout = 100*time.Millisecond, 10*time.Millisecond
	k, err := kiosk.New(kiosk.Parts{Reader: reader, Keys: doc, Documents: doc, Revocations: noRevocations{}, Camera: cam, Faces: eng, Actuator: relay, Audit: auditor},
		kiosk.Opts{Policy: pol, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	const token = testToken
	s, err := New(k, kiosk.NewKeyPad(), Opts{Health: health.New(), AttendantToken: token, Referrals: k})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, bctx, shots := serveToBrowser(t, ctx, s, chromium)
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	poll := func(expr string) chromedp.Action[chromedp.Void] { return chromedp.Poll[chromedp.Void](expr) }

	do(chromedp.Navigate(base+"/"), chromedp.WaitVisible("#instruction"), poll(`document.getElementById("instruction").textContent.startsWith("Place")`))
	type result struct {
		rec kiosk.Record
		err error
	}
	done := make(chan result, 1)
	go func() {
		rec, err := k.RunOnce(ctx)
		done <- result{rec, err}
	}()
	do(poll(`document.getElementById("instruction").textContent === "Please wait, an attendant is checking."`))
	screenshot(t, bctx, shots, "kiosk-referred.png")
	do(chromedp.Click("#lang"), poll(`document.getElementById("instruction").textContent === "请稍候，工作人员正在核验。"`), chromedp.Click("#lang"))

	pending, ok := k.Pending()
	if !ok {
		t.Fatal("the kiosk page says referred, but nothing is pending")
	}
	do(chromedp.Navigate(base+"/attendant?token="+token), chromedp.WaitVisible("#referral"),
		poll(`["ref-chip", "ref-live"].every((id) => { const i = document.getElementById(id); return i.complete && i.naturalWidth > 100; })`))
	screenshot(t, bctx, shots, "attendant-referral.png")
	do(chromedp.Click("#approve"))

	var res result
	select {
	case res = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the check did not end after the attendant approved")
	}
	if res.err != nil {
		t.Fatal(res.err)
	}
	sum := sha256.Sum256([]byte(token))
	by := "token:" + hex.EncodeToString(sum[:4])
	rec := res.rec
	if rec.CheckID != pending.CheckID || rec.Outcome != kiosk.Accepted || rec.Referral == nil || rec.Referral.Decision != kiosk.ReferralApproved || rec.Referral.By != by {
		t.Fatalf("check %s: %s %v referral %+v; want accepted, approved by %s", rec.CheckID, rec.Outcome, rec.Reasons, rec.Referral, by)
	}
	relay.mu.Lock()
	pulses := relay.pulses
	relay.mu.Unlock()
	auditor.mu.Lock()
	lines := auditor.lines
	auditor.mu.Unlock()
	if pulses != 1 || len(lines) != 1 {
		t.Fatalf("%d pulses, %d audit records; want 1 and 1", pulses, len(lines))
	}
	r, err := audit.ParseRecord(lines[0])
	if err != nil || r.Outcome != "accepted" || r.Referral == nil || r.Referral.Decision != "approved" || r.Referral.By != by || len(r.Frames) == 0 {
		t.Fatalf("audit record %s: %v", lines[0], err)
	}
	sumry, err := audit.VerifyJSONLines(bytes.NewReader(append(lines[0], '\n')), map[string]ed25519.PublicKey{"kiosk-1": ed25519.NewKeyFromSeed(seed).Public().(ed25519.PublicKey)})
	if err != nil || len(sumry.Problems) != 0 {
		t.Errorf("verify: %v %v", err, sumry)
	}
	// The images left with the check.
	resp, err := http.Get(base + "/api/referral/" + rec.CheckID + "/live")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("the live image after the check: %d", resp.StatusCode)
	}
	do(poll(`document.getElementById("referral").hidden && !document.getElementById("ref-live").hasAttribute("src")`))
	for _, f := range []string{"kiosk-referred.png", "attendant-referral.png"} {
		if st, err := os.Stat(filepath.Join(shots, f)); err != nil || st.Size() < 1000 {
			t.Errorf("screenshot %s: %v", f, err)
		}
	}
}
