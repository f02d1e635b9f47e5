// Package web serves the kiosk's screen and its operators: the page the person sees (embedded,
// no CDN), an attendant view, a JSON API with live events over SSE, /healthz and /metrics.
// It binds to localhost by default; the attendant view and its API need a token from any other
// address. Nothing it serves carries an image or a document number.
package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgeid/edgeid/daemon/health"
	"github.com/edgeid/edgeid/daemon/kiosk"
	"github.com/edgeid/edgeid/internal/boundedfile"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

//go:embed static
var static embed.FS

// The spoken prompts are Ogg Opus, which Go's own table of types does not name.
func init() { _ = mime.AddExtensionType(".ogg", "audio/ogg") }

// Source is the kiosk as the web sees it.
type Source interface {
	Subscribe() (<-chan kiosk.Event, func())
	Current() kiosk.Event
	Decisions() []kiosk.Event
}

// KeyPad takes the access key typed on the screen, and the person's request to type it rather
// than show the document to the camera; *kiosk.KeyPad satisfies it.
type KeyPad interface {
	Submit(k kiosk.AccessKey) error
	AskKeypad() error
}

// Referrals is the kiosk's checks waiting for the attendant; *kiosk.Kiosk satisfies it.
type Referrals interface {
	Pending() (kiosk.PendingReferral, bool)
	PendingImage(checkID, which string) ([]byte, bool)
	Resolve(checkID string, approve bool, by string) error
}

// Opts configures the server.
type Opts struct {
	// AttendantToken guards the attendant view and API from addresses other than loopback;
	// empty means they are served to loopback only.
	AttendantToken string
	// Listen is the configured listen address; requests must name it, a loopback address or
	// localhost in their Host header (DNS rebinding). Empty accepts loopback names only.
	Listen string
	// MaxStreams bounds the concurrent /api/events clients (0: DefaultMaxStreams).
	MaxStreams int
	// Referrals, when set, lets the attendant see and decide referred checks.
	Referrals Referrals
	// Live, when set, is the camera's picture for the kiosk's own screen (GET /api/live).
	Live Live
	// LiveFPS caps the picture's frame rate per client (0: DefaultLiveFPS).
	LiveFPS  int
	Registry *prometheus.Registry
	Health   *health.Tracker
	Logger   *slog.Logger
}

// Live is the camera's picture; *camerahub.Hub satisfies it. next waits for a JPEG newer than
// the last it returned (the caller does not change it); stop ends the watch.
type Live interface {
	Watch() (next func(ctx context.Context) ([]byte, error), stop func())
}

// DefaultLiveFPS is the live picture's default frame rate: enough to follow a head turn.
const DefaultLiveFPS = 12

// DefaultMaxStreams is the default cap on event-stream clients: the kiosk's own screen and a
// few attendants need a handful.
const DefaultMaxStreams = 32

// MinTokenLen is the shortest attendant token accepted: 32 bytes, like the store key.
const MinTokenLen = 32

// Server is the HTTP side of the daemon.
type Server struct {
	src     Source
	keys    KeyPad
	o       Opts
	mux     *http.ServeMux
	m       *metrics
	streams atomic.Int64
	mu      sync.Mutex
	calls   []StaffCall
}

