// Package config reads the daemon's one configuration file: versioned JSON, strictly parsed
// (an unknown or misspelt field is an error, not a silent default), and validated as a whole
// at start-up so that a kiosk never runs half-configured.
package config

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/edgeid/edgeid/internal/boundedfile"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Version is the configuration format this daemon reads.
const Version = 1

// Duration is a time.Duration written as "3s", "500ms".
type Duration time.Duration

// UnmarshalJSON reads a Go duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`a duration is a string such as "3s"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// Config is the whole file.
type Config struct {
	Version  int    `json:"version"`
	KioskID  string `json:"kiosk_id"`
	StateDir string `json:"state_dir"`
	// StoreKeyFile holds the store's AES key (and the seed of the kiosk's other secrets);
	// empty: $CREDENTIALS_DIRECTORY/store-key under systemd, else state_dir/store.key.
	StoreKeyFile string `json:"store_key_file"`
	ModelsDir    string `json:"models_dir"`
	// Flow is "document" (1:1 against the chip photo) or "enrolled" (1:N against the site's
	// enrolled templates, no document).
	Flow       string     `json:"flow"`
	Reader     string     `json:"reader"` // a reader string: sim, pn532:i2c:/dev/i2c-1, pcsc:0 ...
	Camera     Camera     `json:"camera"`
	GPIO       *GPIO      `json:"gpio,omitempty"` // absent: no outputs fitted (decisions are logged only)
	Web        Web        `json:"web"`
	Policy     Policy     `json:"policy"`
	Fleet      Fleet      `json:"fleet"`
	Audit      Audit      `json:"audit"`
	Simulation Simulation `json:"simulation"`
}

// Audit is the kiosk's own copy of its audit log.
type Audit struct {
	// KeepDays: records the collector has acknowledged are deleted from the kiosk once they
	// are this many days old (the fleet keeps the collected copy); 0 keeps them all. Records
	// not yet acknowledged are never deleted.
	KeepDays int `json:"keep_days"`
}

