package web

import (
	"bufio"
	"bytes"
	"context"
	"image"
	"image/color"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/edgeid/edgeid/daemon/camerahub"
	"github.com/edgeid/edgeid/daemon/kiosk"
	"github.com/edgeid/edgeid/internal/testenv"
	"gocv.io/x/gocv"
)

// sceneCamera is a fake camera showing one of two scenes: a document's data page (drawn, with
// the ICAO specimen's MRZ) or a face photograph from testdata. It paces itself like a device.
type sceneCamera struct {
	face, doc gocv.Mat
	showFace  atomic.Bool
}

func (c *sceneCamera) Read(ctx context.Context) (gocv.Mat, error) {
	select {
	case <-ctx.Done():
		return gocv.Mat{}, ctx.Err()
	case <-time.After(30 * time.Millisecond):
	}
	if c.showFace.Load() {
		return c.face.Clone(), nil
	}
	return c.doc.Clone(), nil
}

func newSceneCamera(t *testing.T) *sceneCamera {
	t.Helper()
	face := gocv.IMRead(filepath.Join("..", "..", "testdata", "face", "astronaut.png"), gocv.IMReadColor)
	if face.Empty() {
		t.Fatal("testdata/face/astronaut.png did not load")
	}
	small := gocv.NewMat()
	gocv.Resize(face, &small, image.Pt(640, 480), 0, 0, gocv.InterpolationArea)
	face.Close()
	doc := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(90, 80, 70, 0), 480, 640, gocv.MatTypeCV8UC3)
	gocv.Rectangle(&doc, image.Rect(120, 130, 520, 400), color.RGBA{236, 230, 214, 0}, -1)
	gocv.Rectangle(&doc, image.Rect(140, 150, 230, 265), color.RGBA{150, 160, 175, 0}, -1)
	for i, line := range []string{"P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36UTO7408122F1204159ZE184226B<<<<<10"} {
		gocv.PutText(&doc, line, image.Pt(140, 350+i*26), gocv.FontHersheyPlain, 1.05, color.RGBA{20, 20, 20, 0}, 1)
	}
	c := &sceneCamera{face: small, doc: doc}
	t.Cleanup(func() { c.face.Close(); c.doc.Close() })
	return c
}

