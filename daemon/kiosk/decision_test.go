package kiosk

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/match"
	"github.com/edgeid/edgeid/daemon/pad"
)

func TestVerdictBoundaries(t *testing.T) {
	p := DefaultPolicy(0.50, 0.60)
	same := DefaultPolicy(0.50, 0.50)
	tests := []struct {
		p    Policy
		d    float64
		want Outcome
	}{
		{p, 0, Accepted},
		{p, 0.4999, Accepted},
		{p, 0.50, Accepted}, // at the accept threshold: accepted
		{p, math.Nextafter(0.50, 1), Referred},
		{p, 0.55, Referred},
		{p, 0.60, Referred}, // at the reject threshold: still referred
		{p, math.Nextafter(0.60, 1), Rejected},
		{p, 1.3, Rejected},
		{same, 0.50, Accepted}, // one threshold: nothing is referred
		{same, math.Nextafter(0.50, 1), Rejected},
	}
	for _, tt := range tests {
		if got := tt.p.Verdict(tt.d); got != tt.want {
			t.Errorf("accept %v reject %v, distance %v: got %s, want %s", tt.p.FaceAccept, tt.p.FaceReject, tt.d, got, tt.want)
		}
	}
}

func TestCombine(t *testing.T) {
	ds := []float64{0.52, 0.40, 0.61, 0.45}
	tests := []struct {
		mode string
		ds   []float64
		want float64
	}{
		{CombineMin, ds, 0.40},
		{CombineMean, ds, 0.495},
		{CombineMedian, ds, 0.485},
		{CombineMedian, ds[:3], 0.52},
		{CombineMean, ds[:1], 0.52},
		{CombineMean, nil, 0},
	}
	for _, tt := range tests {
		if got := Combine(tt.mode, tt.ds); math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("%s of %v: got %v, want %v", tt.mode, tt.ds, got, tt.want)
		}
	}
	if !slices.Equal(ds, []float64{0.52, 0.40, 0.61, 0.45}) {
		t.Errorf("Combine reordered its input: %v", ds)
	}
}

func TestCaptureKeepsTheBestFrames(t *testing.T) {
	var c capture
	var best []bool
	for i, q := range []float64{3, 1, 5, 5, 2, 4, 0.5} {
		best = append(best, c.keep(frame{quality: q, template: match.Template{Model: "m", Vector: []float32{float32(i)}}}, 3))
	}
	var got []float64
	var order []float32
	for _, f := range c.frames {
		got = append(got, f.quality)
		order = append(order, f.template.Vector[0])
	}
	if !slices.Equal(got, []float64{5, 5, 4}) || !slices.Equal(order, []float32{2, 3, 5}) {
		t.Errorf("kept qualities %v (frames %v), want [5 5 4] (frames [2 3 5]: ties keep their order)", got, order)
	}
	if !slices.Equal(best, []bool{true, false, true, false, false, false, false}) {
		t.Errorf("best flags %v", best)
	}
}

func TestPolicyValidatesThresholds(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Policy)
		want string // "" for valid
	}{
		{"defaults", func(*Policy) {}, ""},
		{"one threshold", func(p *Policy) { p.FaceReject = p.FaceAccept; p.ReferralTimeout = 0 }, ""},
		{"reject below accept", func(p *Policy) { p.FaceReject = 0.4 }, "at least the accept"},
		{"NaN reject", func(p *Policy) { p.FaceReject = math.NaN() }, "reject threshold"},
		{"no referral limit", func(p *Policy) { p.ReferralTimeout = 0 }, "referral time limit"},
		{"no frames", func(p *Policy) { p.FaceFrames = 0 }, "face frames"},
		{"many frames", func(p *Policy) { p.FaceFrames = MaxFaceFrames + 1 }, "face frames"},
		{"unknown combination", func(p *Policy) { p.FaceCombine = "max" }, "unknown frame combination"},
		{"turns only", func(p *Policy) {
			p.Liveness, p.LivenessSameFace, p.ChallengeKinds = true, 0.5, []pad.Move{pad.TurnLeft, pad.TurnRight}
		}, ""},
		{"one kind of move", func(p *Policy) { p.Liveness, p.LivenessSameFace, p.ChallengeKinds = true, 0.5, []pad.Move{pad.LookUp} }, "two kinds of move"},
		{"unknown move", func(p *Policy) {
			p.Liveness, p.LivenessSameFace, p.ChallengeKinds = true, 0.5, []pad.Move{pad.LookUp, "blink"}
		}, "unknown challenge move"},
	}
	for _, tt := range tests {
		p := DefaultPolicy(0.5, 0.6)
		tt.edit(&p)
		err := p.validate()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: %v, want %q", tt.name, err, tt.want)
		}
	}
}

