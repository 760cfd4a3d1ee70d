package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"software.sslmate.com/src/go-pkcs12"

	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/internal/daemon"
	"github.com/realmgate/realmgate/pki"
	"github.com/realmgate/realmgate/pki/pkitest"
	"github.com/realmgate/realmgate/project"
)

// pkiLab is the PKI test project with its generated material.
type pkiLab struct {
	dir        string
	attestRoot *pki.CA
	digest     []byte // the genuine app's signing-certificate digest
	usersCA    *pki.CA
	bridgeCA   *pki.CA
}

// newPKILab copies testdata/pkiproject with a PKCS#12 users CA, an attestation root, and the Go
// example PKI bridge built from source and pinned.
func newPKILab(t *testing.T) *pkiLab {
	t.Helper()
	l := &pkiLab{dir: t.TempDir()}
	if err := os.CopyFS(l.dir, os.DirFS("testdata/pkiproject")); err != nil {
		t.Fatal(err)
	}
	var err error
	if l.attestRoot, err = pki.NewCA(pki.CAOptions{CommonName: "Test attestation root"}); err != nil {
		t.Fatal(err)
	}
	if l.usersCA, err = pki.NewCA(pki.CAOptions{CommonName: "Users CA"}); err != nil {
		t.Fatal(err)
	}
	if l.bridgeCA, err = pki.NewCA(pki.CAOptions{CommonName: "Bridge CA"}); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("the genuine app's signing certificate"))
	l.digest = sum[:]
	p12, err := pkcs12.Modern.Encode(l.usersCA.Key, l.usersCA.Cert, nil, "test-password")
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(l.dir, "users-ca.p12"), string(p12))
	rootsFile := filepath.Join(l.dir, "attestation-roots.pem")
	mustWrite(t, rootsFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: l.attestRoot.Cert.Raw})))
	module := adaptertest.BuildGoWasm(t, "../sdk-wasm/go/examples/pkibridge")
	copyFile(t, module, filepath.Join(l.dir, "adapters/Bridge/bridge.wasm"))
	keyDER, err := x509.MarshalPKCS8PrivateKey(l.bridgeCA.Key)
	if err != nil {
		t.Fatal(err)
	}
	xmlEscape := func(s string) string { return strings.ReplaceAll(s, "\n", "&#10;") }
	l.render(t, "adapters/Bridge/Bridge.xml", map[string]string{
		"{{SHA256}}": fileSHA256(t, filepath.Join(l.dir, "adapters/Bridge/bridge.wasm")),
		"{{CACERT}}": xmlEscape(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: l.bridgeCA.Cert.Raw}))),
		"{{CAKEY}}":  xmlEscape(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))),
	})
	l.render(t, "hostd.yaml", map[string]string{"{{ROOTS}}": rootsFile})
	for _, app := range []string{"Wallet", "Wallet2", "SameStep"} {
		path := filepath.Join(l.dir, "apps", app, "application-descriptor.xml")
		b, _ := os.ReadFile(path)
		mustWrite(t, path, strings.ReplaceAll(string(b), "{{DIGEST}}", hex.EncodeToString(l.digest)))
	}
	return l
}

func (l *pkiLab) render(t *testing.T, name string, repl map[string]string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(l.dir, name+".tmpl"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for k, v := range repl {
		s = strings.ReplaceAll(s, k, v)
	}
	mustWrite(t, filepath.Join(l.dir, name), s)
	os.Remove(filepath.Join(l.dir, name+".tmpl"))
}

func (l *pkiLab) start(t *testing.T) *daemon.Daemon {
	t.Helper()
	return startDaemon(t, l.dir, "")
}

// device is a test device: its key and, once provisioned, its certificate chain.
type device struct {
	id    string
	key   *ecdsa.PrivateKey
	chain []*x509.Certificate
}

func newDevice(t *testing.T, id string) *device {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &device{id: id, key: k}
}

func csrFor(t *testing.T, key crypto.Signer, subject pkix.Name) string {
	t.Helper()
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject}, key)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func (d *device) payload(app, env, token string) pki.Payload {
	return pki.Payload{Token: token, Device: pki.DeviceInfo{ID: d.id, OS: "android 16", Model: "test"},
		App: pki.AppInfo{ID: app, Version: "1.0", Environment: env}}
}

