package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"fmt"
	"net"
	"net/url"
	"os"
	"runtime/pprof"
	"sync/atomic"
	"syscall"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/edgeid/edgeid/daemon/fleet"
)

// bufConn reads a connection through an 8 KB buffer. paho reads each packet's fixed header a
// byte at a time; on thousands of simulated kiosks that is a read call per byte, CPU the
// simulator takes from the broker it measures.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

// bufferedDial is paho's connection opener for the simulated kiosks: TCP or TLS, buffered.
func bufferedDial(uri *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
	d := &net.Dialer{Timeout: o.ConnectTimeout}
	var c net.Conn
	var err error
	switch uri.Scheme {
	case "tcp", "mqtt":
		c, err = d.Dial("tcp", uri.Host)
	case "ssl", "tls", "mqtts", "tcps":
		c, err = tls.DialWithDialer(d, "tcp", uri.Host, o.TLSConfig)
	default:
		return nil, fmt.Errorf("sim: broker scheme %q: want tcp or ssl", uri.Scheme)
	}
	if err != nil {
		return nil, err
	}
	return &bufConn{Conn: c, r: bufio.NewReaderSize(c, 8<<10)}, nil
}

// deltaCheck turns a revocation delta into its version. With once, a payload byte-equal to
// the last verified one is taken without verifying its signature again: every kiosk still
// receives and compares the whole message, but 10,000 Ed25519 verifications of the same bytes
// do not compete with the broker for this machine's CPU.
type deltaCheck struct {
	once bool
	keys fleet.Keyring
	last atomic.Pointer[verifiedDelta]
}

type verifiedDelta struct {
	payload []byte
	version uint64
}

func (d *deltaCheck) mode() string {
	if d.once {
		return "once"
	}
	return "each"
}

func (d *deltaCheck) version(p []byte) (uint64, bool) {
	if d.once {
		if v := d.last.Load(); v != nil && bytes.Equal(v.payload, p) {
			return v.version, true
		}
	}
	kind, body, err := fleet.Unseal(p, d.keys, 64<<20)
	if err != nil || kind != fleet.KindRevocations {
		return 0, false
	}
	l, err := fleet.ParseRevocationList(body)
	if err != nil {
		return 0, false
	}
	if d.once {
		d.last.Store(&verifiedDelta{payload: bytes.Clone(p), version: l.Version})
	}
	return l.Version, true
}

// cpuTime is the CPU this process has used (user and system).
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fdLimit names the open-file limit, which bounds how many kiosks one simulator can run.
func fdLimit() string {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return "open-file limit unknown"
	}
	return fmt.Sprintf("open-file limit %d", l.Cur)
}

func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