// holderDistance is the distance of the holder's live face (astronaut-shifted.jpg) to the chip
// photo (astronaut-320.jp2), measured once through the real engine.
func holderDistance(t *testing.T) float64 {
	t.Helper()
	rec, _, _ := runCheck(t, setup{docs: holderDocs(t), cam: folderCamera(t, "astronaut-shifted.jpg"), pol: func(p *Policy) { p.FaceFrames = 1 }})
	if rec.Outcome != Accepted || !rec.FaceMatched {
		t.Fatalf("the holder check: %s %v distance %v", rec.Outcome, rec.Reasons, rec.FaceDistance)
	}
	return rec.FaceDistance
}

func holderDocs(t *testing.T) *fakeDocs {
	return &fakeDocs{doc: &Document{IssuingState: "UTO", DocumentNumber: "C01X00T47", Photo: readFile(t, "astronaut-320.jp2"), Checks: passedChecks(),
		DateOfExpiry: time.Now().AddDate(3, 0, 0)}}
}

// The thresholds placed around the holder's own distance decide the three ways, at the edges.
func TestThreeWayDecisionInTheFlow(t *testing.T) {
	d := holderDistance(t)
	tests := []struct {
		name           string
		accept, reject float64
		outcome        Outcome
		reasons        []string
	}{
		{"accepted at the accept threshold", d, d + 0.05, Accepted, nil},
		{"referred just above accept", d - 1e-9, d + 0.05, Accepted, nil}, // answered: approve
		{"referred at the reject threshold", d - 0.05, d, Accepted, nil},
		{"rejected just above reject", d - 0.05, d - 1e-9, Rejected, []string{ReasonFaceMismatch}},
		{"one threshold, above it", d - 1e-9, d - 1e-9, Rejected, []string{ReasonFaceMismatch}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := setup{docs: holderDocs(t), cam: folderCamera(t, "astronaut-shifted.jpg"), pol: func(p *Policy) {
				p.FaceAccept, p.FaceReject, p.FaceFrames = tt.accept, tt.reject, 1
			}}
			k, act, _ := newKiosk(t, &s)
			referred := attendant(t, k, true, "desk-1")
			rec, err := k.RunOnce(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			wantReferral := tt.accept < d && d <= tt.reject
			if got := <-referred; got != wantReferral {
				t.Errorf("referred %v, want %v", got, wantReferral)
			}
			if rec.Outcome != tt.outcome || !slices.Equal(rec.Reasons, tt.reasons) || (rec.Referral != nil) != wantReferral {
				t.Fatalf("got %s %v referral %+v, want %s %v", rec.Outcome, rec.Reasons, rec.Referral, tt.outcome, tt.reasons)
			}
			if want := map[bool]int{true: 1, false: 0}[tt.outcome == Accepted]; act.pulses != want || act.unaudited != 0 {
				t.Errorf("%d pulses (%d before their record), want %d", act.pulses, act.unaudited, want)
			}
			r := s.audit.recs[0]
			if r.FaceAccept != tt.accept || r.FaceReject != tt.reject || r.FaceDistance != d {
				t.Errorf("audited distance %v accept %v reject %v", r.FaceDistance, r.FaceAccept, r.FaceReject)
			}
		})
	}
}

// attendant plays the attendant: on the first referral of k it checks what the attendant view
// would show and answers. The channel says whether a referral came (once RunOnce returned).
func attendant(t *testing.T, k *Kiosk, approve bool, by string) <-chan bool {
	t.Helper()
	events, stop := k.Subscribe()
	out := make(chan bool, 1)
	go func() {
		defer stop()
		for e := range events {
			switch {
			case e.Stage == StageReferred:
				p, ok := k.Pending()
				chip, okc := k.PendingImage(e.CheckID, ImageChip)
				live, okl := k.PendingImage(e.CheckID, ImageLive)
				wantChip := e.Flow == FlowDocument // 1:N has templates only, no photo to show
				if !ok || p.CheckID != e.CheckID || e.Outcome != Referred || !slices.Equal(p.Reasons, []string{ReasonFaceUncertain}) ||
					okc != wantChip || p.Chip != wantChip || (wantChip && !bytes.HasPrefix(chip, []byte{0xff, 0xd8})) ||
					!okl || !bytes.HasPrefix(live, []byte{0xff, 0xd8}) || !p.Live {
					t.Errorf("pending %+v %v, chip %d bytes %v, live %d bytes %v", p, ok, len(chip), okc, len(live), okl)
				}
				if err := k.Resolve("not-"+e.CheckID, true, by); !errors.Is(err, ErrNoReferral) {
					t.Errorf("resolving another check: %v", err)
				}
				if err := k.Resolve(e.CheckID, approve, by); err != nil {
					t.Errorf("resolve: %v", err)
				}
				if err := k.Resolve(e.CheckID, !approve, by); !errors.Is(err, ErrNoReferral) {
					t.Errorf("a second answer: %v", err)
				}
				out <- true
				return
			case e.Stage == StageDecision || e.Stage == StageRemoveCard:
				out <- false
				return
			}
		}
	}()
	return out
}

