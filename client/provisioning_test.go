package client_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/hostdtest"
	"github.com/realmgate/realmgate/pki"
	"github.com/realmgate/realmgate/pki/pkitest"
)

const (
	userLogin  = "UserLogin"
	groupRealm = "GroupProvisioning"
	mdmRealm   = "MDMRealm"
)

// pkiServer is the daemon on testdata/certificates: provisioning per application (after app
// authenticity, android), per group (iphone) and per device with an MDM activation code (ipad),
// user certificates through an adapter bridge (wl_userCertificateAuthRealm) and through the
// embedded PKI (EmbeddedCertRealm), whose dependent realm is a form login.
type pkiServer struct {
	*hostdtest.Daemon
	// usersCA is the embedded PKI's CA.
	usersCA *pki.CA
}

// attestationRoot is the root of the test attestations; attest makes one that a genuine build of
// pkg would make.
var (
	attestationRoot = sync.OnceValues(func() (*pki.CA, error) {
		return pki.NewCA(pki.CAOptions{CommonName: "attestation root"})
	})
	signingDigest = sha256.Sum256([]byte("signing certificate"))
)

func attest(t testing.TB, pkg string) client.AttestationProvider {
	root, err := attestationRoot()
	if err != nil {
		t.Fatal(err)
	}
	return func(_ context.Context, challenge string) (*client.Attestation, error) {
		chain, _, err := pkitest.NewAttestation(root, []byte(challenge), pkg, signingDigest[:])
		return &client.Attestation{Format: "android-key", Chain: chain}, err
	}
}

func newPKIServer(t testing.TB) *pkiServer {
	t.Helper()
	root, err := attestationRoot()
	if err != nil {
		t.Fatal(err)
	}
	usersCA, err := pki.NewCA(pki.CAOptions{CommonName: "Users CA"})
	if err != nil {
		t.Fatal(err)
	}
	p12, err := pkcs12.Modern.Encode(usersCA.Key, usersCA.Cert, nil, "test-password")
	if err != nil {
		t.Fatal(err)
	}
	d := hostdtest.Start(t, "testdata/certificates", hostdtest.Options{
		Files: map[string][]byte{
			"adapters/acct/client.wasm": testAdapter(t),
			"users-ca.p12":              p12,
		},
		AndroidRoots: []*x509.Certificate{root.Cert},
	})
	return &pkiServer{Daemon: d, usersCA: usersCA}
}

// issued is a certificate the daemon issued, as its admin API lists it.
type issued struct {
	Serial    string     `json:"serial"`
	Entity    string     `json:"entity"`
	Owner     string     `json:"owner"`
	Realm     string     `json:"realm"`
	IssuedAt  time.Time  `json:"issuedAt"`
	RevokedAt *time.Time `json:"revokedAt"`
}

func (c issued) Revoked() bool { return c.RevokedAt != nil }

// Certificates returns the certificates the daemon issued, oldest first.
func (s *pkiServer) Certificates(t testing.TB) []issued {
	t.Helper()
	var out struct{ Certificates []issued }
	if status, err := s.Admin("GET", "/admin/v1/certificates", nil, &out); err != nil || status != 200 {
		t.Fatalf("GET certificates: %d %v", status, err)
	}
	sort.SliceStable(out.Certificates, func(i, j int) bool { return out.Certificates[i].IssuedAt.Before(out.Certificates[j].IssuedAt) })
	return out.Certificates
}

// Revoke revokes the certificate with that serial.
func (s *pkiServer) Revoke(t testing.TB, serial string) {
	t.Helper()
	if status, err := s.Admin("POST", "/admin/v1/certificates/"+serial+"/revoke", `{"reason":"test"}`, nil); err != nil || status != 200 {
		t.Fatalf("revoke %s: %d %v", serial, status, err)
	}
}

