// Package natsmqtt runs a NATS server with its MQTT listener and JetStream in this process:
// the fleet's embedded broker for simulation and the demo, the tests' in-process broker, and
// one node of a test cluster. NATS keeps MQTT sessions (CleanSession=false), QoS 1 messages
// and retained messages in JetStream streams, so it needs a server name and a store
// directory; MQTT topics map to NATS subjects (audit/k1 -> audit.k1).
package natsmqtt

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Opts configures one node. Zero values give a single loopback node with a temporary store.
type Opts struct {
	// Name is the server name (unique in a cluster); "edgeid" if empty.
	Name string
	// MQTT is the MQTT listener's host:port (port 0 picks a free one); NATS, the NATS
	// client listener's ("127.0.0.1:0" if empty).
	MQTT, NATS string
	// StoreDir holds JetStream's files; a temporary directory removed by Close if empty.
	StoreDir string
	// Cluster, if set, is this node's cluster listener host:port and Routes the other
	// nodes' (nats-route://host:port); ClusterName names the cluster.
	Cluster     string
	ClusterName string
	Routes      []string
	// Replicas of the MQTT streams (0: the server picks, up to 3 in a cluster).
	Replicas int
	// MaxStore bounds JetStream's file store in bytes (0: 1 GiB).
	MaxStore int64
	// Loopback refuses any listener address that is not loopback (no TLS, no auth here).
	Loopback bool
	// AckWait is how long a QoS 1 message sent to a client waits for its PUBACK before NATS
	// sends it again (0: DefaultAckWait). NATS does not resend on reconnect as MQTT brokers
	// usually do, so a revocation delta in flight to a connection that just dropped arrives
	// only after this.
	AckWait time.Duration
	// ConsumerMemoryStorage keeps the MQTT subscriptions' JetStream consumers (one per QoS 1
	// subscription of a session) in memory instead of files: a fleet of thousands of kiosks
	// creates thousands of consumers, each a file write on this store; in memory a node restart
	// forgets what a kiosk had not yet acknowledged (the retained snapshots still bring it up
	// to date). Off by default.
	ConsumerMemoryStorage bool
	// MaxAckPending is how many QoS 1 messages a subscription may have unacknowledged
	// (0: NATS's 1,024). A session's subscriptions together may not exceed 65,535: NATS
	// refuses (SUBACK 0x80) a subscription past that.
	MaxAckPending uint16
	Logger        *slog.Logger
}

// DefaultAckWait replaces NATS's 30 s: a kiosk that reconnects after a dropped link gets the
// delta it missed within seconds; a duplicate costs a kiosk nothing (versions are idempotent).
const DefaultAckWait = 10 * time.Second

// Server is a running node.
type Server struct {
	s        *server.Server
	tmp      string
	MQTTAddr string // host:port of the MQTT listener
	NATSURL  string // nats://host:port of the NATS client listener
}