// Every way a referral ends: the attendant's yes or no, nobody answering, the card taken away,
// and a yes that could not be audited.
func TestReferral(t *testing.T) {
	d := holderDistance(t)
	tests := []struct {
		name     string
		answer   func(t *testing.T, k *Kiosk, card *fakeCard)
		auditErr error
		outcome  Outcome
		reasons  []string
		decision string
		by       string
		pulses   int
		records  int
	}{
		{"approved", func(t *testing.T, k *Kiosk, _ *fakeCard) { attendant(t, k, true, "token:0a1b2c3d") }, nil, Accepted, nil, ReferralApproved, "token:0a1b2c3d", 1, 1},
		{"denied", func(t *testing.T, k *Kiosk, _ *fakeCard) { attendant(t, k, false, "") }, nil, Rejected, []string{ReasonReferralDenied}, ReferralDenied, "attendant", 0, 1},
		{"nobody answers", func(*testing.T, *Kiosk, *fakeCard) {}, nil, Rejected, []string{ReasonReferralTimeout}, ReferralTimedOut, "kiosk", 0, 1},
		{"card taken away", func(t *testing.T, k *Kiosk, card *fakeCard) {
			events, stop := k.Subscribe()
			go func() {
				defer stop()
				for e := range events {
					if e.Stage == StageReferred {
						card.remove()
						return
					}
				}
			}()
		}, nil, Aborted, []string{ReasonCardRemoved}, ReferralCardRemoved, "kiosk", 0, 1},
		{"approved, audit fails", func(t *testing.T, k *Kiosk, _ *fakeCard) { attendant(t, k, true, "desk-2") }, errors.New("disk full"), Aborted, []string{ReasonInternal}, ReferralApproved, "desk-2", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := setup{docs: holderDocs(t), cam: folderCamera(t, "astronaut-shifted.jpg"), audit: &fakeAudit{err: tt.auditErr}, pol: func(p *Policy) {
				p.FaceAccept, p.FaceReject, p.FaceFrames = d-0.05, d+0.05, 1
				p.ReferralTimeout = 300 * time.Millisecond
				if tt.decision != ReferralTimedOut {
					p.ReferralTimeout = time.Minute // the answer must come from the test, not the timer
				}
			}}
			k, act, card := newKiosk(t, &s)
			tt.answer(t, k, card)
			rec, err := k.RunOnce(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if rec.Outcome != tt.outcome || !slices.Equal(rec.Reasons, tt.reasons) {
				t.Errorf("got %s %v, want %s %v", rec.Outcome, rec.Reasons, tt.outcome, tt.reasons)
			}
			if act.pulses != tt.pulses || act.unaudited != 0 || len(s.audit.recs) != tt.records {
				t.Errorf("%d pulses (%d unaudited), %d records; want %d pulses, %d records", act.pulses, act.unaudited, len(s.audit.recs), tt.pulses, tt.records)
			}
			ref := rec.Referral
			if ref == nil || ref.Reason != ReasonFaceUncertain || ref.Decision != tt.decision || ref.By != tt.by || ref.At.Before(ref.Referred) {
				t.Fatalf("referral %+v, want %s by %s", ref, tt.decision, tt.by)
			}
			if tt.records == 1 && s.audit.recs[0].Referral == nil {
				t.Error("the audit record lacks the referral")
			}
			// Gone with the check.
			if _, ok := k.Pending(); ok {
				t.Error("the referral is still pending after the check")
			}
			if _, ok := k.PendingImage(rec.CheckID, ImageLive); ok {
				t.Error("the live image outlived the check")
			}
			if err := k.Resolve(rec.CheckID, true, "late"); !errors.Is(err, ErrNoReferral) {
				t.Errorf("a late answer: %v", err)
			}
		})
	}
}

