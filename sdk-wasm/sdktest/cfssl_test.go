package sdktest

import (
	"bytes"
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/adaptertest"
)

// The CFSSL bridge (sdk-wasm/go/examples/cfsslbridge) signs through a real `cfssl serve` that
// these tests start on 127.0.0.1, with a CA that cfssl itself generates.

// cfsslBridgeDir is the CFSSL bridge's main package, from this package's folder.
const cfsslBridgeDir = "../go/examples/cfsslbridge"

// cfsslConfig is the signing policy of the test server: the default profile issues server
// certificates for an hour, "client" client certificates for a day, and "authonly" only to
// requests authenticated with a key (which the bridge does not send), so CFSSL refuses it.
const cfsslConfig = `{
  "signing": {
    "default": {"expiry": "1h", "usages": ["digital signature", "server auth"]},
    "profiles": {
      "client": {"expiry": "24h", "usages": ["digital signature", "client auth"]},
      "authonly": {"auth_key": "k1", "expiry": "1h", "usages": ["client auth"]}
    }
  },
  "auth_keys": {"k1": {"type": "standard", "key": "0123456789ABCDEF0123456789ABCDEF"}}
}`

// cfsslServer is a running `cfssl serve`.
type cfsslServer struct {
	URL   string // http://127.0.0.1:port
	Port  int
	CA    *x509.Certificate
	CAPEM string
	log   string // the server's output file
}

// startCFSSL generates a CA with cfssl and serves it on a free port of 127.0.0.1 until the end of
// the test. It skips the test when cfssl is absent, unless REALMGATE_REQUIRE_TOOLCHAINS is set.
func startCFSSL(t testing.TB) *cfsslServer {
	t.Helper()
	cfssl, err := exec.LookPath("cfssl")
	if err != nil {
		msg := "cfssl absent: install Debian's golang-cfssl with .ci/install-cfssl.sh"
		if os.Getenv(requireToolchains) != "" {
			t.Fatalf("%s; %s is set, so this fails", msg, requireToolchains)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()

	gen := exec.Command(cfssl, "gencert", "-initca", "-")
	gen.Stdin = strings.NewReader(`{"CN": "Realmgate CFSSL test CA", "key": {"algo": "ecdsa", "size": 256}, "names": [{"O": "Realmgate tests"}]}`)
	var stderr bytes.Buffer
	gen.Stderr = &stderr
	out, err := gen.Output()
	if err != nil {
		t.Fatalf("cfssl gencert -initca: %v\n%s", err, stderr.Bytes())
	}
	var ca struct{ Cert, Key string }
	if err := json.Unmarshal(out, &ca); err != nil || ca.Cert == "" || ca.Key == "" {
		t.Fatalf("cfssl gencert -initca wrote %q: %v", out, err)
	}
	block, _ := pem.Decode([]byte(ca.Cert))
	if block == nil {
		t.Fatalf("cfssl gencert -initca wrote no PEM certificate: %q", ca.Cert)
	}
	caCert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"ca.pem": ca.Cert, "ca-key.pem": ca.Key, "config.json": cfsslConfig}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	port := freePort(t)
	logPath := filepath.Join(dir, "cfssl.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	srv := exec.Command(cfssl, "serve", "-address", "127.0.0.1", "-port", strconv.Itoa(port),
		"-ca", filepath.Join(dir, "ca.pem"), "-ca-key", filepath.Join(dir, "ca-key.pem"),
		"-config", filepath.Join(dir, "config.json"))
	srv.Stdout, srv.Stderr = logFile, logFile
	if err := srv.Start(); err != nil {
		t.Fatalf("starting cfssl serve: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	t.Cleanup(func() {
		_ = srv.Process.Kill()
		<-exited
	})

	s := &cfsslServer{URL: fmt.Sprintf("http://127.0.0.1:%d", port), Port: port, CA: caCert, CAPEM: ca.Cert, log: logPath}
	// Wait until it answers: the info endpoint names the CA once the signer is up. The bound
	// guards against a hang; it is not a performance assertion.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Post(s.URL+"/api/v1/cfssl/info", "application/json", strings.NewReader(`{}`))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s
			}
		}
		select {
		case werr := <-exited:
			exited <- werr
			t.Fatalf("cfssl serve exited (%v):\n%s", werr, s.output())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("cfssl serve did not answer on %s: %v\n%s", s.URL, err, s.output())
		}
	}
}

