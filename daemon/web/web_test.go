package web

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/edgeid/edgeid/daemon/health"
	"github.com/edgeid/edgeid/daemon/kiosk"
	"github.com/edgeid/edgeid/internal/testenv"
)

// fakeSource plays the kiosk: the test publishes events by hand.
type fakeSource struct {
	mu   sync.Mutex
	cur  kiosk.Event
	seq  uint64
	subs []chan kiosk.Event
	dec  []kiosk.Event
}

func (f *fakeSource) Subscribe() (<-chan kiosk.Event, func()) {
	ch := make(chan kiosk.Event, 16)
	f.mu.Lock()
	f.subs = append(f.subs, ch)
	f.mu.Unlock()
	return ch, func() {}
}

func (f *fakeSource) Current() kiosk.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cur
}

func (f *fakeSource) Decisions() []kiosk.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]kiosk.Event(nil), f.dec...)
}

func (f *fakeSource) publish(e kiosk.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	e.Seq, e.Time = f.seq, time.Now()
	f.cur = e
	if e.Outcome != "" {
		f.dec = append(f.dec, e)
	}
	for _, ch := range f.subs {
		select {
		case ch <- e:
		default:
		}
	}
}

const testToken = "s3cret-token-of-at-least-32-bytes!"

func newTestServer(t *testing.T) (*Server, *fakeSource, *kiosk.KeyPad, *health.Tracker) {
	t.Helper()
	src := &fakeSource{cur: kiosk.Event{Stage: kiosk.StageIdle}}
	pad := kiosk.NewKeyPad()
	tr := health.New()
	tr.Set("camera", true, "")
	s, err := New(src, pad, Opts{Health: tr, AttendantToken: testToken, Listen: "127.0.0.1:8080"})
	if err != nil {
		t.Fatal(err)
	}
	return s, src, pad, tr
}

// waitForCheck returns once a check is waiting for a key on pad.
func waitForCheck(t *testing.T, pad *kiosk.KeyPad) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !pad.Waiting() {
		if time.Now().After(deadline) {
			t.Fatal("no check started waiting for a key")
		}
		time.Sleep(time.Millisecond)
	}
}