// Camera selects the camera (see drivers/camera for the source syntax).
type Camera struct {
	Source string `json:"source"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	FPS    int    `json:"fps"`
}

// GPIO names the output pins.
type GPIO struct {
	Relay          string   `json:"relay"`
	Green          string   `json:"green"`
	Red            string   `json:"red"`
	Buzzer         string   `json:"buzzer"`
	RelayActiveLow bool     `json:"relay_active_low"`
	RelayPulse     Duration `json:"relay_pulse"`
}

// Web is the local HTTP server.
type Web struct {
	Listen string `json:"listen"`
	// AttendantTokenFile holds the token that opens the attendant view from other hosts.
	AttendantTokenFile string `json:"attendant_token_file"`
}

// Policy is what a check requires.
type Policy struct {
	// FaceThreshold accepts a face at or below this fused distance (the recognizers' distances,
	// each z-normalised by its impostor statistics, averaged: 0 is the impostors' mean, genuine
	// pairs sit around -4); 0 takes the calibrated one from the model manifest.
	// FaceRejectThreshold rejects it above this distance; 0 takes the manifest's. Between the
	// two the attendant decides, within ReferralTimeout.
	FaceThreshold       float64  `json:"face_threshold"`
	FaceRejectThreshold float64  `json:"face_reject_threshold"`
	ReferralTimeout     Duration `json:"referral_timeout"`
	// FaceFrames is how many good frames of the capture the face decision scores.
	FaceFrames        int  `json:"face_frames"`
	RequireActiveAuth bool `json:"require_active_auth"`
	RequireChipAuth   bool `json:"require_chip_auth"`
	// StaleRevocations: "refuse" every document, or "warn" and carry on.
	StaleRevocations string `json:"stale_revocations"`
	// Liveness requires the presentation-attack checks (a random head-movement challenge and
	// the parallax check); off only where the camera cannot show a moving person (simulation).
	Liveness bool `json:"liveness"`
	// LivenessChecks are the checks the decision requires: challenge, parallax, border, moire,
	// glare. Every one is scored and audited; empty means all but glare.
	LivenessChecks []string `json:"liveness_checks"`
	// ChallengeMoves are the head movements the challenge draws two from: turn_left,
	// turn_right, look_up, look_down; empty means all four. Fewer kinds make the challenge
	// easier to foresee: the simulation narrows them to turns, as its synthesised head cannot nod.
	ChallengeMoves []string `json:"challenge_moves,omitempty"`
	// AccessKey: "camera" (the person holds the data page to the camera, the MRZ read opens
	// the chip; the keypad stays as a fallback), "keypad" (the person types MRZ data or the
	// CAN) or "simulation" (the demo types it). The enrolled flow reads no document and
	// ignores it.
	AccessKey string `json:"access_key"`
	// CameraKeyTimeout: with access_key "camera", the keypad takes over after this long
	// without a read (0: 20s). It must leave time within access_key_timeout to type.
	CameraKeyTimeout Duration `json:"camera_key_timeout,omitempty"`
	AccessKeyTimeout Duration `json:"access_key_timeout"`
	ReadTimeout      Duration `json:"read_timeout"`
	CaptureTimeout   Duration `json:"capture_timeout"`
	CaptureWindow    Duration `json:"capture_window"`
}

// DefaultCameraKeyTimeout is policy.camera_key_timeout when it is 0.
const DefaultCameraKeyTimeout = 20 * time.Second

// CameraKeyWait is how long the camera looks for the MRZ before the keypad takes over.
func (p Policy) CameraKeyWait() time.Duration {
	if p.CameraKeyTimeout == 0 {
		return DefaultCameraKeyTimeout
	}
	return time.Duration(p.CameraKeyTimeout)
}

// Fleet is the link to the fleet back end.
type Fleet struct {
	// Name is the fleet's name in the topic tree (edgeid/v1/NAME/...).
	Name string `json:"name"`
	// Site selects the enrolled templates this kiosk keeps (required for the enrolled flow).
	Site string `json:"site"`
	// Broker is the MQTT broker URL (mqtts://host:8883); "embedded" runs an in-process broker
	// on loopback (simulation and the demo).
	Broker string `json:"broker"`
	CAFile string `json:"ca_file"`
	// CertFile and KeyFile are this kiosk's client certificate.
	CertFile string `json:"cert_file"`
	KeyFile  string `json:"key_file"`
	// FleetKeyFile is the fleet's Ed25519 public key that signs revocation lists and templates;
	// CollectorKeyFile the audit collector's, which signs acknowledgements.
	FleetKeyFile     string `json:"fleet_key_file"`
	CollectorKeyFile string `json:"collector_key_file"`
}

// Simulation configures `edgeid run` without hardware.
type Simulation struct {
	// Documents: "demo" presents the built-in test documents in turn.
	Documents string `json:"documents"`
	// Interval between presentations.
	Interval Duration `json:"interval"`
}

//go:embed defaults.json
var defaultsJSON []byte

// Defaults returns the embedded default configuration: simulation with the built-in test
// documents, the image-folder camera and an in-process broker, as `make run` uses it.
func Defaults() (*Config, error) { return Parse(bytes.NewReader(defaultsJSON), "embedded defaults") }

// Load reads and validates a configuration file.
func Load(path string) (*Config, error) {
	b, err := boundedfile.ReadFile(path, boundedfile.Config)
	if err != nil {
		return nil, err
	}
	return Parse(bytes.NewReader(b), path)
}

// Parse reads a configuration strictly and validates it; name is used in errors.
func Parse(r io.Reader, name string) (*Config, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("config %s: empty configuration", name)
	} else if err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("config %s: trailing data after the configuration", name)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("config %s: %w", name, err)
	}
	return &c, nil
}

// Simulated reports whether the configuration runs the simulation (reader "sim"): the demo
// documents, an in-process broker and a fleet back end of its own.
func (c *Config) Simulated() bool { return c.Reader == "sim" }

// LivenessChecks are the names policy.liveness_checks may hold (daemon/pad's checks; a test
// keeps the two lists equal).
var livenessChecks = []string{"challenge", "parallax", "border", "moire", "glare"}

// challengeMoves are the names policy.challenge_moves may hold (daemon/pad's moves).
var challengeMoves = []string{"turn_left", "turn_right", "look_up", "look_down"}

// ChallengeMoveNames returns the names policy.challenge_moves may hold.
func ChallengeMoveNames() []string { return append([]string(nil), challengeMoves...) }

// LivenessCheckNames returns the names policy.liveness_checks may hold.
func LivenessCheckNames() []string { return append([]string(nil), livenessChecks...) }

// Validate checks every field that can be checked without touching hardware or files, and
// lists every problem, in the order of the file.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Version != Version {
		bad("version %d is not supported (this daemon reads version %d)", c.Version, Version)
	}
	if c.KioskID == "" || len(c.KioskID) > 64 || strings.ContainsAny(c.KioskID, "/#+ \t") {
		bad("kiosk_id must be 1 to 64 characters without spaces or MQTT wildcards (/ # +)")
	}
	if c.StateDir == "" {
		bad("state_dir is required")
	}
	if c.Flow != "document" && c.Flow != "enrolled" {
		bad(`flow must be "document" or "enrolled"`)
	}
	if c.Flow == "enrolled" && c.Fleet.Site == "" {
		bad("fleet.site is required for the enrolled flow")
	}
	if c.Reader == "" && c.Flow == "document" {
		bad("reader is required (sim, pn532:i2c:/dev/i2c-1, pcsc:0, ...)")
	}
	if c.Camera.Source == "" {
		bad("camera.source is required")
	}
	if c.Camera.Source == "demo" && !c.Simulated() {
		bad(`camera.source "demo" (the simulation's rendered pages and faces) only goes with reader "sim"`)
	}
	if c.Camera.Width < 0 || c.Camera.Height < 0 || c.Camera.FPS < 0 {
		bad("camera width, height and fps must not be negative")
	}
	if g := c.GPIO; g != nil {
		if g.RelayPulse <= 0 || time.Duration(g.RelayPulse) > 30*time.Second {
			bad("gpio.relay_pulse must be in (0, 30s]")
		}
		if g.Relay == "" {
			bad("gpio.relay is required when gpio is present")
		}
	}
	if err := checkListen(c.Web.Listen); err != nil {
		bad("web.listen %q: %v", c.Web.Listen, err)
	}
	c.validatePolicy(bad)
	c.validateFleet(bad)
	if c.Audit.KeepDays < 0 || c.Audit.KeepDays > 36500 {
		bad("audit.keep_days must be in [0, 36500] (0 keeps every record)")
	}
	if c.Simulated() {
		if c.Simulation.Documents != "demo" {
			bad(`simulation.documents must be "demo" with reader "sim"`)
		}
		if c.Simulation.Interval <= 0 || time.Duration(c.Simulation.Interval) > time.Hour {
			bad("simulation.interval must be in (0, 1h]")
		}
	}
	return errors.Join(errs...)
}

