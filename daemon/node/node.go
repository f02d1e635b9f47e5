// Package node is the kiosk daemon assembled: New builds its parts in order (state, secrets,
// store, fleet, face, reader, camera, kiosk, web) with one cleanup stack, so that a failure
// undoes exactly what was built, in reverse; Run starts the workers under one cancellable
// context and waits for every one of them before the store closes. cmd/edgeid only parses
// flags and calls it; tests build the same node with their own listener and folders.
package node

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeid/edgeid/daemon/audit"
	"github.com/edgeid/edgeid/daemon/camerahub"
	"github.com/edgeid/edgeid/daemon/config"
	"github.com/edgeid/edgeid/daemon/face"
	"github.com/edgeid/edgeid/daemon/fleet"
	"github.com/edgeid/edgeid/daemon/health"
	"github.com/edgeid/edgeid/daemon/kiosk"
	"github.com/edgeid/edgeid/daemon/match"
	"github.com/edgeid/edgeid/daemon/mrzkey"
	"github.com/edgeid/edgeid/daemon/store"
	"github.com/edgeid/edgeid/daemon/web"
	"github.com/edgeid/edgeid/drivers/nfc"
	"github.com/edgeid/edgeid/models"
	"github.com/prometheus/client_golang/prometheus"
	"gocv.io/x/gocv"
	"golang.org/x/sync/errgroup"
)

// Opts are what the daemon gets from outside its configuration file.
type Opts struct {
	Logger *slog.Logger
	// Actuator drives the outputs; nil: the GPIO pins of the configuration, or the log when
	// the configuration has none.
	Actuator kiosk.Actuator
	// Listener serves the web page; nil: listen on web.listen. The node closes it, also when
	// New fails.
	Listener net.Listener
	// StateDir replaces state_dir; ModelsDir replaces models_dir (empty: looked for).
	StateDir  string
	ModelsDir string
	// SimulationDir is the source tree the simulation takes its data from (testdata/face);
	// empty: the working directory or the folder above the binary, whichever holds it.
	// Relative paths of a simulation's configuration are resolved against it.
	SimulationDir string
	// MinFree is the free space the state disk must keep (default DefaultMinFree): below it
	// the node does not start, and a running node takes no new check.
	MinFree uint64
	// DrainTimeout bounds how long Run lets a check in progress finish once ctx ends
	// (default 10 s; systemd gives 15).
	DrainTimeout time.Duration
	// HealthInterval is how often the parts' health is polled (default 2 s); HealthSettle is
	// how long after start a bad condition is not logged yet (default 10 s: the fleet link
	// needs a moment to connect).
	HealthInterval, HealthSettle time.Duration
	// FaceFrames, with camera.source "demo", gives the simulation's face frames for each demo
	// document (synthesised head turns, a photo attack); nil: the frames of testdata/face/live.
	FaceFrames func(doc, i int, move string) (gocv.Mat, error)
}

// DefaultMinFree covers Badger's memory-mapped logs (two 16 MiB memtables) with room to spare:
// writing into a mapped page that the disk cannot back ends the process with SIGBUS.
const DefaultMinFree = 64 << 20

// Node is the assembled daemon. Create it with New, then call Run once (or Close).
type Node struct {
	simulation // the demo's parts (sim.go), nothing in a build without it (nosim.go)
	cfg        config.Config
	o          Opts
	log        *slog.Logger

	mu      sync.Mutex
	undo    []undoStep // the cleanup stack, in build order
	started atomic.Bool

	sec                        *secrets
	db                         *store.DB
	reg                        *prometheus.Registry
	metrics                    *fleet.Metrics
	rev                        *fleet.Revocations
	auditLog                   *audit.Log
	templates                  *fleet.Templates
	gallery                    *match.Index
	rebuild                    chan struct{}
	keys                       fleetKeys
	brokerURL                  string
	broker                     func() error // closes the simulation's in-process broker
	client                     *fleet.Client
	eng                        *face.Engine
	threshold, rejectThreshold float64
	man                        *models.Manifest
	reader                     nfc.Reader
	pad                        *kiosk.KeyPad
	keySource                  kiosk.KeySource
	docs                       kiosk.DocumentReader
	gate                       *gate
	cam                        nodeCamera
	hub                        *camerahub.Hub // shares cam: the kiosk, the key source and the screen read through it
	modelDir                   string
	mrzStats                   mrzkey.Stats // the last camera read of an MRZ (tests, numbers)
	k                          *kiosk.Kiosk
	srv                        *web.Server
	ln                         net.Listener
	tracker                    *health.Tracker
	disk                       *diskCheck
}

type undoStep struct {
	part string
	fn   func() error
}

