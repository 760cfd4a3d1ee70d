package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/pki"
	"github.com/realmgate/realmgate/store/postgres/pgtest"
)

// clusterProject is the project of the several-daemons test: device provisioning with the
// built-in CA and a password login (android), user certificates of the embedded PKI after a
// password login (iphone).
const clusterAuthConfig = `<tns:loginConfiguration xmlns:tns="http://www.worklight.com/auth/config">
	<securityTests>
		<customSecurityTest name="bankTest">
			<test realm="wl_antiXSRFRealm"/>
			<test realm="Provisioning" isInternalDeviceID="true"/>
			<test realm="UserLogin" isInternalUserID="true"/>
		</customSecurityTest>
		<customSecurityTest name="certTest">
			<test realm="wl_antiXSRFRealm"/>
			<test realm="CertRealm" isInternalUserID="true"/>
			<test realm="wl_deviceNoProvisioningRealm" isInternalDeviceID="true"/>
		</customSecurityTest>
	</securityTests>
	<realms>
		<realm name="UserLogin" loginModule="Users">
			<className>com.worklight.core.auth.ext.FormBasedAuthenticator</className>
		</realm>
		<realm name="Provisioning" loginModule="Devices">
			<className>com.worklight.core.auth.ext.DeviceAutoProvisioningAuthenticator</className>
		</realm>
		<realm name="CertRealm" loginModule="Certificates">
			<className>com.worklight.core.auth.ext.UserCertificateAuthenticator</className>
			<parameter name="dependent-user-auth-realm" value="UserLogin"/>
			<parameter name="pki-bridge-class" value="com.worklight.core.auth.ext.UserCertificateEmbeddedPKI"/>
			<parameter name="embedded-pki-bridge-ca-p12-file-path" value="users-ca.p12"/>
			<parameter name="embedded-pki-bridge-ca-p12-password" value="test-password"/>
		</realm>
	</realms>
	<loginModules>
		<loginModule name="Users">
			<className>realmgate.PasswordFileLoginModule</className>
			<parameter name="file" value="users.htpasswd"/>
		</loginModule>
		<loginModule name="Devices">
			<className>com.worklight.core.auth.ext.DeviceAutoProvisioningLoginModule</className>
		</loginModule>
		<loginModule name="Certificates">
			<className>com.worklight.core.auth.ext.UserCertificateLoginModule</className>
		</loginModule>
	</loginModules>
</tns:loginConfiguration>`

const clusterApp = `<application id="Bank">
	<android securityTest="bankTest" version="1.0"/>
	<iphone securityTest="certTest" version="1.0"/>
</application>`

// clusterLab is two hostd processes on one PostgreSQL database behind HAProxy (round robin,
// no stickiness). Each daemon has its own project folder and data folder, as on two machines;
// what they share is what docs/deployment.md says they must: the database, the provisioning CA
// and the key-encryption key of the token keys.
type clusterLab struct {
	pg       *pgtest.Cluster
	dsn      string
	dirs     [2]string
	daemons  [2]*process
	balancer string // http://127.0.0.1:PORT
}

