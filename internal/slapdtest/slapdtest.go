// Package slapdtest starts throwaway OpenLDAP directory servers for tests: a slapd.conf, a
// database loaded with slapadd and a test CA made with Go's crypto, all in a temporary
// directory; slapd listening on 127.0.0.1 only (ldap:// with StartTLS, and ldaps://), in the
// foreground as a child of the test, stopped and removed after.
//
// slapd and slapadd come from Debian's slapd package (/usr/sbin, or the PATH). Without them a
// test is skipped, unless the environment variable REALMGATE_REQUIRE_TOOLCHAINS is set (CI
// installs them with .ci/install-slapd.sh), when it fails.
//
// The fixture directory (Fixture) holds dc=example,dc=com with people, groups, a service account
// and a referral; tests use it through the constants of this package.
package slapdtest

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	_ "embed"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// CIEnv names the environment variable that turns a missing slapd from a skip into a failure.
const CIEnv = "REALMGATE_REQUIRE_TOOLCHAINS"

// The fixture's names and secrets.
const (
	Suffix       = "dc=example,dc=com"
	People       = "ou=people,dc=example,dc=com"
	Groups       = "ou=groups,dc=example,dc=com"
	RootDN       = "cn=admin,dc=example,dc=com"
	RootPassword = "admin-secret"
	// ReaderDN is a service account that may read every entry (anonymous users may not).
	ReaderDN       = "cn=reader,dc=example,dc=com"
	ReaderPassword = "reader-secret"
	// Alice is a teller; Bob is in no group; Carol is in sales.
	AlicePassword = "alice-secret"
	BobPassword   = "bob-secret"
	CarolPassword = "carol-secret"
	// CommaUser has a comma in its uid (uid=comma\,user): its login shows the DN escaping.
	CommaUser         = "comma,user"
	CommaUserPassword = "comma-secret"
	// Referral is an entry that refers elsewhere (a referral object).
	Referral = "ou=partners,dc=example,dc=com"
)

// Fixture is the directory every server starts with. memberOf is written as the memberof
// overlay would have written it (slapadd does not run overlays).
//
//go:embed fixture.ldif
var Fixture string

// Server is a running (or stopped) slapd.
type Server struct {
	// Dir holds the configuration, the database, the certificates and the log.
	Dir string
	// URL is ldap://127.0.0.1:PORT (StartTLS available); LDAPSURL is ldaps://127.0.0.1:PORT.
	URL, LDAPSURL string
	// CAFile is the PEM file of the CA that signed the server's certificate; CA is its pool.
	CAFile string
	CA     *x509.CertPool

	bin  string
	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
}

// sbinDirs are searched after the PATH (Debian installs slapd in /usr/sbin, which a user's PATH
// may lack).
var sbinDirs = []string{"/usr/sbin", "/usr/local/sbin", "/usr/local/libexec"}