// pkiClient is a client of app on env with the keystore, whose provisioning handler also answers
// the custom provisioning realms of the project and whose attestations are a genuine build's.
func pkiClient(t *testing.T, srv *pkiServer, ks client.Keystore, app, env string, edit func(*client.Config)) *client.Client {
	t.Helper()
	c := newClient(t, srv.URL, func(cfg *client.Config) {
		cfg.AppID, cfg.Environment, cfg.Keystore = app, env, ks
		cfg.Attestation = attest(t, packageOf(app))
		if edit != nil {
			edit(cfg)
		}
	})
	c.RegisterHandler(groupRealm, c.ProvisioningHandler())
	c.RegisterHandler(mdmRealm, c.ProvisioningHandler())
	return c
}

// packageOf is the Android package name of a test application.
func packageOf(app string) string {
	if app == "sample" {
		return "com.example.bank"
	}
	return "com.example." + app
}

// answers decodes the bodies of the answers posted to realm from the i-th request on.
func answers(t *testing.T, srv *pkiServer, realm string, from int) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range srv.Requests()[from:] {
		if r.Path != "/api/v1/auth/"+realm {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(r.Body), &m); err != nil {
			t.Fatalf("answer %q: %v", r.Body, err)
		}
		out = append(out, m)
	}
	return out
}

// kinds names each answer by its members: "csr+payload", "payload", "enroll", ...
func kinds(bodies []map[string]any) []string {
	out := []string{}
	for _, b := range bodies {
		var keys []string
		for _, k := range []string{"csr", "payload", "enroll", "activationCode", "attestation"} {
			if _, ok := b[k]; ok {
				keys = append(keys, k)
			}
		}
		out = append(out, strings.Join(keys, "+"))
	}
	return out
}

func leafSerial(t *testing.T, ks client.Keystore, entity string) string {
	t.Helper()
	cred, err := ks.Load(entity)
	if err != nil {
		t.Fatalf("Load(%s): %v", entity, err)
	}
	return serialOf(cred.Leaf())
}

// serialOf is a certificate's serial as the daemon writes it: the hex of its bytes.
func serialOf(c *x509.Certificate) string { return hex.EncodeToString(c.SerialNumber.Bytes()) }

// noKeyLeaves fails when any request carried the private key of cred, in any usual encoding.
func noKeyLeaves(t *testing.T, srv *pkiServer, cred *client.Credential) {
	t.Helper()
	raw, err := cred.Key.(*ecdsa.PrivateKey).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	encodings := []string{base64.RawURLEncoding.EncodeToString(raw), base64.StdEncoding.EncodeToString(raw), hex.EncodeToString(raw), "PRIVATE KEY"}
	for _, r := range srv.Requests() {
		all := r.Body
		for k, vs := range r.Header {
			all += k + strings.Join(vs, ",")
		}
		for _, enc := range encodings {
			if strings.Contains(all, enc) {
				t.Errorf("%s %s carries the private key (%q)", r.Method, r.Path, enc[:8])
			}
		}
	}
}

