package node

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/edgeid/edgeid/daemon/audit"
	"github.com/edgeid/edgeid/daemon/camerahub"
	"github.com/edgeid/edgeid/daemon/config"
	"github.com/edgeid/edgeid/daemon/document"
	"github.com/edgeid/edgeid/daemon/face"
	"github.com/edgeid/edgeid/daemon/fleet"
	"github.com/edgeid/edgeid/daemon/kiosk"
	"github.com/edgeid/edgeid/daemon/match"
	"github.com/edgeid/edgeid/daemon/mrzkey"
	"github.com/edgeid/edgeid/daemon/pad"
	"github.com/edgeid/edgeid/daemon/store"
	"github.com/edgeid/edgeid/daemon/web"
	"github.com/edgeid/edgeid/drivers/camera"
	"github.com/edgeid/edgeid/drivers/emrtd/pki"
	"github.com/edgeid/edgeid/drivers/nfc"
	"github.com/edgeid/edgeid/drivers/nfc/readers"
	"github.com/edgeid/edgeid/internal/boundedfile"
	"github.com/edgeid/edgeid/models"
	"github.com/prometheus/client_golang/prometheus"
	"gocv.io/x/gocv"
)

// resolve settles the paths and checks the whole configuration, files included, listing every
// problem at once. It writes nothing.
func (n *Node) resolve() error {
	c := &n.cfg
	if n.o.StateDir != "" {
		c.StateDir = n.o.StateDir
	}
	if n.o.ModelsDir != "" {
		c.ModelsDir = n.o.ModelsDir
	}
	var errs []error
	if c.Simulated() || c.Camera.Source == "demo" {
		if err := simulationMissing(); err != nil {
			return fmt.Errorf("configuration:\n%w", err) // before anything is looked for or started
		}
	}
	if c.Simulated() {
		if n.o.SimulationDir == "" {
			dir, err := findSimulationDir()
			if err != nil {
				errs = append(errs, err)
			}
			n.o.SimulationDir = dir
		}
		if n.o.SimulationDir != "" {
			c.StateDir = under(n.o.SimulationDir, c.StateDir)
			if c.ModelsDir != "" {
				c.ModelsDir = under(n.o.SimulationDir, c.ModelsDir)
			}
			if kind, arg, ok := strings.Cut(c.Camera.Source, ":"); ok && (kind == "folder" || kind == "file") {
				c.Camera.Source = kind + ":" + under(n.o.SimulationDir, arg)
			}
		}
	}
	errs = append(errs, c.Validate())
	if err := c.CheckFiles(); err != nil {
		errs = append(errs, err)
	}
	if c.StateDir != "" {
		if err := checkKey(c); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("configuration:\n%w", err)
	}
	return nil
}

// under resolves a relative path against root.
func under(root, p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(root, p)
}

// findSimulationDir finds the source tree whose testdata the simulation shows: the working
// directory (make run), else the folder above the binary's folder (bin/edgeid).
func findSimulationDir() (string, error) {
	var candidates []string
	if wd, err := os.Getwd(); err == nil {
		candidates = append(candidates, wd)
	}
	if exe, err := os.Executable(); err == nil {
		candidates = append(candidates, filepath.Dir(filepath.Dir(exe)))
	}
	for _, dir := range candidates {
		if st, err := os.Stat(filepath.Join(dir, "testdata", "face", "astronaut-320.jp2")); err == nil && st.Mode().IsRegular() {
			return dir, nil
		}
	}
	return "", fmt.Errorf("simulation: no source tree with testdata/face in %q: the simulation runs from a checkout (make run)", candidates)
}

// openState checks the state disk's free space and makes the state folder.
func (n *Node) openState(context.Context) error {
	n.disk = &diskCheck{dir: n.cfg.StateDir, min: n.o.MinFree}
	if err := n.disk.atStart(); err != nil {
		return err
	}
	if err := os.MkdirAll(n.cfg.StateDir, 0o700); err != nil {
		return err
	}
	return n.disk.atStart() // the folder may sit on another disk than its parent
}

func (n *Node) openSecrets(context.Context) error {
	sec, err := loadSecrets(&n.cfg, n.log)
	n.sec = sec
	return err
}

