package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeid/edgeid/daemon/face"
	"github.com/edgeid/edgeid/daemon/match"
	"github.com/edgeid/edgeid/daemon/pad"
	"github.com/edgeid/edgeid/internal/testenv"
	"github.com/edgeid/edgeid/models"
)

// facesDev and facesDev2 are ../shared/datasets/faces-dev and faces-dev2 seen from the repository root.
const (
	facesDev  = "../../../../shared/datasets/faces-dev"
	facesDev2 = "../../../../shared/datasets/faces-dev2"
)

// needFacesDev skips a test when the dev face sets are absent, except in CI (CI=true), where
// their absence is a failure: there the sets must be present.
func needFacesDev(t *testing.T) {
	t.Helper()
	for _, d := range []string{facesDev, facesDev2} {
		if _, err := os.Stat(d); err != nil {
			testenv.Missing(t, "the dev face sets are not at %s (../shared/datasets beside the checkout): %v", d, err)
		}
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

// The manifest's calibration must be what the current pipeline measures on the calibration
// union (all pairs): each recognizer's impostor statistics (the fusion's z-normalisation) and
// operating points, the fused operating points, and shipped accept and reject thresholds that
// still hold on every slice of it. A change to detection, alignment, preprocessing or gates that
// moves them needs `make calibrate`.
func TestManifestThresholdsAreCurrent(t *testing.T) {
	needFacesDev(t)
	rep := evalJSON(t, "--fusion-stats=measured", filepath.Join(facesDev, "att"), filepath.Join(facesDev, "johns"), facesDev2)
	man, err := models.Builtin()
	if err != nil {
		t.Fatal(err)
	}
	names := map[float64]string{1e-2: "far_1e-2", 1e-3: "far_1e-3", 5e-4: "far_5e-4", 1e-4: "far_1e-4"}
	checkPoints := func(what string, got []match.OperatingPoint, want map[string]float64) {
		for _, p := range got {
			w, ok := want[names[p.TargetFAR]]
			if !p.Resolvable {
				continue
			}
			if !ok || math.Abs(p.Threshold-w) > 1e-3 {
				t.Errorf("%s %s: measured %.4f, manifest says %.4f (present %v): run make calibrate", what, names[p.TargetFAR], p.Threshold, w, ok)
			}
		}
	}
	short := map[string]string{face.DlibModel: evalDlib, face.FaceResModel: evalFaceRes}
	union := func(model string) evalResult {
		for _, r := range rep.Results {
			if r.Slice == "union" && r.Model == model {
				return r
			}
		}
		t.Fatalf("no union result for %s", model)
		return evalResult{}
	}
	for id, name := range short {
		rec, err := man.Get(id)
		if err != nil {
			t.Fatal(err)
		}
		st := rep.ImpostorStats[id]
		if rec.Impostor == nil || math.Abs(st.Mean-rec.Impostor.Mean) > 1e-3*st.Mean || math.Abs(st.Std-rec.Impostor.Std) > 1e-2*st.Std {
			t.Errorf("%s impostor statistics: measured %+v, manifest %+v: run make calibrate", id, st, rec.Impostor)
		}
		checkPoints(id, union(name).Points, rec.Thresholds)
		if _, ok := rec.Thresholds[defaultOperatingPoint]; !ok {
			t.Errorf("%s: manifest lacks the operating point %s", id, defaultOperatingPoint)
		}
	}
	f := man.Fusion
	if f == nil {
		t.Fatal("manifest has no fusion: run make calibrate")
	}
	checkPoints("fused", union(evalFused).Points, f.Thresholds)
	for _, r := range rep.Results {
		if r.Model != evalFused {
			continue
		}
		for _, p := range r.Points {
			if p.TargetFAR == 1e-4 && f.Accept > p.Threshold+1e-4 {
				t.Errorf("%s: shipped accept %.4f is above the FAR 0.01%% threshold %.4f measured now", r.Slice, f.Accept, p.Threshold)
			}
		}
		if f.Reject < r.FRR1-1e-4 {
			t.Errorf("%s: shipped reject %.4f refuses more than 1%% of genuine pairs (1%% point %.4f)", r.Slice, f.Reject, r.FRR1)
		}
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

// The chip protocol pairs each identity's chip photo with every other image; the lighting
// protocol pairs every image with every other one re-lit. Both report the shipped decision.
func TestFaceEvalProtocols(t *testing.T) {
	needFacesDev(t)
	johns := filepath.Join(facesDev, "johns")
	chip := evalJSON(t, "--protocol=chip", johns)
	if chip.Protocol != protocolChip || chip.Identities != 5 {
		t.Fatalf("chip: protocol %q, %d identities", chip.Protocol, chip.Identities)
	}
	// 5 chip photos against the other 50 images: 10 genuine and 40 impostor pairs each.
	if chip.Usable == 55 && (chip.Genuine != 50 || chip.Impostor != 200) {
		t.Errorf("chip: %d genuine and %d impostor pairs, want 50 and 200", chip.Genuine, chip.Impostor)
	}
	light := evalJSON(t, "--protocol=lighting", johns)
	if light.Protocol != protocolLighting || light.Genuine+light.Impostor == 0 {
		t.Fatalf("lighting: protocol %q, %d pairs", light.Protocol, light.Genuine+light.Impostor)
	}
	for _, rep := range []evalReport{chip, light} {
		if rep.Shipped == nil || rep.Referral == nil || rep.Referral.Reject <= rep.Shipped.Threshold {
			t.Errorf("%s: shipped %+v, referral %+v", rep.Protocol, rep.Shipped, rep.Referral)
		}
		if rep.EER > 0.05 {
			t.Errorf("%s: fused EER %.2f%% on johns", rep.Protocol, 100*rep.EER)
		}
	}
	if code, _, errOut := runCmd(t, "face", "eval", "--protocol=profile", "--models="+modelsDir, johns); code != 2 || !strings.Contains(errOut, "--protocol") {
		t.Errorf("unknown protocol: exit %d, %s", code, errOut)
	}
}