func TestProvisionThenSignIn(t *testing.T) {
	t.Parallel()
	srv := newPKIServer(t)
	dir := filepath.Join(t.TempDir(), "keys")
	ks := client.DirKeystore(dir)
	ctx := context.Background()

	c1 := pkiClient(t, srv, ks, "sample", "android", nil)
	if _, err := c1.InvokeProcedure(ctx, "acct", "prov"); err != nil {
		t.Fatalf("first call: %v", err)
	}
	realm := client.RealmDeviceAutoProvisioning
	wantSteps := []step{
		{"POST", "/api/v1/adapters/acct/prov", false},
		{"POST", "/api/v1/auth/" + client.RealmAuthenticity, true}, // the app first proves itself
		{"POST", "/api/v1/auth/" + realm, true},                    // csr + jwk payload: 200 provisioned
		{"POST", "/api/v1/auth/" + realm, true},                    // x5c payload: 200 success
		{"POST", "/api/v1/adapters/acct/prov", true},
	}
	if diff := cmp.Diff(wantSteps, steps(srv.Requests())); diff != "" {
		t.Fatalf("requests (-want +got):\n%s", diff)
	}
	bodies := answers(t, srv, realm, 0)
	if diff := cmp.Diff([]string{"csr+payload", "payload"}, kinds(bodies)); diff != "" {
		t.Fatalf("answers (-want +got):\n%s", diff)
	}

	// The first answer: a CSR for CN=<device id> and a payload signed by its key.
	der, err := base64.StdEncoding.DecodeString(bodies[0]["csr"].(string))
	if err != nil {
		t.Fatal(err)
	}
	csr, err := pki.ParseCSR(der)
	if err != nil {
		t.Fatal(err)
	}
	if got := adapters.CSRObject(csr).DN; got != "CN=dev-1" {
		t.Errorf("CSR subject %q, want CN=dev-1", got)
	}
	claims, key, err := pki.VerifyJWK(bodies[0]["payload"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if !pki.SamePublicKey(key, csr.PublicKey) {
		t.Errorf("the payload is not signed by the CSR's key")
	}
	wantClaims := &pki.Payload{
		Token:  claims.Token,
		Device: pki.DeviceInfo{ID: "dev-1", OS: "android", Model: "Pixel 9", DisplayName: "Test phone"},
		App:    pki.AppInfo{ID: "sample", Version: "1.0", Environment: "android"},
	}
	if diff := cmp.Diff(wantClaims, claims); diff != "" || claims.Token == "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}
	// The second: the fresh token signed with the certificate, chain in x5c.
	claims2, chain, err := pki.VerifyX5C(bodies[1]["payload"].(string), srv.ProvisioningRoots(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if claims2.Token == claims.Token {
		t.Errorf("the second payload signs the first nonce again")
	}

	// The keystore file: mode 0600, the certificate the server issued.
	certs := srv.Certificates(t)
	if len(certs) != 1 || certs[0].Entity != "application:sample" || chain[0].Subject.String() != "CN=dev-1,O=application:sample" {
		t.Fatalf("issued %+v for %s", certs, chain[0].Subject)
	}
	st, err := os.Stat(filepath.Join(dir, "application%3Asample.json"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("keystore file mode %v", st.Mode().Perm())
	}
	if got := leafSerial(t, ks, "application:sample"); got != certs[0].Serial || serialOf(chain[0]) != got {
		t.Errorf("stored serial %s, issued %s, signed with %x", got, certs[0].Serial, chain[0].SerialNumber)
	}
	wantID := client.Identity{"id": "dev-1", "os": "android", "model": "Pixel 9", "displayName": "Test phone",
		"entity": "application", "certificateSerial": certs[0].Serial}
	if diff := cmp.Diff(wantID, c1.Identities()[realm]); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}

	// A new client with the same keystore signs in with the certificate: no CSR.
	n := len(srv.Requests())
	c2 := pkiClient(t, srv, ks, "sample", "android", nil)
	if _, err := c2.InvokeProcedure(ctx, "acct", "prov"); err != nil {
		t.Fatalf("second client: %v", err)
	}
	if diff := cmp.Diff([]string{"payload"}, kinds(answers(t, srv, realm, n))); diff != "" {
		t.Errorf("second client's answers (-want +got):\n%s", diff)
	}
	if got := len(srv.Certificates(t)); got != 1 {
		t.Errorf("%d certificates issued, want 1", got)
	}
	cred, err := ks.Load("application:sample")
	if err != nil {
		t.Fatal(err)
	}
	noKeyLeaves(t, srv, cred)
}

// The applications of a group share one certificate; "application" provisions each one. (The
// environment says which: iphone's entity is the group, android's the application.)
func TestProvisioningEntities(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, env, procedure string
		wantCerts            int
		wantEntities         []string
		wantSecond           []string // the second application's answers
	}{
		{"group", "iphone", "group", 1, []string{"group:bank"}, []string{"payload"}},
		{"application", "android", "prov", 2, []string{"application:other", "application:sample"}, []string{"csr+payload", "payload"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newPKIServer(t)
			var ks client.MemoryKeystore
			ctx := context.Background()
			if _, err := pkiClient(t, srv, &ks, "sample", tt.env, nil).InvokeProcedure(ctx, "acct", tt.procedure); err != nil {
				t.Fatalf("sample: %v", err)
			}
			n := len(srv.Requests())
			other := pkiClient(t, srv, &ks, "other", tt.env, nil)
			if _, err := other.InvokeProcedure(ctx, "acct", tt.procedure); err != nil {
				t.Fatalf("other: %v", err)
			}
			realm := client.RealmDeviceAutoProvisioning
			if tt.procedure == "group" {
				realm = groupRealm
			}
			if diff := cmp.Diff(tt.wantSecond, kinds(answers(t, srv, realm, n))); diff != "" {
				t.Errorf("second application's answers (-want +got):\n%s", diff)
			}
			if got := len(srv.Certificates(t)); got != tt.wantCerts {
				t.Errorf("%d certificates, want %d", got, tt.wantCerts)
			}
			if diff := cmp.Diff(tt.wantEntities, ks.Entities()); diff != "" {
				t.Errorf("keystore (-want +got):\n%s", diff)
			}
		})
	}
}

// A revoked certificate is dropped and the device provisioned again, whether the server lets
// the realm be answered again (the daemon: 401 with "enroll": true) or refuses it for the
// session (403, which the daemon never answers here and a scripted server plays: the client
// starts a new session).
func TestRevokedCertificateReprovisioned(t *testing.T) {
	t.Parallel()
	realm := client.RealmDeviceAutoProvisioning
	t.Run("retry", func(t *testing.T) {
		t.Parallel()
		srv := newPKIServer(t)
		var ks client.MemoryKeystore
		ctx := context.Background()
		if _, err := pkiClient(t, srv, &ks, "sample", "android", nil).InvokeProcedure(ctx, "acct", "prov"); err != nil {
			t.Fatal(err)
		}
		srv.Revoke(t, srv.Certificates(t)[0].Serial)
		n, sessions := len(srv.Requests()), srv.Sessions()
		c2 := pkiClient(t, srv, &ks, "sample", "android", nil)
		if _, err := c2.InvokeProcedure(ctx, "acct", "prov"); err != nil {
			t.Fatalf("after revocation: %v", err)
		}
		wantSteps := []step{
			{"POST", "/api/v1/adapters/acct/prov", false},
			{"POST", "/api/v1/auth/" + client.RealmAuthenticity, true},
			{"POST", "/api/v1/auth/" + realm, true}, // x5c: 401 enroll
			{"POST", "/api/v1/auth/" + realm, true}, // csr: provisioned
			{"POST", "/api/v1/auth/" + realm, true}, // x5c: success
			{"POST", "/api/v1/adapters/acct/prov", true},
		}
		if diff := cmp.Diff(wantSteps, steps(srv.Requests()[n:])); diff != "" {
			t.Errorf("requests (-want +got):\n%s", diff)
		}
		if got := srv.Sessions() - sessions; got != 1 {
			t.Errorf("%d sessions opened, want 1", got)
		}
		certs := srv.Certificates(t)
		if len(certs) != 2 || !certs[0].Revoked() || certs[1].Revoked() {
			t.Fatalf("certificates %+v", certs)
		}
		if got := leafSerial(t, &ks, "application:sample"); got != certs[1].Serial {
			t.Errorf("keystore holds %s, want the new %s", got, certs[1].Serial)
		}
		if got := c2.Identities()[realm]["certificateSerial"]; got != certs[1].Serial {
			t.Errorf("identity's certificate %v, want %s", got, certs[1].Serial)
		}
	})
	t.Run("final refusal", func(t *testing.T) {
		t.Parallel()
		srv := newRefusingServer(t)
		var ks client.MemoryKeystore
		if err := ks.Store("device", validCredential(t)); err != nil {
			t.Fatal(err)
		}
		c2 := newClient(t, srv.URL, func(cfg *client.Config) { cfg.Keystore = &ks })
		if _, err := c2.InvokeProcedure(context.Background(), "acct", "prov"); err != nil {
			t.Fatalf("after revocation: %v", err)
		}
		wantSteps := []step{
			{"POST", "/api/v1/adapters/acct/prov", false},
			{"POST", "/api/v1/auth/" + realm, true},       // x5c: 403
			{"POST", "/api/v1/adapters/acct/prov", false}, // a new session
			{"POST", "/api/v1/auth/" + realm, true},       // csr: provisioned
			{"POST", "/api/v1/auth/" + realm, true},       // x5c: success
			{"POST", "/api/v1/adapters/acct/prov", true},
		}
		if diff := cmp.Diff(wantSteps, steps(srv.requests())); diff != "" {
			t.Errorf("requests (-want +got):\n%s", diff)
		}
		issued := srv.issued()
		if diff := cmp.Diff([2]int{2, 1}, [2]int{srv.sessions(), len(issued)}); diff != "" {
			t.Errorf("sessions opened, certificates issued (-want +got):\n%s", diff)
		}
		if got := leafSerial(t, &ks, "device"); len(issued) == 0 || got != issued[0] {
			t.Errorf("keystore holds %s, want the new %v", got, issued)
		}
		if got := c2.Identities()[realm]["certificateSerial"]; len(issued) == 0 || got != issued[0] {
			t.Errorf("identity's certificate %v, want %v", got, issued)
		}
	})
}

// refusingServer plays a server whose provisioning realm (entity device, with anti-XSRF) refuses
// for the session a certificate it did not issue (403 realm_refused) and provisions a device in a
// new session. It records the requests, counts the sessions it opens and lists the serials it
// issues.
type refusingServer struct {
	*httptest.Server
	ca *pki.CA

	mu     sync.Mutex
	log    []hostdtest.Request
	opened int
	serial []string
	state  map[string]*scriptedSession
}

type scriptedSession struct {
	xsrf   string
	passed bool
}

func newRefusingServer(t *testing.T) *refusingServer {
	t.Helper()
	ca, err := pki.NewCA(pki.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s := &refusingServer{ca: ca, state: map[string]*scriptedSession{}}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *refusingServer) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = append(s.log, hostdtest.Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: string(body)})
	var sess *scriptedSession
	if c, err := r.Cookie("WL_SESSION"); err == nil {
		sess = s.state[c.Value]
	}
	if sess == nil {
		s.opened++
		id := fmt.Sprintf("s%d", s.opened)
		sess = &scriptedSession{xsrf: "x" + id}
		s.state[id] = sess
		http.SetCookie(w, &http.Cookie{Name: "WL_SESSION", Value: id, Path: "/"})
	}
	realm := client.RealmDeviceAutoProvisioning
	if !strings.HasPrefix(r.URL.Path, "/api/v1/auth/") {
		if sess.passed && r.Header.Get(client.HeaderInstanceID) == sess.xsrf {
			reply(w, http.StatusOK, `{"isSuccessful":true,"result":[]}`)
			return
		}
		reply(w, http.StatusUnauthorized, `{"challenges":{"wl_antiXSRFRealm":{"WL-Instance-Id":"`+sess.xsrf+`"},"`+realm+`":{"token":"t1","entity":"device"}}}`)
		return
	}
	var answer struct{ CSR, Payload string }
	json.Unmarshal(body, &answer)
	if answer.CSR != "" {
		der, _ := base64.StdEncoding.DecodeString(answer.CSR)
		csr, err := pki.ParseCSR(der)
		if err != nil {
			reply(w, http.StatusBadRequest, `{"error":"bad_csr","message":"bad CSR"}`)
			return
		}
		cert, err := s.ca.Issue(csr, pki.IssueOptions{Subject: csr.Subject})
		if err != nil {
			reply(w, http.StatusServiceUnavailable, `{"error":"unavailable","message":"no CA"}`)
			return
		}
		s.serial = append(s.serial, serialOf(cert))
		b, _ := json.Marshal(map[string]any{"realm": realm, "status": "provisioned", "certificate": base64.StdEncoding.EncodeToString(cert.Raw), "token": "t2"})
		reply(w, http.StatusOK, string(b))
		return
	}
	_, chain, err := pki.VerifyX5C(answer.Payload, s.ca.Roots(), time.Time{})
	if err != nil {
		reply(w, http.StatusForbidden, `{"error":"realm_refused","message":"this certificate is not accepted any more"}`)
		return
	}
	sess.passed = true
	b, _ := json.Marshal(map[string]any{"realm": realm, "status": "success", "identity": map[string]any{"certificateSerial": serialOf(chain[0])}})
	reply(w, http.StatusOK, string(b))
}

func (s *refusingServer) requests() []hostdtest.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]hostdtest.Request(nil), s.log...)
}