// openStore opens the store, the revocation list and the audit log, after one more look at
// the disk: Badger on a full disk dies of SIGBUS in its memory-mapped memtable.
func (n *Node) openStore(ctx context.Context) error {
	if err := n.disk.atStart(); err != nil {
		return err
	}
	so := store.DefaultOpts()
	so.Dir, so.EncryptionKey, so.Logger = filepath.Join(n.cfg.StateDir, "db"), n.sec.store, n.log
	db, err := store.Open(&so)
	if err != nil {
		return err
	}
	n.db = db
	n.push("store", db.Halt)
	keys, err := n.fleetKeys()
	if err != nil {
		return err
	}
	n.reg = prometheus.NewRegistry()
	n.metrics = fleet.NewMetrics(n.reg)
	ro := fleet.DefaultRevocationOpts()
	ro.Keys, ro.Logger, ro.Metrics = fleet.NewKeyring(keys.fleet), n.log, n.metrics
	ro.Policy = fleet.WarnWhenStale // the kiosk's policy decides what staleness means
	if n.rev, err = fleet.NewRevocations(ctx, db, &ro); err != nil {
		return err
	}
	n.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edgeid_revocation_list_expires_in_seconds",
		Help: "Time until the revocation list in force expires (negative: stale)."}, func() float64 {
		_, exp := n.rev.Version()
		return time.Until(exp).Seconds()
	}))
	n.auditLog, err = audit.New(db, &audit.Opts{Kiosk: n.cfg.KioskID, SigningKey: n.sec.checkpoint, DocKey: n.sec.docHMAC})
	if err != nil {
		return err
	}
	// Enrolled templates for the 1:N gallery, which follows every change.
	n.gallery = match.NewIndex(nil)
	n.rebuild = make(chan struct{}, 1)
	if n.cfg.Fleet.Site != "" {
		n.templates, err = fleet.NewTemplates(ctx, db, &fleet.TemplateOpts{Site: n.cfg.Fleet.Site, Keys: fleet.NewKeyring(keys.fleet), Logger: n.log, Metrics: n.metrics,
			OnChange: func() {
				select {
				case n.rebuild <- struct{}{}:
				default:
				}
			}})
	}
	n.keys = keys
	return err
}

// fleetKeys are the fleet's public keys; in simulation the demo back end makes its own pair.
func (n *Node) fleetKeys() (fleetKeys, error) {
	var k fleetKeys
	var err error
	if n.cfg.Simulated() {
		k.fleet, k.fleetPriv, _ = ed25519.GenerateKey(rand.Reader)
		k.collector, k.collectorPriv, _ = ed25519.GenerateKey(rand.Reader)
		return k, nil
	}
	if k.fleet, err = fleet.LoadPublicKey(n.cfg.Fleet.FleetKeyFile); err != nil {
		return k, err
	}
	k.collector, err = fleet.LoadPublicKey(n.cfg.Fleet.CollectorKeyFile)
	return k, err
}

// openFleet makes the fleet link (and, in simulation, a broker of its own); the link starts
// talking only in Run.
func (n *Node) openFleet(context.Context) error {
	brokerURL := n.cfg.Fleet.Broker
	var tlsConf *tls.Config
	var err error
	if brokerURL == "embedded" {
		b, err := fleet.StartEmbeddedBroker("127.0.0.1:0", nil)
		if err != nil {
			return err
		}
		closeBroker := sync.OnceValue(b.Close) // once: the test stops it early too
		n.broker = closeBroker
		n.push("embedded broker", closeBroker)
		brokerURL = b.URL
		n.log.Info("simulation: in-process MQTT broker", "url", brokerURL)
	} else if tlsConf, err = clientTLS(&n.cfg); err != nil {
		return err
	}
	n.brokerURL = brokerURL
	n.client, err = fleet.NewClient(&fleet.ClientOpts{Broker: brokerURL, TLS: tlsConf, Fleet: n.cfg.Fleet.Name, Kiosk: n.cfg.KioskID, Site: n.cfg.Fleet.Site,
		SessionDir: filepath.Join(n.cfg.StateDir, "mqtt"), Revocations: n.rev, Templates: n.templates, Audit: n.auditLog,
		AckKeys: fleet.NewKeyring(n.keys.collector), Logger: n.log, Metrics: n.metrics})
	return err
}