// challenge returns the named realm's challenge from a 401 body, failing when absent.
func challengeOf(t *testing.T, status int, body map[string]any, realm string) map[string]any {
	t.Helper()
	if status != 401 {
		t.Fatalf("status %d body %v, want a 401 challenge for %s", status, body, realm)
	}
	c, ok := challenges(body)[realm].(map[string]any)
	if !ok {
		t.Fatalf("challenge %v has no %s", body, realm)
	}
	return c
}

func jsonBody(t *testing.T, v map[string]any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// session walks a raw session for one app environment: it remembers the anti-XSRF token.
type session struct {
	*raw
	app, env string
	xsrf     []string
}

func newSession(t *testing.T, d *daemon.Daemon, app, env string) *session {
	r := newRaw(t, d, env, "1.0")
	r.headers["WL-App-Id"] = app
	return &session{raw: r, app: app, env: env}
}

func (s *session) req(method, path, body string) (int, map[string]any) {
	s.t.Helper()
	status, m, _ := s.do(method, path, body, s.xsrf...)
	if c, ok := challenges(m)["wl_antiXSRFRealm"].(map[string]any); ok && status == 401 {
		s.xsrf = []string{"WL-Instance-Id", c["WL-Instance-Id"].(string)}
		status, m, _ = s.do(method, path, body, s.xsrf...)
	}
	return status, m
}

// init posts the app's init. A mobile environment's test always holds a device realm (the
// user-certificate tests of these projects hold the one that provisions nothing); init answers
// its challenge, claiming the device "laptop", and issues the init again, so a test sees the
// challenges and answers of the realms it is about.
func (s *session) init() (int, map[string]any) {
	s.t.Helper()
	path := "/api/v1/apps/" + s.app + "/" + s.env + "/init"
	st, body := s.req("POST", path, "{}")
	if s.answerDevice(st, body) {
		st, body = s.req("POST", path, "{}")
	}
	return st, body
}

// answerDevice answers the challenge of the device realm that provisions nothing when the 401
// body holds one, claiming the device "laptop" (the device user-certificate sign-ins name), and
// reports whether it did. The answer must be accepted.
func (s *session) answerDevice(status int, body map[string]any) bool {
	s.t.Helper()
	c, ok := challenges(body)[project.RealmDeviceNoProvision].(map[string]any)
	if status != 401 || !ok {
		return false
	}
	st, b := s.answer(project.RealmDeviceNoProvision, map[string]any{"token": c["token"],
		"device": map[string]any{"id": "laptop", "os": s.env, "model": "test", "displayName": "laptop"}})
	if st != 200 {
		s.t.Fatalf("device realm answer: %d %v", st, b)
	}
	return true
}

func (s *session) answer(realm string, v map[string]any) (int, map[string]any) {
	s.t.Helper()
	return s.req("POST", "/api/v1/auth/"+realm, jsonBody(s.t, v))
}

// attest answers the authenticity challenge with an attestation made under the lab's root.
func (l *pkiLab) attest(t *testing.T, s *session, token, pkg string, digest []byte) (int, map[string]any) {
	t.Helper()
	chain, _, err := pkitest.NewAttestation(l.attestRoot, []byte(token), pkg, digest)
	if err != nil {
		t.Fatal(err)
	}
	enc := make([]string, len(chain))
	for i, c := range chain {
		enc[i] = base64.StdEncoding.EncodeToString(c)
	}
	return s.answer("wl_authenticityRealm", map[string]any{"attestation": map[string]any{"format": "android-key", "chain": enc}})
}

// provision answers the provisioning challenge for a device without a certificate, then signs
// in with the certificate it got.
func provision(t *testing.T, s *session, d *device, token string) map[string]any {
	t.Helper()
	jws, err := pki.SignJWK(d.key, d.payload(s.app, s.env, token))
	if err != nil {
		t.Fatal(err)
	}
	status, body := s.answer("wl_deviceAutoProvisioningRealm", map[string]any{
		"csr": csrFor(t, d.key, pkix.Name{CommonName: d.id}), "payload": jws})
	if status != 200 || body["status"] != "provisioned" {
		t.Fatalf("provisioning: %d %v", status, body)
	}
	d.chain = nil
	for _, enc := range append([]any{body["certificate"]}, body["chain"].([]any)...) {
		der, _ := base64.StdEncoding.DecodeString(enc.(string))
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		d.chain = append(d.chain, c)
	}
	return signIn(t, s, d, body["token"].(string), 200)
}

// signIn answers the provisioning challenge with the device's certificate.
func signIn(t *testing.T, s *session, d *device, token string, want int) map[string]any {
	t.Helper()
	return signInRealm(t, s, "wl_deviceAutoProvisioningRealm", d, token, want)
}

func signInRealm(t *testing.T, s *session, realm string, d *device, token string, want int) map[string]any {
	t.Helper()
	jws, err := pki.SignX5C(d.key, d.chain, d.payload(s.app, s.env, token))
	if err != nil {
		t.Fatal(err)
	}
	status, body := s.answer(realm, map[string]any{"payload": jws})
	if status != want {
		t.Fatalf("sign-in: %d %v, want %d", status, body, want)
	}
	return body
}

func TestDeviceAutoProvisioningWithAuthenticity(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm PKI bridge")
	}
	l := newPKILab(t)
	d := l.start(t)
	phone := newDevice(t, "phone-7")

	s := newSession(t, d, "Wallet", "android")
	st, body := s.init()
	auth := challengeOf(t, st, body, "wl_authenticityRealm")
	// An attestation of another app (another signing certificate) is refused.
	other := sha256.Sum256([]byte("a repackaged app"))
	if st, body := l.attest(t, s, auth["token"].(string), "com.example.wallet", other[:]); st != 403 {
		t.Fatalf("repackaged app: %d %v, want 403", st, body)
	}
	s = newSession(t, d, "Wallet", "android")
	st, body = s.init()
	auth = challengeOf(t, st, body, "wl_authenticityRealm")
	if st, body := l.attest(t, s, auth["token"].(string), "com.example.wallet", l.digest); st != 200 {
		t.Fatalf("genuine app: %d %v", st, body)
	}
	st, body = s.init()
	prov := challengeOf(t, st, body, "wl_deviceAutoProvisioningRealm")
	if prov["entity"] != "group:wallet-suite" {
		t.Errorf("entity %v, want group:wallet-suite", prov["entity"])
	}
	res := provision(t, s, phone, prov["token"].(string))
	if id := res["identity"].(map[string]any); id["id"] != "phone-7" || id["entity"] != "group:wallet-suite" {
		t.Errorf("device identity %v", id)
	}
	if phone.chain[0].Subject.CommonName != "phone-7" || len(phone.chain) != 2 {
		t.Errorf("certificate subject %v, chain of %d", phone.chain[0].Subject, len(phone.chain))
	}
	st, body = s.init()
	challengeOf(t, st, body, "Login")
	if st, _ := s.answer("Login", map[string]any{"username": "wally", "password": "x"}); st != 200 {
		t.Fatal("login")
	}
	st, body = s.init()
	if st != 200 || body["device"].(map[string]any)["id"] != "phone-7" || body["user"].(map[string]any)["userId"] != "wally" {
		t.Fatalf("init: %d %v", st, body)
	}

	// A new session signs in with the stored certificate (after authenticity again), and so does
	// the other app of the same group: one key pair for the group.
	for _, app := range []string{"Wallet", "Wallet2"} {
		s := newSession(t, d, app, "android")
		st, body := s.init()
		auth := challengeOf(t, st, body, "wl_authenticityRealm")
		l.attest(t, s, auth["token"].(string), "com.example.wallet", l.digest)
		st, body = s.init()
		prov := challengeOf(t, st, body, "wl_deviceAutoProvisioningRealm")
		res := signIn(t, s, phone, prov["token"].(string), 200)
		if res["identity"].(map[string]any)["certificateSerial"] != hex.EncodeToString(phone.chain[0].SerialNumber.Bytes()) {
			t.Errorf("%s: signed in with another certificate: %v", app, res)
		}
		// Replaying the same token is refused.
		if st, body := s.answer("wl_deviceAutoProvisioningRealm", map[string]any{"payload": "x"}); st != 409 && st != 400 {
			t.Errorf("%s: answer after success: %d %v", app, st, body)
		}
	}

	// The administrator sees the device and its certificate, and revokes it: the next sign-in is
	// sent back to provisioning.
	_, devs := admin(t, d, "GET", "/admin/v1/devices", "", adminToken)
	if !strings.Contains(jsonBody(t, devs), `"entity":"group:wallet-suite"`) {
		t.Errorf("devices %v", devs)
	}
	serial := hex.EncodeToString(phone.chain[0].SerialNumber.Bytes())
	if st, body := admin(t, d, "POST", "/admin/v1/certificates/"+serial+"/revoke", `{"reason":"lost phone"}`, adminToken); st != 200 {
		t.Fatalf("revoke: %d %v", st, body)
	}
	s = newSession(t, d, "Wallet", "android")
	st, body = s.init()
	auth = challengeOf(t, st, body, "wl_authenticityRealm")
	l.attest(t, s, auth["token"].(string), "com.example.wallet", l.digest)
	st, body = s.init()
	prov = challengeOf(t, st, body, "wl_deviceAutoProvisioningRealm")
	res = signIn(t, s, phone, prov["token"].(string), 401)
	if again := res["challenges"].(map[string]any)["wl_deviceAutoProvisioningRealm"].(map[string]any); again["enroll"] != true {
		t.Errorf("revoked certificate: %v, want a new challenge with enroll", res)
	}
	// Provisioning again gives a new certificate.
	fresh := res["challenges"].(map[string]any)["wl_deviceAutoProvisioningRealm"].(map[string]any)["token"].(string)
	provision(t, s, phone, fresh)
	if hex.EncodeToString(phone.chain[0].SerialNumber.Bytes()) == serial {
		t.Error("re-provisioning returned the revoked certificate")
	}
}