func (s *refusingServer) sessions() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opened
}

func (s *refusingServer) issued() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.serial...)
}

// provisioningServer plays a server whose provisioning realm issues certificates and then
// refuses them: the client gives up after one provisioning with ErrProvisioningRefused.
func provisioningServer(t *testing.T, refuseFresh func(w http.ResponseWriter)) (*httptest.Server, *int) {
	ca, err := pki.NewCA(pki.CAOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	answersSeen := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		challenge := `{"challenges":{"` + client.RealmDeviceAutoProvisioning + `":{"token":"t1","entity":"device"}}}`
		if !strings.HasPrefix(r.URL.Path, "/api/v1/auth/") {
			reply(w, http.StatusUnauthorized, challenge)
			return
		}
		mu.Lock()
		answersSeen++
		mu.Unlock()
		var body struct{ CSR, Payload string }
		json.NewDecoder(r.Body).Decode(&body)
		if body.CSR == "" {
			refuseFresh(w)
			return
		}
		der, _ := base64.StdEncoding.DecodeString(body.CSR)
		csr, err := pki.ParseCSR(der)
		if err != nil {
			reply(w, http.StatusBadRequest, `{"error":"bad_csr"}`)
			return
		}
		cert, err := ca.Issue(csr, pki.IssueOptions{Subject: csr.Subject})
		if err != nil {
			t.Error(err)
		}
		b, _ := json.Marshal(map[string]any{"status": "provisioned", "certificate": base64.StdEncoding.EncodeToString(cert.Raw), "token": "t2"})
		reply(w, http.StatusOK, string(b))
	}))
	t.Cleanup(srv.Close)
	return srv, &answersSeen
}

