package kiosk

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/edgeid/edgeid/daemon/face"
	"github.com/edgeid/edgeid/daemon/match"
	"github.com/edgeid/edgeid/daemon/pad"
	"gocv.io/x/gocv"
)

// Policy is what a check requires and how long each stage may take.
type Policy struct {
	// RequireActiveAuth and RequireChipAuth: a failed AA or CA rejects the document. A chip that
	// does not offer them is not refused for it (Passive Authentication must always pass).
	RequireActiveAuth bool
	RequireChipAuth   bool
	// RefuseStaleRevocations: with a revocation list past its expiry, refuse every document
	// (true) or carry on and record the staleness (false).
	RefuseStaleRevocations bool
	// FaceAccept and FaceReject split the face distance three ways: at or below FaceAccept the
	// face matches; above FaceReject it is another person; between them the attendant decides
	// (FaceAccept == FaceReject: no referrals). ReferralTimeout bounds the attendant's answer;
	// without one the check is rejected.
	FaceAccept      float64
	FaceReject      float64
	ReferralTimeout time.Duration
	// FaceFrames: the decision scores up to this many good frames of the capture (the sharpest
	// and most frontal) and combines their distances with FaceCombine.
	FaceFrames  int
	FaceCombine string
	// CaptureWindow: after the first usable frame, keep looking this long for better ones.
	CaptureWindow time.Duration
	// Liveness requires the presentation-attack checks named in LivenessChecks (all of
	// pad.DefaultRequired when empty); every known check is scored and recorded either way.
	// LivenessSameFace is the template distance that links the frames of one face.
	Liveness         bool
	LivenessChecks   []string
	LivenessSameFace float64
	ChallengeMoves   int
	// ChallengeKinds are the moves the challenge draws from (all four when empty): fewer kinds
	// make a challenge easier to foresee, so narrow them only where a move cannot be made.
	ChallengeKinds []pad.Move
	// Stage time limits.
	AccessKeyTimeout time.Duration
	ReadTimeout      time.Duration
	CaptureTimeout   time.Duration
	RemoveTimeout    time.Duration
}

// How the distances of several frames become one (Policy.FaceCombine).
const (
	CombineMean   = "mean"   // the mean of the scored frames
	CombineMin    = "min"    // the closest frame
	CombineMedian = "median" // the middle one (the mean of the middle two)
)

// DefaultPolicy requires every authentication the chip offers and refers the faces between
// accept and reject to the attendant. The frame count and combination were chosen with
// BenchmarkMultiFrame: the mean of the five best-quality frames. On the dev sets it took the
// automatic false accepts of impostor captures from 0.08% (one frame) to none of 5060 and the
// genuine referrals from 1.8% to none of 220; the closest frame (min) instead raised false
// accepts with every frame added (0.24% at 3, 0.36% at 5), each frame being one more try.
// Every frame of the capture window is analysed anyway, so k frames cost k comparisons more.
func DefaultPolicy(accept, reject float64) Policy {
	return Policy{
		RequireActiveAuth:      true,
		RequireChipAuth:        true,
		RefuseStaleRevocations: true,
		FaceAccept:             accept,
		FaceReject:             reject,
		ReferralTimeout:        60 * time.Second,
		FaceFrames:             5,
		FaceCombine:            CombineMean,
		CaptureWindow:          800 * time.Millisecond,
		AccessKeyTimeout:       60 * time.Second,
		ReadTimeout:            20 * time.Second,
		CaptureTimeout:         10 * time.Second,
		ChallengeMoves:         2,
		RemoveTimeout:          30 * time.Second,
	}
}

// challenge draws the policy's head-movement challenge.
func (p Policy) challenge(rng *mrand.Rand, started time.Time) (pad.Challenge, error) {
	kinds := p.ChallengeKinds
	if len(kinds) == 0 {
		kinds = pad.Moves()
	}
	return pad.NewChallengeOf(rng, kinds, p.ChallengeMoves, started)
}

// MaxFaceFrames bounds Policy.FaceFrames: each frame costs one face analysis.
const MaxFaceFrames = 10