// New checks the configuration (every problem at once, before anything is written), then
// builds the parts in order. On error, what was built is undone in reverse and nothing of the
// node keeps running.
func New(ctx context.Context, cfg *config.Config, o Opts) (_ *Node, err error) {
	if cfg == nil {
		return nil, errors.New("node: no configuration")
	}
	n := &Node{cfg: *cfg, o: o, log: o.Logger, tracker: health.New(), pad: kiosk.NewKeyPad()}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	if n.o.MinFree == 0 {
		n.o.MinFree = DefaultMinFree
	}
	if n.o.DrainTimeout <= 0 {
		n.o.DrainTimeout = 10 * time.Second
	}
	if n.o.HealthInterval <= 0 {
		n.o.HealthInterval = 2 * time.Second
	}
	if n.o.HealthSettle <= 0 {
		n.o.HealthSettle = 10 * time.Second
	}
	defer func() {
		if err != nil {
			n.unwind()
			if o.Listener != nil && n.ln == nil { // the node owns it, also when New fails early
				_ = closeListener(o.Listener)()
			}
		}
	}()
	if err := n.resolve(); err != nil {
		return nil, err
	}
	steps := []struct {
		part  string
		build func(context.Context) error
	}{
		{"state", n.openState}, {"secrets", n.openSecrets}, {"store", n.openStore}, {"fleet", n.openFleet},
		{"face", n.openFace}, {"reader", n.openReader}, {"camera", n.openCamera}, {"kiosk", n.openKiosk}, {"web", n.openWeb},
	}
	for _, s := range steps {
		if err := s.build(ctx); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// push adds a cleanup to the stack.
func (n *Node) push(part string, fn func() error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.undo = append(n.undo, undoStep{part, fn})
}

// unwind runs the cleanup stack in reverse, once.
func (n *Node) unwind() {
	n.mu.Lock()
	steps := n.undo
	n.undo = nil
	n.mu.Unlock()
	for i := len(steps) - 1; i >= 0; i-- {
		if err := steps[i].fn(); err != nil {
			n.log.Warn("node: closing "+steps[i].part, "err", err)
		}
		n.log.Debug("node: closed", "part", steps[i].part)
	}
}

// Close releases a node that will not Run. Run closes the node itself when it returns.
func (n *Node) Close() error {
	if n.started.Load() {
		return errors.New("node: Close while Run owns the node")
	}
	n.unwind()
	return nil
}

// Addr is where the web server listens.
func (n *Node) Addr() net.Addr { return n.ln.Addr() }

// Health is the node's tracker of named conditions.
func (n *Node) Health() *health.Tracker { return n.tracker }

// Kiosk is the node's state machine (its events, for tests and the web page).
func (n *Node) Kiosk() *kiosk.Kiosk { return n.k }

// StateDir is the state folder in use (after resolution against the simulation's tree).
func (n *Node) StateDir() string { return n.cfg.StateDir }

// Run starts every worker and waits until ctx ends or one fails; a check in progress is let
// finish (at most DrainTimeout) and audited, the workers are waited for, and then the parts
// close in reverse order of their building, the store last.
func (n *Node) Run(ctx context.Context) error {
	if !n.started.CompareAndSwap(false, true) {
		return errors.New("node: Run called twice")
	}
	defer n.unwind()
	g, ctx := errgroup.WithContext(ctx)
	if n.templates != nil {
		g.Go(func() error { return followTemplates(ctx, n.templates, n.eng.Fusion(), n.gallery, n.rebuild, n.log) })
	}
	g.Go(func() error { return n.client.Run(ctx) })
	n.runDemo(ctx, g)
	g.Go(func() error { return n.srv.Serve(ctx, n.ln) })
	g.Go(func() error { n.srv.Observe(ctx); return nil })
	// The camera hub outlives ctx while the kiosk lets a check finish: it stops with the kiosk.
	hctx, stopHub := context.WithCancel(context.WithoutCancel(ctx))
	g.Go(func() error { return n.hub.Run(hctx) })
	g.Go(func() error { defer stopHub(); return n.runKiosk(ctx) })
	g.Go(func() error { return n.db.GC(ctx, 10*time.Minute, 0.5) })
	if n.cfg.Audit.KeepDays > 0 {
		g.Go(func() error {
			pruneAudit(ctx, n.auditLog, time.Duration(n.cfg.Audit.KeepDays)*24*time.Hour, time.Hour, n.log)
			return nil
		})
	}
	g.Go(func() error {
		p := health.Poller{Tracker: n.tracker, Checks: n.checks(), Logger: n.log, Settle: n.o.HealthSettle}
		p.Run(ctx, n.o.HealthInterval)
		return nil
	})
	g.Go(func() error { return notifySystemd(ctx, n.tracker) })
	n.log.Info("edgeid running", "kiosk", n.cfg.KioskID, "flow", n.cfg.Flow, "reader", n.cfg.Reader, "camera", n.cam.String(), "threshold", n.threshold)
	err := g.Wait()
	n.log.Debug("node: workers stopped")
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// runKiosk runs the state machine until ctx ends, then stops it in order: no new check
// starts, the one in progress may finish (bounded by DrainTimeout), and only then is the
// kiosk's own context cancelled. Its audit record is written either way.
func (n *Node) runKiosk(ctx context.Context) error {
	kctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- n.k.Run(kctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	if n.gate != nil {
		n.gate.close()
	}
	if busy(n.k.Current().Stage) {
		n.log.Info("stopping: letting the check in progress finish", "limit", n.o.DrainTimeout)
		limit := time.NewTimer(n.o.DrainTimeout)
		defer limit.Stop()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
	wait:
		for busy(n.k.Current().Stage) {
			select {
			case <-tick.C:
			case <-limit.C:
				n.log.Warn("stopping: the check in progress did not finish in time; it is recorded as aborted")
				break wait
			case err := <-done:
				return err
			}
		}
	}
	cancel()
	<-done
	return nil
}

// busy reports whether a check is between its start and its decision.
func busy(s kiosk.Stage) bool {
	switch s {
	case "", kiosk.StageIdle, kiosk.StageDecision, kiosk.StageRemoveCard:
		return false
	}
	return true
}

// simulationDemoDir is where the demo's photos are, under the simulation's tree.
func (n *Node) simulationDemoDir() string {
	return filepath.Join(n.o.SimulationDir, "testdata", "face")
}

// keys of the fleet: in simulation the demo back end makes its own.
type fleetKeys struct {
	fleet, collector         ed25519.PublicKey
	fleetPriv, collectorPriv ed25519.PrivateKey
}

func (n *Node) String() string { return fmt.Sprintf("node(%s)", n.cfg.KioskID) }
