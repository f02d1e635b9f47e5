package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgeid/edgeid/daemon/mrzocr/mrzsynth"
	"github.com/edgeid/edgeid/drivers/emrtd/mrz"
	"gocv.io/x/gocv"
)

// TestMRZReadJSON renders a data page photo, reads it with `edgeid mrz read --json` and a
// blank frame next to it: the keys of the issue, ok only for the document.
func TestMRZReadJSON(t *testing.T) {
	f, err := mrzsynth.LoadFont(mrzsynth.FontDir)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skipf("skipping: %v", err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	d := mrzsynth.RandomDoc(r, mrz.TD1)
	img, err := mrzsynth.Render(r, f, d, mrzsynth.Capture{Width: 1280, Height: 720, Fill: 0.6, Rotate: 4})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	doc, blank := filepath.Join(dir, "doc.png"), filepath.Join(dir, "blank.png")
	ok := gocv.IMWrite(doc, img)
	img.Close()
	empty := gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC3)
	ok = ok && gocv.IMWrite(blank, empty)
	empty.Close()
	if !ok {
		t.Fatal("writing test images failed")
	}
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"mrz", "read", "--json", "--models", "../../../models", doc, blank}, &out, &errb)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (one image not read); stderr %s", code, errb.String())
	}
	var reps []map[string]any
	if err := json.Unmarshal(out.Bytes(), &reps); err != nil {
		t.Fatalf("%v in %s", err, out.String())
	}
	if len(reps) != 2 {
		t.Fatalf("%d reports, want 2", len(reps))
	}
	if reps[0]["file"] != doc || reps[0]["ok"] != true || reps[0]["type"] != "TD1" {
		t.Errorf("document report %v", reps[0])
	}
	lines, _ := reps[0]["lines"].([]any)
	var got []string
	for _, l := range lines {
		s, _ := l.(string)
		got = append(got, s)
	}
	if strings.Join(got, "\n") != strings.Join(d.Lines, "\n") {
		t.Errorf("lines differ from the rendered MRZ")
	}
	if reps[1]["ok"] != false || reps[1]["error"] == nil {
		t.Errorf("blank report %v", reps[1])
	}
}

func TestParseTruth(t *testing.T) {
	good := "file\tdoc_type\tline1\tline2\tline3\n" +
		"a.jpg\tTD1\tI<UTOD231458907<<<<<<<<<<<<<<<\t7408122F1204159UTO<<<<<<<<<<<6\tERIKSSON<<ANNA<MARIA<<<<<<<<<<\n"
	rows, err := parseTruth([]byte(good))
	if err != nil || len(rows) != 1 || len(rows[0].lines) != 3 {
		t.Fatalf("rows %v, err %v", rows, err)
	}
	for name, bad := range map[string]string{
		"no header":  "a.jpg\tTD1\tx\ty\n",
		"bad digit":  strings.Replace(good, "UTO<<<<<<<<<<<6", "UTO<<<<<<<<<<<7", 1),
		"wrong type": strings.Replace(good, "\tTD1\t", "\tTD3\t", 1),
		"path":       strings.Replace(good, "a.jpg", "../a.jpg", 1),
		"columns":    "file\tdoc_type\n" + "a\tb\n",
		"empty":      "file\tdoc_type\tline1\tline2\tline3\n",
	} {
		if _, err := parseTruth([]byte(bad)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func FuzzParseTruth(f *testing.F) {
	f.Add([]byte("file\tdoc_type\tline1\tline2\tline3\n" +
		"a.jpg\tTD1\tI<UTOD231458907<<<<<<<<<<<<<<<\t7408122F1204159UTO<<<<<<<<<<<6\tERIKSSON<<ANNA<MARIA<<<<<<<<<<\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		rows, err := parseTruth(b)
		if err != nil {
			return
		}
		for _, r := range rows {
			if _, err := mrz.ParseMRZ(strings.Join(r.lines, "\n")); err != nil {
				t.Errorf("a row that does not parse was accepted: %v", err)
			}
		}
	})
}
