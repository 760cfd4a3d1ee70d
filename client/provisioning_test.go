package client_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/client/clienttest"
	"github.com/realmgate/realmgate/pki"
)

const (
	userLogin  = "UserLogin"
	groupRealm = "GroupProvisioning"
	mdmRealm   = "MDMRealm"
)

// pkiFixture is a server with the certificate realms: provisioning per application, per group
// and per device (with an MDM activation code), and a user-certificate realm whose dependent
// realm is a form login.
func pkiFixture() clienttest.Config {
	return clienttest.Config{
		App:          "sample",
		Apps:         []string{"other"},
		Environments: []string{"android"},
		Tests: map[string][][]string{
			"provTest":  {{clienttest.RealmAntiXSRF, clienttest.RealmDeviceAutoProvisioning}},
			"groupTest": {{clienttest.RealmAntiXSRF, groupRealm}},
			"mdmTest":   {{clienttest.RealmAntiXSRF, mdmRealm}},
			"userTest":  {{clienttest.RealmAntiXSRF}, {clienttest.RealmUserCertificate}},
		},
		Procedures: map[string]clienttest.Procedure{
			"acct/prov":  {SecurityTest: "provTest", Run: echo},
			"acct/group": {SecurityTest: "groupTest", Run: echo},
			"acct/mdm":   {SecurityTest: "mdmTest", Run: echo},
			"acct/user":  {SecurityTest: "userTest", Run: echo},
		},
		Login: map[string]clienttest.LoginRealm{userLogin: {Authenticator: "form", Users: map[string]string{"alice": "secret"}}},
		Provisioning: map[string]clienttest.ProvisioningRealm{
			clienttest.RealmDeviceAutoProvisioning: {Entity: "application"},
			groupRealm:                             {Entity: "group:bank"},
			mdmRealm:                               {Entity: "device", ActivationCode: "A-1"},
		},
		UserCertificate: map[string]clienttest.UserCertificateRealm{
			clienttest.RealmUserCertificate: {DependentRealm: userLogin},
		},
	}
}

func newPKIServer(t *testing.T, edit func(*clienttest.Config)) *clienttest.Server {
	t.Helper()
	cfg := pkiFixture()
	if edit != nil {
		edit(&cfg)
	}
	return clienttest.NewServer(t, cfg)
}

// pkiClient is a client of app with the keystore, whose provisioning handler also answers the
// custom provisioning realms of pkiFixture.
func pkiClient(t *testing.T, srv *clienttest.Server, ks client.Keystore, app string, edit func(*client.Config)) *client.Client {
	t.Helper()
	c := newClient(t, srv.URL, func(cfg *client.Config) {
		cfg.AppID, cfg.Keystore = app, ks
		if edit != nil {
			edit(cfg)
		}
	})
	c.RegisterHandler(groupRealm, c.ProvisioningHandler())
	c.RegisterHandler(mdmRealm, c.ProvisioningHandler())
	return c
}

// answers decodes the bodies of the answers posted to realm from the i-th request on.
func answers(t *testing.T, srv *clienttest.Server, realm string, from int) []map[string]any {
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
	return cred.Leaf().SerialNumber.Text(16)
}

