package demo_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/demo"
	"github.com/edgeid/edgeid/daemon/document"
	"github.com/edgeid/edgeid/daemon/face"
	"github.com/edgeid/edgeid/daemon/kiosk"
	"github.com/edgeid/edgeid/drivers/camera"
	"gocv.io/x/gocv"
)

type noRevocations struct{}

func (noRevocations) Check(kiosk.RevocationQuery) (kiosk.RevocationResult, error) {
	return kiosk.RevocationResult{}, nil
}

type quietActuator struct{}

func (quietActuator) Pulse(context.Context) error     { return nil }
func (quietActuator) Indicate(kiosk.Signal) error     { return nil }
func (quietActuator) Beep(context.Context, int) error { return nil }

type discardAudit struct{}

func (discardAudit) Append(context.Context, kiosk.Record) error { return nil }

// BenchmarkCheckFlow times one 1:1 check in simulation from the card being detected to the
// decision: PACE, secure messaging and reading DG1/DG2/DG14/DG15/SOD through the real PN532
// driver and an emulated chip, Passive and Active Authentication, the revocation lookup, face
// capture from the frame folder, the chip photo's JPEG 2000 decode, and matching. The emulated
// link adds no delay, so the time is the software's; the link itself is modelled by
// BenchmarkReadDG1DG2 (drivers/emrtd) and the PN532 link tables (drivers/nfc/README.md).
// Reported per stage; the capture window is 0 (the person's time is not software).
func BenchmarkCheckFlow(b *testing.B) {
	ctx := context.Background()
	d, err := demo.New(ctx, "../../testdata/face", time.Now(), demo.Options{})
	if err != nil {
		b.Fatal(err)
	}
	docs, err := document.New(document.Opts{Trust: d.Trust})
	if err != nil {
		b.Fatal(err)
	}
	fo := face.DefaultOpts()
	fo.ModelDir, fo.Threads = "../../models", 1
	eng, err := face.New(&fo)
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	co := camera.DefaultOpts()
	co.Source, co.Loop = "folder:../../testdata/face/live", true
	co.Decode = func(buf []byte) (gocv.Mat, error) {
		m, _, err := face.Decode(buf, face.DefaultLimits(), "frame")
		return m, err
	}
	cam, err := camera.New(&co)
	if err != nil {
		b.Fatal(err)
	}
	pol := kiosk.DefaultPolicy(eng.Thresholds())
	pol.CaptureWindow, pol.RemoveTimeout = 0, time.Millisecond
	k, err := kiosk.New(kiosk.Parts{Reader: kiosk.FromNFC(d.Reader), Keys: d, Documents: docs, Revocations: noRevocations{}, Camera: cam,
		Faces: eng, Actuator: quietActuator{}, Audit: discardAudit{}}, kiosk.Opts{Policy: pol, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	events, stop := k.Subscribe()
	defer stop()
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Only the holder's passport: the check that goes through every stage.
	go d.PresentOnly(pctx, 0, events)
	stages := map[kiosk.Stage]float64{}
	var total float64
	for b.Loop() {
		rec, err := k.RunOnce(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if rec.Outcome != kiosk.Accepted {
			b.Fatalf("holder: %s %v", rec.Outcome, rec.Reasons)
		}
		for s, ms := range rec.StageMillis {
			if s != kiosk.StageIdle && s != kiosk.StageRemoveCard {
				stages[s] += ms
				total += ms
			}
		}
	}
	n := float64(b.N)
	b.ReportMetric(total/n, "software_ms")
	for _, s := range []kiosk.Stage{kiosk.StageReading, kiosk.StageCapture, kiosk.StageMatching} {
		b.ReportMetric(stages[s]/n, string(s)+"_ms")
	}
}