func TestProvisioningRefusedBeforeAuthenticity(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm PKI bridge")
	}
	l := newPKILab(t)
	d := l.start(t)
	s := newSession(t, d, "SameStep", "android")
	st, body := s.init()
	prov := challengeOf(t, st, body, "wl_deviceAutoProvisioningRealm")
	auth := challengeOf(t, st, body, "wl_authenticityRealm")
	phone := newDevice(t, "phone-9")
	jws, _ := pki.SignJWK(phone.key, phone.payload("SameStep", "android", prov["token"].(string)))
	st, body = s.answer("wl_deviceAutoProvisioningRealm", map[string]any{"csr": csrFor(t, phone.key, pkix.Name{CommonName: "phone-9"}), "payload": jws})
	if st != 403 || !strings.Contains(body["message"].(string), "authenticity") {
		t.Fatalf("provisioning before authenticity: %d %v, want 403", st, body)
	}
	_ = auth
}

func TestProvisioningBadInput(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm PKI bridge")
	}
	l := newPKILab(t)
	d := l.start(t)
	ready := func() (*session, string) {
		s := newSession(t, d, "Wallet", "android")
		st, body := s.init()
		auth := challengeOf(t, st, body, "wl_authenticityRealm")
		l.attest(t, s, auth["token"].(string), "com.example.wallet", l.digest)
		st, body = s.init()
		return s, challengeOf(t, st, body, "wl_deviceAutoProvisioningRealm")["token"].(string)
	}
	phone, other := newDevice(t, "phone-1"), newDevice(t, "phone-2")
	foreignCA, _ := pki.NewCA(pki.CAOptions{CommonName: "Another CA"})
	tests := []struct {
		name   string
		answer func(s *session, token string) map[string]any
		want   int
	}{
		{"csr not base64", func(s *session, token string) map[string]any {
			jws, _ := pki.SignJWK(phone.key, phone.payload("Wallet", "android", token))
			return map[string]any{"csr": "!!!", "payload": jws}
		}, 400},
		{"csr that does not parse", func(s *session, token string) map[string]any {
			jws, _ := pki.SignJWK(phone.key, phone.payload("Wallet", "android", token))
			return map[string]any{"csr": base64.StdEncoding.EncodeToString([]byte("not a csr")), "payload": jws}
		}, 400},
		{"payload signed by another key than the CSR's", func(s *session, token string) map[string]any {
			jws, _ := pki.SignJWK(other.key, phone.payload("Wallet", "android", token))
			return map[string]any{"csr": csrFor(t, phone.key, pkix.Name{CommonName: "phone-1"}), "payload": jws}
		}, 400},
		{"forged jws", func(s *session, token string) map[string]any {
			jws, _ := pki.SignJWK(phone.key, phone.payload("Wallet", "android", token))
			return map[string]any{"csr": csrFor(t, phone.key, pkix.Name{CommonName: "phone-1"}), "payload": jws[:len(jws)-6] + "AAAAAA"}
		}, 400},
		{"unknown nonce", func(s *session, token string) map[string]any {
			jws, _ := pki.SignJWK(phone.key, phone.payload("Wallet", "android", "not-the-token"))
			return map[string]any{"csr": csrFor(t, phone.key, pkix.Name{CommonName: "phone-1"}), "payload": jws}
		}, 401},
		{"payload for another app", func(s *session, token string) map[string]any {
			jws, _ := pki.SignJWK(phone.key, phone.payload("Other", "android", token))
			return map[string]any{"csr": csrFor(t, phone.key, pkix.Name{CommonName: "phone-1"}), "payload": jws}
		}, 400},
		{"certificate of another CA", func(s *session, token string) map[string]any {
			csr, _ := x509.ParseCertificateRequest(mustB64(csrFor(t, phone.key, pkix.Name{CommonName: "phone-1"})))
			cert, _ := foreignCA.Issue(csr, pki.IssueOptions{Subject: csr.Subject})
			jws, _ := pki.SignX5C(phone.key, []*x509.Certificate{cert, foreignCA.Cert}, phone.payload("Wallet", "android", token))
			return map[string]any{"payload": jws}
		}, 401},
		{"no payload", func(*session, string) map[string]any { return map[string]any{"csr": "AAAA"} }, 400},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, token := ready()
			st, body := s.answer("wl_deviceAutoProvisioningRealm", tc.answer(s, token))
			if st != tc.want || body["error"] == nil && body["challenges"] == nil {
				t.Errorf("%d %v, want %d with a clear error", st, body, tc.want)
			}
		})
	}
	// Nothing was issued by the refused answers.
	_, certs := admin(t, d, "GET", "/admin/v1/certificates", "", adminToken)
	if n := len(certs["certificates"].([]any)); n != 0 {
		t.Errorf("%d certificates issued by refused answers", n)
	}
}

