package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestDefaultsAreValid(t *testing.T) {
	c, err := Defaults()
	if err != nil {
		t.Fatal(err)
	}
	if !c.Simulated() || time.Duration(c.Policy.CaptureWindow) != 800*time.Millisecond ||
		time.Duration(c.Policy.ReferralTimeout) != time.Minute || c.Policy.FaceFrames != 5 {
		t.Errorf("defaults: %+v", c)
	}
}

func TestParseRefuses(t *testing.T) {
	tests := []struct {
		name, edit, want string
	}{
		{"unknown field", `"kiosk_id": "demo-kiosk", "colour": "blue"`, "unknown field"},
		{"version", `"version": 2`, "version 2"},
		{"kiosk id", `"kiosk_id": "a/b"`, "kiosk_id"},
		{"listen", `"listen": "8080"`, "web.listen"},
		{"stale policy", `"stale_revocations": "maybe"`, "stale_revocations"},
		{"duration", `"read_timeout": "soon"`, "duration"},
		{"zero duration", `"read_timeout": "0s"`, "read_timeout"},
		{"window", `"capture_window": "20s"`, "capture_window"},
		{"reject threshold", `"face_reject_threshold": 30`, "face_reject_threshold"},
		{"reject below accept", `"face_reject_threshold": -3.5, "face_threshold": -3`, "is below policy.face_threshold"},
		{"referral timeout", `"referral_timeout": "0s"`, "referral_timeout"},
		{"long referral", `"referral_timeout": "1h"`, "referral_timeout"},
		{"no frames", `"face_frames": 0`, "face_frames"},
		{"many frames", `"face_frames": 11`, "face_frames"},
		{"sim key on real reader", `"reader": "pcsc:0"`, "only goes with"},
		{"negative retention", `"keep_days": -1}`, "audit.keep_days"},
		{"unknown key source", `"access_key": "typed"`, `"camera", "keypad" or "simulation"`},
		{"camera key outlasts the key time", `"camera_key_timeout": "60s"`, "below policy.access_key_timeout"},
		{"negative camera key time", `"camera_key_timeout": "-1s"`, "camera_key_timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := string(defaultsJSON)
			key := tt.edit[:strings.Index(tt.edit, ":")]
			i := strings.Index(s, key)
			if i < 0 {
				t.Fatalf("no %s in the defaults", key)
			}
			j := i + strings.IndexAny(s[i:], ",\n")
			s = s[:i] + tt.edit + s[j:]
			_, err := Parse(strings.NewReader(s), "test")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse: %v, want an error containing %q", err, tt.want)
			}
		})
	}
	if _, err := Parse(strings.NewReader(string(defaultsJSON)+"{}"), "test"); err == nil {
		t.Error("trailing data accepted")
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.json")); !os.IsNotExist(err) {
		t.Errorf("missing file: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add(defaultsJSON)
	f.Add([]byte(`{"version":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(strings.NewReader(string(b)), "fuzz")
		if err == nil && c.Validate() != nil {
			t.Fatal("Parse accepted a configuration that does not validate")
		}
	})
}

// The example shipped for real kiosks must stay valid as the format changes.
func TestExampleConfigIsValid(t *testing.T) {
	c, err := Load("../../deploy/config/edgeid.example.json")
	if err != nil {
		t.Fatal(err)
	}
	if c.Simulated() || !c.Policy.Liveness || c.GPIO == nil {
		t.Errorf("example: %+v", c)
	}
}

// TestCameraKeyWithEitherFlow: access_key "camera" validates with both flows (the enrolled
// flow reads no document and ignores it), on the example config as chroot-test.sh edits it
// (flow "enrolled") and on the simulation's defaults; the demo camera is the simulation's only.
func TestCameraKeyWithEitherFlow(t *testing.T) {
	ex, err := Load("../../deploy/config/edgeid.example.json")
	if err != nil {
		t.Fatal(err)
	}
	def, err := Defaults()
	if err != nil {
		t.Fatal(err)
	}
	if def.Camera.Source != "demo" || def.Policy.AccessKey != "camera" || def.Policy.CameraKeyWait() != DefaultCameraKeyTimeout {
		t.Errorf("defaults: camera %q, access key %q, camera key time %v", def.Camera.Source, def.Policy.AccessKey, def.Policy.CameraKeyWait())
	}
	for _, c := range []*Config{ex, def} {
		for _, flow := range []string{"document", "enrolled"} {
			for _, key := range []string{"camera", "keypad"} {
				cc := *c
				cc.Flow, cc.Policy.AccessKey = flow, key
				if flow == "enrolled" && !cc.Simulated() {
					cc.GPIO = nil // as chroot-test.sh does
				}
				if err := cc.Validate(); err != nil {
					t.Errorf("%s flow, access key %s (simulated %v): %v", flow, key, cc.Simulated(), err)
				}
			}
		}
	}
	ex.Camera.Source = "demo"
	if err := ex.Validate(); err == nil || !strings.Contains(err.Error(), `camera.source "demo"`) {
		t.Errorf("the demo camera on a real reader: %v", err)
	}
	ex.Camera.Source, ex.Policy.AccessKey, ex.Policy.CameraKeyTimeout = "v4l2:/dev/video0", "camera", 0
	ex.Policy.AccessKeyTimeout = Duration(15 * time.Second)
	if err := ex.Validate(); err == nil || !strings.Contains(err.Error(), "camera_key_timeout") {
		t.Errorf("a 20s camera wait within a 15s key time: %v", err)
	}
}

func TestChallengeMoves(t *testing.T) {
	for moves, ok := range map[string]bool{"": true, "turn_left,turn_right": true, "look_up,turn_left,look_down": true,
		"turn_left": false, "turn_left,turn_left": false, "turn_left,blink": false} {
		c, err := Defaults()
		if err != nil {
			t.Fatal(err)
		}
		c.Policy.ChallengeMoves = nil
		if moves != "" {
			c.Policy.ChallengeMoves = strings.Split(moves, ",")
		}
		if err := c.Validate(); (err == nil) != ok {
			t.Errorf("%q: %v, want ok %v", moves, err, ok)
		} else if err != nil && !strings.Contains(err.Error(), "challenge_moves") {
			t.Errorf("%q: %v does not name the setting", moves, err)
		}
	}
}

// TestValidateListsEveryProblemInOrder: four problems are four errors, in the order of the
// file, the same on every run (the durations were checked in map order).
func TestValidateListsEveryProblemInOrder(t *testing.T) {
	c, err := Defaults()
	if err != nil {
		t.Fatal(err)
	}
	c.Web.Listen = "127.0.0.1:99999"
	c.Policy.LivenessChecks = []string{"challenge", "blink"}
	c.Policy.AccessKeyTimeout, c.Policy.ReadTimeout, c.Policy.CaptureTimeout = 0, 0, 0
	c.Simulation.Interval = 0
	want := []string{"web.listen", "liveness_checks", "access_key_timeout", "read_timeout", "capture_timeout", "capture_window", "simulation.interval"}
	var first string
	for i := range 20 {
		err := c.Validate()
		if err == nil {
			t.Fatal("accepted")
		}
		lines := strings.Split(err.Error(), "\n")
		if len(lines) != len(want) {
			t.Fatalf("got %d problems, want %d:\n%v", len(lines), len(want), err)
		}
		for j, w := range want {
			if !strings.Contains(lines[j], w) {
				t.Errorf("problem %d: %q, want one about %s", j+1, lines[j], w)
			}
		}
		if i == 0 {
			first = err.Error()
		} else if err.Error() != first {
			t.Fatalf("run %d listed the problems differently:\n%s\nvs\n%s", i, err, first)
		}
	}
}

func TestEmptyConfiguration(t *testing.T) {
	for _, in := range []string{"", "  \n\t"} {
		if _, err := Parse(strings.NewReader(in), "x.json"); err == nil || !strings.Contains(err.Error(), "empty configuration") {
			t.Errorf("Parse(%q): %v, want \"empty configuration\"", in, err)
		}
	}
}

// TestRealBrokerNeedsTLSFiles: with a real broker the certificate, key and CA are required
// by Validate, and CheckFiles names every missing file at once.
func TestRealBrokerNeedsTLSFiles(t *testing.T) {
	c, err := Load("../../deploy/config/edgeid.example.json")
	if err != nil {
		t.Fatal(err)
	}
	c.Fleet.CAFile, c.Fleet.KeyFile = "", ""
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "fleet.ca_file, fleet.cert_file and fleet.key_file are required") {
		t.Errorf("Validate: %v", err)
	}
	c.Fleet.CAFile, c.Fleet.KeyFile = "/nonexistent/ca.pem", "/nonexistent/kiosk.key"
	err = c.CheckFiles()
	if err == nil {
		t.Fatal("CheckFiles accepted missing files")
	}
	for _, f := range []string{"models_dir", "web.attendant_token_file", "fleet.ca_file", "fleet.cert_file", "fleet.key_file", "fleet.fleet_key_file", "fleet.collector_key_file"} {
		if !strings.Contains(err.Error(), f+":") {
			t.Errorf("CheckFiles does not name %s:\n%v", f, err)
		}
	}
}
