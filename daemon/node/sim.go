//go:build !nosim

package node

import (
	"context"
	"crypto/ed25519"
	"path/filepath"
	"time"

	"github.com/edgeid/edgeid/daemon/demo"
	"github.com/edgeid/edgeid/daemon/kiosk"
	"github.com/edgeid/edgeid/drivers/camera"
	"github.com/edgeid/edgeid/drivers/emrtd/pki"
	"golang.org/x/sync/errgroup"
)

// The simulation behind `make run` (reader "sim", camera "demo"): the demo passports and their
// PKI, the emulated reader, the demo camera and the demo fleet back end. A kiosk build leaves
// it out with -tags nosim (nosim.go), and the passport generator with it.

// simulation holds the demo's parts.
type simulation struct {
	dm   *demo.Demo
	back *demo.BackEnd
}

// simulationMissing says why this build cannot run the simulation: it can.
func simulationMissing() error { return nil }

// openDemoReader puts the demo passports on the emulated reader and starts the demo back end;
// it gives the demo's trust store and, with policy.access_key "simulation", the demo as the
// key source (else keys).
func (n *Node) openDemoReader(ctx context.Context) (*pki.TrustStore, kiosk.KeySource, error) {
	dm, err := demo.New(ctx, n.simulationDemoDir(), time.Now(),
		demo.Options{PhotoAttack: n.cfg.Policy.Liveness && n.cfg.Camera.Source == "demo"})
	if err != nil {
		return nil, nil, err
	}
	n.dm, n.reader = dm, dm.Reader
	n.push("reader", dm.Reader.Halt)
	var keys kiosk.KeySource = n.pad
	if n.cfg.Policy.AccessKey == "simulation" {
		keys = dm // the demo types the key for the person; "keypad" waits for the page
	}
	b, err := demo.StartBackEnd(ctx, n.dm, demo.BackEndOpts{Broker: n.brokerURL, Fleet: n.cfg.Fleet.Name, Kiosk: n.cfg.KioskID,
		FleetKey: n.keys.fleetPriv, CollectorKey: n.keys.collectorPriv, KioskKey: n.sec.checkpoint.Public().(ed25519.PublicKey),
		AuditFile: filepath.Join(n.cfg.StateDir, "collected-audit.jsonl"), Logger: n.log})
	if err != nil {
		return nil, nil, err
	}
	n.back = b
	n.push("demo back end", b.Close)
	return dm.Trust, keys, nil
}

// demoCamera is the simulation's camera, always up: it makes its frames.
type demoCamera struct{ *demo.Camera }

func (demoCamera) Status() camera.Status { return camera.Status{OK: true} }

// openDemoCamera opens the demo camera: the demo documents' data pages, then the face, in step
// with the emulated reader and the kiosk's stage.
func (n *Node) openDemoCamera() (nodeCamera, error) {
	ff, err := n.demoFaces()
	if err != nil {
		return nil, err
	}
	c := n.cfg.Camera
	dc, err := demo.NewCamera(n.dm, demo.CameraOpts{Width: c.Width, Height: c.Height, FPS: c.FPS, FaceFrames: ff,
		FaceDir: filepath.Join(n.o.SimulationDir, "testdata", "face", "live"), Stage: n.stage, Prompt: n.prompt})
	if err != nil {
		return nil, err
	}
	n.push("camera", dc.Close)
	return demoCamera{dc}, nil
}

// demoFaces are the demo camera's face frames: Opts.FaceFrames if set; with the
// presentation-attack checks on, the demo holder's head that turns as the kiosk asks (and the
// printed photo of the attack document); else the still frames of testdata/face/live.
func (n *Node) demoFaces() (demo.FaceFrames, error) {
	if n.o.FaceFrames != nil || !n.cfg.Policy.Liveness || n.dm == nil {
		return n.o.FaceFrames, nil
	}
	h, err := demo.NewHeads(n.dm, filepath.Join(n.simulationDemoDir(), "astronaut.png"), n.eng)
	if err != nil {
		return nil, err
	}
	n.push("demo heads", h.Close)
	return h.Frame, nil
}

// runDemo starts the demo's workers: the back end, and the presenter that puts each passport
// on the reader in turn.
func (n *Node) runDemo(ctx context.Context, g *errgroup.Group) {
	if n.back != nil {
		g.Go(func() error { return n.back.Run(ctx) })
	}
	if n.dm != nil {
		events, stop := n.k.Subscribe()
		g.Go(func() error {
			defer stop()
			return n.dm.Present(ctx, events, time.Duration(n.cfg.Simulation.Interval))
		})
	}
}
