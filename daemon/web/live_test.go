package web

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgeid/edgeid/daemon/health"
	"github.com/edgeid/edgeid/daemon/kiosk"
)

// fakeLive is a camera picture that always has a newer frame: numbered fake JPEGs, as fast as
// they are asked for (or the given JPEG). It counts its watchers and the frames handed out.
type fakeLive struct {
	mu       sync.Mutex
	watchers int
	served   int
	jpeg     []byte
	every    time.Duration
}

func (f *fakeLive) Watch() (func(ctx context.Context) ([]byte, error), func()) {
	f.mu.Lock()
	f.watchers++
	f.mu.Unlock()
	var once sync.Once
	next := func(ctx context.Context) ([]byte, error) {
		if f.every > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(f.every):
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.served++
		if f.jpeg != nil {
			return f.jpeg, nil
		}
		return []byte(fmt.Sprintf("\xff\xd8frame %d", f.served)), nil
	}
	return next, func() {
		once.Do(func() {
			f.mu.Lock()
			f.watchers--
			f.mu.Unlock()
		})
	}
}

func (f *fakeLive) counts() (watchers, served int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.watchers, f.served
}

func newLiveServer(t *testing.T, listen string, live Live) *Server {
	t.Helper()
	tr := health.New()
	s, err := New(&fakeSource{cur: kiosk.Event{Stage: kiosk.StageIdle}}, kiosk.NewKeyPad(), Opts{Health: tr, AttendantToken: testToken, Listen: listen, Live: live, LiveFPS: 10})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The live picture follows the page's address rules: the kiosk's own screen (loopback) only,
// and the attendant token as well where web.listen is not loopback.
func TestLiveGuard(t *testing.T) {
	const local, remote = "127.0.0.1:5000", "192.0.2.7:5000"
	bearer := map[string]string{"Authorization": "Bearer " + testToken}
	tests := []struct {
		name, listen, target, remote string
		hdr                          map[string]string
		code                         int
	}{
		{"loopback listen, loopback client", "127.0.0.1:8080", "/api/live", local, nil, 200},
		{"localhost listen", "localhost:8080", "/api/live", local, map[string]string{"Host": "localhost:8080"}, 200},
		{"loopback listen, remote client", "127.0.0.1:8080", "/api/live", remote, nil, 403},
		{"remote client with token", "127.0.0.1:8080", "/api/live", remote, bearer, 403},
		{"listen on all, no token", ":8080", "/api/live", local, nil, 401},
		{"listen on all, wrong token", ":8080", "/api/live?token=nope", local, nil, 401},
		{"listen on all, token", ":8080", "/api/live", local, bearer, 200},
		{"listen on all, token in query", ":8080", "/api/live?token=" + testToken, local, nil, 200},
		{"listen on all, remote with token", ":8080", "/api/live", remote, bearer, 403},
		{"listen on a LAN address", "192.0.2.1:8080", "/api/live", local, nil, 401},
		{"rebound host", "127.0.0.1:8080", "/api/live", local, map[string]string{"Host": "evil.example"}, 421},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newLiveServer(t, tt.listen, &fakeLive{})
			ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
			defer cancel()
			r := httptest.NewRequestWithContext(ctx, "GET", tt.target, nil)
			r.RemoteAddr, r.Host = tt.remote, "127.0.0.1:8080"
			for k, v := range tt.hdr {
				r.Header.Set(k, v)
			}
			if h, ok := tt.hdr["Host"]; ok {
				r.Host = h
			}
			w := httptest.NewRecorder()
			s.Handler().ServeHTTP(w, r)
			if w.Code != tt.code {
				t.Fatalf("%d %q, want %d", w.Code, w.Body.String(), tt.code)
			}
			if cc := w.Header().Get("Cache-Control"); !strings.Contains(cc, "no-store") {
				t.Errorf("Cache-Control %q", cc)
			}
			if tt.code == 200 && !strings.Contains(w.Body.String(), "--"+liveBoundary+"\r\nContent-Type: image/jpeg") {
				t.Errorf("no picture in %q", w.Body.String())
			}
		})
	}
	// No camera hub: no picture.
	s := newLiveServer(t, "127.0.0.1:8080", nil)
	if w := do(t, s.Handler(), "GET", "/api/live", local, "", nil); w.Code != 404 {
		t.Errorf("without a camera: %d", w.Code)
	}
}

// The stream is MJPEG a browser's <img> shows, capped at LiveFPS, and ends (with its watch)
// when the client goes away.
func TestLiveStream(t *testing.T) {
	live := &fakeLive{}
	s := newLiveServer(t, "127.0.0.1:8080", live)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.URL+"/api/live", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/x-mixed-replace" || params["boundary"] == "" {
		t.Fatalf("content type %q (%v)", resp.Header.Get("Content-Type"), err)
	}
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("Cache-Control %q", cc)
	}
	mr := multipart.NewReader(bufio.NewReader(resp.Body), params["boundary"])
	start := time.Now()
	n := 0
	for time.Since(start) < time.Second {
		p, err := mr.NextPart()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		if p.Header.Get("Content-Type") != "image/jpeg" || !strings.HasPrefix(string(b), "\xff\xd8frame ") {
			t.Fatalf("part %v %q", p.Header, b)
		}
		n++
	}
	// 10 a second, though the camera has a new frame every time it is asked.
	if n < 5 || n > 13 {
		t.Errorf("%d pictures in one second at LiveFPS 10", n)
	}
	if w, _ := live.counts(); w != 1 {
		t.Errorf("%d watchers while streaming", w)
	}
	cancel()
	deadline := time.Now().Add(3 * time.Second)
	for {
		w, served := live.counts()
		if w == 0 {
			time.Sleep(300 * time.Millisecond)
			if _, later := live.counts(); later != served {
				t.Errorf("%d pictures taken after the client left", later-served)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the stream went on after the client left")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