func (p Policy) validate() error {
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	if !finite(p.FaceAccept) {
		return fmt.Errorf("kiosk: face accept threshold %v must be a finite distance", p.FaceAccept)
	}
	if !finite(p.FaceReject) || p.FaceReject < p.FaceAccept {
		return fmt.Errorf("kiosk: face reject threshold %v must be at least the accept threshold %v", p.FaceReject, p.FaceAccept)
	}
	if p.FaceReject > p.FaceAccept && (p.ReferralTimeout <= 0 || p.ReferralTimeout > 10*time.Minute) {
		return fmt.Errorf("kiosk: referral time limit %v must be in (0, 10m]", p.ReferralTimeout)
	}
	if p.FaceFrames < 1 || p.FaceFrames > MaxFaceFrames {
		return fmt.Errorf("kiosk: face frames %d must be 1 to %d", p.FaceFrames, MaxFaceFrames)
	}
	switch p.FaceCombine {
	case CombineMean, CombineMin, CombineMedian:
	default:
		return fmt.Errorf("kiosk: unknown frame combination %q (mean, min or median)", p.FaceCombine)
	}
	for _, d := range []time.Duration{p.AccessKeyTimeout, p.ReadTimeout, p.CaptureTimeout, p.RemoveTimeout} {
		if d <= 0 {
			return errors.New("kiosk: stage time limits must be positive")
		}
	}
	if p.CaptureWindow < 0 || p.CaptureWindow > p.CaptureTimeout {
		return errors.New("kiosk: capture window must be within the capture time limit")
	}
	if p.Liveness && (p.LivenessSameFace <= 0 || p.ChallengeMoves < 1 || p.ChallengeMoves > 4) {
		return errors.New("kiosk: liveness needs a same-face distance and 1 to 4 challenge moves")
	}
	if p.Liveness {
		if _, err := p.padSuite(); err != nil {
			return fmt.Errorf("kiosk: %w", err)
		}
		if _, err := p.challenge(mrand.New(mrand.NewPCG(0, 0)), time.Time{}); err != nil {
			return fmt.Errorf("kiosk: %w", err)
		}
	}
	return nil
}

// Verdict is the face decision for a distance: Accepted, Rejected or Referred.
func (p Policy) Verdict(d float64) Outcome {
	switch {
	case d <= p.FaceAccept:
		return Accepted
	case d > p.FaceReject:
		return Rejected
	}
	return Referred
}

// Combine makes one distance of the frames' distances, as FaceCombine says; ds is not
// changed. It is 0 for no distances.
func Combine(mode string, ds []float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	switch mode {
	case CombineMin:
		return s[0]
	case CombineMedian:
		n := len(s)
		if n%2 == 1 {
			return s[n/2]
		}
		return (s[n/2-1] + s[n/2]) / 2
	}
	sum := 0.0
	for _, d := range s {
		sum += d
	}
	return sum / float64(len(s))
}

func (p Policy) padSuite() (pad.Suite, error) {
	required := p.LivenessChecks
	if len(required) == 0 {
		required = pad.DefaultRequired
	}
	return pad.NewSuite(required, p.LivenessSameFace)
}

// Parts are what the kiosk drives. The document flow needs Reader, Keys and Documents; the
// enrolled (1:N) flow needs Gallery instead.
type Parts struct {
	Reader      Reader
	Keys        KeySource
	Documents   DocumentReader
	Revocations Revocations
	Camera      Camera
	Faces       Faces
	Actuator    Actuator
	Audit       Auditor
	Gallery     Gallery
}

// Flows a kiosk runs.
const (
	FlowDocument = "document" // 1:1: a document on the reader, its chip photo against the live face
	FlowEnrolled = "enrolled" // 1:N: the live face against the enrolled gallery, no document
)

// Opts configures a Kiosk.
type Opts struct {
	// Flow is FlowDocument (the default) or FlowEnrolled.
	Flow   string
	Policy Policy
	Logger *slog.Logger
	// Now is the clock (document expiry, record times); time.Now when nil.
	Now func() time.Time
	// NewChallenge draws the head-movement challenge; random moves when nil.
	NewChallenge func(started time.Time) pad.Challenge
}

// Kiosk runs checks one after another.
type Kiosk struct {
	p      Parts
	o      Opts
	pad    pad.Suite // the presentation-attack checks, built once when Policy.Liveness is on
	events *broadcaster

	mu  sync.Mutex
	ref *referral // the referral waiting for the attendant
}