func TestFreshCertificateRefused(t *testing.T) {
	t.Parallel()
	tests := map[string]struct {
		refuse  func(w http.ResponseWriter)
		wantErr []error
	}{
		"retry": {
			refuse: func(w http.ResponseWriter) {
				reply(w, http.StatusUnauthorized, `{"challenges":{"`+client.RealmDeviceAutoProvisioning+`":{"token":"t3","entity":"device","enroll":true,"error":"revoked"}}}`)
			},
			wantErr: []error{client.ErrProvisioningRefused},
		},
		"final": {
			refuse: func(w http.ResponseWriter) {
				reply(w, http.StatusForbidden, `{"error":"realm_refused","message":"no"}`)
			},
			wantErr: []error{client.ErrProvisioningRefused, client.ErrRefused},
		},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv, seen := provisioningServer(t, tt.refuse)
			var ks client.MemoryKeystore
			c := newClient(t, srv.URL, func(cfg *client.Config) { cfg.Keystore = &ks })
			_, err := c.InvokeProcedure(context.Background(), "acct", "p")
			for _, want := range tt.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("error %v, want %v", err, want)
				}
			}
			var re *client.RealmError
			if !errors.As(err, &re) || re.Realm != client.RealmDeviceAutoProvisioning {
				t.Errorf("error %v names no realm", err)
			}
			if *seen != 2 {
				t.Errorf("%d answers, want 2 (the CSR and one sign-in)", *seen)
			}
		})
	}
}

func TestActivationCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		config    func(*client.Config, *[]string)
		wantCode  any
		wantErr   bool
		wantRealm []string // realms the callback was asked for
	}{
		{name: "fixed", config: func(cfg *client.Config, _ *[]string) { cfg.ActivationCode = "A-1" }, wantCode: "A-1"},
		{
			name: "callback",
			config: func(cfg *client.Config, asked *[]string) {
				cfg.ActivationCode = "ignored"
				cfg.OnActivationCode = func(_ context.Context, realm string) (string, error) {
					*asked = append(*asked, realm)
					return "A-1", nil
				}
			},
			wantCode: "A-1", wantRealm: []string{mdmRealm},
		},
		{name: "wrong", config: func(cfg *client.Config, _ *[]string) { cfg.ActivationCode = "B-2" }, wantCode: "B-2", wantErr: true},
		{name: "none", config: func(*client.Config, *[]string) {}, wantCode: nil, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newPKIServer(t)
			var ks client.MemoryKeystore
			var asked []string
			// ipad's certificates are the device's, provisioned by the MDM realm.
			c := pkiClient(t, srv, &ks, "sample", "ipad", func(cfg *client.Config) { tt.config(cfg, &asked) })
			c.RegisterHandler(mdmRealm, c.ProvisioningHandler())
			_, err := c.InvokeProcedure(context.Background(), "acct", "mdm")
			bodies := answers(t, srv, mdmRealm, 0)
			if len(bodies) == 0 || bodies[0]["activationCode"] != tt.wantCode {
				t.Fatalf("answers %v, want the code %v with the CSR", bodies, tt.wantCode)
			}
			if diff := cmp.Diff(tt.wantRealm, asked); diff != "" {
				t.Errorf("callback asked for (-want +got):\n%s", diff)
			}
			if !tt.wantErr {
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff([]string{"device"}, ks.Entities()); diff != "" {
					t.Errorf("keystore (-want +got):\n%s", diff)
				}
				return
			}
			var e *client.Error
			if !errors.Is(err, client.ErrProvisioningRefused) || !errors.Is(err, client.ErrRefused) || !errors.As(err, &e) || e.Code != "realm_refused" {
				t.Errorf("error %v, want ErrProvisioningRefused from a 403 realm_refused", err)
			}
			if len(ks.Entities()) != 0 || len(bodies) != 1 {
				t.Errorf("keystore %v after %d answers", ks.Entities(), len(bodies))
			}
		})
	}
}