func (c *Config) validatePolicy(bad func(string, ...any)) {
	p := c.Policy
	// An accept threshold at or above the impostors' mean (0) would let half of them in.
	if p.FaceThreshold != 0 && (p.FaceThreshold < -10 || p.FaceThreshold >= 0 || math.IsNaN(p.FaceThreshold)) {
		bad("policy.face_threshold %v is not a plausible fused distance: want -10 to below 0 (0 takes the calibrated one)", p.FaceThreshold)
	}
	if p.FaceRejectThreshold != 0 && (p.FaceRejectThreshold < -10 || p.FaceRejectThreshold > 10 || math.IsNaN(p.FaceRejectThreshold)) {
		bad("policy.face_reject_threshold %v is not a plausible fused distance: want -10 to 10 (0 takes the calibrated one)", p.FaceRejectThreshold)
	}
	if p.FaceThreshold != 0 && p.FaceRejectThreshold != 0 && p.FaceRejectThreshold < p.FaceThreshold {
		bad("policy.face_reject_threshold %v is below policy.face_threshold %v", p.FaceRejectThreshold, p.FaceThreshold)
	}
	if p.ReferralTimeout <= 0 || time.Duration(p.ReferralTimeout) > 10*time.Minute {
		bad("policy.referral_timeout must be in (0, 10m]")
	}
	if p.FaceFrames < 1 || p.FaceFrames > 10 {
		bad("policy.face_frames %d must be 1 to 10", p.FaceFrames)
	}
	if p.StaleRevocations != "refuse" && p.StaleRevocations != "warn" {
		bad(`policy.stale_revocations must be "refuse" or "warn"`)
	}
	for _, n := range p.LivenessChecks {
		if !slices.Contains(livenessChecks, n) {
			bad("policy.liveness_checks: unknown check %q (known: %s)", n, strings.Join(livenessChecks, ", "))
		}
	}
	var moves []string
	for _, m := range p.ChallengeMoves {
		if !slices.Contains(challengeMoves, m) {
			bad("policy.challenge_moves: unknown move %q (known: %s)", m, strings.Join(challengeMoves, ", "))
		} else if !slices.Contains(moves, m) {
			moves = append(moves, m)
		}
	}
	if len(p.ChallengeMoves) > 0 && len(moves) < 2 {
		bad("policy.challenge_moves must name at least two different moves (the challenge asks two, never one twice in a row)")
	}
	if p.AccessKey != "camera" && p.AccessKey != "keypad" && p.AccessKey != "simulation" {
		bad(`policy.access_key must be "camera", "keypad" or "simulation"`)
	}
	if p.CameraKeyTimeout < 0 || time.Duration(p.CameraKeyTimeout) > 10*time.Minute {
		bad("policy.camera_key_timeout must be in [0, 10m] (0: 20s)")
	} else if p.AccessKey == "camera" && p.CameraKeyWait() >= time.Duration(p.AccessKeyTimeout) && p.AccessKeyTimeout > 0 {
		bad("policy.camera_key_timeout must be below policy.access_key_timeout, or the keypad fallback never comes")
	}
	if p.AccessKey == "simulation" && !c.Simulated() {
		bad(`policy.access_key "simulation" only goes with reader "sim"`)
	}
	// In the order of the file, not of a map: the list of problems must not change between runs.
	for _, d := range []struct {
		name string
		v    Duration
	}{{"access_key_timeout", p.AccessKeyTimeout}, {"read_timeout", p.ReadTimeout}, {"capture_timeout", p.CaptureTimeout}} {
		if d.v <= 0 || time.Duration(d.v) > 10*time.Minute {
			bad("policy.%s must be in (0, 10m]", d.name)
		}
	}
	if p.CaptureWindow < 0 || p.CaptureWindow > p.CaptureTimeout {
		bad("policy.capture_window must be within policy.capture_timeout")
	}
}