func (s *cfsslServer) output() string {
	b, _ := os.ReadFile(s.log)
	return string(b)
}

// freePort returns a TCP port of 127.0.0.1 that nothing listens on right now.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestCFSSLBridgeConformance runs the conformance suite against the CFSSL bridge built from
// source. The core procedures need no CFSSL: the bridge reads its settings on first PKI use.
func TestCFSSLBridgeConformance(t *testing.T) {
	module := adaptertest.BuildGoWasm(t, cfsslBridgeDir)
	adaptertest.Run(t, func(t *testing.T, cfg adapters.Config) adapters.Adapter {
		return openWasm(t, module, cfg)
	})
}

// TestCFSSLBridgePKI walks an enrollment through the wasm host and a real CFSSL: the generated
// certificate is signed by the CFSSL CA and validateCertificate refuses one of a namesake CA,
// with the CA given as a setting and learned from CFSSL's info endpoint.
func TestCFSSLBridgePKI(t *testing.T) {
	srv := startCFSSL(t)
	module := adaptertest.BuildGoWasm(t, cfsslBridgeDir)
	allow := []adapters.HostPort{{Host: "127.0.0.1", Port: srv.Port}}
	for _, tc := range []struct {
		name     string
		settings map[string]string
	}{
		{"CA from the setting", map[string]string{"cfssl-url": srv.URL, "profile": "client", "ca-cert": srv.CAPEM}},
		{"CA from CFSSL", map[string]string{"cfssl-url": srv.URL + "/", "profile": "client"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := openWasm(t, module, adapters.Config{Name: "CFSSLBridge", Settings: tc.settings, AllowHTTP: allow})
			adaptertest.PKIBridge(t, a, adaptertest.PKIFixture{
				Issuer:   srv.CA,
				Rejected: &adapters.IdentityInput{DeviceID: "device-2"},
			})
		})
	}
}

// generate calls generateCertificate for a fresh CSR of subject and returns the certificate.
func generate(t *testing.T, a adapters.Adapter, subject pkix.Name) (*x509.Certificate, *x509.CertificateRequest, error) {
	t.Helper()
	_, csr := adaptertest.NewCSR(t, subject)
	in, err := json.Marshal(adapters.NewCSRInput(adapters.IdentityInput{UserIdentity: adapters.UserIdentity{UserName: subject.CommonName}}, csr))
	if err != nil {
		t.Fatal(err)
	}
	out, err := a.Call(t.Context(), "generateCertificate", in)
	if err != nil {
		return nil, csr, err
	}
	var g adapters.GeneratedCertificate
	if err := adaptertest.DecodeStrict(out, &g); err != nil {
		t.Fatalf("generateCertificate output %s: %v", out, err)
	}
	der, err := base64.StdEncoding.DecodeString(g.CertificateBase64)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, csr, nil
}

