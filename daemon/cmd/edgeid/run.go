package main

import (
	"context"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/coreos/go-systemd/v22/daemon"
	"github.com/edgeid/edgeid/daemon/audit"
	"github.com/edgeid/edgeid/daemon/cmd/internal/cli"
	"github.com/edgeid/edgeid/daemon/config"
	"github.com/edgeid/edgeid/daemon/demo"
	"github.com/edgeid/edgeid/daemon/document"
	"github.com/edgeid/edgeid/daemon/face"
	"github.com/edgeid/edgeid/daemon/fleet"
	"github.com/edgeid/edgeid/daemon/health"
	"github.com/edgeid/edgeid/daemon/kiosk"
	"github.com/edgeid/edgeid/daemon/match"
	"github.com/edgeid/edgeid/daemon/store"
	"github.com/edgeid/edgeid/daemon/web"
	"github.com/edgeid/edgeid/drivers/camera"
	"github.com/edgeid/edgeid/drivers/emrtd"
	"github.com/edgeid/edgeid/drivers/gpio"
	"github.com/edgeid/edgeid/drivers/nfc"
	"github.com/edgeid/edgeid/drivers/nfc/readers"
	"github.com/edgeid/edgeid/models"
	"github.com/prometheus/client_golang/prometheus"
	"gocv.io/x/gocv"
	"golang.org/x/sync/errgroup"
	pgpio "periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpioreg"
	"periph.io/x/host/v3"
)

func runRun(ctx context.Context, e env, args []string) error {
	fs := newFlags(e, "run", "")
	cfgPath := fs.String("config", "", "configuration file (default: the embedded simulation defaults)")
	pos, err := cli.ParseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return cli.Usagef("run takes no arguments")
	}
	cfg, err := config.Defaults()
	if *cfgPath != "" {
		cfg, err = config.Load(*cfgPath)
	}
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(e.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	return runDaemon(ctx, cfg, log, daemonHooks{})
}

// daemonHooks let the end-to-end test watch the daemon from outside: where the web server
// listens, and the outputs, where no GPIO exists.
type daemonHooks struct {
	actuator  kiosk.Actuator
	listening func(addr string)
}

// secrets are the kiosk's keys, all derived from the store key so that one secret (a file of
// mode 0600 or a systemd credential) is the whole of the kiosk's identity at rest.
type secrets struct {
	store      []byte
	docHMAC    []byte
	checkpoint ed25519.PrivateKey
}

func derive(storeKey []byte, label string) []byte {
	m := hmac.New(sha256.New, storeKey)
	m.Write([]byte("edgeid " + label))
	return m.Sum(nil)
}

func loadSecrets(cfg *config.Config, log *slog.Logger) (*secrets, error) {
	path := cfg.StoreKeyFile
	if path == "" {
		if cred := os.Getenv("CREDENTIALS_DIRECTORY"); cred != "" {
			path = filepath.Join(cred, "store-key")
		} else {
			path = filepath.Join(cfg.StateDir, "store.key")
		}
	}
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) && cfg.Reader == "sim" {
		// Simulation makes its own key; a real kiosk gets one at installation.
		k := make([]byte, 32)
		rand.Read(k)
		if err := os.WriteFile(path, []byte(hex.EncodeToString(k)+"\n"), 0o600); err != nil {
			return nil, err
		}
		log.Info("simulation: generated a store key", "file", path)
	}
	key, err := store.LoadKeyFile(path)
	if err != nil {
		return nil, err
	}
	return &secrets{store: key, docHMAC: derive(key, "document hmac"), checkpoint: ed25519.NewKeyFromSeed(derive(key, "checkpoint key"))}, nil
}