func (c *Config) validateFleet(bad func(string, ...any)) {
	f := c.Fleet
	if f.Broker == "" {
		bad(`fleet.broker is required ("embedded" for an in-process broker)`)
	}
	if f.Name == "" || strings.ContainsAny(f.Name, "/#+ \t") {
		bad("fleet.name must be set, without spaces or MQTT wildcards")
	}
	if f.Site != "" && strings.ContainsAny(f.Site, "/#+ \t") {
		bad("fleet.site must not hold spaces or MQTT wildcards")
	}
	if f.Broker == "embedded" {
		if !c.Simulated() {
			bad(`fleet.broker "embedded" is for simulation only (reader "sim")`)
		}
		return
	}
	if f.Broker != "" {
		if u, err := url.Parse(f.Broker); err != nil || u.Host == "" {
			bad("fleet.broker %q is not a URL such as ssl://fleet.example:8883", f.Broker)
		}
	}
	if f.FleetKeyFile == "" || f.CollectorKeyFile == "" {
		bad("fleet.fleet_key_file and fleet.collector_key_file are required with a real broker")
	}
	if f.CAFile == "" || f.CertFile == "" || f.KeyFile == "" {
		bad("fleet.ca_file, fleet.cert_file and fleet.key_file are required with a real broker")
	}
}

// checkListen accepts host:port with a port number in [0, 65535].
func checkListen(s string) error {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return err
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number in [0, 65535]", port)
	}
	return nil
}

// CheckFiles checks, without writing anything, that every file and folder the configuration
// names exists and is of the right kind, and lists every problem. Validate comes first; the
// daemon runs both before it starts anything.
func (c *Config) CheckFiles() error {
	var errs []error
	file := func(field, path string) {
		if path == "" {
			return
		}
		st, err := os.Stat(path)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", field, err))
		case !st.Mode().IsRegular():
			errs = append(errs, fmt.Errorf("%s: %s is not a regular file", field, path))
		}
	}
	dir := func(field, path string) {
		if path == "" {
			return
		}
		st, err := os.Stat(path)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %w", field, err))
		case !st.IsDir():
			errs = append(errs, fmt.Errorf("%s: %s is not a folder", field, path))
		}
	}
	file("store_key_file", c.StoreKeyFile)
	dir("models_dir", c.ModelsDir)
	if kind, arg, ok := strings.Cut(c.Camera.Source, ":"); ok && kind == "folder" {
		dir("camera.source", arg)
	} else if ok && kind == "file" {
		file("camera.source", arg)
	}
	file("web.attendant_token_file", c.Web.AttendantTokenFile)
	if c.Fleet.Broker != "embedded" {
		file("fleet.ca_file", c.Fleet.CAFile)
		file("fleet.cert_file", c.Fleet.CertFile)
		file("fleet.key_file", c.Fleet.KeyFile)
		file("fleet.fleet_key_file", c.Fleet.FleetKeyFile)
		file("fleet.collector_key_file", c.Fleet.CollectorKeyFile)
	}
	return errors.Join(errs...)
}
