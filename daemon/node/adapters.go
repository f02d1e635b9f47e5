package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/edgeid/edgeid/daemon/audit"
	"github.com/edgeid/edgeid/daemon/config"
	"github.com/edgeid/edgeid/daemon/fleet"
	"github.com/edgeid/edgeid/daemon/kiosk"
	"github.com/edgeid/edgeid/drivers/gpio"
	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"
)

// revocationsAdapter answers the kiosk's question from the fleet's list.
type revocationsAdapter struct {
	rev *fleet.Revocations
	now func() time.Time
}

func (a revocationsAdapter) Check(q kiosk.RevocationQuery) (kiosk.RevocationResult, error) {
	t := a.now()
	var r kiosk.RevocationResult
	r.Version, _ = a.rev.Version()
	r.Stale = a.rev.Stale(t)
	check := func(e fleet.Entry) (bool, error) {
		err := a.rev.Check(e, t)
		if errors.Is(err, fleet.ErrRevoked) {
			return true, nil
		}
		return false, err
	}
	var err error
	if q.DocumentNumber != "" {
		if r.DocumentRevoked, err = check(fleet.DocumentEntry(q.IssuingState, q.DocumentNumber)); err != nil {
			return r, err
		}
	}
	if q.Identity != "" {
		if r.IdentityRevoked, err = check(fleet.IdentityEntry(q.Identity)); err != nil {
			return r, err
		}
	}
	if q.SignerIssuer != "" {
		if r.SignerRevoked, err = check(fleet.DSCertEntry([]byte(q.SignerIssuer), q.SignerSerial)); err != nil {
			return r, err
		}
	}
	return r, nil
}

// auditTimeout bounds the write of one decision once the node is stopping.
const auditTimeout = 5 * time.Second

// auditAdapter writes kiosk decisions to the hash-chained log; the log hashes the number.
type auditAdapter struct{ l *audit.Log }

// Append records r even when the check's context has ended (SIGTERM during a check): a
// decision that was made, or aborted, must reach the audit trail. The store stays open until
// the kiosk has returned.
func (a auditAdapter) Append(ctx context.Context, r kiosk.Record) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), auditTimeout)
	defer cancel()
	scores := map[string]float64{}
	if r.FaceMatched {
		scores["face_distance"], scores["face_threshold"] = r.FaceDistance, r.FaceAccept
		scores["face_reject_threshold"] = r.FaceReject
	}
	reasons := append([]string{}, r.Reasons...)
	for _, c := range r.Checks {
		reasons = append(reasons, c.Name+":"+string(c.Status))
	}
	if r.AccessKey != "" {
		reasons = append(reasons, "access_key:"+r.AccessKey)
	}
	if r.Liveness != "" {
		reasons = append(reasons, "liveness: "+r.Liveness)
	}
	_, err := a.l.Append(ctx, audit.Decision{Flow: r.Flow, Outcome: string(r.Outcome), Reasons: reasons, Scores: scores,
		DocState: r.IssuingState, DocNumber: r.DocumentNumber, Identity: r.Identity, Frames: r.FrameDistances, Referral: auditReferral(r.Referral)})
	return err
}

func auditReferral(r *kiosk.Referral) *audit.Referral {
	if r == nil {
		return nil
	}
	return &audit.Referral{Reason: r.Reason, Referred: r.Referred, Decision: r.Decision, By: r.By, At: r.At}
}

// logActuator stands in for absent outputs: decisions still show on screen and in the log.
type logActuator struct{ log *slog.Logger }

func (a logActuator) Pulse(context.Context) error {
	a.log.Info("relay pulse (no GPIO configured)")
	return nil
}
func (a logActuator) Indicate(kiosk.Signal) error     { return nil }
func (a logActuator) Beep(context.Context, int) error { return nil }

type gpioActuator struct{ d *gpio.Dev }

func (a gpioActuator) Pulse(ctx context.Context) error { return a.d.Pulse(ctx) }
func (a gpioActuator) Indicate(s kiosk.Signal) error {
	led, err := ledSignal(s)
	if err != nil {
		return err
	}
	return a.d.Indicate(led)
}
func (a gpioActuator) Beep(ctx context.Context, n int) error { return a.d.Beep(ctx, n) }

// ledSignal maps what the kiosk shows onto the LEDs, by name: the two enums are not the same
// type, and a new kiosk signal must be mapped here, not fall onto a neighbour's LEDs.
func ledSignal(s kiosk.Signal) (gpio.Signal, error) {
	switch s {
	case kiosk.SignalIdle:
		return gpio.Idle, nil
	case kiosk.SignalWorking:
		return gpio.Working, nil
	case kiosk.SignalAccept:
		return gpio.Accept, nil
	case kiosk.SignalReject:
		return gpio.Reject, nil
	case kiosk.SignalFault:
		return gpio.Fault, nil
	}
	return gpio.Fault, fmt.Errorf("gpio: no LED pattern for kiosk signal %d", s)
}

func actuator(cfg *config.Config, log *slog.Logger) (kiosk.Actuator, error) {
	if cfg.GPIO == nil {
		return logActuator{log}, nil
	}
	if _, err := host.Init(); err != nil {
		return nil, fmt.Errorf("gpio: %w", err)
	}
	o := gpio.DefaultOpts()
	o.Relay, o.Green, o.Red, o.Buzzer = cfg.GPIO.Relay, cfg.GPIO.Green, cfg.GPIO.Red, cfg.GPIO.Buzzer
	o.RelayActiveLow, o.RelayPulse = cfg.GPIO.RelayActiveLow, time.Duration(cfg.GPIO.RelayPulse)
	d, err := gpio.New(func(name string) pgpio.PinIO { return gpioreg.ByName(name) }, &o)
	if err != nil {
		return nil, err
	}
	return gpioActuator{d}, nil
}