// Several frames are scored and combined; the record lists them. The stepping clock (one
// second a frame) with a two-second window reads exactly three frames, whatever the machine's
// speed: the capture window runs on the injected clock.
func TestMultiFrameDecision(t *testing.T) {
	files := []string{"astronaut.png", "astronaut-shifted.jpg", "astronaut-320.pgm"}
	single := map[string]float64{}
	for _, f := range files {
		rec, _, _ := runCheck(t, setup{docs: holderDocs(t), cam: folderCamera(t, f), pol: func(p *Policy) { p.FaceFrames = 1 }})
		single[f] = rec.FaceDistance
	}
	var want []float64
	for _, f := range files {
		want = append(want, single[f])
	}
	slices.Sort(want)
	for _, tt := range []struct {
		mode   string
		frames int
		n      int
	}{{CombineMean, 3, 3}, {CombineMin, 3, 3}, {CombineMedian, 3, 3}, {CombineMean, 10, 3}, {CombineMean, 2, 2}} {
		t.Run(tt.mode, func(t *testing.T) {
			rec, _, audit := runCheck(t, setup{docs: holderDocs(t), cam: folderCamera(t, files...), now: steppingClock(time.Second), pol: func(p *Policy) {
				p.FaceFrames, p.FaceCombine = tt.frames, tt.mode
				p.CaptureWindow, p.CaptureTimeout = 2*time.Second, 5*time.Second
			}})
			got := slices.Clone(rec.FrameDistances)
			slices.Sort(got)
			if len(got) != tt.n {
				t.Fatalf("%d frames scored (%v), want %d", len(got), got, tt.n)
			}
			for _, g := range got {
				if !slices.ContainsFunc(want, func(w float64) bool { return math.Abs(w-g) < 1e-6 }) {
					t.Errorf("frame distance %v is none of the single-frame distances %v", g, want)
				}
			}
			if c := Combine(tt.mode, rec.FrameDistances); rec.FaceDistance != c || rec.Outcome != Accepted {
				t.Errorf("%s: decided on %v (%s), want %v of %v", tt.mode, rec.FaceDistance, rec.Outcome, c, rec.FrameDistances)
			}
			if !slices.Equal(audit.recs[0].FrameDistances, rec.FrameDistances) {
				t.Errorf("audited frames %v", audit.recs[0].FrameDistances)
			}
		})
	}
	if want[0] == want[len(want)-1] {
		t.Fatalf("the test images give one distance %v: the combinations cannot be told apart", want)
	}
}

// 1:N: a second enrolled identity as near as the first (a look-alike: here the same face
// enrolled twice) sends the check to the attendant with both named; the attendant's approval
// admits the nearest.
func TestEnrolledReferral(t *testing.T) {
	eng := testEngine(t)
	enroll := func(id, file string) match.Entry { return enrollFile(t, eng, id, file) }
	g, err := match.NewFusedGallery(testEngine(t).Fusion(), []match.Entry{enroll("staff-001", "astronaut.png"), enroll("staff-002", "camera.png"), enroll("staff-003", "astronaut-320.pgm")})
	if err != nil {
		t.Fatal(err)
	}
	act, audit := &fakeActuator{}, &fakeAudit{}
	pol := enginePolicy(t)
	pol.CaptureWindow, pol.RemoveTimeout = 50*time.Millisecond, time.Millisecond
	k, err := New(Parts{Revocations: identityRevocations{}, Camera: folderCamera(t, "astronaut-shifted.jpg"), Faces: eng, Actuator: act, Audit: audit, Gallery: fakeGallery{g}},
		Opts{Flow: FlowEnrolled, Policy: pol, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	var candidates []string
	events, stop := k.Subscribe()
	go func() {
		defer stop()
		for e := range events {
			if e.Stage == StageReferred {
				p, _ := k.Pending()
				candidates = p.Candidates
				k.Resolve(e.CheckID, true, "desk-1")
				return
			}
		}
	}()
	rec, err := k.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(candidates)
	if rec.Outcome != Accepted || rec.Referral == nil || rec.Referral.Decision != ReferralApproved || !slices.Equal(candidates, []string{"staff-001", "staff-003"}) ||
		(rec.Identity != "staff-001" && rec.Identity != "staff-003") || act.pulses != 1 {
		t.Errorf("got %s %v identity %q referral %+v candidates %v, %d pulses", rec.Outcome, rec.Reasons, rec.Identity, rec.Referral, candidates, act.pulses)
	}
}