func mustB64(s string) []byte {
	b, _ := base64.StdEncoding.DecodeString(s)
	return b
}

// enroll walks the user-certificate flow of a realm to a certificate for user.
func enroll(t *testing.T, s *session, realm, user string, subject pkix.Name) (*ecdsa.PrivateKey, *x509.Certificate, string) {
	t.Helper()
	st, body := s.answer(realm, map[string]any{"enroll": true})
	challengeOf(t, st, body, "Login") // the dependent realm comes first
	if st, body := s.answer("Login", map[string]any{"username": user, "password": "x"}); st != 200 {
		t.Fatalf("dependent login: %d %v", st, body)
	}
	st, body = s.answer(realm, map[string]any{"enroll": true})
	req := challengeOf(t, st, body, realm)["csrRequirements"].(map[string]any)
	if req["commonName"] != user {
		t.Fatalf("requirements %v", req)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	st, body = s.answer(realm, map[string]any{"csr": csrFor(t, key, subject)})
	if st != 200 || body["status"] != "enrolled" {
		t.Fatalf("enrollment: %d %v", st, body)
	}
	cert, err := x509.ParseCertificate(mustB64(body["certificate"].(string)))
	if err != nil {
		t.Fatal(err)
	}
	return key, cert, body["token"].(string)
}

func certSignIn(t *testing.T, s *session, realm string, key *ecdsa.PrivateKey, cert *x509.Certificate, token string) (int, map[string]any) {
	t.Helper()
	jws, err := pki.SignX5C(key, []*x509.Certificate{cert}, pki.Payload{Token: token, Device: pki.DeviceInfo{ID: "laptop"}, App: pki.AppInfo{ID: s.app}})
	if err != nil {
		t.Fatal(err)
	}
	return s.answer(realm, map[string]any{"payload": jws})
}

func TestUserCertificateRealms(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm PKI bridge")
	}
	l := newPKILab(t)
	d := l.start(t)
	tests := []struct {
		name, env, realm string
		issuer           *x509.Certificate
		subject          pkix.Name
	}{
		{"embedded PKCS#12 bridge", "android", "wl_userCertificateAuthRealm", l.usersCA.Cert, pkix.Name{CommonName: "alice"}},
		{"adapter bridge (wasm)", "iphone", "BridgeCertRealm", l.bridgeCA.Cert, pkix.Name{CommonName: "alice", Organization: []string{"Example Bank"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(t, d, "Plain", tc.env)
			st, body := s.init()
			ch := challengeOf(t, st, body, tc.realm)
			if ch["dependentRealm"] != "Login" {
				t.Errorf("challenge %v", ch)
			}
			key, cert, token := enroll(t, s, tc.realm, "alice", tc.subject)
			if err := cert.CheckSignatureFrom(tc.issuer); err != nil {
				t.Errorf("certificate not signed by the bridge's CA: %v", err)
			}
			if st, body := certSignIn(t, s, tc.realm, key, cert, token); st != 200 || body["identity"].(map[string]any)["userId"] != "alice" {
				t.Fatalf("sign-in: %d %v", st, body)
			}
			if st, body := s.init(); st != 200 || body["user"].(map[string]any)["userId"] != "alice" {
				t.Fatalf("init: %d %v", st, body)
			}
			// A later session signs in with the certificate alone.
			s2 := newSession(t, d, "Plain", tc.env)
			st, body = s2.init()
			ch = challengeOf(t, st, body, tc.realm)
			if st, body := certSignIn(t, s2, tc.realm, key, cert, ch["token"].(string)); st != 200 {
				t.Fatalf("sign-in in a new session: %d %v", st, body)
			}
			// A CSR that misses the requirements is refused, whatever the bridge would say.
			s3 := newSession(t, d, "Plain", tc.env)
			s3.init()
			s3.answer(tc.realm, map[string]any{"enroll": true})
			s3.answer("Login", map[string]any{"username": "bob", "password": "x"})
			s3.answer(tc.realm, map[string]any{"enroll": true})
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if st, body := s3.answer(tc.realm, map[string]any{"csr": csrFor(t, k, pkix.Name{CommonName: "mallory-as-bob"})}); st != 403 || body["error"] != "csr_rejected" {
				t.Errorf("CSR missing the requirements: %d %v", st, body)
			}
		})
	}
	// The adapter bridge's validateIdentity: NO for mallory, NO_USE_DEPENDENT_REALM_ONLY for dora.
	for _, tc := range []struct {
		user string
		want int
	}{{"mallory", 403}, {"dora", 200}} {
		s := newSession(t, d, "Plain", "iphone")
		s.init()
		s.answer("BridgeCertRealm", map[string]any{"enroll": true})
		s.answer("Login", map[string]any{"username": tc.user, "password": "x"})
		st, body := s.answer("BridgeCertRealm", map[string]any{"enroll": true})
		if st != tc.want {
			t.Errorf("%s: %d %v, want %d", tc.user, st, body, tc.want)
		}
		if tc.want == 200 && (body["status"] != "success" || body["identity"].(map[string]any)["userId"] != "dora") {
			t.Errorf("%s: %v, want success with the dependent identity", tc.user, body)
		}
	}
	// PKI-bridge procedures are not the clients' to call.
	s := newSession(t, d, "Plain", "iphone")
	if st, _ := s.req("POST", "/api/v1/adapters/Bridge/generateCertificate", `{"parameters":[]}`); st != 404 {
		t.Errorf("a client called the bridge's generateCertificate: %d", st)
	}
}

func TestDeviceSingleSignOn(t *testing.T) {
	d := startDaemon(t, "testdata/ssoproject", "")
	login := func(app, deviceID string, wantLogin bool) {
		t.Helper()
		c, err := client.New(client.Config{BaseURL: baseURL(d), AppID: app, Environment: "android", AppVersion: "1.0",
			Device: &client.DeviceInfo{ID: deviceID}})
		if err != nil {
			t.Fatal(err)
		}
		logins := 0
		c.RegisterHandler("SuiteLogin", &client.LoginHandler{Ask: func(context.Context, client.LoginPrompt) (client.Credentials, error) {
			logins++
			return client.Credentials{Username: "sam", Password: "x"}, nil
		}})
		res, err := c.Init(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if res.User["userId"] != "sam" {
			t.Errorf("%s on %s: user %v", app, deviceID, res.User)
		}
		if got := logins == 1; got != wantLogin {
			t.Errorf("%s on %s: %d logins, want a login: %v", app, deviceID, logins, wantLogin)
		}
	}
	// ssoDeviceLoginModule WLDeviceNoProvisioningLoginModule: a device id that is only claimed
	// proves nothing, so no login is shared by it (whoever claimed tablet-1 would get the login).
	// Logins shared by a provisioned device's certificate: security_device_test.go.
	login("Mail", "tablet-1", true)     // the first app of the device logs in
	login("Calendar", "tablet-1", true) // the second claims the same id: no login for it
	login("Calendar", "tablet-2", true) // another device does not either
}

func TestCustomProvisioningWithActivationCode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm adapter")
	}
	l := &pkiLab{dir: t.TempDir()}
	if err := os.CopyFS(l.dir, os.DirFS("testdata/customprovisioning")); err != nil {
		t.Fatal(err)
	}
	var err error
	if l.attestRoot, err = pki.NewCA(pki.CAOptions{CommonName: "Test attestation root"}); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("corp app signing certificate"))
	l.digest = sum[:]
	rootsFile := filepath.Join(l.dir, "attestation-roots.pem")
	mustWrite(t, rootsFile, string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: l.attestRoot.Cert.Raw})))
	copyFile(t, adaptertest.BuildGoWasm(t, "testdata/provisioner"), filepath.Join(l.dir, "adapters/Provisioner/provisioner.wasm"))
	l.render(t, "adapters/Provisioner/Provisioner.xml", map[string]string{"{{SHA256}}": fileSHA256(t, filepath.Join(l.dir, "adapters/Provisioner/provisioner.wasm"))})
	l.render(t, "hostd.yaml", map[string]string{"{{ROOTS}}": rootsFile})
	desc := filepath.Join(l.dir, "apps/Corp/application-descriptor.xml")
	b, _ := os.ReadFile(desc)
	mustWrite(t, desc, strings.ReplaceAll(string(b), "{{DIGEST}}", hex.EncodeToString(l.digest)))
	d := l.start(t)

	// ready opens a session that passed authenticity and returns the provisioning nonce.
	ready := func() (*session, string) {
		s := newSession(t, d, "Corp", "android")
		st, body := s.init()
		auth := challengeOf(t, st, body, "wl_authenticityRealm")
		if st, body := l.attest(t, s, auth["token"].(string), "com.example.corp", l.digest); st != 200 {
			t.Fatalf("authenticity: %d %v", st, body)
		}
		st, body = s.init()
		ch := challengeOf(t, st, body, "CorpProvisioning")
		if ch["entity"] != "device" {
			t.Errorf("entity %v, want device", ch["entity"])
		}
		return s, ch["token"].(string)
	}
	provisionWith := func(s *session, d *device, token, code string) (int, map[string]any) {
		jws, _ := pki.SignJWK(d.key, d.payload("Corp", "android", token))
		return s.answer("CorpProvisioning", map[string]any{"csr": csrFor(t, d.key, pkix.Name{CommonName: d.id}), "payload": jws, "activationCode": code})
	}
	phone := newDevice(t, "corp-phone-1")
	tests := []struct {
		name string
		dev  *device
		code string
		want int
	}{
		{"another device's code", newDevice(t, "corp-phone-3"), "ACT-2222", 403},
		{"unknown code", phone, "ACT-9999", 403},
		{"no code", phone, "", 403},
		{"CSR the validate-csr-function refuses", newDevice(t, "home-phone"), "ACT-1111", 403},
		{"its own code", phone, "ACT-1111", 200},
		{"the same code again", newDevice(t, "corp-phone-1"), "ACT-1111", 403},
	}
	for _, tc := range tests {
		s, token := ready()
		st, body := provisionWith(s, tc.dev, token, tc.code)
		if st != tc.want {
			t.Fatalf("%s: %d %v, want %d", tc.name, st, body, tc.want)
		}
		if st == 200 {
			for _, enc := range append([]any{body["certificate"]}, body["chain"].([]any)...) {
				c, _ := x509.ParseCertificate(mustB64(enc.(string)))
				tc.dev.chain = append(tc.dev.chain, c)
			}
			res := signInRealm(t, s, "CorpProvisioning", tc.dev, body["token"].(string), 200)
			if res["identity"].(map[string]any)["id"] != "corp-phone-1" {
				t.Errorf("identity %v", res)
			}
		}
	}
	// A later session signs in with the certificate; validate-certificate-function is consulted.
	s, token := ready()
	signInRealm(t, s, "CorpProvisioning", phone, token, 200)
	if st, body := s.init(); st != 200 || body["device"].(map[string]any)["id"] != "corp-phone-1" {
		t.Fatalf("init: %d %v", st, body)
	}
}
