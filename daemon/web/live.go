package web

import (
	"crypto/subtle"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// liveBoundary separates the pictures of the live stream.
const liveBoundary = "edgeid-frame"

// liveWriteTimeout drops a client that stops reading: one picture must leave within it.
const liveWriteTimeout = 5 * time.Second

// screenOnly admits the kiosk's own screen: loopback clients, and where the server listens on
// an address other than loopback, only with the attendant token as well (bearer or ?token=):
// a person's live picture is not for the network.
func (s *Server) screenOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !isLoopback(r) {
			http.Error(w, "the live picture is for the kiosk's own screen", http.StatusForbidden)
			return
		}
		if !listensOnLoopback(s.o.Listen) && !s.hasToken(r) {
			http.Error(w, "attendant token required: web.listen is not loopback", http.StatusUnauthorized)
			return
		}
		h(w, r)
	}
}

// listensOnLoopback reports whether listen names localhost or a loopback address; empty means
// loopback, as in Opts.Listen.
func listensOnLoopback(listen string) bool {
	if listen == "" {
		return true
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(strings.Trim(host, "[]"))
	return ip != nil && ip.IsLoopback()
}

// hasToken reports whether r carries the configured attendant token.
func (s *Server) hasToken(r *http.Request) bool {
	if s.o.AttendantToken == "" {
		return false
	}
	tok := r.URL.Query().Get("token")
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
		tok = a[len("Bearer "):]
	}
	return subtle.ConstantTimeCompare([]byte(tok), []byte(s.o.AttendantToken)) == 1
}

// live streams the camera's newest pictures as MJPEG (multipart/x-mixed-replace) at most
// LiveFPS a second, until the client goes away. Nothing is cached or kept.
func (s *Server) live(w http.ResponseWriter, r *http.Request) {
	if s.o.Live == nil {
		http.Error(w, "no live picture on this kiosk", http.StatusNotFound)
		return
	}
	if !s.openStream(w) {
		return
	}
	defer s.streams.Add(-1)
	next, stop := s.o.Live.Watch()
	defer stop()
	h := w.Header()
	h.Set("Content-Type", "multipart/x-mixed-replace; boundary="+liveBoundary)
	h.Set("Cache-Control", "no-store, private, max-age=0")
	h.Set("Pragma", "no-cache")
	rc := http.NewResponseController(w)
	ctx := r.Context()
	tick := time.NewTicker(time.Second / time.Duration(s.o.LiveFPS))
	defer tick.Stop()
	for {
		b, err := next(ctx)
		if err != nil {
			return
		}
		_ = rc.SetWriteDeadline(time.Now().Add(liveWriteTimeout))
		if _, err := fmt.Fprintf(w, "--%s\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", liveBoundary, len(b)); err != nil {
			return
		}
		if _, err := w.Write(b); err != nil {
			return
		}
		if _, err := w.Write([]byte("\r\n")); err != nil || rc.Flush() != nil {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
