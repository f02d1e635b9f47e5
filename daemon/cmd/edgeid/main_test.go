package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeid/edgeid/daemon/cmd/internal/cli"
	"github.com/edgeid/edgeid/daemon/match"
	"github.com/edgeid/edgeid/drivers/emrtd/lds"
	"github.com/edgeid/edgeid/internal/testenv"
)

// runCmd runs the edgeid command line in-process and returns its exit status and output.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestVersionAndUsage(t *testing.T) {
	if code, out, _ := runCmd(t, "version"); code != 0 || out != "edgeid dev\n" {
		t.Errorf("version: exit %d, output %q", code, out)
	}
	if code, _, _ := runCmd(t, "version", "extra"); code != 2 {
		t.Errorf("version extra: exit %d, want 2", code)
	}
	if code, out, _ := runCmd(t); code != 0 || !strings.Contains(out, "face compare") {
		t.Errorf("no arguments: exit %d, output %q", code, out)
	}
	if code, _, errOut := runCmd(t, "frobnicate"); code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Errorf("unknown command: exit %d, stderr %q", code, errOut)
	}
}

// Every subcommand is reachable by its words, and none hides another.
func TestCommandTable(t *testing.T) {
	app := cli.App{Name: "edgeid", Commands: commands()}
	seen := map[string]bool{}
	for _, c := range commands() {
		if seen[c.Path] {
			t.Errorf("%q listed twice", c.Path)
		}
		seen[c.Path] = true
		if got, _ := app.Lookup(strings.Fields(c.Path)); got == nil || got.Path != c.Path {
			t.Errorf("%q does not select itself", c.Path)
		}
	}
}

const modelsDir = "../../../models"

func testdata(name string) string { return filepath.Join("../../../testdata/face", name) }

func TestFaceCompareExitStatus(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.jpg")
	text := filepath.Join(dir, "notes.png")
	huge := filepath.Join(dir, "huge.png")
	os.WriteFile(empty, nil, 0o600)
	os.WriteFile(text, []byte("not an image at all"), 0o600)
	// A PNG header claiming 30000x30000 pixels.
	os.WriteFile(huge, []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x75\x30\x00\x00\x75\x30\x08\x02\x00\x00\x00\x00\x00\x00\x00"), 0o600)
	// A chip's DG2 holding the JPEG 2000 portrait, and a DG2 whose record is cut short.
	jp2, err := os.ReadFile(testdata("astronaut-320.jp2"))
	if err != nil {
		t.Fatal(err)
	}
	dg2Bytes, err := lds.EncodeDG2([]lds.FaceImage{{Format: lds.ImageJPEG2000, Width: 320, Height: 320, Image: jp2}})
	if err != nil {
		t.Fatal(err)
	}
	dg2 := filepath.Join(dir, "DG2")
	badDG2 := filepath.Join(dir, "DG2-cut")
	os.WriteFile(dg2, dg2Bytes, 0o600)
	os.WriteFile(badDG2, dg2Bytes[:len(dg2Bytes)/2], 0o600)
	m := "--models=" + modelsDir
	tests := []struct {
		name     string
		args     []string
		code     int
		stdout   string
		stderr   string
		jsonWant string
	}{
		{"same person", []string{m, testdata("astronaut.png"), testdata("astronaut-shifted.jpg")}, 0, "accept: distance", "", ""},
		{"chip photo codec", []string{m, testdata("astronaut-320.jp2"), testdata("astronaut.png")}, 0, "accept: distance", "", ""},
		{"chip DG2", []string{m, dg2, testdata("astronaut-shifted.jpg")}, 0, "jpeg2000 320x320", "", ""},
		{"cut DG2", []string{m, badDG2, testdata("astronaut.png")}, 2, "", "dg2", ""},
		{"json", []string{testdata("astronaut.png"), testdata("astronaut-shifted.jpg"), "--json", m}, 0, `"decision": "accept"`, "", ""},
		{"turned face refused", []string{m, testdata("astronaut.png"), testdata("camera.png")}, 2, "", "off_frontal_pose", ""},
		{"different person", []string{m, "--gates=false", testdata("astronaut.png"), testdata("camera.png")}, 1, "reject: distance", "", ""},
		{"strict threshold", []string{m, "--threshold=-50", testdata("astronaut.png"), testdata("astronaut-shifted.jpg")}, 1, "refer: distance", "", ""},
		{"empty file", []string{m, empty, testdata("astronaut.png")}, 2, "", "empty file", ""},
		{"not an image", []string{m, text, testdata("astronaut.png")}, 2, "", "not a JPEG, PNG, PGM or JPEG 2000 image", ""},
		{"huge header", []string{m, huge, testdata("astronaut.png")}, 2, "", "exceeds the limit", ""},
		{"missing file", []string{m, filepath.Join(dir, "nope.jpg"), testdata("astronaut.png")}, 2, "", "no such file", ""},
		{"one argument", []string{m, testdata("astronaut.png")}, 2, "", "want two image files", ""},
		{"bad models", []string{"--models=" + dir, testdata("astronaut.png"), testdata("astronaut.png")}, 2, "", "model yunet-2022mar", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runCmd(t, append([]string{"face", "compare"}, tt.args...)...)
			if code != tt.code || !strings.Contains(out, tt.stdout) || !strings.Contains(errOut, tt.stderr) {
				t.Errorf("exit %d (want %d)\nstdout: %s\nstderr: %s\nwant stdout containing %q and stderr containing %q",
					code, tt.code, out, errOut, tt.stdout, tt.stderr)
			}
		})
	}
}

// The specimen passports' chip photos (JPEG 2000 inside DG2) decode and hold one usable face.
func TestSpecimenDG2Faces(t *testing.T) {
	samples := "../../../../shared/emrtd-samples"
	files, _ := filepath.Glob(filepath.Join(samples, "*", "*2.bin"))
	if len(files) == 0 {
		testenv.Missing(t, "no specimen DG2 files under %s (../shared/emrtd-samples beside the checkout)", samples)
	}
	for _, f := range files {
		code, out, errOut := runCmd(t, "face", "detect", "--models="+modelsDir, f)
		if code != 0 || !strings.Contains(out, "jpeg2000") || !strings.Contains(out, "1 face(s)") || strings.Contains(out, "problem:") {
			t.Errorf("%s: exit %d\n%s%s", f, code, out, errOut)
		}
	}
}

func TestFaceTemplate(t *testing.T) {
	out := filepath.Join(t.TempDir(), "staff-001.tmpl")
	if code, _, errOut := runCmd(t, "face", "template", "--models="+modelsDir, testdata("astronaut.png"), "-o", out); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	tm, err := match.ParseTemplate(b)
	if err != nil || tm.Model != "dlib-resnet-v1" || len(tm.Vector) != 128 {
		t.Errorf("template %v, %v", tm.Model, err)
	}
	if code, _, _ := runCmd(t, "face", "template", "--models="+modelsDir, testdata("camera.png"), "-o", out); code != 2 {
		t.Errorf("a turned face was enrolled (exit %d)", code)
	}
}