// TestCFSSLBridgeProfile shows that the profile setting reaches CFSSL: its policy decides the
// certificate's usage and lifetime, and a profile CFSSL will not sign for without
// authentication fails the call with CFSSL's reason.
func TestCFSSLBridgeProfile(t *testing.T) {
	srv := startCFSSL(t)
	module := adaptertest.BuildGoWasm(t, cfsslBridgeDir)
	allow := []adapters.HostPort{{Host: "127.0.0.1", Port: srv.Port}}
	subject := pkix.Name{CommonName: "alice", Organization: []string{"Realmgate Example"}}
	for _, tc := range []struct {
		profile  string
		usage    x509.ExtKeyUsage
		lifetime time.Duration
		err      string
	}{
		{profile: "client", usage: x509.ExtKeyUsageClientAuth, lifetime: 24 * time.Hour},
		{profile: "", usage: x509.ExtKeyUsageServerAuth, lifetime: time.Hour},
		{profile: "authonly", err: "CFSSL at " + srv.URL + "/api/v1/cfssl/sign: CFSSL refused the request (HTTP status 400): 400 authentication required"},
	} {
		t.Run("profile "+strconv.Quote(tc.profile), func(t *testing.T) {
			a := openWasm(t, module, adapters.Config{Name: "CFSSLBridge", AllowHTTP: allow,
				Settings: map[string]string{"cfssl-url": srv.URL, "profile": tc.profile, "ca-cert": srv.CAPEM}})
			cert, _, err := generate(t, a, subject)
			if tc.err != "" {
				if e := adaptertest.CheckError(t, err, adapters.CodeFailed, "CFSSLBridge", "generateCertificate"); e != nil && e.Message != tc.err {
					t.Errorf("message %q, want %q", e.Message, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(cert.ExtKeyUsage) != 1 || cert.ExtKeyUsage[0] != tc.usage {
				t.Errorf("extended key usage %v, want [%v] from the profile", cert.ExtKeyUsage, tc.usage)
			}
			// CFSSL backdates NotBefore by up to 5 minutes and rounds to the minute.
			if life := cert.NotAfter.Sub(cert.NotBefore); life < tc.lifetime || life > tc.lifetime+6*time.Minute {
				t.Errorf("lifetime %v, want the profile's %v", life, tc.lifetime)
			}
			if got := cert.Subject.String(); got != "CN=alice,O=Realmgate Example" {
				t.Errorf("subject %q, want the CSR's", got)
			}
		})
	}
}

// TestCFSSLBridgeAllowList shows that the adapter's allow-list, not the bridge's settings,
// decides whom the bridge reaches: with any other entry allowed, generateCertificate fails with
// the host's reason and no request reaches CFSSL.
func TestCFSSLBridgeAllowList(t *testing.T) {
	srv := startCFSSL(t)
	module := adaptertest.BuildGoWasm(t, cfsslBridgeDir)
	sign := srv.URL + "/api/v1/cfssl/sign"
	for _, tc := range []struct {
		name  string
		url   string
		allow []adapters.HostPort
		want  string
	}{
		{"another port allowed", srv.URL, []adapters.HostPort{{Host: "127.0.0.1", Port: freePort(t)}},
			"CFSSL at " + sign + ": realmgate: http: 127.0.0.1:" + strconv.Itoa(srv.Port) + " is not on the adapter's allow-list"},
		{"nothing allowed", srv.URL, nil,
			"CFSSL at " + sign + ": realmgate: http: 127.0.0.1:" + strconv.Itoa(srv.Port) + " is not on the adapter's allow-list"},
		{"same port under another name", "http://localhost:" + strconv.Itoa(srv.Port), []adapters.HostPort{{Host: "127.0.0.1", Port: srv.Port}},
			"CFSSL at http://localhost:" + strconv.Itoa(srv.Port) + "/api/v1/cfssl/sign: realmgate: http: localhost:" + strconv.Itoa(srv.Port) + " is not on the adapter's allow-list"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := openWasm(t, module, adapters.Config{Name: "CFSSLBridge", AllowHTTP: tc.allow,
				Settings: map[string]string{"cfssl-url": tc.url, "profile": "client", "ca-cert": srv.CAPEM}})
			_, _, err := generate(t, a, pkix.Name{CommonName: "alice"})
			if e := adaptertest.CheckError(t, err, adapters.CodeFailed, "CFSSLBridge", "generateCertificate"); e != nil && e.Message != tc.want {
				t.Errorf("message %q, want %q", e.Message, tc.want)
			}
		})
	}
	if out := srv.output(); strings.Contains(out, "POST /api/v1/cfssl/sign") {
		t.Errorf("CFSSL received a sign request although the bridge was not allowed to reach it:\n%s", out)
	}
}

// BenchmarkCFSSLSign measures generateCertificate through the wasm host and the CFSSL bridge
// against the same CFSSL sign request made directly from Go (the bridge's peer: what a native
// integration would cost), alternating blocks of calls so that both see the same machine. It
// reports both per-call times and their ratio (bridge/direct).
//
//	go test ./sdk-wasm/sdktest -run '^$' -bench CFSSLSign -benchtime 200x
func BenchmarkCFSSLSign(b *testing.B) {
	const block = 10
	srv := startCFSSL(b)
	module := adaptertest.BuildGoWasm(b, cfsslBridgeDir)
	a, err := adapters.Open(context.Background(), adapters.Config{Kind: "wasm", Name: "CFSSLBridge", Module: module,
		CacheDir: adaptertest.CompilationCacheDir(b), AllowHTTP: []adapters.HostPort{{Host: "127.0.0.1", Port: srv.Port}},
		Settings: map[string]string{"cfssl-url": srv.URL, "profile": "client", "ca-cert": srv.CAPEM}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close(context.Background()) })
	_, csr := adaptertest.NewCSR(b, pkix.Name{CommonName: "alice"})
	input, _ := json.Marshal(adapters.NewCSRInput(adapters.IdentityInput{UserIdentity: adapters.UserIdentity{UserName: "alice"}}, csr))
	direct, _ := json.Marshal(map[string]string{
		"certificate_request": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: csr.Raw})),
		"profile":             "client",
	})
	client := &http.Client{}
	signDirect := func() error {
		resp, err := client.Post(srv.URL+"/api/v1/cfssl/sign", "application/json", bytes.NewReader(direct))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		var r struct {
			Success bool `json:"success"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || !r.Success {
			return errors.Join(err, fmt.Errorf("status %d", resp.StatusCode))
		}
		return nil
	}
	ctx := context.Background()
	var bridge, peer time.Duration
	b.ResetTimer()
	for done := 0; done < b.N; done += block {
		k := min(block, b.N-done)
		t0 := time.Now()
		for range k {
			if _, err := a.Call(ctx, "generateCertificate", input); err != nil {
				b.Fatal(err)
			}
		}
		t1 := time.Now()
		for range k {
			if err := signDirect(); err != nil {
				b.Fatal(err)
			}
		}
		bridge += t1.Sub(t0)
		peer += time.Since(t1)
	}
	n := float64(b.N)
	b.ReportMetric(float64(bridge.Nanoseconds())/n, "bridge-ns/op")
	b.ReportMetric(float64(peer.Nanoseconds())/n, "direct-ns/op")
	b.ReportMetric(float64(bridge)/float64(peer), "bridge/direct")
}

// TestCFSSLBridgeTamperedCSR shows that a CSR whose self-signature is broken gets no
// certificate even though generateCertificate leaves that check to the host and to CFSSL: CFSSL
// refuses to sign it.
func TestCFSSLBridgeTamperedCSR(t *testing.T) {
	srv := startCFSSL(t)
	module := adaptertest.BuildGoWasm(t, cfsslBridgeDir)
	a := openWasm(t, module, adapters.Config{Name: "CFSSLBridge", AllowHTTP: []adapters.HostPort{{Host: "127.0.0.1", Port: srv.Port}},
		Settings: map[string]string{"cfssl-url": srv.URL, "profile": "client", "ca-cert": srv.CAPEM}})
	_, csr := adaptertest.NewCSR(t, pkix.Name{CommonName: "alice"})
	der := bytes.Clone(csr.Raw)
	der[len(der)-3] ^= 0x01 // inside the signature's last integer
	if _, err := x509.ParseCertificateRequest(der); err != nil {
		t.Fatalf("the tampered CSR no longer parses: %v", err)
	}
	ci := adapters.NewCSRInput(adapters.IdentityInput{UserIdentity: adapters.UserIdentity{UserName: "alice"}}, csr)
	ci.CSR = base64.StdEncoding.EncodeToString(der)
	in, _ := json.Marshal(ci)
	_, err := a.Call(t.Context(), "generateCertificate", in)
	if e := adaptertest.CheckError(t, err, adapters.CodeFailed, "CFSSLBridge", "generateCertificate"); e != nil &&
		(!strings.HasPrefix(e.Message, "CFSSL at "+srv.URL+"/api/v1/cfssl/sign: CFSSL refused the request") || !strings.Contains(e.Message, "verification")) {
		t.Errorf("message %q, want CFSSL's refusal of the signature", e.Message)
	}
}
