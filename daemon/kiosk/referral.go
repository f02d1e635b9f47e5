package kiosk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"gocv.io/x/gocv"
)

// PendingReferral is a check waiting for the attendant, as the attendant view shows it. The
// images are fetched apart (PendingImage) and only while the referral is open.
type PendingReferral struct {
	CheckID  string    `json:"check_id"`
	Flow     string    `json:"flow"`
	Reasons  []string  `json:"reasons"`
	Since    time.Time `json:"since"`
	Deadline time.Time `json:"deadline"`
	Distance float64   `json:"distance"`
	Accept   float64   `json:"accept"`
	Reject   float64   `json:"reject"`
	// Frames are the per-frame distances behind Distance.
	Frames []float64 `json:"frames"`
	// Candidates (1:N) are the enrolled identities near the face, nearest first.
	Candidates []string `json:"candidates,omitempty"`
	// Chip and Live say which images the attendant can see: the document's photo and the
	// best live frame.
	Chip bool `json:"chip"`
	Live bool `json:"live"`
}

// Which image of a referral.
const (
	ImageChip = "chip"
	ImageLive = "live"
)

// ErrNoReferral: the check named is not waiting for the attendant (never was, or already ended).
var ErrNoReferral = errors.New("kiosk: no such referral is waiting")

type answer struct {
	approve bool
	by      string
	at      time.Time
}

// referral is the open referral: its images (JPEG, memory only) and where the answer goes.
type referral struct {
	info       PendingReferral
	chip, live []byte
	answer     chan answer // buffered 1
	answered   bool        // under Kiosk.mu: the first answer wins
}

// Pending is the referral waiting for the attendant, if any.
func (k *Kiosk) Pending() (PendingReferral, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.ref == nil {
		return PendingReferral{}, false
	}
	p := k.ref.info
	p.Reasons, p.Frames, p.Candidates = slices.Clone(p.Reasons), slices.Clone(p.Frames), slices.Clone(p.Candidates)
	return p, true
}

// PendingImage is a JPEG of the open referral: ImageChip or ImageLive. It is gone when the
// referral ends.
func (k *Kiosk) PendingImage(checkID, which string) ([]byte, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.ref == nil || k.ref.info.CheckID != checkID {
		return nil, false
	}
	var b []byte
	switch which {
	case ImageChip:
		b = k.ref.chip
	case ImageLive:
		b = k.ref.live
	}
	if len(b) == 0 {
		return nil, false
	}
	return slices.Clone(b), true
}

// Resolve gives the attendant's answer to the referral of checkID. by names the attendant for
// the audit record. The first answer counts; a later one, or one for another check, gets
// ErrNoReferral.
func (k *Kiosk) Resolve(checkID string, approve bool, by string) error {
	if by == "" {
		by = "attendant"
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.ref == nil || k.ref.info.CheckID != checkID || k.ref.answered {
		return ErrNoReferral
	}
	k.ref.answered = true
	k.ref.answer <- answer{approve: approve, by: by, at: k.o.Now()}
	return nil
}

// refer holds the check until the attendant answers, the referral times out, the card leaves
// the reader (card may be nil: 1:N) or ctx ends. It returns the reasons to decide with (none:
// approved) and records the referral.
func (k *Kiosk) refer(ctx context.Context, c *check, card Card, info PendingReferral, chip, live *gocv.Mat) []string {
	now := k.o.Now()
	info.CheckID, info.Flow, info.Reasons = c.rec.CheckID, c.rec.Flow, []string{ReasonFaceUncertain}
	info.Since, info.Deadline = now, now.Add(k.o.Policy.ReferralTimeout)
	r := &referral{info: info, answer: make(chan answer, 1)}
	r.chip, r.live = k.encode(chip, c), k.encode(live, c)
	r.info.Chip, r.info.Live = len(r.chip) > 0, len(r.live) > 0
	k.mu.Lock()
	k.ref = r
	k.mu.Unlock()
	// Nobody else holds the images once the referral is closed; wipe rather than wait for
	// the collector.
	defer func() {
		clear(r.chip)
		clear(r.live)
	}()

	c.enter(StageReferred, now)
	k.o.Logger.Info("referred to the attendant", "check", c.rec.CheckID, "distance", info.Distance, "accept", info.Accept, "reject", info.Reject)
	k.p.Actuator.Indicate(SignalWorking)
	k.events.publish(Event{CheckID: c.rec.CheckID, Flow: c.rec.Flow, Stage: StageReferred, Outcome: Referred,
		Reasons: []string{ReasonFaceUncertain}, Distance: info.Distance})

	removed := make(chan struct{})
	wctx, stop := context.WithCancel(ctx)
	waiting := make(chan struct{})
	go func() {
		defer close(waiting)
		if card != nil && card.WaitRemoved(wctx) == nil {
			close(removed)
		}
	}()
	defer func() { stop(); <-waiting }()
	timer := time.NewTimer(k.o.Policy.ReferralTimeout)
	defer timer.Stop()

	rec := &Referral{Reason: ReasonFaceUncertain, Referred: now}
	c.rec.Referral = rec
	var a answer
	answered := false
	end := ""
	select {
	case a = <-r.answer:
		answered = true
	case <-timer.C:
		end = ReferralTimedOut
	case <-removed:
		end = ReferralCardRemoved
	case <-ctx.Done():
		end = ReferralCancelled
	}
	// Close the referral; an answer given at the very moment it ended was told it counted,
	// so it does.
	k.mu.Lock()
	if !answered && r.answered {
		a, answered = <-r.answer, true
	}
	r.answered = true
	k.ref = nil
	k.mu.Unlock()

	var reasons []string
	switch {
	case answered && a.approve:
		rec.Decision, rec.By, rec.At = ReferralApproved, a.by, a.at
	case answered:
		rec.Decision, rec.By, rec.At = ReferralDenied, a.by, a.at
		reasons = []string{ReasonReferralDenied}
	default:
		rec.Decision, rec.By, rec.At = end, "kiosk", k.o.Now()
		reasons = []string{map[string]string{ReferralTimedOut: ReasonReferralTimeout, ReferralCardRemoved: ReasonCardRemoved, ReferralCancelled: ReasonInternal}[end]}
	}
	k.o.Logger.Info("referral ended", "check", c.rec.CheckID, "decision", rec.Decision, "by", rec.By)
	return reasons
}

// encode makes the JPEG the attendant sees; a failure leaves that side blank, it does not
// end the check.
func (k *Kiosk) encode(m *gocv.Mat, c *check) []byte {
	if m == nil || m.Empty() {
		return nil
	}
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, *m, []int{gocv.IMWriteJpegQuality, 90})
	if err != nil {
		k.o.Logger.Warn("referral image", "check", c.rec.CheckID, "err", fmt.Errorf("encode: %w", err))
		return nil
	}
	defer buf.Close()
	return slices.Clone(buf.GetBytes())
}
