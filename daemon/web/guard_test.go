package web

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/health"
	"github.com/edgeid/edgeid/daemon/kiosk"
)

// CSRF and DNS rebinding (issue 15 item 9): a page elsewhere could POST a key or a staff call
// as text/plain with its own Origin, and a name rebound to 127.0.0.1 read /api/attendant.
func TestRequestGuard(t *testing.T) {
	s, _, _, _ := newTestServer(t)
	h := s.Handler()
	const local = "127.0.0.1:5000"
	tests := []struct {
		name, method, target, body string
		hdr                        map[string]string
		code                       int
	}{
		{"rebound host", "GET", "/api/attendant", "", map[string]string{"Host": "evil.example"}, 421},
		{"rebound host with port", "GET", "/api/status", "", map[string]string{"Host": "evil.example:8080"}, 421},
		{"rebound host page", "GET", "/", "", map[string]string{"Host": "evil.example"}, 421},
		{"localhost", "GET", "/api/attendant", "", map[string]string{"Host": "localhost:8080"}, 200},
		{"ipv6 loopback", "GET", "/api/attendant", "", map[string]string{"Host": "[::1]:8080"}, 200},
		{"other ip", "GET", "/api/attendant", "", map[string]string{"Host": "192.0.2.9:8080"}, 421},
		{"staff foreign origin", "POST", "/api/staff", "{}", map[string]string{"Origin": "http://evil.example"}, 403},
		{"key foreign origin", "POST", "/api/key", `{"can":"123456"}`, map[string]string{"Origin": "http://evil.example"}, 403},
		{"key null origin", "POST", "/api/key", `{"can":"123456"}`, map[string]string{"Origin": "null"}, 403},
		{"key cross-site fetch", "POST", "/api/key", `{"can":"123456"}`, map[string]string{"Sec-Fetch-Site": "cross-site"}, 403},
		{"staff text/plain", "POST", "/api/staff", "{}", map[string]string{"Content-Type": "text/plain"}, 415},
		{"key form", "POST", "/api/key", "can=123456", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 415},
		{"key same origin", "POST", "/api/key", `{"can":"123456"}`, map[string]string{"Origin": "http://127.0.0.1:8080", "Sec-Fetch-Site": "same-origin"}, 409},
		{"staff same origin", "POST", "/api/staff", "{}", map[string]string{"Origin": "http://127.0.0.1:8080", "Content-Type": "application/json; charset=utf-8"}, 202},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(t, h, tt.method, tt.target, local, tt.body, tt.hdr)
			if w.Code != tt.code {
				t.Errorf("%s %s %v: %d %q, want %d", tt.method, tt.target, tt.hdr, w.Code, w.Body.String(), tt.code)
			}
		})
	}
}

// With web.listen on every address, an attendant names the kiosk by IP; a name still fails.
func TestRequestGuardListenAll(t *testing.T) {
	tr := health.New()
	s, err := New(&fakeSource{}, kiosk.NewKeyPad(), Opts{Health: tr, AttendantToken: testToken, Listen: ":8080"})
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	hdr := map[string]string{"Authorization": "Bearer " + testToken}
	for host, code := range map[string]int{"192.0.2.9:8080": 200, "kiosk.example:8080": 421, "localhost:8080": 200} {
		hdr["Host"] = host
		if w := do(t, h, "GET", "/api/attendant", "192.0.2.7:5000", "", hdr); w.Code != code {
			t.Errorf("Host %s: %d, want %d", host, w.Code, code)
		}
	}
}

// Event streams are capped (issue 15 item 11).
func TestEventStreamCap(t *testing.T) {
	src := &fakeSource{cur: kiosk.Event{Stage: kiosk.StageIdle}}
	s, err := New(src, kiosk.NewKeyPad(), Opts{Health: health.New(), MaxStreams: 2})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	open := func() *http.Response {
		resp, err := http.Get(ts.URL + "/api/events")
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	var held []*http.Response
	for i := 0; i < 2; i++ {
		resp := open()
		if resp.StatusCode != 200 {
			t.Fatalf("stream %d: %d", i, resp.StatusCode)
		}
		bufio.NewReader(resp.Body).ReadString('\n') // the stream is being served
		held = append(held, resp)
	}
	if resp := open(); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("third stream: %d, want 503", resp.StatusCode)
		resp.Body.Close()
	}
	held[0].Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp := open()
		code := resp.StatusCode
		resp.Body.Close()
		if code == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a closed stream did not free its place: %d", code)
		}
		time.Sleep(20 * time.Millisecond)
	}
	held[1].Body.Close()
}

// The attendant token file (issue 15 item 12): mode and length are checked like the store key.
func TestLoadAttendantToken(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	good := strings.Repeat("k", 40)
	tests := []struct {
		name, path, wantErr string
	}{
		{"good", write("good", good+"\n", 0o600), ""},
		{"world readable", write("world", good, 0o644), "0600"},
		{"group readable", write("group", good, 0o640), "0600"},
		{"short", write("short", "s3cret\n", 0o600), "at least 32"},
		{"device", "/dev/zero", "not a regular file"},
	}
	for _, tt := range tests {
		tok, err := LoadAttendantToken(tt.path)
		if tt.wantErr == "" {
			if err != nil || tok != good {
				t.Errorf("%s: %q, %v", tt.name, tok, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
			t.Errorf("%s: %v, want an error containing %q", tt.name, err, tt.wantErr)
		}
	}
	if _, err := New(&fakeSource{}, kiosk.NewKeyPad(), Opts{Health: health.New(), AttendantToken: "short"}); err == nil {
		t.Error("New accepted a 5-byte token")
	}
}