// Start starts a node and waits until it accepts connections (JetStream included).
func Start(o *Opts) (*Server, error) {
	if o == nil {
		o = &Opts{}
	}
	name := o.Name
	if name == "" {
		name = "edgeid"
	}
	mqttAddr, natsAddr := o.MQTT, o.NATS
	if mqttAddr == "" {
		mqttAddr = "127.0.0.1:0"
	}
	if natsAddr == "" {
		natsAddr = "127.0.0.1:0"
	}
	for _, a := range []string{mqttAddr, natsAddr, o.Cluster} {
		if a == "" || !o.Loopback {
			continue
		}
		if err := loopback(a); err != nil {
			return nil, err
		}
	}
	mh, mp, err := hostPort(mqttAddr, true)
	if err != nil {
		return nil, fmt.Errorf("natsmqtt: mqtt address: %w", err)
	}
	nh, np, err := hostPort(natsAddr, false)
	if err != nil {
		return nil, fmt.Errorf("natsmqtt: nats address: %w", err)
	}
	srv := &Server{}
	dir := o.StoreDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "edgeid-broker-*"); err != nil {
			return nil, fmt.Errorf("natsmqtt: store dir: %w", err)
		}
		srv.tmp = dir
	}
	ackWait := o.AckWait
	if ackWait == 0 {
		ackWait = DefaultAckWait
	}
	maxStore := o.MaxStore
	if maxStore == 0 {
		maxStore = 1 << 30
	}
	opts := &server.Options{
		ServerName:         name,
		Host:               nh,
		Port:               np,
		JetStream:          true,
		StoreDir:           dir,
		JetStreamMaxStore:  maxStore,
		JetStreamMaxMemory: 256 << 20,
		NoSigs:             true,
		MaxPayload:         8 << 20, // revocation snapshots and template sets are larger than NATS's 1 MiB default
		MQTT: server.MQTTOpts{Host: mh, Port: mp, StreamReplicas: o.Replicas, AckWait: ackWait,
			ConsumerMemoryStorage: o.ConsumerMemoryStorage, MaxAckPending: o.MaxAckPending},
	}
	if o.Cluster != "" {
		ch, cp, err := hostPort(o.Cluster, false)
		if err != nil {
			return nil, fmt.Errorf("natsmqtt: cluster address: %w", err)
		}
		opts.Cluster = server.ClusterOpts{Name: o.ClusterName, Host: ch, Port: cp}
		for _, r := range o.Routes {
			u, err := url.Parse(r)
			if err != nil {
				return nil, fmt.Errorf("natsmqtt: route %q: %w", r, err)
			}
			opts.Routes = append(opts.Routes, u)
		}
	}
	s, err := server.NewServer(opts)
	if err != nil {
		srv.cleanup()
		return nil, fmt.Errorf("natsmqtt: %w", err)
	}
	if o.Logger != nil {
		s.SetLoggerV2(&logger{o.Logger}, false, false, false)
	}
	srv.s = s
	s.Start()
	// A cluster's JetStream needs a quorum before it serves; a single node is ready at once.
	wait := 10 * time.Second
	if o.Cluster != "" {
		wait = 30 * time.Second
	}
	if !s.ReadyForConnections(wait) {
		srv.Close()
		return nil, errors.New("natsmqtt: server not ready")
	}
	if mp <= 0 {
		mp = opts.MQTT.Port // the server writes the port it bound back into its options
	}
	srv.MQTTAddr = net.JoinHostPort(mh, strconv.Itoa(mp))
	srv.NATSURL = s.ClientURL()
	return srv, nil
}

// URL is the MQTT broker URL for paho (tcp://host:port).
func (s *Server) URL() string { return "tcp://" + s.MQTTAddr }

// JetStreamReady reports whether this node's JetStream serves requests (in a cluster: a
// meta leader is known).
func (s *Server) JetStreamReady() bool { return s.s.JetStreamIsCurrent() }

// Close shuts the node down and removes a temporary store.
func (s *Server) Close() error {
	if s.s != nil {
		s.s.Shutdown()
		s.s.WaitForShutdown()
	}
	return s.cleanup()
}

func (s *Server) cleanup() error {
	if s.tmp == "" {
		return nil
	}
	return os.RemoveAll(s.tmp)
}

func loopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("natsmqtt: %w", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("natsmqtt: %s is not a loopback address", addr)
	}
	return nil
}

// hostPort splits addr; port 0 becomes NATS's "random port" (-1). For the MQTT listener the
// free port is found here first, since the server does not report the one it bound.
func hostPort(addr string, reserve bool) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return "", 0, fmt.Errorf("bad port %q", p)
	}
	if n != 0 {
		return h, n, nil
	}
	if !reserve {
		return h, -1, nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(h, "0"))
	if err != nil {
		return "", 0, err
	}
	defer ln.Close()
	return h, ln.Addr().(*net.TCPAddr).Port, nil
}

// logger sends the server's log to slog.
type logger struct{ l *slog.Logger }

func (l *logger) Noticef(f string, v ...any) { l.l.Info(fmt.Sprintf(f, v...), "component", "broker") }
func (l *logger) Warnf(f string, v ...any)   { l.l.Warn(fmt.Sprintf(f, v...), "component", "broker") }
func (l *logger) Fatalf(f string, v ...any)  { l.l.Error(fmt.Sprintf(f, v...), "component", "broker") }
func (l *logger) Errorf(f string, v ...any)  { l.l.Error(fmt.Sprintf(f, v...), "component", "broker") }
func (l *logger) Debugf(f string, v ...any)  { l.l.Debug(fmt.Sprintf(f, v...), "component", "broker") }
func (l *logger) Tracef(f string, v ...any)  { l.l.Debug(fmt.Sprintf(f, v...), "component", "broker") }