func do(t *testing.T, h http.Handler, method, target, remote, body string, hdr map[string]string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.RemoteAddr = remote
	r.Host = "127.0.0.1:8080"
	if r.Method != http.MethodGet {
		r.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	if h, ok := hdr["Host"]; ok {
		r.Host = h
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestAPI(t *testing.T) {
	s, src, pad, tr := newTestServer(t)
	h := s.Handler()
	const local, remote = "127.0.0.1:5000", "192.0.2.7:5000"
	// A check waits for the key the "key" row submits.
	type keyResult struct {
		k   kiosk.AccessKey
		err error
	}
	keyc := make(chan keyResult, 1)
	go func() { k, err := pad.AccessKey(context.Background()); keyc <- keyResult{k, err} }()
	waitForCheck(t, pad)
	tests := []struct {
		name, method, target, remote, body string
		hdr                                map[string]string
		code                               int
		contains                           string
	}{
		{"page", "GET", "/", local, "", nil, 200, "Place your passport"},
		{"page from afar", "GET", "/", remote, "", nil, 200, "edgeid"},
		{"asset", "GET", "/static/kiosk.js", local, "", nil, 200, "EventSource"},
		{"healthz", "GET", "/healthz", remote, "", nil, 200, `"healthy":true`},
		{"status", "GET", "/api/status", local, "", nil, 200, `"stage":"idle"`},
		{"status from afar", "GET", "/api/status", remote, "", nil, 401, "token required"},
		{"status from afar with token", "GET", "/api/status", remote, "", map[string]string{"Authorization": "Bearer " + testToken}, 200, `"stage":"idle"`},
		{"events from afar", "GET", "/api/events", remote, "", nil, 401, "token required"},
		{"ask keypad", "POST", "/api/key/keypad", local, `{}`, nil, 202, "keypad"},
		{"ask keypad no body", "POST", "/api/key/keypad", local, ``, nil, 202, "keypad"},
		{"ask keypad unknown field", "POST", "/api/key/keypad", local, `{"x":1}`, nil, 400, "malformed"},
		{"ask keypad from afar", "POST", "/api/key/keypad", remote, `{}`, nil, 403, "only the kiosk"},
		{"key", "POST", "/api/key", local, `{"can":"123456"}`, nil, 202, "accepted"},
		{"key bad format", "POST", "/api/key", local, `{"can":"12"}`, nil, 400, "6 digits"},
		{"key unknown field", "POST", "/api/key", local, `{"can":"123456","x":1}`, nil, 400, "malformed"},
		{"key too large", "POST", "/api/key", local, `{"can":"` + strings.Repeat("1", 5000) + `"}`, nil, 400, "malformed"},
		{"key from afar", "POST", "/api/key", remote, `{"can":"123456"}`, nil, 403, "only the kiosk"},
		{"staff", "POST", "/api/staff", local, "{}", nil, 202, "staff called"},
		{"attendant local", "GET", "/api/attendant", local, "", nil, 200, `"staff_calls":[{`},
		{"attendant no token", "GET", "/api/attendant", remote, "", nil, 401, "token required"},
		{"attendant bad token", "GET", "/api/attendant?token=nope", remote, "", nil, 401, "token required"},
		{"attendant token", "GET", "/api/attendant?token=s3cret-token-of-at-least-32-bytes!", remote, "", nil, 200, `"healthy":true`},
		{"attendant bearer", "GET", "/attendant", remote, "", map[string]string{"Authorization": "Bearer s3cret-token-of-at-least-32-bytes!"}, 200, "attendant"},
		{"metrics", "GET", "/metrics", local, "", nil, 200, `edgeid_condition_ok{name="camera"} 1`},
		{"wrong method", "DELETE", "/api/key", local, "", nil, 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(t, h, tt.method, tt.target, tt.remote, tt.body, tt.hdr)
			if w.Code != tt.code || !strings.Contains(w.Body.String(), tt.contains) {
				t.Errorf("%s %s from %s: %d %q, want %d containing %q", tt.method, tt.target, tt.remote, w.Code, w.Body.String(), tt.code, tt.contains)
			}
			if w.Header().Get("Content-Security-Policy") == "" {
				t.Error("no Content-Security-Policy header")
			}
		})
	}
	if r := <-keyc; r.err != nil || r.k.CAN != "123456" || r.k.Source != kiosk.KeyFromKeypad {
		t.Errorf("keypad got %+v, %v", r.k, r.err)
	}
	if w := do(t, h, "POST", "/api/key/keypad", local, "{}", nil); w.Code != http.StatusConflict {
		t.Errorf("asking for the keypad with no check waiting: %d %s", w.Code, w.Body.String())
	}
	tr.Set("reader", false, "no answer")
	if w := do(t, h, "GET", "/healthz", local, "", nil); w.Code != 503 || !strings.Contains(w.Body.String(), "no answer") {
		t.Errorf("healthz with the reader down: %d %s", w.Code, w.Body.String())
	}
	// Metrics follow decisions.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Observe(ctx); close(done) }()
	time.Sleep(20 * time.Millisecond) // let Observe subscribe
	src.publish(kiosk.Event{Stage: kiosk.StageDecision, Flow: "document", Outcome: kiosk.Rejected, Reasons: []string{kiosk.ReasonFaceMismatch},
		StageMillis: map[kiosk.Stage]float64{kiosk.StageReading: 900}})
	deadline := time.Now().Add(2 * time.Second)
	for {
		body := do(t, h, "GET", "/metrics", local, "", nil).Body.String()
		if strings.Contains(body, `edgeid_checks_total{flow="document",outcome="rejected"} 1`) &&
			strings.Contains(body, `edgeid_check_reasons_total{reason="face_mismatch"} 1`) &&
			strings.Contains(body, `edgeid_stage_seconds_count{stage="reading_chip"} 1`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics did not follow the decision:\n%s", body)
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
}

func TestEventStream(t *testing.T) {
	s, src, _, _ := newTestServer(t)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	resp, err := http.Get(ts.URL + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	lines := make(chan string, 16)
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(b)
			if n > 0 {
				lines <- string(b[:n])
			}
			if err != nil {
				close(lines)
				return
			}
		}
	}()
	first := <-lines
	if !strings.Contains(first, `"stage":"idle"`) {
		t.Fatalf("first event %q", first)
	}
	src.publish(kiosk.Event{Stage: kiosk.StageCapture, Detail: "blurred"})
	select {
	case got := <-lines:
		var e kiosk.Event
		data := strings.TrimSpace(got[strings.Index(got, "data: ")+6:])
		if err := json.Unmarshal([]byte(data), &e); err != nil || e.Stage != kiosk.StageCapture || e.Detail != "blurred" {
			t.Errorf("second event %q: %+v %v", got, e, err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no event after publish")
	}
}

// TestKioskPageInBrowser drives the page in headless Chromium through a whole check as the
// person sees it, and saves screenshots (into EDGEID_SCREENSHOTS when set).
func TestKioskPageInBrowser(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		testenv.Missing(t, "chromium is not installed (make test installs Debian's chromium)")
	}
	s, src, pad, _ := newTestServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	base, bctx, shots := serveToBrowser(t, ctx, s, chromium)
	do := func(steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Text(sel))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	shot := func(name string) { t.Helper(); screenshot(t, bctx, shots, name) }
	poll := func(expr string) chromedp.Action[chromedp.Void] { return chromedp.Poll[chromedp.Void](expr) }

	do(chromedp.Navigate(base+"/"), chromedp.WaitVisible("#instruction"),
		poll(`document.getElementById("instruction").textContent.startsWith("Place")`))
	idle := text("#instruction")
	shot("kiosk-idle.png")

	// The check waits for the key before the screen asks for it: the keypad takes keys only then.
	type keyResult struct {
		k   kiosk.AccessKey
		err error
	}
	keyc := make(chan keyResult, 1)
	kctx, kcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer kcancel()
	go func() { k, err := pad.AccessKey(kctx); keyc <- keyResult{k, err} }()
	waitForCheck(t, pad)
	src.publish(kiosk.Event{Stage: kiosk.StageAccessKey, CheckID: "c1"})
	// The document number from the on-screen keys, the dates from the keyboard.
	do(chromedp.WaitVisible("#keypad"),
		chromedp.Click(`#keys button[data-key="C"]`), chromedp.Click(`#keys button[data-key="0"]`),
		chromedp.Click(`#keys button[data-key="1"]`), chromedp.Click(`#keys button[data-key="X"]`),
		chromedp.SendKeys("#dob", "640812"), chromedp.SendKeys("#expiry", "321031"))
	shot("kiosk-keypad.png")
	do(chromedp.Click("#submit"))
	r := <-keyc
	key, err := r.k, r.err
	if err != nil || key.DocumentNumber != "C01X" || key.DateOfBirth != "640812" || key.DateOfExpiry != "321031" {
		t.Fatalf("keypad received %+v, %v", key, err)
	}

	src.publish(kiosk.Event{Stage: kiosk.StageCapture, CheckID: "c1", Detail: "off_frontal_pose"})
	do(poll(`document.getElementById("detail").textContent.includes("straight")`))
	keypadHidden, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.getElementById("keypad").hidden`))
	if err != nil || !keypadHidden {
		t.Errorf("keypad still shown during capture (%v)", err)
	}
	shot("kiosk-capture.png")

	src.publish(kiosk.Event{Stage: kiosk.StageDecision, CheckID: "c1", Flow: "document", Outcome: kiosk.Rejected, Reasons: []string{kiosk.ReasonFaceMismatch}})
	do(chromedp.WaitVisible("#result"))
	verdict, reason := text("#verdict"), text("#reasons")
	shot("kiosk-rejected.png")
	do(chromedp.Click("#lang"))
	verdictZh := text("#verdict")
	shot("kiosk-rejected-zh.png")
	do(chromedp.Click("#lang"))

	src.publish(kiosk.Event{Stage: kiosk.StageDecision, CheckID: "c2", Flow: "document", Outcome: kiosk.Accepted})
	do(poll(`document.getElementById("verdict").className === "accepted"`))
	shot("kiosk-accepted.png")
	do(chromedp.Navigate(base+"/attendant"), poll(`document.querySelectorAll("#decisions tbody tr").length === 2`))
	shot("attendant.png")

	if !strings.HasPrefix(idle, "Place your passport") {
		t.Errorf("idle text %q", idle)
	}
	if verdict != "We could not confirm your identity." || !strings.Contains(reason, "does not match") {
		t.Errorf("verdict %q, reasons %q", verdict, reason)
	}
	if verdictZh != "无法确认您的身份。" {
		t.Errorf("Chinese verdict %q", verdictZh)
	}
	for _, f := range []string{"kiosk-idle.png", "kiosk-keypad.png", "kiosk-rejected.png", "attendant.png"} {
		if st, err := os.Stat(filepath.Join(shots, f)); err != nil || st.Size() < 1000 {
			t.Errorf("screenshot %s: %v", f, err)
		}
	}
}

// fakeReferrals holds one referral until it is answered.
type fakeReferrals struct {
	mu      sync.Mutex
	open    bool
	answers []string
}

func (f *fakeReferrals) Pending() (kiosk.PendingReferral, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return kiosk.PendingReferral{CheckID: "c9", Flow: "document", Reasons: []string{kiosk.ReasonFaceUncertain}, Distance: 0.55, Accept: 0.5, Reject: 0.6,
		Frames: []float64{0.55}, Chip: true, Live: true}, f.open
}

func (f *fakeReferrals) PendingImage(id, which string) ([]byte, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.open || id != "c9" {
		return nil, false
	}
	return []byte{0xff, 0xd8, 0xff, 0xe0, byte(len(which))}, true
}

func (f *fakeReferrals) Resolve(id string, approve bool, by string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.open || id != "c9" {
		return kiosk.ErrNoReferral
	}
	f.open = false
	f.answers = append(f.answers, fmt.Sprintf("%v by %s", approve, by))
	return nil
}

func TestReferralAPI(t *testing.T) {
	ref := &fakeReferrals{open: true}
	tr := health.New()
	s, err := New(&fakeSource{cur: kiosk.Event{Stage: kiosk.StageReferred}}, kiosk.NewKeyPad(), Opts{Health: tr, AttendantToken: testToken, Referrals: ref})
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	sum := sha256.Sum256([]byte(testToken))
	tokenID := "token:" + hex.EncodeToString(sum[:4])
	const local, remote = "127.0.0.1:5000", "192.0.2.7:5000"
	bearer := map[string]string{"Authorization": "Bearer " + testToken}
	tests := []struct {
		name, method, target, remote, body string
		hdr                                map[string]string
		code                               int
		contains                           string
	}{
		{"pending in the attendant data", "GET", "/api/attendant", local, "", nil, 200, `"referral":{"check_id":"c9"`},
		{"image without token from afar", "GET", "/api/referral/c9/chip", remote, "", nil, 401, "token required"},
		{"chip image", "GET", "/api/referral/c9/chip?token=" + url.QueryEscape(testToken), remote, "", nil, 200, "\xff\xd8"},
		{"live image", "GET", "/api/referral/c9/live", local, "", nil, 200, "\xff\xd8"},
		{"no such image", "GET", "/api/referral/c9/passport", local, "", nil, 404, "no such image"},
		{"no such check", "GET", "/api/referral/c8/chip", local, "", nil, 404, "no such referral"},
		{"decide without token, on loopback", "POST", "/api/referral/c9", local, `{"decision":"approve"}`, nil, 401, "token required"},
		{"decide with a wrong token", "POST", "/api/referral/c9", local, `{"decision":"approve"}`, map[string]string{"Authorization": "Bearer nope"}, 401, "token required"},
		{"bad decision", "POST", "/api/referral/c9", remote, `{"decision":"maybe"}`, bearer, 400, "approve"},
		{"unknown field", "POST", "/api/referral/c9", remote, `{"decision":"approve","by":"me"}`, bearer, 400, "approve"},
		{"approve", "POST", "/api/referral/c9", remote, `{"decision":"approve"}`, bearer, 200, "approved"},
		{"answered already", "POST", "/api/referral/c9", remote, `{"decision":"deny"}`, bearer, 409, "no such referral"},
		{"images gone", "GET", "/api/referral/c9/live", local, "", nil, 404, "no such referral"},
		{"nothing pending", "GET", "/api/attendant", local, "", nil, 200, `"referral":null`},
	}
	for _, tt := range tests {
		w := do(t, h, tt.method, tt.target, tt.remote, tt.body, tt.hdr)
		if w.Code != tt.code || !strings.Contains(w.Body.String(), tt.contains) {
			t.Errorf("%s: %s %s: %d %q, want %d containing %q", tt.name, tt.method, tt.target, w.Code, w.Body.String(), tt.code, tt.contains)
		}
		if tt.code == 200 && strings.Contains(tt.target, "/api/referral/") && tt.method == "GET" {
			if cc := w.Header().Get("Cache-Control"); !strings.Contains(cc, "no-store") || w.Header().Get("Content-Type") != "image/jpeg" {
				t.Errorf("%s: Cache-Control %q, Content-Type %q", tt.name, cc, w.Header().Get("Content-Type"))
			}
		}
	}
	if want := []string{"true by " + tokenID}; strings.Join(ref.answers, ";") != strings.Join(want, ";") {
		t.Errorf("answers %v, want %v", ref.answers, want)
	}
	// Without referrals wired, the routes do not exist.
	s2, _ := New(&fakeSource{}, kiosk.NewKeyPad(), Opts{Health: tr})
	if w := do(t, s2.Handler(), "GET", "/api/referral/c9/chip", local, "", nil); w.Code != 404 {
		t.Errorf("referral image without referrals: %d", w.Code)
	}
}

// startBrowser starts headless Chromium for a test; screenshots go to EDGEID_SCREENSHOTS when
// set, else to a temporary directory.
// serveToBrowser serves s on a loopback port until ctx ends and starts a headless Chromium
// for it: the page's base URL, the browser's context and the screenshot folder.
func serveToBrowser(t *testing.T, ctx context.Context, s *Server, chromium string) (string, context.Context, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ctx, ln)
	bctx, shots := startBrowser(t, ctx, chromium)
	return "http://" + ln.Addr().String(), bctx, shots
}

func startBrowser(t *testing.T, ctx context.Context, chromium string) (context.Context, string) {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1024, 768))
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	bctx, tcancel := context.WithTimeout(bctx, 60*time.Second)
	t.Cleanup(tcancel)
	shots := os.Getenv("EDGEID_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	return bctx, shots
}

func screenshot(t *testing.T, bctx context.Context, dir, name string) {
	t.Helper()
	buf, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}