// openFace loads the face engine and settles the decision threshold.
func (n *Node) openFace(context.Context) error {
	man, err := models.Builtin()
	if err != nil {
		return err
	}
	n.man = man
	modelDir := n.cfg.ModelsDir
	if modelDir == "" {
		candidates := []string{"models", "/usr/share/edgeid/models"}
		if n.o.SimulationDir != "" {
			candidates = append([]string{filepath.Join(n.o.SimulationDir, "models")}, candidates...)
		}
		if exe, err := os.Executable(); err == nil {
			candidates = append(candidates, filepath.Join(filepath.Dir(exe), "..", "models"))
		}
		if modelDir, err = man.FindDir(candidates...); err != nil {
			return fmt.Errorf("%w (set models_dir in the configuration)", err)
		}
	}
	n.modelDir = modelDir
	fo := face.DefaultOpts()
	fo.ModelDir = modelDir
	eng, err := face.New(&fo)
	if err != nil {
		return err
	}
	n.eng = eng
	n.push("face engine", func() error { eng.Close(); return nil })
	// The fused thresholds shipped in the manifest (make calibrate) unless the configuration
	// names its own.
	accept, reject := eng.Thresholds()
	n.threshold, n.rejectThreshold = n.cfg.Policy.FaceThreshold, n.cfg.Policy.FaceRejectThreshold
	if n.threshold == 0 {
		n.threshold = accept
	}
	if n.rejectThreshold == 0 {
		n.rejectThreshold = max(reject, n.threshold)
	}
	return nil
}

// openReader opens the reader, the access keys and the trust store (the document flow only):
// the demo's, or the real ones.
func (n *Node) openReader(ctx context.Context) error {
	if n.cfg.Flow != kiosk.FlowDocument {
		return nil
	}
	var trust *pki.TrustStore
	var keys kiosk.KeySource = n.pad
	if n.cfg.Simulated() {
		var err error
		if trust, keys, err = n.openDemoReader(ctx); err != nil {
			return err
		}
	} else {
		sel, err := nfc.ParseSelector(n.cfg.Reader)
		if err != nil {
			return err
		}
		if n.reader, err = readers.Open(ctx, sel, readers.Opts{}); err != nil {
			return err
		}
		n.push("reader", n.reader.Halt)
		if trust, err = pki.LoadTrustStore(filepath.Join(n.cfg.StateDir, "trust")); err != nil {
			return err
		}
	}
	docs, err := document.New(document.Opts{Trust: trust})
	if err != nil {
		return err
	}
	n.keySource, n.docs = keys, docs
	n.gate = newGate(kiosk.FromNFC(n.reader), n.disk.ready)
	return nil
}

// nodeCamera is a camera with a health status: drivers/camera's, or the simulation's.
type nodeCamera interface {
	kiosk.Camera
	Status() camera.Status
	String() string
}

// openCamera opens the camera: images go through the guarded, size-limited decoder. The
// simulation's "demo" camera shows the demo documents' data pages, then the face, in step
// with the emulated reader and the kiosk's stage. The hub shares the camera: the kiosk and the
// key source read frames through it, the screen sees its picture.
func (n *Node) openCamera(context.Context) error {
	c := n.cfg.Camera
	if c.Source == "demo" {
		cam, err := n.openDemoCamera()
		if err != nil {
			return err
		}
		n.cam = cam
		n.openHub(c.FPS)
		return nil
	}
	co := camera.DefaultOpts()
	co.Source, co.Width, co.Height, co.FPS = c.Source, c.Width, c.Height, c.FPS
	co.Loop = strings.HasPrefix(co.Source, "folder:") || strings.HasPrefix(co.Source, "file:")
	co.Decode = func(b []byte) (gocv.Mat, error) {
		m, _, err := face.Decode(b, face.DefaultLimits(), "camera frame")
		return m, err
	}
	cam, err := camera.New(&co)
	if err != nil {
		return err
	}
	n.cam = cam
	n.push("camera", cam.Halt)
	n.openHub(co.FPS)
	return nil
}

// openHub puts the hub in front of n.cam, reading at most fps frames a second.
func (n *Node) openHub(fps int) {
	var every time.Duration
	if fps > 0 {
		every = time.Second / time.Duration(fps)
	}
	n.hub = camerahub.New(n.cam, camerahub.Opts{Interval: every})
	n.push("camera hub", n.hub.Close)
}

// prompt is the detail of the kiosk's current event ("" before it is built).
func (n *Node) prompt() string {
	if n.k == nil {
		return ""
	}
	return n.k.Current().Detail
}

// stage is the kiosk's current stage (idle before it is built).
func (n *Node) stage() kiosk.Stage {
	if n.k == nil {
		return kiosk.StageIdle
	}
	return n.k.Current().Stage
}

// cameraKeys is the camera access-key source: the MRZ read from the camera, the keypad as
// fallback. Its numbers (frames, reading time) are logged; the MRZ never is.
func (n *Node) cameraKeys() (kiosk.KeySource, error) {
	rd, votes, err := mrzkey.NewReader(n.man, n.modelDir)
	if err != nil {
		return nil, fmt.Errorf("camera access key: %w", err)
	}
	return &mrzkey.Source{Camera: n.hub.Reader(), Reader: rd, Keypad: n.pad, Votes: votes, Timeout: n.cfg.Policy.CameraKeyWait(),
		Stats: func(s mrzkey.Stats) {
			n.mu.Lock()
			n.mrzStats = s
			n.mu.Unlock()
			ms := 0.0
			if s.Frames > 0 {
				ms = float64(s.ReadTime.Microseconds()) / 1000 / float64(s.Frames)
			}
			n.log.Info("camera access key", "read", s.Read, "frames", s.Frames, "ms_per_frame", ms)
		}}, nil
}

