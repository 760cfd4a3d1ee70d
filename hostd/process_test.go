package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/engine"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// hostdBinary builds the hostd binary once per test run.
func hostdBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hostd-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "hostd")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// process is a hostd started as a separate process.
type process struct {
	cmd  *exec.Cmd
	addr string
	// exited is closed when the process has been waited for; err is its exit error.
	exited chan struct{}
	err    error
	log    string // its log file
}

func startProcess(t *testing.T, data string) *process {
	t.Helper()
	return startProcessIn(t, exampleDir, data)
}

// startProcessIn starts hostd on the project in dir and waits until it is ready.
func startProcessIn(t *testing.T, dir, data string) *process {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(hostdBinary(t), "serve", "--config", dir, "--data", data, "--listen", addr, "--log-format", "text",
		"--adapter-cache", adaptertest.CompilationCacheDir(t))
	cmd.Env = append(os.Environ(), "HOSTD_ADMIN_TOKEN="+adminToken)
	logf, err := os.Create(filepath.Join(data, "hostd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &process{cmd: cmd, addr: addr, exited: make(chan struct{}), log: filepath.Join(data, "hostd.log")}
	go func() { p.err = cmd.Wait(); logf.Close(); close(p.exited) }()
	t.Cleanup(func() { cmd.Process.Kill(); <-p.exited })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-p.exited:
			b, _ := os.ReadFile(filepath.Join(data, "hostd.log"))
			t.Fatalf("hostd exited: %v\n%s", p.err, b)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatal("hostd did not become ready")
	return nil
}

func adminReq(t *testing.T, addr, method, path, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return resp.StatusCode, sb.String()
}

// TestKillDashNineLosesNothing writes state through the API, kills the daemon with SIGKILL, and
// checks that a new daemon on the same data folder has every rule, device and persistent user.
func TestKillDashNineLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the hostd binary")
	}
	data := t.TempDir()
	p := startProcess(t, data)
	if status, body := adminReq(t, p.addr, "PUT", "/admin/v1/apps/BankApp/iphone/remote-disable",
		`{"rules":[{"versions":"<1.0.0","action":"block","message":"too old"}]}`); status != 200 {
		t.Fatalf("PUT rules: %d %s", status, body)
	}
	c, err := client.New(client.Config{BaseURL: "http://" + p.addr, AppID: app, Environment: "iphone", AppVersion: "2.1.0",
		Device: &client.DeviceInfo{ID: "phone-42", OS: "iOS", Model: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	c.RegisterHandler("BankLogin", &client.LoginHandler{Credentials: client.Credentials{Username: "bob", Password: "bob-password"}})
	if _, err := c.Init(context.Background()); err != nil {
		t.Fatal(err)
	}
	// An anonymous user through the offers test.
	if _, err := c.InvokeProcedure(context.Background(), "Accounts", "getOffers"); err != nil {
		t.Fatal(err)
	}
	cookie := c.PersistentCookie()
	if cookie == "" {
		t.Fatal("no persistent cookie")
	}

	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited

	p2 := startProcess(t, data)
	if status, body := adminReq(t, p2.addr, "GET", "/admin/v1/apps/BankApp/iphone/remote-disable", ""); status != 200 || !strings.Contains(body, "too old") {
		t.Errorf("rules after kill -9: %d %s", status, body)
	}
	if status, body := adminReq(t, p2.addr, "GET", "/admin/v1/devices", ""); status != 200 || !strings.Contains(body, `"phone-42"`) {
		t.Errorf("devices after kill -9: %d %s", status, body)
	}
	c2, _ := client.New(client.Config{BaseURL: "http://" + p2.addr, AppID: app, Environment: "iphone", AppVersion: "2.1.0", PersistentCookie: cookie})
	c2.InvokeProcedure(context.Background(), "Accounts", "getOffers")
	info, err := c2.Session(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := info.Realms["wl_anonymousUserRealm"].Identity["userId"]; got != engine.AnonymousUserID(cookie) {
		t.Errorf("persistent user after kill -9: %v, want %s", got, engine.AnonymousUserID(cookie))
	}
}

// TestSIGTERMDrainsAndExitsZero checks a graceful stop.
func TestSIGTERMDrainsAndExitsZero(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the hostd binary")
	}
	p := startProcess(t, t.TempDir())
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
		if p.err != nil {
			t.Errorf("exit after SIGTERM: %v, want status 0", p.err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("hostd did not stop within 20s of SIGTERM")
	}
}

// TestAdapterTestCommand runs `hostd adapter test` on the Go SDK's example PKI bridge (passes)
// and on a module that is no PKI bridge (fails).
func TestAdapterTestCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the hostd binary")
	}
	bridge := adaptertest.BuildGoWasm(t, "../sdk-wasm/go/examples/pkibridge")
	certPEM, keyPEM := testCA(t)
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "ca.pem"), string(certPEM))
	mustWrite(t, filepath.Join(dir, "ca-key.pem"), string(keyPEM))
	cmd := exec.Command(hostdBinary(t), "adapter", "test",
		"--setting-file", "ca-cert="+filepath.Join(dir, "ca.pem"),
		"--setting-file", "ca-key="+filepath.Join(dir, "ca-key.pem"),
		"--issuer", filepath.Join(dir, "ca.pem"), bridge)
	out, err := cmd.CombinedOutput()
	if err != nil || !regexp.MustCompile(`(?m)^PASS: [1-9][0-9]* passed, 0 failed, 0 skipped$`).Match(out) {
		t.Errorf("example bridge: %v\n%s", err, out)
	}
	other := adaptertest.BuildGoWasm(t, "testdata/authadapter")
	out, err = exec.Command(hostdBinary(t), "adapter", "test", other).CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !regexp.MustCompile(`(?m)^--- FAIL: PKIBridge .*\n(.|\n)*^FAIL: [0-9]+ passed, [1-9][0-9]* failed`).Match(out) {
		t.Errorf("a module that is no PKI bridge: %v, want exit 1 with FAIL\n%s", err, out)
	}
}

// testCA makes a self-signed ECDSA P-256 CA certificate and its PKCS#8 key, PEM.
func testCA(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	k, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k})
}