// LoadAttendantToken reads the attendant token file: a regular file that group and others
// cannot read (or a systemd credential), holding at least MinTokenLen bytes.
func LoadAttendantToken(path string) (string, error) {
	b, err := boundedfile.ReadSecret(path, boundedfile.Key)
	if err != nil {
		return "", fmt.Errorf("web: attendant token: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if len(tok) < MinTokenLen {
		return "", fmt.Errorf("web: attendant token in %s is %d bytes, want at least %d", path, len(tok), MinTokenLen)
	}
	return tok, nil
}

// StaffCall is a press of the "call staff" button.
type StaffCall struct {
	Time  time.Time `json:"time"`
	Stage string    `json:"stage"`
}

// New builds the server; Observe must run for the metrics to follow the kiosk.
func New(src Source, keys KeyPad, o Opts) (*Server, error) {
	if src == nil || keys == nil || o.Health == nil {
		return nil, errors.New("web: source, keypad and health tracker are required")
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.MaxStreams <= 0 {
		o.MaxStreams = DefaultMaxStreams
	}
	if o.LiveFPS <= 0 {
		o.LiveFPS = DefaultLiveFPS
	}
	if o.AttendantToken != "" && len(o.AttendantToken) < MinTokenLen {
		return nil, fmt.Errorf("web: attendant token of %d bytes, want at least %d", len(o.AttendantToken), MinTokenLen)
	}
	m, err := newMetrics(o.Registry, o.Health)
	if err != nil {
		return nil, err
	}
	s := &Server{src: src, keys: keys, o: o, mux: http.NewServeMux(), m: m}
	files, err := fs.Sub(static, "static")
	if err != nil {
		return nil, err
	}
	fileServer := http.FileServerFS(files)
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", fileServer))
	s.mux.HandleFunc("GET /{$}", s.page("kiosk.html"))
	s.mux.HandleFunc("GET /attendant", s.attendant(s.page("attendant.html")))
	// Status and events carry every decision: the attendant's token from other hosts.
	s.mux.HandleFunc("GET /api/status", s.attendant(s.status))
	s.mux.HandleFunc("GET /api/events", s.attendant(s.stream))
	s.mux.HandleFunc("GET /api/live", s.screenOnly(s.live))
	s.mux.HandleFunc("POST /api/key", s.localOnly(s.submitKey))
	s.mux.HandleFunc("POST /api/key/keypad", s.localOnly(s.askKeypad))
	s.mux.HandleFunc("POST /api/staff", s.localOnly(s.staff))
	s.mux.HandleFunc("GET /api/attendant", s.attendant(s.attendantData))
	if o.Referrals != nil {
		s.mux.HandleFunc("GET /api/referral/{check}/{image}", s.attendant(s.referralImage))
		s.mux.HandleFunc("POST /api/referral/{check}", s.attendant(s.resolveReferral))
	}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(o.Registry, promhttp.HandlerOpts{}))
	return s, nil
}

// Handler is the server's routes, with headers every response gets.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'")
		h.Set("Cache-Control", "no-store")
		if msg, code := s.refuse(r); code != 0 {
			http.Error(w, msg, code)
			return
		}
		s.mux.ServeHTTP(w, r)
	})
}

// refuse is the one check every request passes before its route: the Host must be one this
// server answers to (a page on evil.example rebound to 127.0.0.1 carries its own name), and a
// request that changes state must come from this origin, as JSON (a cross-site form or a
// text/plain fetch needs no CORS preflight; application/json does).
func (s *Server) refuse(r *http.Request) (string, int) {
	if !s.knownHost(r.Host) {
		return "unknown host", http.StatusMisdirectedRequest
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead || r.Method == http.MethodOptions {
		return "", 0
	}
	if o := r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if o == "null" || err != nil || u.Scheme != "http" || !strings.EqualFold(u.Host, r.Host) {
			return "cross-origin request refused", http.StatusForbidden
		}
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return "cross-site request refused", http.StatusForbidden
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		return "want Content-Type application/json", http.StatusUnsupportedMediaType
	}
	return "", 0
}

// knownHost accepts localhost, a loopback address, the configured listen host and, when the
// server listens on every address, any IP literal: DNS rebinding needs a name.
func (s *Server) knownHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	if ip != nil && ip.IsLoopback() {
		return true
	}
	lh, _, err := net.SplitHostPort(s.o.Listen)
	if err != nil {
		return false
	}
	if lip := net.ParseIP(lh); lh == "" || (lip != nil && lip.IsUnspecified()) {
		return ip != nil
	}
	return strings.EqualFold(host, lh)
}

// Observe follows the kiosk's events into the metrics until ctx ends.
func (s *Server) Observe(ctx context.Context) {
	ch, stop := s.src.Subscribe()
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-ch:
			if !ok {
				return
			}
			s.m.observe(e)
		}
	}
}

// Serve serves on ln until ctx ends, then shuts down within five seconds.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 5 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
		<-errc
		return nil
	}
}