// TestKioskPageInBrowserLive drives the page through idle (the pictograms), the access-key step
// with the live picture and the document outline, the face capture with a move arrow and the
// challenge's progress, and the decision; the picture comes from a real camera hub over a fake
// camera, and its stream ends when the page hides it. Screenshots go to EDGEID_SCREENSHOTS.
func TestKioskPageInBrowserLive(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		testenv.Missing(t, "chromium is not installed (make test installs Debian's chromium)")
	}
	cam := newSceneCamera(t)
	hub := camerahub.New(cam, camerahub.Opts{Interval: 30 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hubDone := make(chan error, 1)
	go func() { hubDone <- hub.Run(ctx) }()
	defer func() { cancel(); <-hubDone }()
	src := &fakeSource{cur: kiosk.Event{Stage: kiosk.StageIdle}}
	s := newLiveServer(t, "127.0.0.1:8080", hub)
	s.src = src
	base, bctx, shots := serveToBrowser(t, ctx, s, chromium)
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	eval := func(expr string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
	shot := func(name string) { t.Helper(); screenshot(t, bctx, shots, name) }
	poll := func(expr string) chromedp.Action[chromedp.Void] { return chromedp.Poll[chromedp.Void](expr) }
	const pictureShown = `(() => { const i = document.getElementById("live-img");
		return !document.getElementById("live").hidden && !i.hidden && i.naturalWidth === 640 && i.getBoundingClientRect().width > 200; })()`

	do(chromedp.Navigate(base+"/"), poll(`document.getElementById("instruction").textContent.startsWith("Place")`),
		poll(`!document.getElementById("idle-help").hidden && document.querySelectorAll("#idle-help svg").length === 2`))
	if got := eval(`String(document.getElementById("live").hidden) + " " + (document.getElementById("live-img").getAttribute("src") || "")`); got != "true " {
		t.Errorf("idle: live section hidden and src: %q", got)
	}
	if hub.Watchers() != 0 {
		t.Errorf("%d watching the picture on the idle screen", hub.Watchers())
	}

	// The access-key step by camera: the live picture, mirrored, with the document's outline.
	src.publish(kiosk.Event{Stage: kiosk.StageAccessKey, CheckID: "c1", Detail: "show_document"})
	do(poll(pictureShown), poll(`document.getElementById("outline-doc").classList.contains("on")`))
	docText := eval(`document.getElementById("instruction").textContent`)
	if tr := eval(`getComputedStyle(document.getElementById("live-img")).transform`); !strings.HasPrefix(tr, "matrix(-1") {
		t.Errorf("the picture is not mirrored: transform %q", tr)
	}
	if eval(`String(document.getElementById("keypad").hidden)`) != "true" {
		t.Error("the keypad is shown while the camera reads the document")
	}
	if eval(`document.body.dataset.prompt`) != "show_document" {
		t.Errorf("prompt %q on the document step", eval(`document.body.dataset.prompt`))
	}
	shot("kiosk-document.png")
	src.publish(kiosk.Event{Stage: kiosk.StageAccessKey, CheckID: "c1", Detail: "mrz_hold_still"})
	do(poll(`document.getElementById("detail").textContent.includes("hold still")`),
		poll(`document.getElementById("outline-doc").classList.contains("found")`))
	holdText := eval(`document.getElementById("detail").textContent`)

	// The keypad on request, reachable from the keyboard alone: Tab to the button, Enter.
	do(chromedp.Focus("#use-keypad"), chromedp.KeyEvent("\r"), poll(`!document.getElementById("keypad").hidden`),
		poll(`document.activeElement && document.activeElement.id === "doc"`))
	if eval(`String(document.getElementById("live").hidden)`) != "true" {
		t.Error("the live picture stays with the keypad chosen")
	}

	// Face capture with the challenge: outline of a face, the arrow, the progress.
	cam.showFace.Store(true)
	src.publish(kiosk.Event{Stage: kiosk.StageCapture, CheckID: "c1", Detail: "move_turn_left", Progress: 0.4})
	do(poll(pictureShown), poll(`!document.getElementById("arrow").hidden && document.getElementById("arrow").textContent === "←"`),
		poll(`!document.getElementById("progress").hidden && Math.abs(document.getElementById("progress").value - 0.4) < 1e-6`),
		poll(`document.getElementById("outline-face").classList.contains("on") && !document.getElementById("outline-doc").classList.contains("on")`))
	leftText := eval(`document.getElementById("detail").textContent`)
	if eval(`document.body.dataset.prompt`) != "turn_left" {
		t.Errorf("prompt %q for turn left", eval(`document.body.dataset.prompt`))
	}
	shot("kiosk-challenge.png")
	src.publish(kiosk.Event{Stage: kiosk.StageCapture, CheckID: "c1", Detail: "move_turn_right", Progress: 0.7})
	do(poll(`document.getElementById("arrow").textContent === "→" && document.getElementById("arrow").className === "move_turn_right"`),
		poll(`Math.abs(document.getElementById("progress").value - 0.7) < 1e-6`))
	rightText := eval(`document.getElementById("detail").textContent`)
	src.publish(kiosk.Event{Stage: kiosk.StageCapture, CheckID: "c1", Detail: "move_done", Progress: 1})
	do(poll(`document.getElementById("arrow").hidden && document.getElementById("progress").value === 1`))
	if hub.Watchers() != 1 {
		t.Errorf("%d watchers of the picture during the capture, want the page's one", hub.Watchers())
	}

	// The decision hides the picture, and its stream ends.
	src.publish(kiosk.Event{Stage: kiosk.StageDecision, CheckID: "c1", Flow: "document", Outcome: kiosk.Accepted})
	do(chromedp.WaitVisible("#result"), poll(`document.getElementById("live").hidden`))
	deadline := time.Now().Add(5 * time.Second)
	for hub.Watchers() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the page kept the live stream open after the capture")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if eval(`document.body.dataset.prompt`) != "accepted" {
		t.Errorf("prompt %q on acceptance", eval(`document.body.dataset.prompt`))
	}

	// Keys: M mutes (and says so), L switches the language.
	do(chromedp.Focus("#staff"), chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`), chromedp.KeyEvent("m"),
		poll(`document.getElementById("mute").getAttribute("aria-pressed") === "true"`), chromedp.KeyEvent("l"),
		poll(`document.documentElement.lang === "zh-Hans"`))

	texts := []string{docText, holdText, leftText, rightText}
	want := []string{"photo page to the camera", "hold still", "to your left", "to your right"}
	for i := range texts {
		if !strings.Contains(texts[i], want[i]) {
			t.Errorf("guidance %d is %q, want it to contain %q", i, texts[i], want[i])
		}
	}
	for _, f := range []string{"kiosk-document.png", "kiosk-challenge.png"} {
		if st, err := os.Stat(filepath.Join(shots, f)); err != nil || st.Size() < 5000 {
			t.Errorf("screenshot %s: %v", f, err)
		}
	}
}

// Every spoken prompt the page plays has a small Ogg Opus file in each language, and the table
// make prompts speaks from names exactly the page's prompts.
func TestPromptFiles(t *testing.T) {
	js, err := static.ReadFile("static/kiosk.js")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`const PROMPTS = \[([^\]]*)\]`).FindSubmatch(js)
	if m == nil {
		t.Fatal("kiosk.js has no PROMPTS list")
	}
	var page []string
	for _, q := range regexp.MustCompile(`"([a-z_]+)"`).FindAllSubmatch(m[1], -1) {
		page = append(page, string(q[1]))
	}
	tsv, err := static.ReadFile("static/prompts/prompts.tsv")
	if err != nil {
		t.Fatal(err)
	}
	table := map[string]map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(tsv))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 3 || f[2] == "" {
			t.Fatalf("prompts.tsv line %q: want key, language, text", line)
		}
		if table[f[0]] == nil {
			table[f[0]] = map[string]bool{}
		}
		table[f[0]][f[1]] = true
	}
	var keys []string
	for k := range table {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	sort.Strings(page)
	if strings.Join(keys, ",") != strings.Join(page, ",") || len(keys) < 9 {
		t.Errorf("prompts.tsv has %v, the page plays %v", keys, page)
	}
	for _, k := range page {
		for _, lang := range []string{"en", "zh"} {
			if !table[k][lang] {
				t.Errorf("prompt %s has no %s text", k, lang)
			}
			b, err := fs.ReadFile(static, "static/prompts/"+lang+"/"+k+".ogg")
			if err != nil {
				t.Errorf("prompt %s/%s: %v", lang, k, err)
				continue
			}
			if !bytes.HasPrefix(b, []byte("OggS")) || !bytes.Contains(b[:min(len(b), 200)], []byte("OpusHead")) || len(b) < 1000 || len(b) > 32<<10 {
				t.Errorf("prompt %s/%s: %d bytes, not a small Ogg Opus file", lang, k, len(b))
			}
		}
	}
	// Served with the page, as audio.
	s, _, _, _ := newTestServer(t)
	w := do(t, s.Handler(), "GET", "/static/prompts/zh/accepted.ogg", "127.0.0.1:5000", "", nil)
	if w.Code != 200 || w.Header().Get("Content-Type") != "audio/ogg" {
		t.Errorf("prompt served: %d %q", w.Code, w.Header().Get("Content-Type"))
	}
}