func find(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range sbinDirs {
		if p := filepath.Join(dir, name); isExec(p) {
			return p
		}
	}
	return ""
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// Start starts a slapd with Fixture plus extraLDIF (entries added after the fixture's) and
// stops it when the test ends.
func Start(t testing.TB, extraLDIF string) *Server {
	t.Helper()
	return StartLDIF(t, Fixture+"\n"+extraLDIF)
}

// StartLDIF starts a slapd whose directory is ldif alone (its suffix must be Suffix) and stops
// it when the test ends.
func StartLDIF(t testing.TB, ldif string) *Server {
	t.Helper()
	slapd, slapadd := find("slapd"), find("slapadd")
	if slapd == "" || slapadd == "" {
		msg := "slapd and slapadd are not installed: run .ci/install-slapd.sh"
		if os.Getenv(CIEnv) != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	s := &Server{Dir: dir, bin: slapd}
	if err := s.makeCerts(); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "slapd.conf"), []byte(s.config()), 0o600); err != nil {
		t.Fatal(err)
	}
	ldifFile := filepath.Join(dir, "directory.ldif")
	if err := os.WriteFile(ldifFile, []byte(ldif), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(slapadd, "-q", "-f", filepath.Join(dir, "slapd.conf"), "-l", ldifFile).CombinedOutput(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}
	ports := freePorts(t, 2)
	s.URL = "ldap://127.0.0.1:" + strconv.Itoa(ports[0])
	s.LDAPSURL = "ldaps://127.0.0.1:" + strconv.Itoa(ports[1])
	t.Cleanup(func() { s.stop() })
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
	return s
}

func freePorts(t testing.TB, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

func (s *Server) config() string {
	return fmt.Sprintf(`include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/inetorgperson.schema
include /etc/ldap/schema/nis.schema
modulepath /usr/lib/ldap
moduleload back_mdb
moduleload memberof
pidfile %[1]s/slapd.pid
TLSCACertificateFile %[1]s/ca.pem
TLSCertificateFile %[1]s/server.pem
TLSCertificateKeyFile %[1]s/server.key
database mdb
maxsize 16777216
suffix "%[2]s"
rootdn "%[3]s"
rootpw %[4]s
directory %[1]s/db
overlay memberof
access to attrs=userPassword by self write by anonymous auth by * none
access to * by dn.exact="%[5]s" read by users read by * none
`, s.Dir, Suffix, RootDN, RootPassword, ReaderDN)
}

// start runs slapd and waits until it accepts connections.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	logf, err := os.OpenFile(filepath.Join(s.Dir, "slapd.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	// -d 0 keeps slapd in the foreground, a child of the test that dies with it.
	cmd := exec.Command(s.bin, "-d", "0", "-f", filepath.Join(s.Dir, "slapd.conf"), "-h", s.URL+"/ "+s.LDAPSURL+"/")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("slapd: %w", err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); logf.Close(); close(done) }()
	s.cmd, s.done = cmd, done
	addr := s.URL[len("ldap://"):]
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-done:
			log, _ := os.ReadFile(filepath.Join(s.Dir, "slapd.log"))
			return fmt.Errorf("slapd exited at start:\n%s", log)
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("slapd did not listen on %s within 15s", addr)
		}
	}
}

// Stop stops the server (its data stays); Restart starts it again on the same ports.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.stop()
}

func (s *Server) stop() {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(syscall.SIGCONT) // a paused server cannot stop
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
	}
}

// Restart starts a stopped server again, on the same ports.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	// The ports were freed by the stop; another process could take them, but on a test
	// machine's loopback that does not happen within the test.
	if err := s.start(); err != nil {
		t.Fatal(err)
	}
}

// Pause stops the server's process (SIGSTOP): connections are accepted by the kernel but get no
// answer, as from a directory that hangs. It returns once the process is stopped (a signal is
// delivered after kill returns). Resume lets it go on.
func (s *Server) Pause(t testing.TB) {
	t.Helper()
	s.signal(t, syscall.SIGSTOP)
	s.mu.Lock()
	pid := s.cmd.Process.Pid
	s.mu.Unlock()
	stat := filepath.Join("/proc", strconv.Itoa(pid), "stat")
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		b, err := os.ReadFile(stat)
		if err != nil {
			return // no /proc: the signal has had a moment to land
		}
		// The state follows the command name in parentheses: "PID (slapd) T ...".
		if i := strings.LastIndexByte(string(b), ')'); i >= 0 && i+2 < len(b) && (b[i+2] == 'T' || b[i+2] == 't') {
			return
		}
	}
	t.Fatal("slapd did not stop on SIGSTOP within 5s")
}

// Resume continues a paused server.
func (s *Server) Resume(t testing.TB) { s.signal(t, syscall.SIGCONT) }

func (s *Server) signal(t testing.TB, sig os.Signal) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		t.Fatal("slapd is not running")
	}
	if err := s.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
}

// makeCerts writes a test CA and a server certificate for 127.0.0.1 and localhost.
func (s *Server) makeCerts() error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "slapdtest CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return err
	}
	s.CAFile = filepath.Join(s.Dir, "ca.pem")
	for name, block := range map[string]*pem.Block{
		"ca.pem":     {Type: "CERTIFICATE", Bytes: caDER},
		"server.pem": {Type: "CERTIFICATE", Bytes: der},
		"server.key": {Type: "PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(s.Dir, name), pem.EncodeToMemory(block), 0o600); err != nil {
			return err
		}
	}
	s.CA = x509.NewCertPool()
	s.CA.AddCert(ca)
	return nil
}

// Context returns a context for a test's directory calls, bounded so a hung server fails the
// test instead of stalling it.
func Context(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