// openKiosk builds the state machine from the parts and the policy.
func (n *Node) openKiosk(context.Context) error {
	act := n.o.Actuator
	if act == nil {
		var err error
		if act, err = actuator(&n.cfg, n.log); err != nil {
			return err
		}
	}
	p := n.cfg.Policy
	pol := kiosk.DefaultPolicy(n.threshold, n.rejectThreshold)
	pol.ReferralTimeout, pol.FaceFrames = time.Duration(p.ReferralTimeout), p.FaceFrames
	pol.RequireActiveAuth, pol.RequireChipAuth = p.RequireActiveAuth, p.RequireChipAuth
	pol.RefuseStaleRevocations = p.StaleRevocations == "refuse"
	pol.AccessKeyTimeout, pol.ReadTimeout = time.Duration(p.AccessKeyTimeout), time.Duration(p.ReadTimeout)
	pol.CaptureTimeout, pol.CaptureWindow = time.Duration(p.CaptureTimeout), time.Duration(p.CaptureWindow)
	pol.LivenessChecks = p.LivenessChecks
	for _, m := range p.ChallengeMoves {
		pol.ChallengeKinds = append(pol.ChallengeKinds, pad.Move(m))
	}
	if pol.Liveness = p.Liveness; pol.Liveness {
		var err error
		if pol.LivenessSameFace, err = face.SameFaceDistance(n.man); err != nil {
			return err
		}
	} else {
		n.log.Warn("presentation-attack checks are off (policy.liveness): a photo held up to the camera is not refused")
	}
	if n.cfg.Flow == kiosk.FlowDocument && p.AccessKey == "camera" {
		var err error
		if n.keySource, err = n.cameraKeys(); err != nil {
			return err
		}
	}
	parts := kiosk.Parts{Keys: n.keySource, Documents: n.docs, Revocations: revocationsAdapter{n.rev, time.Now},
		Camera: n.hub.Reader(), Faces: n.eng, Actuator: act, Audit: auditAdapter{n.auditLog}, Gallery: n.gallery}
	if n.cfg.Flow == kiosk.FlowDocument {
		parts.Reader = n.gate
	} else {
		n.gate = newGate(nil, n.disk.ready) // the enrolled flow starts a check on a face
		parts.Camera = cameraGate{Camera: n.hub.Reader(), g: n.gate, idle: func() bool { return !busy(n.k.Current().Stage) }}
	}
	k, err := kiosk.New(parts, kiosk.Opts{Flow: n.cfg.Flow, Policy: pol, Logger: n.log})
	n.k = k
	return err
}

// openWeb builds the web server and takes its listener, last: a taken port undoes all the rest.
func (n *Node) openWeb(context.Context) error {
	token := ""
	if f := n.cfg.Web.AttendantTokenFile; f != "" {
		var err error
		if token, err = web.LoadAttendantToken(f); err != nil {
			return err
		}
	}
	srv, err := web.New(n.k, n.pad, web.Opts{AttendantToken: token, Listen: n.cfg.Web.Listen, Referrals: n.k, Live: n.hub, Registry: n.reg, Health: n.tracker, Logger: n.log})
	if err != nil {
		return err
	}
	n.srv = srv
	ln := n.o.Listener
	if ln == nil {
		if ln, err = net.Listen("tcp", n.cfg.Web.Listen); err != nil {
			return err
		}
	}
	n.ln = ln
	n.push("listener", closeListener(ln))
	n.log.Info("kiosk page", "url", "http://"+ln.Addr().String()+"/", "attendant", "http://"+ln.Addr().String()+"/attendant")
	return nil
}

func clientTLS(cfg *config.Config) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(cfg.Fleet.CertFile, cfg.Fleet.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("fleet client certificate: %w", err)
	}
	pem, err := boundedfile.ReadFile(cfg.Fleet.CAFile, boundedfile.Key)
	if err != nil {
		return nil, fmt.Errorf("fleet CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("fleet CA %s holds no certificate", cfg.Fleet.CAFile)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

func closeListener(ln net.Listener) func() error {
	return func() error {
		if err := ln.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			return err
		}
		return nil
	}
}