// New checks that every part is there and the policy makes sense.
func New(p Parts, o Opts) (*Kiosk, error) {
	if o.Flow == "" {
		o.Flow = FlowDocument
	}
	if p.Revocations == nil || p.Camera == nil || p.Faces == nil || p.Actuator == nil || p.Audit == nil {
		return nil, errors.New("kiosk: revocations, camera, face engine, actuator and audit log must be given")
	}
	switch {
	case o.Flow == FlowDocument && (p.Reader == nil || p.Keys == nil || p.Documents == nil):
		return nil, errors.New("kiosk: the document flow needs a reader, a key source and a document reader")
	case o.Flow == FlowEnrolled && p.Gallery == nil:
		return nil, errors.New("kiosk: the enrolled flow needs a gallery")
	case o.Flow != FlowDocument && o.Flow != FlowEnrolled:
		return nil, fmt.Errorf("kiosk: unknown flow %q", o.Flow)
	}
	if err := o.Policy.validate(); err != nil {
		return nil, err
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewChallenge == nil {
		p := o.Policy
		o.NewChallenge = func(started time.Time) pad.Challenge {
			var seed [32]byte
			rand.Read(seed[:])
			c, _ := p.challenge(mrand.New(mrand.NewChaCha8(seed)), started) // validated above
			return c
		}
	}
	k := &Kiosk{p: p, o: o, events: newBroadcaster()}
	if o.Policy.Liveness {
		var err error
		if k.pad, err = o.Policy.padSuite(); err != nil {
			return nil, fmt.Errorf("kiosk: %w", err)
		}
	}
	return k, nil
}

// Subscribe returns a channel of events and a function that ends the subscription.
func (k *Kiosk) Subscribe() (<-chan Event, func()) { return k.events.subscribe() }

// Current is the latest event.
func (k *Kiosk) Current() Event { return k.events.current() }

// Decisions are the latest decisions, newest last.
func (k *Kiosk) Decisions() []Event { return k.events.decisions() }

// Run runs checks until ctx ends.
func (k *Kiosk) Run(ctx context.Context) error {
	for {
		_, err := k.RunOnce(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			// A reader fault: RunOnce has logged and shown it; do not spin on a dead reader.
			select {
			case <-time.After(time.Second):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
}

// check is the state of one check in progress.
type check struct {
	rec     Record
	started time.Time
	stage   Stage
	t0      time.Time
}

func (c *check) enter(s Stage, now time.Time) {
	if c.stage != "" {
		c.rec.StageMillis[c.stage] += float64(now.Sub(c.t0).Microseconds()) / 1000
	}
	c.stage, c.t0 = s, now
}

// RunOnce waits for a document and runs one check to its end. The record is what was audited.
// An error means the reader failed before a check could start.
func (k *Kiosk) RunOnce(ctx context.Context) (Record, error) {
	if k.o.Flow == FlowEnrolled {
		return k.enrolledOnce(ctx)
	}
	k.p.Actuator.Indicate(SignalIdle)
	k.events.publish(Event{Stage: StageIdle})
	card, err := k.p.Reader.WaitCard(ctx)
	if err != nil {
		if ctx.Err() == nil {
			k.o.Logger.Error("reader", "err", err)
			k.p.Actuator.Indicate(SignalFault)
			k.events.publish(Event{Stage: StageIdle, Reasons: []string{ReasonReaderError}, Detail: err.Error()})
		}
		return Record{}, err
	}
	c := &check{started: k.o.Now(), rec: Record{CheckID: newCheckID(), Flow: FlowDocument, StageMillis: map[Stage]float64{}}}
	c.rec.Time = c.started
	rec := k.documentCheck(ctx, card, c)

	// The card may stay while the person walks through; wait (bounded) for it to leave so that
	// the same presentation is not checked twice.
	k.show(c, StageRemoveCard, "")
	rctx, cancel := context.WithTimeout(ctx, k.o.Policy.RemoveTimeout)
	card.WaitRemoved(rctx)
	cancel()
	card.Close(context.WithoutCancel(ctx))
	return rec, nil
}

func (k *Kiosk) show(c *check, s Stage, detail string) {
	c.enter(s, k.o.Now())
	k.events.publish(Event{CheckID: c.rec.CheckID, Flow: c.rec.Flow, Stage: s, Detail: detail})
}

// documentCheck is the 1:1 flow from a presented card to an audited decision.
func (k *Kiosk) documentCheck(ctx context.Context, card Card, c *check) Record {
	k.p.Actuator.Indicate(SignalWorking)
	k.show(c, StageDocument, "")

	doc, reasons := k.readDocument(ctx, card, c)
	if len(reasons) > 0 {
		return k.decide(ctx, c, reasons)
	}

	k.show(c, StageRevocation, "")
	reasons = append(reasons, k.checkRevocation(doc)...)
	if exp := doc.DateOfExpiry; !exp.IsZero() && k.o.Now().After(exp.Add(24*time.Hour)) {
		reasons = append(reasons, ReasonDocumentExpired)
	}
	if len(reasons) > 0 {
		return k.decide(ctx, c, reasons)
	}

	k.show(c, StageCapture, "")
	shots, reasons := k.captureFace(ctx, c)
	defer shots.close()
	if len(reasons) > 0 {
		return k.decide(ctx, c, reasons)
	}

	k.show(c, StageMatching, "")
	chip, photo, err := k.chipTemplate(doc.Photo)
	if err != nil {
		k.o.Logger.Warn("chip photo", "check", c.rec.CheckID, "err", err)
		return k.decide(ctx, c, []string{ReasonNoChipPhoto})
	}
	defer photo.Close()
	ds := make([]float64, len(shots.frames))
	for i, f := range shots.frames {
		if ds[i], err = k.p.Faces.Compare(f.template, chip); err != nil {
			k.o.Logger.Error("match", "check", c.rec.CheckID, "err", err)
			return k.decide(ctx, c, []string{ReasonInternal})
		}
	}
	c.rec.FrameDistances = ds
	d := Combine(k.o.Policy.FaceCombine, ds)
	switch k.o.Policy.Verdict(d) {
	case Rejected:
		reasons = append(reasons, ReasonFaceMismatch)
	case Referred:
		reasons = k.refer(ctx, c, card, PendingReferral{Distance: d, Accept: k.o.Policy.FaceAccept, Reject: k.o.Policy.FaceReject, Frames: ds}, &photo, shots.image)
	}
	return k.decideFace(ctx, c, reasons, d)
}

func (k *Kiosk) readDocument(ctx context.Context, card Card, c *check) (*Document, []string) {
	stageErr := func(err error) []string {
		var ae *AccessError
		switch {
		case errors.As(err, &ae):
			return []string{ReasonAccessDenied}
		case k.cardGone(ctx, card):
			// A chip that stops answering has most often been taken away.
			return []string{ReasonCardRemoved}
		case errors.Is(err, context.DeadlineExceeded):
			return []string{ReasonTimeout}
		}
		return []string{ReasonChipError}
	}
	key, err := k.accessKey(ctx, c)
	if err != nil {
		return nil, stageErr(err)
	}
	c.rec.AccessKey = key.Source
	k.show(c, StageReading, "")
	rctx, cancel := context.WithTimeout(ctx, k.o.Policy.ReadTimeout)
	doc, err := k.p.Documents.ReadDocument(rctx, card, key)
	cancel()
	if err != nil {
		k.o.Logger.Info("document read failed", "check", c.rec.CheckID, "err", err)
		return nil, stageErr(err)
	}
	c.rec.IssuingState = doc.IssuingState
	c.rec.DocumentNumber = doc.DocumentNumber
	c.rec.Checks = doc.Checks
	var reasons []string
	if fields := mrzChipMismatch(key, doc); len(fields) > 0 {
		// The fields' names only: the values never reach a log.
		k.o.Logger.Info("the MRZ read by the camera and the chip disagree", "check", c.rec.CheckID, "fields", fields)
		reasons = append(reasons, ReasonMRZChipMismatch)
	}
	for _, ch := range doc.Checks {
		if ch.Status != Fail {
			continue
		}
		switch ch.Name {
		case "active_authentication":
			if k.o.Policy.RequireActiveAuth {
				reasons = append(reasons, ReasonActiveAuth)
			}
		case "chip_authentication":
			if k.o.Policy.RequireChipAuth {
				reasons = append(reasons, ReasonChipAuth)
			}
		default: // every part of Passive Authentication must pass
			if !contains(reasons, ReasonPassiveAuth) {
				reasons = append(reasons, ReasonPassiveAuth)
			}
		}
	}
	// Passive Authentication must have passed; a chip refused for another reason (a clone
	// failing Chip Authentication) is refused for that reason alone.
	if len(reasons) == 0 && !hasPassed(doc.Checks, "passive_authentication") {
		reasons = append(reasons, ReasonPassiveAuth)
	}
	return doc, reasons
}

// accessKey waits for the key that opens the chip, within the access-key time limit. A key
// source that watches the camera reports what to show; the kiosk publishes it at most five
// times a second, but at once when the step changes to a read or the keypad.
func (k *Kiosk) accessKey(ctx context.Context, c *check) (AccessKey, error) {
	k.show(c, StageAccessKey, "")
	kctx, cancel := context.WithTimeout(ctx, k.o.Policy.AccessKeyTimeout)
	defer cancel()
	rs, ok := k.p.Keys.(ReportingKeySource)
	if !ok {
		return k.p.Keys.AccessKey(kctx)
	}
	var mu sync.Mutex
	var last Event
	var at time.Time
	report := func(detail string, progress float64) {
		progress = min(max(progress, 0), 1)
		mu.Lock()
		defer mu.Unlock()
		now := time.Now()
		final := detail == KeyRead || detail == KeyKeypad
		if detail == last.Detail && progress == last.Progress || !final && now.Sub(at) < 200*time.Millisecond {
			return
		}
		last, at = Event{CheckID: c.rec.CheckID, Flow: c.rec.Flow, Stage: StageAccessKey, Detail: detail, Progress: progress}, now
		k.events.publish(last)
	}
	return rs.AccessKeyReporting(kctx, report)
}

// mrzChipMismatch names the fields in which the MRZ the camera read and the chip's DG1
// disagree: document number, birth, expiry and issuer. Keys typed or given by configuration,
// and chips whose DG1 could not be read (Passive Authentication says why), are not compared.
func mrzChipMismatch(key AccessKey, doc *Document) []string {
	if key.Source != KeyFromCamera || doc.DocumentNumber == "" {
		return nil
	}
	var bad []string
	norm := func(s string) string { return strings.ToUpper(strings.TrimRight(s, "<")) }
	if norm(key.DocumentNumber) != norm(doc.DocumentNumber) {
		bad = append(bad, "document_number")
	}
	if key.DateOfBirth != doc.DateOfBirth {
		bad = append(bad, "date_of_birth")
	}
	if doc.DateOfExpiry.IsZero() || key.DateOfExpiry != doc.DateOfExpiry.Format("060102") {
		bad = append(bad, "date_of_expiry")
	}
	if norm(key.IssuingState) != norm(doc.IssuingState) {
		bad = append(bad, "issuing_state")
	}
	return bad
}

// cardGone asks the reader, briefly, whether the card has left the field. The reader is not
// asked while a command is in flight: readers serialise their own traffic.
func (k *Kiosk) cardGone(ctx context.Context, card Card) bool {
	gctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	return card.WaitRemoved(gctx) == nil
}

func hasPassed(checks []DocCheck, name string) bool {
	for _, ch := range checks {
		if ch.Name == name {
			return ch.Status == Pass
		}
	}
	return false
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func (k *Kiosk) checkRevocation(doc *Document) []string {
	r, err := k.p.Revocations.Check(RevocationQuery{IssuingState: doc.IssuingState, DocumentNumber: doc.DocumentNumber, SignerIssuer: doc.SignerIssuer, SignerSerial: doc.SignerSerial})
	if err != nil {
		k.o.Logger.Error("revocation check", "err", err)
		return []string{ReasonRevocationFailure}
	}
	var reasons []string
	if r.DocumentRevoked {
		reasons = append(reasons, ReasonRevokedDocument)
	}
	if r.SignerRevoked {
		reasons = append(reasons, ReasonRevokedSigner)
	}
	if r.Stale {
		if k.o.Policy.RefuseStaleRevocations {
			reasons = append(reasons, ReasonRevocationsStale)
		} else {
			k.o.Logger.Warn("revocation list is past its expiry; checking on", "version", r.Version)
		}
	}
	return reasons
}

// frame is a good frame kept for the decision.
type frame struct {
	quality  float64 // sharp and frontal is higher
	template match.Template
}

// capture is what captureFace keeps: the best frames' templates and, when the attendant may
// be asked, the best frame's image. close releases the image.
type capture struct {
	frames []frame // best quality first, at most Policy.FaceFrames
	image  *gocv.Mat
}

func (c *capture) close() {
	if c.image != nil {
		c.image.Close()
		c.image = nil
	}
}

// keep ranks a good frame among the best n so far.
func (c *capture) keep(f frame, n int) (best bool) {
	i, _ := slices.BinarySearchFunc(c.frames, f.quality, func(x frame, q float64) int {
		if x.quality >= q {
			return -1 // ties go after: the earlier frame stays ahead
		}
		return 1
	})
	if i >= n {
		return false
	}
	c.frames = slices.Insert(c.frames, i, f)
	if len(c.frames) > n {
		c.frames = c.frames[:n]
	}
	return i == 0
}

// captureFace reads frames until one passes the quality gates, then keeps looking for the
// capture window and keeps the best Policy.FaceFrames good frames. A scene with several faces
// ends the capture at once. With liveness required, the person is first asked for a random
// sequence of head movements, and the frames of the whole capture must pass the
// presentation-attack checks. Time is the injected clock's, read once a frame.
func (k *Kiosk) captureFace(ctx context.Context, c *check) (*capture, []string) {
	cctx, cancel := context.WithTimeout(ctx, k.o.Policy.CaptureTimeout)
	defer cancel()
	pol := k.o.Policy
	live := pol.Liveness
	keepImage := pol.FaceReject > pol.FaceAccept // the attendant may need to see it
	got := &capture{}
	var ch pad.Challenge
	var frames []pad.Frame
	moves := 0
	if live {
		ch = k.o.NewChallenge(k.o.Now())
		k.events.publish(Event{CheckID: c.rec.CheckID, Flow: c.rec.Flow, Stage: StageCapture, Detail: "move_" + string(ch.Moves[0])})
	}
	var firstGood, last time.Time
	lastReason := ReasonNoFace
	fail := func(reasons ...string) (*capture, []string) {
		got.close()
		return got, reasons
	}
	for cctx.Err() == nil {
		if len(got.frames) > 0 && last.Sub(firstGood) >= pol.CaptureWindow && (!live || moves == len(ch.Moves)) {
			break
		}
		img, err := k.p.Camera.Read(cctx)
		if err != nil {
			if cctx.Err() != nil {
				break
			}
			lastReason = ReasonCameraLost
			select {
			case <-time.After(50 * time.Millisecond):
			case <-cctx.Done():
			}
			continue
		}
		at := k.o.Now()
		last = at
		a, err := k.p.Faces.Analyze(img, false) // gates are judged below, turned heads included
		// The frame's image cues are measured now so that no image outlives its frame (but
		// the best one, for the attendant); at most ten frames a second are kept for the
		// checks, which bounds their work and memory whatever the camera's rate.
		keep := live && err == nil && (len(frames) == 0 || at.Sub(frames[len(frames)-1].At) >= 100*time.Millisecond)
		var cues map[string]float64
		if keep {
			cues = pad.MeasureCues(img, a.Face, k.pad.Cues)
		}
		switch {
		case errors.Is(err, face.ErrNoFace):
			img.Close()
			lastReason = ReasonNoFace
			continue
		case err != nil:
			img.Close()
			k.o.Logger.Error("face analysis", "err", err)
			return fail(ReasonInternal)
		}
		problems := a.Quality.Problems
		for _, p := range problems {
			if p.Code == face.ProblemSeveralFaces {
				img.Close()
				return fail(ReasonSeveralFaces)
			}
		}
		if keep {
			frames = append(frames, pad.Frame{At: at, Analysis: a, Cues: cues})
			if n := int(k.pad.Challenge.Score(frames, ch).Value); n > moves {
				moves = n
				detail := "move_done"
				if moves < len(ch.Moves) {
					detail = "move_" + string(ch.Moves[moves])
				}
				k.events.publish(Event{CheckID: c.rec.CheckID, Flow: c.rec.Flow, Stage: StageCapture, Detail: detail, Progress: float64(moves) / float64(len(ch.Moves))})
			}
		}
		if len(problems) > 0 {
			img.Close()
			lastReason = ReasonPoorCapture
			if !live || moves == len(ch.Moves) {
				k.events.publish(Event{CheckID: c.rec.CheckID, Flow: c.rec.Flow, Stage: StageCapture, Detail: problems[0].Code})
			}
			continue
		}
		if live && !keep {
			img.Close()
			continue // the face matched must be one the presentation-attack checks saw
		}
		if len(got.frames) == 0 {
			firstGood = at
		}
		q := a.Quality.Sharpness * math.Cos(a.Quality.Yaw*math.Pi/180) * math.Cos(a.Quality.Pitch*math.Pi/180)
		if got.keep(frame{quality: q, template: a.Template}, pol.FaceFrames) && keepImage {
			got.close()
			got.image = &img
			continue
		}
		img.Close()
	}
	if live && len(frames) > 0 {
		r := k.pad.Evaluate(frames, ch)
		var parts []string
		for _, s := range r.Scores {
			parts = append(parts, s.String())
		}
		c.rec.Liveness = strings.Join(parts, "; ")
		if !r.Live {
			k.o.Logger.Info("presentation attack suspected", "check", c.rec.CheckID, "why", r.Reasons())
			return fail(ReasonLiveness)
		}
	}
	if len(got.frames) == 0 {
		return fail(lastReason)
	}
	return got, nil
}

// chipTemplate embeds the chip photo and gives its image (the caller closes it). It is taken
// as issued: an ICAO photo is frontal by rule, and a small chip image must not be refused for
// its size.
func (k *Kiosk) chipTemplate(photo []byte) (match.Template, gocv.Mat, error) {
	if len(photo) == 0 {
		return match.Template{}, gocv.Mat{}, errors.New("the document has no face image")
	}
	img, _, err := face.Decode(photo, face.DefaultLimits(), "chip photo")
	if err != nil {
		return match.Template{}, gocv.Mat{}, err
	}
	a, err := k.p.Faces.Analyze(img, false)
	if err != nil {
		img.Close()
		return match.Template{}, gocv.Mat{}, err
	}
	return a.Template, img, nil
}

// rejecting reasons mean the document or the person failed; the others mean the check could
// not be finished.
var rejecting = map[string]bool{
	ReasonPassiveAuth: true, ReasonActiveAuth: true, ReasonChipAuth: true,
	ReasonDocumentExpired: true, ReasonRevokedDocument: true, ReasonRevokedSigner: true,
	ReasonRevocationsStale: true, ReasonNoChipPhoto: true, ReasonLiveness: true, ReasonFaceMismatch: true, ReasonMRZChipMismatch: true,
	ReasonUnknownPerson: true, ReasonRevokedIdentity: true, ReasonReferralDenied: true, ReasonReferralTimeout: true,
}

// decideFace is decide after a face comparison: the record keeps the distance it gave. (A fused
// distance may be any real number, so "no comparison" cannot be told by a zero distance.)
func (k *Kiosk) decideFace(ctx context.Context, c *check, reasons []string, distance float64) Record {
	c.rec.FaceMatched, c.rec.FaceDistance = true, distance
	return k.decide(ctx, c, reasons)
}

// decide audits the outcome first and only then opens the door: a decision that could not be
// recorded does not open anything (fail closed).
func (k *Kiosk) decide(ctx context.Context, c *check, reasons []string) Record {
	c.enter(StageDecision, k.o.Now())
	out := Accepted
	for _, r := range reasons {
		if rejecting[r] {
			out = Rejected
		} else if out == Accepted {
			out = Aborted
		}
	}
	c.rec.Outcome, c.rec.Reasons = out, reasons
	c.rec.FaceAccept, c.rec.FaceReject = k.o.Policy.FaceAccept, k.o.Policy.FaceReject
	c.enter("", k.o.Now())
	if err := k.p.Audit.Append(ctx, c.rec); err != nil {
		k.o.Logger.Error("audit append failed: not actuating", "check", c.rec.CheckID, "err", err)
		if out == Accepted {
			c.rec.Outcome, c.rec.Reasons = Aborted, []string{ReasonInternal}
			out = Aborted
		}
	}
	k.o.Logger.Info("decision", "check", c.rec.CheckID, "outcome", out, "reasons", c.rec.Reasons, "distance", c.rec.FaceDistance, "state", c.rec.IssuingState)
	k.events.publish(Event{CheckID: c.rec.CheckID, Flow: c.rec.Flow, Stage: StageDecision, Outcome: out, Reasons: c.rec.Reasons, Distance: c.rec.FaceDistance, StageMillis: maps.Clone(c.rec.StageMillis)})
	switch out {
	case Accepted:
		k.p.Actuator.Indicate(SignalAccept)
		if err := k.p.Actuator.Pulse(ctx); err != nil {
			k.o.Logger.Error("relay", "check", c.rec.CheckID, "err", err)
		}
	case Rejected:
		k.p.Actuator.Indicate(SignalReject)
		k.p.Actuator.Beep(ctx, 2)
	default:
		k.p.Actuator.Indicate(SignalFault)
		k.p.Actuator.Beep(ctx, 1)
	}
	return c.rec
}

func newCheckID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