// noKeyLeaves fails when any request carried the private key of cred, in any usual encoding.
func noKeyLeaves(t *testing.T, srv *clienttest.Server, cred *client.Credential) {
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
	srv := newPKIServer(t, nil)
	dir := filepath.Join(t.TempDir(), "keys")
	ks := client.DirKeystore(dir)
	ctx := context.Background()

	c1 := pkiClient(t, srv, ks, "sample", nil)
	if _, err := c1.InvokeProcedure(ctx, "acct", "prov"); err != nil {
		t.Fatalf("first call: %v", err)
	}
	realm := client.RealmDeviceAutoProvisioning
	wantSteps := []step{
		{"POST", "/api/v1/adapters/acct/prov", false},
		{"POST", "/api/v1/auth/" + realm, true}, // csr + jwk payload: 200 provisioned
		{"POST", "/api/v1/auth/" + realm, true}, // x5c payload: 200 success
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
	claims2, chain, err := pki.VerifyX5C(bodies[1]["payload"].(string), srv.CA().Roots(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if claims2.Token == claims.Token {
		t.Errorf("the second payload signs the first nonce again")
	}

	// The keystore file: mode 0600, the certificate the server issued.
	certs := srv.Certificates()
	if len(certs) != 1 || certs[0].Entity != "application:sample" || certs[0].Subject != "CN=dev-1" {
		t.Fatalf("issued %+v", certs)
	}
	st, err := os.Stat(filepath.Join(dir, "application%3Asample.json"))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("keystore file mode %v", st.Mode().Perm())
	}
	if got := leafSerial(t, ks, "application:sample"); got != certs[0].Serial || chain[0].SerialNumber.Text(16) != got {
		t.Errorf("stored serial %s, issued %s, signed with %x", got, certs[0].Serial, chain[0].SerialNumber)
	}
	wantID := client.Identity{"id": "dev-1", "os": "android", "model": "Pixel 9", "displayName": "Test phone",
		"entity": "application", "certificateSerial": certs[0].Serial}
	if diff := cmp.Diff(wantID, c1.Identities()[realm]); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}

	// A new client with the same keystore signs in with the certificate: no CSR.
	n := len(srv.Requests())
	c2 := pkiClient(t, srv, ks, "sample", nil)
	if _, err := c2.InvokeProcedure(ctx, "acct", "prov"); err != nil {
		t.Fatalf("second client: %v", err)
	}
	if diff := cmp.Diff([]string{"payload"}, kinds(answers(t, srv, realm, n))); diff != "" {
		t.Errorf("second client's answers (-want +got):\n%s", diff)
	}
	if got := len(srv.Certificates()); got != 1 {
		t.Errorf("%d certificates issued, want 1", got)
	}
	cred, err := ks.Load("application:sample")
	if err != nil {
		t.Fatal(err)
	}
	noKeyLeaves(t, srv, cred)
}

// The applications of a group share one certificate; "application" provisions each one.
func TestProvisioningEntities(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, procedure string
		wantCerts       int
		wantEntities    []string
		wantSecond      []string // the second application's answers
	}{
		{"group", "group", 1, []string{"group:bank"}, []string{"payload"}},
		{"application", "prov", 2, []string{"application:other", "application:sample"}, []string{"csr+payload", "payload"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newPKIServer(t, nil)
			var ks client.MemoryKeystore
			ctx := context.Background()
			if _, err := pkiClient(t, srv, &ks, "sample", nil).InvokeProcedure(ctx, "acct", tt.procedure); err != nil {
				t.Fatalf("sample: %v", err)
			}
			n := len(srv.Requests())
			other := pkiClient(t, srv, &ks, "other", nil)
			if _, err := other.InvokeProcedure(ctx, "acct", tt.procedure); err != nil {
				t.Fatalf("other: %v", err)
			}
			realm := clienttest.RealmDeviceAutoProvisioning
			if tt.procedure == "group" {
				realm = groupRealm
			}
			if diff := cmp.Diff(tt.wantSecond, kinds(answers(t, srv, realm, n))); diff != "" {
				t.Errorf("second application's answers (-want +got):\n%s", diff)
			}
			if got := len(srv.Certificates()); got != tt.wantCerts {
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
// session (403: the client starts a new session).
func TestRevokedCertificateReprovisioned(t *testing.T) {
	t.Parallel()
	realm := clienttest.RealmDeviceAutoProvisioning
	tests := []struct {
		name         string
		final        bool
		wantSteps    []step
		wantSessions int // opened by the second client
	}{
		{
			name: "retry",
			wantSteps: []step{
				{"POST", "/api/v1/adapters/acct/prov", false},
				{"POST", "/api/v1/auth/" + realm, true}, // x5c: 401 enroll
				{"POST", "/api/v1/auth/" + realm, true}, // csr: provisioned
				{"POST", "/api/v1/auth/" + realm, true}, // x5c: success
				{"POST", "/api/v1/adapters/acct/prov", true},
			},
			wantSessions: 1,
		},
		{
			name: "final refusal", final: true,
			wantSteps: []step{
				{"POST", "/api/v1/adapters/acct/prov", false},
				{"POST", "/api/v1/auth/" + realm, true},       // x5c: 403
				{"POST", "/api/v1/adapters/acct/prov", false}, // a new session
				{"POST", "/api/v1/auth/" + realm, true},       // csr: provisioned
				{"POST", "/api/v1/auth/" + realm, true},       // x5c: success
				{"POST", "/api/v1/adapters/acct/prov", true},
			},
			wantSessions: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newPKIServer(t, func(cfg *clienttest.Config) {
				p := cfg.Provisioning[realm]
				p.FinalRefusal = tt.final
				cfg.Provisioning[realm] = p
			})
			var ks client.MemoryKeystore
			ctx := context.Background()
			if _, err := pkiClient(t, srv, &ks, "sample", nil).InvokeProcedure(ctx, "acct", "prov"); err != nil {
				t.Fatal(err)
			}
			first := srv.Certificates()[0].Serial
			if !srv.Revoke(first) {
				t.Fatal("Revoke found no certificate")
			}
			n, sessions := len(srv.Requests()), srv.Sessions()
			c2 := pkiClient(t, srv, &ks, "sample", nil)
			if _, err := c2.InvokeProcedure(ctx, "acct", "prov"); err != nil {
				t.Fatalf("after revocation: %v", err)
			}
			if diff := cmp.Diff(tt.wantSteps, steps(srv.Requests()[n:])); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if got := srv.Sessions() - sessions; got != tt.wantSessions {
				t.Errorf("%d sessions opened, want %d", got, tt.wantSessions)
			}
			certs := srv.Certificates()
			if len(certs) != 2 || !certs[0].Revoked || certs[1].Revoked {
				t.Fatalf("certificates %+v", certs)
			}
			if got := leafSerial(t, &ks, "application:sample"); got != certs[1].Serial {
				t.Errorf("keystore holds %s, want the new %s", got, certs[1].Serial)
			}
			if got := c2.Identities()[realm]["certificateSerial"]; got != certs[1].Serial {
				t.Errorf("identity's certificate %v, want %s", got, certs[1].Serial)
			}
		})
	}
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
			srv := newPKIServer(t, nil)
			var ks client.MemoryKeystore
			var asked []string
			c := pkiClient(t, srv, &ks, "sample", func(cfg *client.Config) { tt.config(cfg, &asked) })
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
			srv := newPKIServer(t, nil)
			dir := t.TempDir()
			setup(t, dir)
			ks := client.DirKeystore(dir)
			if _, err := pkiClient(t, srv, ks, "sample", nil).InvokeProcedure(context.Background(), "acct", "prov"); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{"csr+payload", "payload"}, kinds(answers(t, srv, clienttest.RealmDeviceAutoProvisioning, 0))); diff != "" {
				t.Errorf("answers (-want +got):\n%s", diff)
			}
			if got := leafSerial(t, ks, "application:sample"); got != srv.Certificates()[0].Serial {
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