func runDaemon(ctx context.Context, cfg *config.Config, log *slog.Logger, hooks daemonHooks) error {
	if err := os.MkdirAll(cfg.StateDir, 0o700); err != nil {
		return err
	}
	sec, err := loadSecrets(cfg, log)
	if err != nil {
		return err
	}
	sim := cfg.Reader == "sim"
	now := time.Now

	// Local store, revocations and audit log.
	so := store.DefaultOpts()
	so.Dir, so.EncryptionKey, so.Logger = filepath.Join(cfg.StateDir, "db"), sec.store, log
	db, err := store.Open(&so)
	if err != nil {
		return err
	}
	defer db.Halt()

	// Keys of the fleet: in simulation the demo back end below makes its own.
	var fleetKey, collectorKey ed25519.PrivateKey
	var fleetPub, collectorPub ed25519.PublicKey
	if sim {
		fleetPub, fleetKey, _ = ed25519.GenerateKey(rand.Reader)
		collectorPub, collectorKey, _ = ed25519.GenerateKey(rand.Reader)
	} else {
		if fleetPub, err = fleet.LoadPublicKey(cfg.Fleet.FleetKeyFile); err != nil {
			return err
		}
		if collectorPub, err = fleet.LoadPublicKey(cfg.Fleet.CollectorKeyFile); err != nil {
			return err
		}
	}
	reg := prometheus.NewRegistry()
	fleetMetrics := fleet.NewMetrics(reg)
	ro := fleet.DefaultRevocationOpts()
	ro.Keys, ro.Logger, ro.Metrics = fleet.NewKeyring(fleetPub), log, fleetMetrics
	ro.Policy = fleet.WarnWhenStale // the kiosk's policy decides what staleness means
	rev, err := fleet.NewRevocations(ctx, db, &ro)
	if err != nil {
		return err
	}
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "edgeid_revocation_list_expires_in_seconds",
		Help: "Time until the revocation list in force expires (negative: stale)."}, func() float64 {
		_, exp := rev.Version()
		return time.Until(exp).Seconds()
	}))
	auditLog, err := audit.New(db, &audit.Opts{Kiosk: cfg.KioskID, SigningKey: sec.checkpoint, DocKey: sec.docHMAC})
	if err != nil {
		return err
	}
	// Enrolled templates for the 1:N gallery, which follows every change.
	gallery := match.NewIndex(nil)
	rebuild := make(chan struct{}, 1)
	var templates *fleet.Templates
	if cfg.Fleet.Site != "" {
		templates, err = fleet.NewTemplates(ctx, db, &fleet.TemplateOpts{Site: cfg.Fleet.Site, Keys: fleet.NewKeyring(fleetPub), Logger: log, Metrics: fleetMetrics,
			OnChange: func() {
				select {
				case rebuild <- struct{}{}:
				default:
				}
			}})
		if err != nil {
			return err
		}
	}

	// Face engine and the decision threshold.
	man, err := models.Builtin()
	if err != nil {
		return err
	}
	modelDir := cfg.ModelsDir
	if modelDir == "" {
		candidates := []string{"models", "/usr/share/edgeid/models"}
		if exe, err := os.Executable(); err == nil {
			candidates = append(candidates, filepath.Join(filepath.Dir(exe), "..", "models"))
		}
		if modelDir, err = man.FindDir(candidates...); err != nil {
			return err
		}
	}
	fo := face.DefaultOpts()
	fo.ModelDir = modelDir
	eng, err := face.New(&fo)
	if err != nil {
		return err
	}
	defer eng.Close()
	threshold, rejectThreshold := cfg.Policy.FaceThreshold, cfg.Policy.FaceRejectThreshold
	if threshold == 0 || rejectThreshold == 0 {
		rec, err := man.Get(face.RecognizerModel)
		if err != nil {
			return err
		}
		if threshold == 0 {
			if threshold = rec.Thresholds[defaultOperatingPoint]; threshold == 0 {
				return fmt.Errorf("the model manifest has no %s threshold", defaultOperatingPoint)
			}
		}
		if rejectThreshold == 0 {
			rejectThreshold = manifestRejectThreshold(rec.Thresholds, threshold)
		}
	}

	g, ctx := errgroup.WithContext(ctx)
	tracker := health.New()
	if templates != nil {
		g.Go(func() error { return followTemplates(ctx, templates, gallery, rebuild, log) })
	}

	// Reader, access keys, trust and documents (the document flow only): the demo's or real.
	var reader nfc.Reader
	var keys kiosk.KeySource
	var docs kiosk.DocumentReader
	var kr kiosk.Reader
	pad := kiosk.NewKeyPad()
	var dm *demo.Demo
	if cfg.Flow == kiosk.FlowDocument {
		var trust *emrtd.TrustStore
		if sim {
			if dm, err = demo.New(ctx, "testdata/face", time.Now()); err != nil {
				return err
			}
			reader, trust, keys = dm.Reader, dm.Trust, dm
		} else {
			sel, err := nfc.ParseSelector(cfg.Reader)
			if err != nil {
				return err
			}
			if reader, err = readers.Open(ctx, sel, readers.Opts{}); err != nil {
				return err
			}
			if trust, err = emrtd.LoadTrustStore(filepath.Join(cfg.StateDir, "trust")); err != nil {
				return err
			}
			keys = pad
		}
		defer reader.Halt()
		if docs, err = document.New(document.Opts{Trust: trust}); err != nil {
			return err
		}
		kr = kiosk.FromNFC(reader)
	}

	// Camera: images go through the guarded, size-limited decoder.
	co := camera.DefaultOpts()
	co.Source, co.Width, co.Height, co.FPS = cfg.Camera.Source, cfg.Camera.Width, cfg.Camera.Height, cfg.Camera.FPS
	co.Loop = strings.HasPrefix(co.Source, "folder:") || strings.HasPrefix(co.Source, "file:")
	co.Decode = func(b []byte) (gocv.Mat, error) {
		m, _, err := face.Decode(b, face.DefaultLimits(), "camera frame")
		return m, err
	}
	cam, err := camera.New(&co)
	if err != nil {
		return err
	}
	defer cam.Halt()

	act := hooks.actuator
	if act == nil {
		if act, err = actuator(cfg, log); err != nil {
			return err
		}
	}

	// The fleet link (and, in simulation, a broker and a fleet back end of its own).
	brokerURL := cfg.Fleet.Broker
	var tlsConf *tls.Config
	if cfg.Fleet.Broker == "embedded" {
		b, err := fleet.StartEmbeddedBroker("127.0.0.1:0", nil)
		if err != nil {
			return err
		}
		defer b.Close()
		brokerURL = b.URL
		log.Info("simulation: in-process MQTT broker", "url", brokerURL)
	} else if tlsConf, err = clientTLS(cfg); err != nil {
		return err
	}
	client, err := fleet.NewClient(&fleet.ClientOpts{Broker: brokerURL, TLS: tlsConf, Fleet: cfg.Fleet.Name, Kiosk: cfg.KioskID, Site: cfg.Fleet.Site,
		SessionDir: filepath.Join(cfg.StateDir, "mqtt"), Revocations: rev, Templates: templates, Audit: auditLog, AckKeys: fleet.NewKeyring(collectorPub), Logger: log, Metrics: fleetMetrics})
	if err != nil {
		return err
	}
	g.Go(func() error { return client.Run(ctx) })
	if sim {
		if err := demoBackEnd(ctx, g, cfg, brokerURL, dm, fleetKey, collectorKey, sec.checkpoint.Public().(ed25519.PublicKey), log); err != nil {
			return err
		}
	}

	pol := kiosk.DefaultPolicy(threshold, rejectThreshold)
	pol.ReferralTimeout, pol.FaceFrames = time.Duration(cfg.Policy.ReferralTimeout), cfg.Policy.FaceFrames
	pol.RequireActiveAuth, pol.RequireChipAuth = cfg.Policy.RequireActiveAuth, cfg.Policy.RequireChipAuth
	pol.RefuseStaleRevocations = cfg.Policy.StaleRevocations == "refuse"
	pol.AccessKeyTimeout, pol.ReadTimeout = time.Duration(cfg.Policy.AccessKeyTimeout), time.Duration(cfg.Policy.ReadTimeout)
	pol.CaptureTimeout, pol.CaptureWindow = time.Duration(cfg.Policy.CaptureTimeout), time.Duration(cfg.Policy.CaptureWindow)
	pol.LivenessChecks = cfg.Policy.LivenessChecks
	if pol.Liveness = cfg.Policy.Liveness; pol.Liveness {
		if pol.LivenessSameFace, err = sameFaceDistance(man); err != nil {
			return err
		}
	} else {
		log.Warn("presentation-attack checks are off (policy.liveness): a photo held up to the camera is not refused")
	}
	k, err := kiosk.New(kiosk.Parts{
		Reader: kr, Keys: keys, Documents: docs, Revocations: revocationsAdapter{rev, now},
		Camera: cam, Faces: eng, Actuator: act, Audit: auditAdapter{auditLog}, Gallery: gallery,
	}, kiosk.Opts{Flow: cfg.Flow, Policy: pol, Logger: log})
	if err != nil {
		return err
	}

	token := ""
	if cfg.Web.AttendantTokenFile != "" {
		b, err := os.ReadFile(cfg.Web.AttendantTokenFile)
		if err != nil {
			return err
		}
		token = strings.TrimSpace(string(b))
	}
	srv, err := web.New(k, pad, web.Opts{AttendantToken: token, Registry: reg, Health: tracker, Logger: log, Referrals: k})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Web.Listen)
	if err != nil {
		return err
	}
	log.Info("kiosk page", "url", "http://"+ln.Addr().String()+"/", "attendant", "http://"+ln.Addr().String()+"/attendant")
	if hooks.listening != nil {
		hooks.listening(ln.Addr().String())
	}

	g.Go(func() error { return srv.Serve(ctx, ln) })
	g.Go(func() error { srv.Observe(ctx); return nil })
	g.Go(func() error { return k.Run(ctx) })
	g.Go(func() error { return db.GC(ctx, 10*time.Minute, 0.5) })
	if cfg.Audit.KeepDays > 0 {
		g.Go(func() error {
			pruneAudit(ctx, auditLog, time.Duration(cfg.Audit.KeepDays)*24*time.Hour, time.Hour, log)
			return nil
		})
	}
	g.Go(func() error {
		watchHealth(ctx, tracker, reader, cam, rev, auditLog, now)
		return nil
	})
	if dm != nil {
		events, stop := k.Subscribe()
		g.Go(func() error {
			defer stop()
			return dm.Present(ctx, events, time.Duration(cfg.Simulation.Interval))
		})
	}
	g.Go(func() error { return notifySystemd(ctx, tracker) })
	log.Info("edgeid running", "kiosk", cfg.KioskID, "flow", cfg.Flow, "reader", cfg.Reader, "camera", cam.String(), "threshold", threshold)
	err = g.Wait()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// followTemplates keeps the gallery in step with the enrolled templates: rebuilt on every
