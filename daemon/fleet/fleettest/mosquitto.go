// Package fleettest starts Debian's mosquitto for tests with the configuration and ACL that
// ship in deploy/fleet, installed as their comments say, with only what a test must change
// moved: the fleet name, the listener (127.0.0.1, a free port), the certificate, ACL and data
// paths (a temporary directory, a test CA and per-client certificates). The broker is stopped
// by PID.
package fleettest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/edgeid/edgeid/internal/testenv"
)

// Opts configures StartMosquitto.
type Opts struct {
	Fleet string // topic root is edgeid/v1/<Fleet>/; default "test"
	// Admins are the certificate names of the fleet back end. The shipped ACL's own user blocks
	// (publisher, collector, ...) are used as they are; any other name gets a copy of the
	// collector's block, as deploy/fleet/acl tells an operator to add for each further collector.
	Admins []string
}

// Broker is a running (or stopped) mosquitto.
type Broker struct {
	URL  string // ssl://127.0.0.1:port
	Addr string
	Dir  string

	t      testing.TB
	bin    string
	conf   string
	caKey  *ecdsa.PrivateKey
	caCert *x509.Certificate
	caPath string

	mu  sync.Mutex
	cmd *exec.Cmd

	serialMu sync.Mutex
	serial   int64
}

// Binary returns the mosquitto path, or "" when it is not installed.
func Binary() string {
	for _, p := range []string{"/usr/sbin/mosquitto", "/usr/bin/mosquitto"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p
	}
	return ""
}

// StartMosquitto starts a broker for the test and stops it at cleanup. It skips the test
// when mosquitto is not installed (CI installs it: it is on the Makefile's DEB_TEST line).
func StartMosquitto(t testing.TB, o Opts) *Broker {
	t.Helper()
	bin := Binary()
	if bin == "" {
		testenv.Missing(t, "mosquitto is not installed (apt-get install mosquitto; it is on the Makefile's DEB_TEST line)")
	}
	if o.Fleet == "" {
		o.Fleet = "test"
	}
	dir := t.TempDir()
	b := &Broker{t: t, bin: bin, Dir: dir}
	b.makeCA()
	b.caPath = filepath.Join(dir, "ca.crt")
	srvCert, srvKey := b.issue("mosquitto", true)
	port := freePort(t)
	b.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	b.URL = "ssl://" + b.Addr
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	shipped := shippedDir(t)
	conf, err := shippedConf(readFile(t, filepath.Join(shipped, "mosquitto.conf")), map[string]string{
		"listener": fmt.Sprintf("%d 127.0.0.1", port),
		"cafile":   b.caPath,
		"certfile": srvCert,
		"keyfile":  srvKey,
		"acl_file": filepath.Join(dir, "acl"),
	})
	if err != nil {
		t.Fatalf("fleettest: deploy/fleet/mosquitto.conf: %v", err)
	}
	acl, err := shippedACL(readFile(t, filepath.Join(shipped, "acl")), o.Fleet, o.Admins)
	if err != nil {
		t.Fatalf("fleettest: deploy/fleet/acl: %v", err)
	}
	write(t, filepath.Join(dir, "acl"), acl)
	if err := os.MkdirAll(filepath.Join(dir, "conf.d"), 0o700); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(dir, "conf.d", "edgeid.conf"), conf)
	// What Debian's /etc/mosquitto/mosquitto.conf gives the shipped file (persistence, a log
	// file, conf.d), moved to the temporary directory; "user root" keeps the broker able to
	// read the test's 0600 files when the tests run as root.
	main := fmt.Sprintf(`# written by fleettest: Debian's mosquitto.conf, moved
user root
persistence true
persistence_location %[1]s/data/
log_dest file %[1]s/mosquitto.log
include_dir %[1]s/conf.d
`, dir)
	b.conf = filepath.Join(dir, "mosquitto.conf")
	write(t, b.conf, main)
	b.Start()
	t.Cleanup(func() {
		b.Stop()
		if t.Failed() {
			t.Logf("mosquitto log:\n%s", b.Log())
		}
	})
	return b
}

func write(t testing.TB, p, s string) {
	t.Helper()
	if err := os.WriteFile(p, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start (re)starts the broker with the same port, config and data directory, and waits until
// it accepts connections.
func (b *Broker) Start() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd != nil {
		b.t.Fatal("fleettest: broker already running")
	}
	cmd := exec.Command(b.bin, "-c", b.conf)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		b.t.Fatalf("fleettest: start mosquitto: %v", err)
	}
	b.cmd = cmd
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", b.Addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(b.Dir, "mosquitto.log"))
			b.t.Fatalf("fleettest: mosquitto not listening on %s after 10 s: %v\n%s", b.Addr, err, log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops the broker by PID (SIGTERM, then SIGKILL after 5 s); it saves its persistent
// state on the way out. Stopping a stopped broker does nothing.
func (b *Broker) Stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return
	}
	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = b.cmd.Process.Kill()
		<-done
	}
	b.cmd = nil
}

// Log returns the broker's log so far.
func (b *Broker) Log() string {
	s, _ := os.ReadFile(filepath.Join(b.Dir, "mosquitto.log"))
	return string(s)
}

func (b *Broker) makeCA() {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "edgeid test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		b.t.Fatal(err)
	}
	b.caKey = key
	b.caCert, _ = x509.ParseCertificate(der)
	write(b.t, filepath.Join(b.Dir, "ca.crt"), string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	kd, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		b.t.Fatal(err)
	}
	write(b.t, filepath.Join(b.Dir, "ca.key"), string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})))
}

// CAFiles returns the test CA's certificate and key paths (edgeidctl sim mints kiosk
// certificates with them).
func (b *Broker) CAFiles() (cert, key string) {
	return filepath.Join(b.Dir, "ca.crt"), filepath.Join(b.Dir, "ca.key")
}

// issue writes a certificate and key for cn and returns their paths.
func (b *Broker) issue(cn string, server bool) (certPath, keyPath string) {
	b.t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.t.Fatal(err)
	}
	b.serialMu.Lock()
	b.serial++
	sn := 100 + b.serial
	b.serialMu.Unlock()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(sn),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if server {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
		tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
		tmpl.DNSNames = []string{"localhost"}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, b.caCert, &key.PublicKey, b.caKey)
	if err != nil {
		b.t.Fatal(err)
	}
	kd, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		b.t.Fatal(err)
	}
	name := strings.NewReplacer("/", "_", " ", "_").Replace(cn)
	certPath = filepath.Join(b.Dir, fmt.Sprintf("%s-%d.crt", name, sn))
	keyPath = filepath.Join(b.Dir, fmt.Sprintf("%s-%d.key", name, sn))
	write(b.t, certPath, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})))
	write(b.t, keyPath, string(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd})))
	return certPath, keyPath
}

// ClientFiles issues a client certificate for cn and returns the certificate, key and CA paths
// (for mosquitto_pub or edgeidctl).
func (b *Broker) ClientFiles(cn string) (cert, key, ca string) {
	b.t.Helper()
	cert, key = b.issue(cn, false)
	return cert, key, b.caPath
}

// ClientTLS issues a client certificate for cn and returns a TLS config that trusts the
// test CA and presents that certificate.
func (b *Broker) ClientTLS(cn string) *tls.Config {
	b.t.Helper()
	certPath, keyPath, _ := b.ClientFiles(cn)
	pair, err := tls.LoadX509KeyPair(certPath, keyPath)
	if err != nil {
		b.t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(b.caCert)
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
}
