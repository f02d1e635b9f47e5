package kiosk

import (
	"context"
	"time"

	"github.com/edgeid/edgeid/daemon/match"
)

// enrolledOnce is the 1:N flow: wait until someone stands in front of the camera, capture
// (with the liveness checks when required), search the gallery, and decide. The answer is
// open-set: nobody within the threshold means "unknown", never the nearest stranger.
func (k *Kiosk) enrolledOnce(ctx context.Context) (Record, error) {
	k.p.Actuator.Indicate(SignalIdle)
	k.events.publish(Event{Stage: StageIdle, Flow: FlowEnrolled})
	if err := k.waitForFace(ctx); err != nil {
		return Record{}, err
	}
	c := &check{started: k.o.Now(), rec: Record{CheckID: newCheckID(), Flow: FlowEnrolled, StageMillis: map[Stage]float64{}}}
	c.rec.Time = c.started
	k.p.Actuator.Indicate(SignalWorking)
	k.show(c, StageCapture, "")
	rec := k.identify(ctx, c)
	k.pause(ctx)
	return rec, nil
}

// identify searches the gallery with the best-quality frame (1:N is not multi-frame yet: the
// gallery gives distances per probe, and combining frames per identity is left for later).
// The two thresholds decide as in 1:1, with one addition for an open set: a face within the
// accept threshold is identified only when no other enrolled identity is within the reject
// threshold; otherwise it is referred to the attendant with the candidates named, since two
// look-alikes are exactly where the matcher is least to be trusted. A face farther than the
// reject threshold from everyone is unknown. Revocation is checked before any referral.
func (k *Kiosk) identify(ctx context.Context, c *check) Record {
	shots, reasons := k.captureFace(ctx, c)
	defer shots.close()
	if len(reasons) > 0 {
		return k.decide(ctx, c, reasons)
	}
	k.show(c, StageMatching, "")
	g := k.p.Gallery.Snapshot()
	if g == nil || g.Len() == 0 {
		return k.decide(ctx, c, []string{ReasonNoGallery})
	}
	pol := k.o.Policy
	res, err := g.Search(shots.frames[0].template, match.SearchOpts{K: 2, Threshold: pol.FaceAccept, Precision: match.Int8, Rerank: 16})
	if err != nil {
		k.o.Logger.Error("gallery search", "err", err)
		return k.decide(ctx, c, []string{ReasonInternal})
	}
	if len(res.Candidates) == 0 {
		return k.decide(ctx, c, []string{ReasonUnknownPerson})
	}
	best := res.Candidates[0]
	c.rec.FrameDistances = []float64{best.Distance}
	verdict := pol.Verdict(best.Distance)
	if verdict == Rejected {
		return k.decideFace(ctx, c, []string{ReasonUnknownPerson}, best.Distance)
	}
	candidates := []string{best.ID}
	if len(res.Candidates) > 1 && res.Candidates[1].Distance <= pol.FaceReject {
		verdict = Referred // a second identity is too near to tell them apart
		candidates = append(candidates, res.Candidates[1].ID)
	}
	c.rec.Identity = best.ID
	k.show(c, StageRevocation, "")
	r, err := k.p.Revocations.Check(RevocationQuery{Identity: best.ID})
	switch {
	case err != nil:
		reasons = []string{ReasonRevocationFailure}
	case r.IdentityRevoked:
		reasons = []string{ReasonRevokedIdentity}
	case r.Stale && pol.RefuseStaleRevocations:
		reasons = []string{ReasonRevocationsStale}
	case verdict == Referred:
		reasons = k.refer(ctx, c, nil, PendingReferral{Distance: best.Distance, Accept: pol.FaceAccept, Reject: pol.FaceReject,
			Frames: c.rec.FrameDistances, Candidates: candidates}, nil, shots.image)
	}
	return k.decideFace(ctx, c, reasons, best.Distance)
}

// waitForFace reads frames until one shows a face, without starting a check.
func (k *Kiosk) waitForFace(ctx context.Context) error {
	for {
		frame, err := k.p.Camera.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			select {
			case <-time.After(200 * time.Millisecond):
			case <-ctx.Done():
				return ctx.Err()
			}
			continue
		}
		faces, err := k.p.Faces.Detect(frame)
		frame.Close()
		if err == nil && len(faces) > 0 {
			return nil
		}
	}
}

// pause leaves the result on screen before the next person is looked for, so that one person
// standing still is not checked again at once.
func (k *Kiosk) pause(ctx context.Context) {
	select {
	case <-time.After(k.o.Policy.RemoveTimeout):
	case <-ctx.Done():
	}
}