// A damaged or expired stored credential is not sent: the device provisions again and the new
// credential replaces it.
func TestUnusableCredentialReplaced(t *testing.T) {
	t.Parallel()
	tests := map[string]func(t *testing.T, dir string){
		"damaged": func(t *testing.T, dir string) {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "application%3Asample.json"), []byte(`{"version":1}`), 0o600); err != nil {
				t.Fatal(err)
			}
		},
		"expired": func(t *testing.T, dir string) {
			if err := client.DirKeystore(dir).Store("application:sample", expiredCredential(t)); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, setup := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := newPKIServer(t)
			dir := t.TempDir()
			setup(t, dir)
			ks := client.DirKeystore(dir)
			if _, err := pkiClient(t, srv, ks, "sample", "android", nil).InvokeProcedure(context.Background(), "acct", "prov"); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"csr+payload", "payload"}, kinds(answers(t, srv, client.RealmDeviceAutoProvisioning, 0))); diff != "" {
				t.Errorf("answers (-want +got):\n%s", diff)
			}
			if got := leafSerial(t, ks, "application:sample"); got != srv.Certificates(t)[0].Serial {
				t.Errorf("keystore holds %s", got)
			}
		})
	}
}

// expiredCredential is a credential whose certificate expired an hour ago.
func expiredCredential(t *testing.T) *client.Credential {
	t.Helper()
	ca, err := pki.NewCA(pki.CAOptions{Validity: time.Hour, Now: time.Now().Add(-3 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	ecKey, ok := ca.Key.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("CA key %T", ca.Key)
	}
	return &client.Credential{Key: ecKey, Chain: []*x509.Certificate{ca.Cert}}
}

// validCredential is a credential whose certificate is valid for an hour (its own CA).
func validCredential(t *testing.T) *client.Credential {
	t.Helper()
	ca, err := pki.NewCA(pki.CAOptions{Validity: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return &client.Credential{Key: ca.Key.(*ecdsa.PrivateKey), Chain: []*x509.Certificate{ca.Cert}}
}

// An answer with the stored certificate that draws a plain error (a stale nonce) is answered
// again with the same certificate; only a second error, or "enroll": true, drops it.
func TestStoredCertificateRetriedOnce(t *testing.T) {
	t.Parallel()
	type realmCase struct {
		realm, entity, challenge string
		wantNew                  string // the answer that asks for a new certificate
	}
	realms := []realmCase{
		{client.RealmDeviceAutoProvisioning, "device", `{"token":"%s","entity":"device"%s}`, "csr+payload"},
		{client.RealmUserCertificate, client.UserEntity(client.RealmUserCertificate), `{"token":"%s","dependentRealm":"Login"%s}`, "enroll"},
	}
	tests := []struct {
		name    string
		replies []string // extra members of the challenges answering the stored certificate
		want    []string
		kept    bool
	}{
		{name: "stale nonce", replies: []string{`,"error":"expired"`}, want: []string{"payload", "payload"}, kept: true},
		{name: "twice", replies: []string{`,"error":"expired"`, `,"error":"expired"`}, want: []string{"payload", "payload", "new"}},
		{name: "enroll", replies: []string{`,"error":"revoked","enroll":true`}, want: []string{"payload", "new"}},
	}
	for _, rc := range realms {
		for _, tt := range tests {
			t.Run(rc.realm+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				var mu sync.Mutex
				x5c := 0
				challenge := func(extra string) string {
					return `{"challenges":{"` + rc.realm + `":` + strings.Replace(strings.Replace(rc.challenge, "%s", "n", 1), "%s", extra, 1) + `}}`
				}
				srv := newScripted(t, func(w http.ResponseWriter, r *http.Request, n int) {
					if !strings.HasPrefix(r.URL.Path, "/api/v1/auth/") {
						if n == 1 {
							reply(w, http.StatusUnauthorized, challenge(""))
						} else {
							reply(w, http.StatusOK, `{"isSuccessful":true,"result":1}`)
						}
						return
					}
					var body map[string]any
					json.NewDecoder(r.Body).Decode(&body)
					if _, ok := body["payload"]; !ok || body["csr"] != nil {
						reply(w, http.StatusForbidden, `{"error":"realm_refused"}`) // the new certificate is not the point
						return
					}
					mu.Lock()
					x5c++
					i := x5c
					mu.Unlock()
					if i <= len(tt.replies) {
						reply(w, http.StatusUnauthorized, challenge(tt.replies[i-1]))
						return
					}
					reply(w, http.StatusOK, `{"realm":"`+rc.realm+`","status":"success","identity":{}}`)
				})
				var ks client.MemoryKeystore
				if err := ks.Store(rc.entity, validCredential(t)); err != nil {
					t.Fatal(err)
				}
				var bodies []map[string]any
				c := newClient(t, srv.URL, func(cfg *client.Config) {
					cfg.Keystore = &ks
					cfg.HTTPClient = &http.Client{Transport: recordAnswers(&mu, &bodies)}
				})
				_, err := c.InvokeProcedure(context.Background(), "acct", "p")
				if tt.kept && err != nil {
					t.Fatal(err)
				}
				want := []string{}
				for _, k := range tt.want {
					if k == "new" {
						k = rc.wantNew
					}
					want = append(want, k)
				}
				mu.Lock()
				got := kinds(bodies)
				mu.Unlock()
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("answers (-want +got):\n%s", diff)
				}
				if _, err := ks.Load(rc.entity); (err == nil) != tt.kept {
					t.Errorf("stored credential kept: %v, want %v", err == nil, tt.kept)
				}
			})
		}
	}
}

// recordAnswers is a transport that keeps the bodies of the answers posted.
func recordAnswers(mu *sync.Mutex, bodies *[]map[string]any) http.RoundTripper {
	return roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if strings.HasPrefix(r.URL.Path, "/api/v1/auth/") && r.Body != nil {
			b, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(strings.NewReader(string(b)))
			var m map[string]any
			json.Unmarshal(b, &m)
			mu.Lock()
			*bodies = append(*bodies, m)
			mu.Unlock()
		}
		return http.DefaultTransport.RoundTrip(r)
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
