package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/edgeid/edgeid/daemon/face"
	"github.com/edgeid/edgeid/daemon/pad"
	"github.com/edgeid/edgeid/internal/testenv"
	"github.com/edgeid/edgeid/models"
)

// facesDev is ../shared/datasets/faces-dev seen from the repository root.
const facesDev = "../../../../shared/datasets/faces-dev"

func needFacesDev(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(facesDev); err != nil {
		testenv.Missing(t, "the dev face sets are not at %s (../shared/datasets/faces-dev beside the checkout): %v", facesDev, err)
	}
}

func evalJSON(t *testing.T, dirs ...string) evalReport {
	t.Helper()
	args := append([]string{"face", "eval", "--json", "--models=" + modelsDir}, dirs...)
	code, out, errOut := runCmd(t, args...)
	if code != 0 {
		t.Fatalf("face eval: exit %d: %s", code, errOut)
	}
	var rep evalReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("face eval output: %v", err)
	}
	return rep
}

// The bar: EER at most 1.5% on the AT&T subset, every pair scored.
func TestFaceEvalATT(t *testing.T) {
	needFacesDev(t)
	rep := evalJSON(t, filepath.Join(facesDev, "att"))
	if rep.Identities != 20 || rep.Images != 200 {
		t.Errorf("counted %d identities and %d images, want 20 and 200", rep.Identities, rep.Images)
	}
	n := rep.Usable
	if want := n * (n - 1) / 2; rep.Genuine+rep.Impostor != want {
		t.Errorf("scored %d pairs, want all %d", rep.Genuine+rep.Impostor, want)
	}
	if rep.Usable < 180 {
		t.Errorf("only %d of %d images usable", rep.Usable, rep.Images)
	}
	if rep.EER > 0.015 {
		t.Errorf("EER %.2f%%, want at most 1.5%%", 100*rep.EER)
	}
}

// The thresholds in the manifest must be what the current pipeline measures on the dev sets:
// a change to detection, alignment or gates that moves them needs `make calibrate`.
func TestManifestThresholdsAreCurrent(t *testing.T) {
	needFacesDev(t)
	rep := evalJSON(t, filepath.Join(facesDev, "att"), filepath.Join(facesDev, "johns"))
	man, err := models.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	rec, err := man.Get(face.RecognizerModel)
	if err != nil {
		t.Fatal(err)
	}
	names := map[float64]string{1e-2: "far_1e-2", 1e-3: "far_1e-3", 1e-4: "far_1e-4"}
	for _, p := range rep.Points {
		want, ok := rec.Thresholds[names[p.TargetFAR]]
		if !ok || !p.Resolvable {
			continue
		}
		if math.Abs(p.Threshold-want) > 1e-3 {
			t.Errorf("%s: measured %.4f, manifest says %.4f: run make calibrate", names[p.TargetFAR], p.Threshold, want)
		}
	}
	if _, ok := rec.Thresholds[defaultOperatingPoint]; !ok {
		t.Errorf("manifest lacks the default operating point %s", defaultOperatingPoint)
	}
}

// Presentation attacks synthesised from AT&T stills (bare, printed, on a phone screen, moved
// as planes) must all be refused. Four subjects keep the test short; make calibrate runs them all.
func TestFacePadEvalRefusesPlanarAttacks(t *testing.T) {
	needFacesDev(t)
	dir := t.TempDir()
	for _, s := range []string{"s3", "s4", "s5", "s6"} {
		abs, err := filepath.Abs(filepath.Join(facesDev, "att", s))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(abs, filepath.Join(dir, s)); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := runCmd(t, "face", "pad-eval", "--json", "--models="+modelsDir, "--scene", "../../../testdata/face/astronaut.png", dir)
	if code != 0 {
		t.Fatalf("pad-eval: exit %d: %s", code, errOut)
	}
	var rep padReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	for kind, a := range rep.Attacks {
		want := 4 // one attempt per subject and still attack; a replay per subject that moves
		if kind == pad.AttackReplay {
			want = rep.Genuine.Subjects
		}
		if a.Attempts != want || a.Accepted != 0 {
			t.Errorf("%s: %d of %d attacks accepted", kind, a.Accepted, a.Attempts)
		}
	}
	if rep.Genuine.Subjects+rep.Genuine.NoMovement != 4 {
		t.Errorf("genuine proxies: %+v", rep.Genuine)
	}
	// The printed photo's paper margin is found by the border cue on its own.
	if p := rep.Attacks[pad.AttackPrint]; p.PassedAlone[pad.NameBorder] > 1 {
		t.Errorf("border cue let %d of %d printed photos through", p.PassedAlone[pad.NameBorder], p.Attempts)
	}
	// A portrait in front of a striped flag is a real scene, not a border.
	if rep.Scenes.Images != 1 || rep.Scenes.Flagged[pad.NameBorder] != 0 {
		t.Errorf("scenes: %+v", rep.Scenes)
	}
}