// change and every minute (templates expire), swapped in without blocking searches.
func followTemplates(ctx context.Context, t *fleet.Templates, idx *match.Index, changed <-chan struct{}, log *slog.Logger) error {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		var entries []match.Entry
		for _, tp := range t.Snapshot(time.Now(), face.RecognizerModel) {
			tm, err := match.ParseTemplate(tp.Data)
			if err != nil || tm.Model != tp.Model {
				log.Warn("enrolled template refused", "identity", tp.Identity, "err", err)
				continue
			}
			entries = append(entries, match.Entry{ID: tp.Identity, Template: tm})
		}
		g, err := match.NewGallery(face.RecognizerModel, 128, entries)
		if err != nil {
			log.Error("gallery not rebuilt", "err", err)
		} else {
			idx.Replace(g)
			log.Info("gallery", "enrolled", g.Len(), "kernel", g.Kernel())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-changed:
		case <-tick.C:
		}
	}
}

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

// auditAdapter writes kiosk decisions to the hash-chained log; the log hashes the number.
type auditAdapter struct{ l *audit.Log }

func (a auditAdapter) Append(ctx context.Context, r kiosk.Record) error {
	scores := map[string]float64{}
	if r.FaceDistance > 0 {
		scores["face_distance"], scores["face_threshold"] = r.FaceDistance, r.FaceAccept
		scores["face_reject_threshold"] = r.FaceReject
	}
	reasons := append([]string{}, r.Reasons...)
	for _, c := range r.Checks {
		reasons = append(reasons, c.Name+":"+string(c.Status))
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

// manifestRejectThreshold is the distance above which a face is rejected outright when the
// configuration leaves it to the manifest: the manifest's "reject" threshold when it has one
// (the fused-score calibration ships it), else its far_1e-2 point (a genuine face is rarely
// that far; faces between far_1e-3 and far_1e-2 go to the attendant), never below accept.
func manifestRejectThreshold(thresholds map[string]float64, accept float64) float64 {
	t := thresholds["reject"]
	if t == 0 {
		t = thresholds["far_1e-2"]
	}
	return max(t, accept)
}

// logActuator stands in for absent outputs: decisions still show on screen and in the log.
type logActuator struct{ log *slog.Logger }

func (a logActuator) Pulse(context.Context) error {
	a.log.Info("relay pulse (no GPIO configured)")
	return nil
}
func (a logActuator) Indicate(kiosk.Signal) error { return nil }
func (a logActuator) Beep(context.Context, int) error {
	return nil
}

type gpioActuator struct{ d *gpio.Dev }

func (a gpioActuator) Pulse(ctx context.Context) error       { return a.d.Pulse(ctx) }
func (a gpioActuator) Indicate(s kiosk.Signal) error         { return a.d.Indicate(gpio.Signal(s)) }
func (a gpioActuator) Beep(ctx context.Context, n int) error { return a.d.Beep(ctx, n) }

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

func clientTLS(cfg *config.Config) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(cfg.Fleet.CertFile, cfg.Fleet.KeyFile)
	if err != nil {
		return nil, fmt.Errorf("fleet client certificate: %w", err)
	}
	pem, err := os.ReadFile(cfg.Fleet.CAFile)
	if err != nil {
		return nil, fmt.Errorf("fleet CA: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("fleet CA %s holds no certificate", cfg.Fleet.CAFile)
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool, MinVersion: tls.VersionTLS12}, nil
}

// watchHealth keeps the named conditions current for /healthz, the metrics and the watchdog.
func watchHealth(ctx context.Context, t *health.Tracker, r nfc.Reader, cam *camera.Dev, rev *fleet.Revocations, l *audit.Log, now func() time.Time) {
	tick := time.NewTicker(2 * time.Second)
	defer tick.Stop()
	for {
		if r != nil {
			if err := r.Health(); err != nil {
				t.Set("reader", false, err.Error())
			} else {
				t.Set("reader", true, "")
			}
		}
		if st := cam.Status(); st.OK || st.Reason == "not opened yet" {
			t.Set("camera", true, "")
		} else {
			t.Set("camera", false, st.Reason)
		}
		if v, exp := rev.Version(); rev.Stale(now()) {
			t.Set("revocations", false, fmt.Sprintf("list version %d is stale or missing (expiry %s)", v, exp.Format(time.RFC3339)))
		} else {
			t.Set("revocations", true, fmt.Sprintf("version %d", v))
		}
		if n, err := l.OutboxLen(ctx); err == nil {
			t.Set("audit_outbox", n < 10000, fmt.Sprintf("%d records waiting for the collector", n))
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// notifySystemd says READY once running and pings the watchdog while the daemon is healthy
// enough to check people (the web server and kiosk loop run; a reader fault is reported by
// health, not by letting systemd restart us in a loop).
func notifySystemd(ctx context.Context, t *health.Tracker) error {
	daemon.SdNotify(false, daemon.SdNotifyReady)
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil || interval == 0 {
		<-ctx.Done()
		return nil
	}
	tick := time.NewTicker(interval / 2)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			daemon.SdNotify(false, daemon.SdNotifyStopping)
			return nil
		case <-tick.C:
			daemon.SdNotify(false, daemon.SdNotifyWatchdog)
		}
	}
}

// demoBackEnd plays the fleet in simulation: it publishes a signed revocation snapshot that
// names the demo's revoked passport, and collects and acknowledges the kiosk's audit records.
func demoBackEnd(ctx context.Context, g *errgroup.Group, cfg *config.Config, broker string, dm *demo.Demo,
	fleetKey, collectorKey ed25519.PrivateKey, kioskPub ed25519.PublicKey, log *slog.Logger) error {
	list := &fleet.RevocationList{Version: uint64(time.Now().Unix()), Issued: time.Now(), Expires: time.Now().Add(24 * time.Hour)}
	for _, d := range dm.Revoked() {
		list.Add = append(list.Add, fleet.DocumentEntry(d.State, d.Number))
	}
	cl, err := fleet.Dial(ctx, fleet.Conn{Broker: broker, ClientID: "demo-fleet"})
	if err != nil {
		return err
	}
	defer cl.Disconnect(100)
	if err := fleet.Publish(ctx, cl, fleet.NewTopics(cfg.Fleet.Name).RevSnapshot(), fleet.Seal(fleet.KindRevocations, list.Marshal(), fleetKey), true); err != nil {
		return err
	}
	// The collected file outlives a run, as the kiosk's store does: the collector resumes
	// from it, or it would stand at record 0 while the kiosk's earlier records are acked.
	path := filepath.Join(cfg.StateDir, "collected-audit.jsonl")
	start, err := fleet.ResumePositions(path)
	if err != nil {
		return fmt.Errorf("simulation: %w", err)
	}
	out, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	col, err := fleet.NewCollector(&fleet.CollectorOpts{Broker: broker, Fleet: cfg.Fleet.Name, ClientID: "demo-collector", CleanSession: true,
		Key: collectorKey, KioskKeys: map[string]ed25519.PublicKey{cfg.KioskID: kioskPub}, Out: out, Sync: out.Sync, Start: start, Logger: log})
	if err != nil {
		out.Close()
		return err
	}
	g.Go(func() error {
		defer out.Close()
		return col.Run(ctx)
	})
	log.Info("simulation: fleet back end published the revocation list and collects audit records",
		"revoked", len(list.Add), "audit_file", out.Name())
	return nil
}

// pruneAudit deletes the collected audit records older than keep, at start and then every
// period, until ctx ends. A failed pass is logged and tried again at the next one.
func pruneAudit(ctx context.Context, l *audit.Log, keep, period time.Duration, log *slog.Logger) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		n, err := l.PruneBefore(ctx, time.Now().Add(-keep))
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			log.Warn("audit: pruning collected records failed", "err", err)
		case n > 0:
			log.Info("audit: pruned collected records", "records", n, "older_than", keep)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