func (s *Server) page(name string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		b, err := static.ReadFile("static/" + name)
		if err != nil {
			http.Error(w, "page missing", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(b)
	}
}

func isLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// localOnly lets only the kiosk's own screen (loopback) submit.
func (s *Server) localOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !isLoopback(r) {
			http.Error(w, "only the kiosk's own screen may do this", http.StatusForbidden)
			return
		}
		h(w, r)
	}
}

// attendant admits loopback, or a request with the attendant token (bearer header or ?token=).
func (s *Server) attendant(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !isLoopback(r) {
			tok := r.URL.Query().Get("token")
			if a := r.Header.Get("Authorization"); len(a) > 7 && a[:7] == "Bearer " {
				tok = a[7:]
			}
			if s.o.AttendantToken == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(s.o.AttendantToken)) != 1 {
				http.Error(w, "attendant token required", http.StatusUnauthorized)
				return
			}
		}
		h(w, r)
	}
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

type statusReply struct {
	Current kiosk.Event        `json:"current"`
	Healthy bool               `json:"healthy"`
	Health  []health.Condition `json:"health"`
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) {
	conds, ok := s.o.Health.Snapshot()
	writeJSON(w, http.StatusOK, statusReply{Current: s.src.Current(), Healthy: ok, Health: conds})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	conds, ok := s.o.Health.Snapshot()
	code := http.StatusOK
	if !ok {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"healthy": ok, "conditions": conds})
}

// openStream counts one more long-lived response (event stream or live picture), or answers
// 503 when MaxStreams are open: each holds a goroutine and a connection. The caller ends it
// with s.streams.Add(-1).
func (s *Server) openStream(w http.ResponseWriter) bool {
	if s.streams.Add(1) > int64(s.o.MaxStreams) {
		s.streams.Add(-1)
		http.Error(w, "too many streams open", http.StatusServiceUnavailable)
		return false
	}
	return true
}

// stream sends the current event, then every new one, as server-sent events.
func (s *Server) stream(w http.ResponseWriter, r *http.Request) {
	fl, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	if !s.openStream(w) {
		return
	}
	defer s.streams.Add(-1)
	ch, stop := s.src.Subscribe()
	defer stop()
	w.Header().Set("Content-Type", "text/event-stream")
	send := func(e kiosk.Event) bool {
		b, err := json.Marshal(e)
		if err != nil {
			return false
		}
		_, err = fmt.Fprintf(w, "id: %d\ndata: %s\n\n", e.Seq, b)
		fl.Flush()
		return err == nil
	}
	if !send(s.src.Current()) {
		return
	}
	keepalive := time.NewTicker(15 * time.Second)
	defer keepalive.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case e, ok := <-ch:
			if !ok || !send(e) {
				return
			}
		case <-keepalive.C:
			if _, err := io.WriteString(w, ": keepalive\n\n"); err != nil {
				return
			}
			fl.Flush()
		}
	}
}

type keyRequest struct {
	DocumentNumber string `json:"document_number"`
	DateOfBirth    string `json:"date_of_birth"`
	DateOfExpiry   string `json:"date_of_expiry"`
	CAN            string `json:"can"`
}

func (s *Server) submitKey(w http.ResponseWriter, r *http.Request) {
	var req keyRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1024))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "malformed request"})
		return
	}
	err := s.keys.Submit(kiosk.AccessKey{DocumentNumber: req.DocumentNumber, DateOfBirth: req.DateOfBirth, DateOfExpiry: req.DateOfExpiry, CAN: req.CAN})
	if errors.Is(err, kiosk.ErrNotWaiting) {
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
		return
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "accepted"})
}

// askKeypad: the person would rather type the key (or the CAN) than show the page to the
// camera. The body is an empty JSON object; 409 when no check is waiting for a key.
func (s *Server) askKeypad(w http.ResponseWriter, r *http.Request) {
	var req struct{}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "malformed request"})
		return
	}
	if err := s.keys.AskKeypad(); err != nil {
		writeJSON(w, http.StatusConflict, map[string]string{"error": err.Error()})
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "keypad"})
}