func newClusterLab(t *testing.T) *clusterLab {
	t.Helper()
	haproxy := requireTool(t, "haproxy")
	pg := pgtest.Start(t)
	l := &clusterLab{pg: pg, dsn: pg.NewDatabase(t)}
	shared := t.TempDir()
	dsnFile := filepath.Join(shared, "dsn")
	mustWrite(t, dsnFile, l.dsn+"\n")
	os.Chmod(dsnFile, 0o600)
	if _, err := pki.InitCA(filepath.Join(shared, "ca"), pki.CAOptions{CommonName: "Cluster provisioning CA"}); err != nil {
		t.Fatal(err)
	}
	users, _ := pki.NewCA(pki.CAOptions{CommonName: "Cluster users CA"})
	p12, err := pkcs12.Modern.Encode(users.Key, users.Cert, nil, "test-password")
	if err != nil {
		t.Fatal(err)
	}
	htpasswd, err := os.ReadFile("testdata/devicesecurity/users.htpasswd")
	if err != nil {
		t.Fatal(err)
	}
	// Tokens name the address clients reach the daemons at: the balancer's.
	port := freeAddr(t)
	// Behind the balancer every client's address is forwarded; here they are all 127.0.0.1,
	// so the per-client rate limit of answers is off.
	settings := "trustedProxies: [127.0.0.1]\nlimits:\n  answersPerClient: 0\n" +
		"store:\n  driver: postgres\n  dsnFile: " + dsnFile + "\n  maxConns: 8\n  pollInterval: 200ms\n" +
		"provisioning:\n  caDir: " + filepath.Join(shared, "ca") + "\n" +
		"tokens:\n  keyEncryptionKeyFile: " + filepath.Join(shared, "token-keys.kek") + "\n  issuer: http://" + port + "\n"
	for i := range l.dirs {
		dir := t.TempDir()
		mustWrite(t, filepath.Join(dir, "server/conf/authenticationConfig.xml"), clusterAuthConfig)
		mustWrite(t, filepath.Join(dir, "apps/Bank/application-descriptor.xml"), clusterApp)
		mustWrite(t, filepath.Join(dir, "users.htpasswd"), string(htpasswd))
		mustWrite(t, filepath.Join(dir, "users-ca.p12"), string(p12))
		mustWrite(t, filepath.Join(dir, "hostd.yaml"), settings)
		l.dirs[i] = dir
	}
	// The first daemon makes the token keys and the key-encryption key; the second starts after
	// it, as an operator adds a daemon to a running store.
	for i := range l.daemons {
		l.daemons[i] = startProcessIn(t, l.dirs[i], t.TempDir())
		p := l.daemons[i]
		t.Cleanup(func() {
			if t.Failed() {
				b, _ := os.ReadFile(p.log)
				t.Logf("log of the daemon on %s:\n%s", p.addr, b)
			}
		})
	}

	cfg := fmt.Sprintf(`global
	maxconn 512
defaults
	mode http
	timeout connect 5s
	timeout client 60s
	timeout server 60s
	timeout check 5s
	option forwardfor
	# A request whose connection a dead daemon refused goes to another one.
	retries 3
	option redispatch
frontend realmgate
	bind %s
	default_backend daemons
backend daemons
	balance roundrobin
	option httpchk GET /readyz
	server d1 %s check inter 500ms fall 2 rise 1 observe layer4 error-limit 1 on-error mark-down
	server d2 %s check inter 500ms fall 2 rise 1 observe layer4 error-limit 1 on-error mark-down
`, port, l.daemons[0].addr, l.daemons[1].addr)
	cfgFile := filepath.Join(t.TempDir(), "haproxy.cfg")
	mustWrite(t, cfgFile, cfg)
	cmd := exec.Command(haproxy, "-db", "-f", cfgFile)
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	l.balancer = "http://" + port
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(l.balancer + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("haproxy did not become ready: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return l
}

// served returns how many requests of route each daemon answered, from its /metrics.
func (l *clusterLab) served(t *testing.T, route string) [2]float64 {
	t.Helper()
	var out [2]float64
	for i, p := range l.daemons {
		resp, err := http.Get("http://" + p.addr + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		b := new(strings.Builder)
		buf := make([]byte, 32<<10)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		resp.Body.Close()
		for _, line := range strings.Split(b.String(), "\n") {
			if strings.HasPrefix(line, "realmgate_http_request_duration_seconds_count{") && strings.Contains(line, `route="`+route+`"`) {
				var v float64
				fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v)
				out[i] += v
			}
		}
	}
	return out
}

func (l *clusterLab) client(t *testing.T, env string, ks client.Keystore, device string) *client.Client {
	t.Helper()
	cfg := client.Config{BaseURL: l.balancer, AppID: "Bank", Environment: env, AppVersion: "1.0", Keystore: ks,
		Device: &client.DeviceInfo{ID: device, OS: env, Model: "test"}}
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c.RegisterHandler("UserLogin", &client.LoginHandler{Credentials: client.Credentials{Username: "alice", Password: "alice-password"}})
	c.RegisterHandler("CertRealm", c.UserCertificateHandler())
	c.RegisterHandler("Provisioning", c.ProvisioningHandler())
	return c
}

// validate asks one daemon, not the balancer, whether a token is active.
func validate(t *testing.T, addr, token, scope string) bool {
	t.Helper()
	resp, err := http.PostForm("http://"+addr+"/oauth/validation", url.Values{"token": {token}, "scope": {scope}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Active bool `json:"active"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode == 200 && body.Active
}

func readyRevision(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Revision string `json:"revision"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	return body.Revision
}

func firstKID(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/oauth/jwks")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct {
			KID string `json:"kid"`
		} `json:"keys"`
	}
	json.NewDecoder(resp.Body).Decode(&set)
	if len(set.Keys) == 0 {
		t.Fatalf("%s publishes no key", addr)
	}
	return set.Keys[0].KID
}

// eventually polls cond every 50ms for up to 10s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTwoDaemonsBehindABalancer walks the Go client through challenges, a password login,
// device provisioning, user-certificate enrollment and token issuance through HAProxy in front
// of two hostd processes on one PostgreSQL database, every request landing on whichever daemon
// the balancer picks. Tokens one daemon signs, the other validates; a reload and a key rotation
// asked of one reach both.
func TestTwoDaemonsBehindABalancer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL, HAProxy and two hostd processes")
	}
	l := newClusterLab(t)
	ctx := context.Background()

	// Device provisioning and login: anti-XSRF, the CSR, the password, then the app.
	ks := &client.MemoryKeystore{}
	res, err := l.client(t, "android", ks, "phone-1").Init(ctx)
	if err != nil {
		t.Fatalf("provisioning through the balancer: %v", err)
	}
	if res.Device["id"] != "phone-1" || res.User["userId"] != "alice" {
		t.Fatalf("identities after provisioning: device %v, user %v", res.Device, res.User)
	}
	cred, err := ks.Load("application:Bank")
	if err != nil {
		t.Fatalf("the device credential: %v", err)
	}
	serial := hex.EncodeToString(cred.Leaf().SerialNumber.Bytes())

	// A new session signs the device in with its certificate, on whichever daemon.
	for i := range 4 {
		c := l.client(t, "android", ks, "phone-1")
		if _, err := c.Init(ctx); err != nil {
			t.Fatalf("sign-in %d: %v", i, err)
		}
		again, _ := ks.Load("application:Bank")
		if hex.EncodeToString(again.Leaf().SerialNumber.Bytes()) != serial {
			t.Fatalf("sign-in %d provisioned the device again", i)
		}
		// Tokens: minted by one daemon, valid on both.
		tok, err := c.ObtainAccessToken(ctx, "bankTest")
		if err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
		for _, p := range l.daemons {
			if !validate(t, p.addr, tok.Value, "bankTest") {
				t.Errorf("token %d is not active on %s", i, p.addr)
			}
		}
	}

	// User-certificate enrollment (the dependent password login, then the CSR), then a sign-in
	// with the certificate in new sessions.
	uks := &client.MemoryKeystore{}
	res, err = l.client(t, "iphone", uks, "pad-1").Init(ctx)
	if err != nil || res.User["userId"] != "alice" {
		t.Fatalf("enrollment through the balancer: %v, user %v", err, res)
	}
	for i := range 3 {
		if res, err := l.client(t, "iphone", uks, "pad-1").Init(ctx); err != nil || res.User["userId"] != "alice" {
			t.Fatalf("certificate sign-in %d: %v, %v", i, err, res)
		}
	}

	// Every kind of request reached both daemons.
	for _, route := range []string{"init", "auth"} {
		if n := l.served(t, route); n[0] == 0 || n[1] == 0 {
			t.Errorf("route %s served %v times by the two daemons, want both", route, n)
		}
	}

	// One record each, whichever daemon wrote it.
	conn, err := pgx.Connect(ctx, l.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var devices, certs int
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM devices), (SELECT count(*) FROM certificates)`).Scan(&devices, &certs); err != nil {
		t.Fatal(err)
	}
	if devices != 2 || certs != 2 {
		t.Errorf("%d devices and %d certificates in the database, want 2 (phone-1, pad-1) and 2 (the device's, the user's)", devices, certs)
	}

	// A key rotation asked of the balancer reaches both daemons.
	before := firstKID(t, l.daemons[0].addr)
	if st, body := adminReq(t, strings.TrimPrefix(l.balancer, "http://"), "POST", "/admin/v1/keys/rotate", ""); st != 200 {
		t.Fatalf("rotate: %d %s", st, body)
	}
	eventually(t, "both daemons sign with the rotated key", func() bool {
		a, b := firstKID(t, l.daemons[0].addr), firstKID(t, l.daemons[1].addr)
		return a == b && a != before
	})
	c := l.client(t, "android", ks, "phone-1")
	tok, err := c.ObtainAccessToken(ctx, "bankTest")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range l.daemons {
		if !validate(t, p.addr, tok.Value, "bankTest") {
			t.Errorf("a token signed after the rotation is not active on %s", p.addr)
		}
	}

	// A reload asked of the balancer reaches both daemons: the operator changed the project on
	// both machines, then reloaded once.
	revs := [2]string{readyRevision(t, l.daemons[0].addr), readyRevision(t, l.daemons[1].addr)}
	if revs[0] != revs[1] {
		t.Fatalf("the two daemons run revisions %v of one project", revs)
	}
	for _, dir := range l.dirs {
		mustWrite(t, filepath.Join(dir, "server/conf/authenticationConfig.xml"), strings.Replace(clusterAuthConfig, `	</securityTests>`, `		<customSecurityTest name="padTest">
			<test realm="wl_antiXSRFRealm"/>
			<test realm="CertRealm" isInternalUserID="true"/>
			<test realm="wl_deviceNoProvisioningRealm" isInternalDeviceID="true"/>
		</customSecurityTest>
	</securityTests>`, 1))
		mustWrite(t, filepath.Join(dir, "apps/Bank/application-descriptor.xml"), strings.Replace(clusterApp, `version="1.0"/>
	<iphone`, `version="1.0"/>
	<ipad securityTest="padTest" version="1.0"/>
	<iphone`, 1))
	}
	if st, body := adminReq(t, strings.TrimPrefix(l.balancer, "http://"), "POST", "/admin/v1/reload", ""); st != 200 {
		t.Fatalf("reload: %d %s", st, body)
	}
	eventually(t, "both daemons run the new revision", func() bool {
		a, b := readyRevision(t, l.daemons[0].addr), readyRevision(t, l.daemons[1].addr)
		return a == b && a != revs[0]
	})
	if _, err := l.client(t, "ipad", &client.MemoryKeystore{}, "pad-2").Init(ctx); err != nil {
		t.Errorf("the environment the reload added: %v", err)
	}
}

// TestClusterRefusesADaemonThatCannotShare: a daemon of a shared store with another provisioning
// CA, without a shared token issuer, or without the key-encryption key of the token keys the
// store holds, refuses to start and says what to set or copy.
func TestClusterRefusesADaemonThatCannotShare(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL and hostd processes")
	}
	l := newClusterLab(t)
	otherCA := filepath.Join(t.TempDir(), "ca")
	if _, err := pki.InitCA(otherCA, pki.CAOptions{CommonName: "Another CA"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, settings, want string
	}{
		{"another CA", "provisioning:\n  caDir: " + otherCA + "\n" +
			"tokens:\n  issuer: http://127.0.0.1:1\n  keyEncryptionKeyFile: " + kekOf(t, l) + "\n", "is not the one the other daemons of this store issue with"},
		{"no issuer", "provisioning:\n  caDir: " + caOf(t, l) + "\n" +
			"tokens:\n  keyEncryptionKeyFile: " + kekOf(t, l) + "\n", "tokens.issuer"},
		{"no key-encryption key", "provisioning:\n  caDir: " + caOf(t, l) + "\n" +
			"tokens:\n  issuer: http://127.0.0.1:1\n  keyEncryptionKeyFile: " + filepath.Join(t.TempDir(), "token-keys.kek") + "\n", "copy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range []string{"server/conf/authenticationConfig.xml", "apps/Bank/application-descriptor.xml", "users.htpasswd", "users-ca.p12"} {
				b, _ := os.ReadFile(filepath.Join(l.dirs[0], f))
				mustWrite(t, filepath.Join(dir, f), string(b))
			}
			dsnFile := filepath.Join(t.TempDir(), "dsn")
			mustWrite(t, dsnFile, l.dsn)
			os.Chmod(dsnFile, 0o600)
			mustWrite(t, filepath.Join(dir, "hostd.yaml"), "store:\n  driver: postgres\n  dsnFile: "+dsnFile+"\n"+tc.settings)
			out, err := exec.Command(hostdBinary(t), "serve", "--config", dir, "--data", t.TempDir(), "--listen", freeAddr(t)).CombinedOutput()
			if err == nil || !strings.Contains(string(out), tc.want) {
				t.Errorf("hostd serve: %v, want a refusal saying %q:\n%s", err, tc.want, out)
			}
		})
	}
}

func settingOf(t *testing.T, l *clusterLab, prefix string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(l.dirs[0], "hostd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), prefix); ok {
			return v
		}
	}
	t.Fatalf("no %s in the lab's settings", prefix)
	return ""
}

func kekOf(t *testing.T, l *clusterLab) string { return settingOf(t, l, "keyEncryptionKeyFile: ") }
func caOf(t *testing.T, l *clusterLab) string  { return settingOf(t, l, "caDir: ") }