func (s *Server) staff(w http.ResponseWriter, r *http.Request) {
	c := StaffCall{Time: time.Now(), Stage: string(s.src.Current().Stage)}
	s.mu.Lock()
	s.calls = append(s.calls, c)
	if len(s.calls) > 20 {
		s.calls = s.calls[len(s.calls)-20:]
	}
	s.mu.Unlock()
	s.m.staffCalls.Inc()
	s.o.Logger.Warn("staff called from the kiosk screen", "stage", c.Stage)
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "staff called"})
}

type attendantReply struct {
	Decisions  []kiosk.Event      `json:"decisions"`
	Health     []health.Condition `json:"health"`
	Healthy    bool               `json:"healthy"`
	StaffCalls []StaffCall        `json:"staff_calls"`
	// Referral is the check waiting for the attendant's decision, if any.
	Referral *kiosk.PendingReferral `json:"referral"`
}

func (s *Server) attendantData(w http.ResponseWriter, r *http.Request) {
	conds, ok := s.o.Health.Snapshot()
	s.mu.Lock()
	calls := append([]StaffCall{}, s.calls...)
	s.mu.Unlock()
	d := s.src.Decisions()
	if d == nil {
		d = []kiosk.Event{}
	}
	reply := attendantReply{Decisions: d, Health: conds, Healthy: ok, StaffCalls: calls}
	if s.o.Referrals != nil {
		if p, ok := s.o.Referrals.Pending(); ok {
			reply.Referral = &p
		}
	}
	writeJSON(w, http.StatusOK, reply)
}

// referralImage serves the chip photo or the best live frame of the open referral, from the
// kiosk's memory, to the attendant only; nothing may keep it.
func (s *Server) referralImage(w http.ResponseWriter, r *http.Request) {
	which := r.PathValue("image")
	if which != kiosk.ImageChip && which != kiosk.ImageLive {
		http.Error(w, "no such image", http.StatusNotFound)
		return
	}
	b, ok := s.o.Referrals.PendingImage(r.PathValue("check"), which)
	if !ok {
		http.Error(w, "no such referral waiting", http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/jpeg")
	h.Set("Cache-Control", "no-store, private, max-age=0")
	h.Set("Pragma", "no-cache")
	h.Set("Expires", "0")
	w.Write(b)
}

type referralRequest struct {
	Decision string `json:"decision"` // "approve" or "deny"
}

// resolveReferral takes the attendant's decision. Where a token is configured it is required
// here even from loopback: the person being checked stands at the kiosk's own screen.
func (s *Server) resolveReferral(w http.ResponseWriter, r *http.Request) {
	by, ok := s.attendantID(r)
	if !ok {
		http.Error(w, "attendant token required", http.StatusUnauthorized)
		return
	}
	var req referralRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 256))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || (req.Decision != "approve" && req.Decision != "deny") {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": `decision must be "approve" or "deny"`})
		return
	}
	if err := s.o.Referrals.Resolve(r.PathValue("check"), req.Decision == "approve", by); err != nil {
		writeJSON(w, http.StatusConflict, map[string]string{"error": "no such referral is waiting (decided, timed out or ended)"})
		return
	}
	s.o.Logger.Info("attendant decided a referral", "check", r.PathValue("check"), "decision", req.Decision, "by", by)
	writeJSON(w, http.StatusOK, map[string]string{"status": req.Decision + "d"})
}

// attendantID names the attendant for the audit record: "token:" and the first 8 hex digits
// of the token's SHA-256 (which token, never the token), or "attendant" on loopback where no
// token is configured. ok is false when a configured token was not presented.
func (s *Server) attendantID(r *http.Request) (string, bool) {
	if s.o.AttendantToken == "" {
		return "attendant", isLoopback(r)
	}
	tok := r.URL.Query().Get("token")
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") {
		tok = a[len("Bearer "):]
	}
	if subtle.ConstantTimeCompare([]byte(tok), []byte(s.o.AttendantToken)) != 1 {
		return "", false
	}
	sum := sha256.Sum256([]byte(tok))
	return "token:" + hex.EncodeToString(sum[:4]), true
}
