package clienttest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/pki"
)

// These tests drive the certificate realms with raw HTTP and pki's own signing, so the
// fake server is checked against the protocol without package client.

func pkiConfig() Config {
	cfg := config()
	cfg.Apps = []string{"other"}
	cfg.Tests["prov"] = [][]string{{RealmAntiXSRF, RealmDeviceAutoProvisioning}}
	cfg.Tests["user"] = [][]string{{RealmAntiXSRF, RealmUserCertificate}}
	cfg.Procedures["a/prov"] = Procedure{SecurityTest: "prov", Run: func([]json.RawMessage) (any, error) { return "ok", nil }}
	cfg.Procedures["a/user"] = Procedure{SecurityTest: "user", Run: func([]json.RawMessage) (any, error) { return "ok", nil }}
	cfg.Provisioning = map[string]ProvisioningRealm{RealmDeviceAutoProvisioning: {Entity: "group:g"}}
	cfg.UserCertificate = map[string]UserCertificateRealm{RealmUserCertificate: {DependentRealm: "form",
		Requirements: adapters.CSRRequirements{AdditionalSubject: "O=Example"}}}
	return cfg
}

type device struct {
	key   *ecdsa.PrivateKey
	chain []*x509.Certificate
}

func newDevice(t *testing.T) *device {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return &device{key: k}
}

func (d *device) csr(t *testing.T, subject pkix.Name) string {
	der, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{Subject: subject}, d.key)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(der)
}

func payload(token, app string) pki.Payload {
	return pki.Payload{Token: token, Device: pki.DeviceInfo{ID: "dev-1", OS: "android"}, App: pki.AppInfo{ID: app, Version: "1.0", Environment: "android"}}
}

func mustJSON(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// start opens a session and passes anti-XSRF; it returns the challenge of realm.
func start(t *testing.T, c *rawClient, path, realm string) map[string]any {
	ch := challenges(c.do("POST", path, `{}`))
	c.hdr["WL-Instance-Id"] = ch[RealmAntiXSRF].(map[string]any)["WL-Instance-Id"].(string)
	p, _ := ch[realm].(map[string]any)
	if p == nil {
		t.Fatalf("no challenge for %s in %v", realm, ch)
	}
	return p
}

func (d *device) provision(t *testing.T, c *rawClient, token, app string) answer {
	jws, err := pki.SignJWK(d.key, payload(token, app))
	if err != nil {
		t.Fatal(err)
	}
	a := c.do("POST", "/api/v1/auth/"+RealmDeviceAutoProvisioning, mustJSON(t, map[string]string{"csr": d.csr(t, pkix.Name{CommonName: "dev-1"}), "payload": jws}))
	if a.Status == 200 {
		der, _ := base64.StdEncoding.DecodeString(a.Body["certificate"].(string))
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		d.chain = []*x509.Certificate{cert}
	}
	return a
}

func (d *device) signIn(t *testing.T, c *rawClient, realm, token, app string) answer {
	jws, err := pki.SignX5C(d.key, d.chain, payload(token, app))
	if err != nil {
		t.Fatal(err)
	}
	return c.do("POST", "/api/v1/auth/"+realm, mustJSON(t, map[string]string{"payload": jws}))
}

func TestProvisioningRealm(t *testing.T) {
	t.Parallel()
	s := NewServer(t, pkiConfig())
	c := newRaw(t, s)
	p := start(t, c, "/api/v1/adapters/a/prov", RealmDeviceAutoProvisioning)
	if p["entity"] != "group:g" {
		t.Errorf("challenge %v", p)
	}
	d := newDevice(t)
	// A payload for another application is refused; the refusal holds for the session.
	if a := d.provision(t, c, p["token"].(string), "other"); a.Status != 403 || a.Body["error"] != "realm_refused" {
		t.Fatalf("payload of another app: %+v", a)
	}
	if a := c.do("POST", "/api/v1/adapters/a/prov", `{}`); a.Status != 403 {
		t.Fatalf("after the refusal: %+v", a)
	}

	c = newRaw(t, s)
	p = start(t, c, "/api/v1/adapters/a/prov", RealmDeviceAutoProvisioning)
	a := d.provision(t, c, p["token"].(string), "sample")
	if a.Status != 200 || a.Body["status"] != "provisioned" || len(a.Body["chain"].([]any)) != 1 {
		t.Fatalf("provisioning: %+v", a)
	}
	if a := d.signIn(t, c, RealmDeviceAutoProvisioning, a.Body["token"].(string), "sample"); a.Status != 200 || a.Body["status"] != "success" {
		t.Fatalf("sign-in: %+v", a)
	}
	certs := s.Certificates()
	want := []IssuedCertificate{{Serial: certs[0].Serial, Realm: RealmDeviceAutoProvisioning, Entity: "group:g", Subject: "CN=dev-1"}}
	if diff := cmp.Diff(want, certs); diff != "" {
		t.Errorf("issued (-want +got):\n%s", diff)
	}

	// The group's other application signs in with the same certificate; once revoked, it is
	// a wrong answer that asks for a new one.
	o := newRaw(t, s)
	o.hdr["WL-App-Id"] = "other"
	p = start(t, o, "/api/v1/adapters/a/prov", RealmDeviceAutoProvisioning)
	if a := d.signIn(t, o, RealmDeviceAutoProvisioning, p["token"].(string), "other"); a.Status != 200 {
		t.Fatalf("group sign-in: %+v", a)
	}
	s.Revoke(certs[0].Serial)
	o = newRaw(t, s)
	p = start(t, o, "/api/v1/adapters/a/prov", RealmDeviceAutoProvisioning)
	a = d.signIn(t, o, RealmDeviceAutoProvisioning, p["token"].(string), "sample")
	got, _ := challenges(a)[RealmDeviceAutoProvisioning].(map[string]any)
	if a.Status != 401 || got["enroll"] != true || got["error"] == nil || got["token"] == p["token"] {
		t.Errorf("revoked certificate: %+v", a)
	}
}

func TestUserCertificateRealm(t *testing.T) {
	t.Parallel()
	s := NewServer(t, pkiConfig())
	c := newRaw(t, s)
	p := start(t, c, "/api/v1/adapters/a/user", RealmUserCertificate)
	if p["dependentRealm"] != "form" {
		t.Errorf("challenge %v", p)
	}
	// Enrolling before the dependent realm passed challenges it, not counted as an attempt.
	a := c.do("POST", "/api/v1/auth/"+RealmUserCertificate, `{"enroll":true}`)
	if a.Status != 401 || challenges(a)["form"] == nil || len(challenges(a)) != 1 {
		t.Fatalf("enroll first: %+v", a)
	}
	if a := c.do("POST", "/api/v1/auth/form", `{"username":"alice","password":"secret"}`); a.Status != 200 {
		t.Fatalf("login: %+v", a)
	}
	a = c.do("POST", "/api/v1/auth/"+RealmUserCertificate, `{"enroll":true}`)
	req, _ := challenges(a)[RealmUserCertificate].(map[string]any)["csrRequirements"].(map[string]any)
	if diff := cmp.Diff(map[string]any{"commonName": "alice", "additionalSubject": "O=Example"}, req); diff != "" {
		t.Fatalf("requirements (-want +got):\n%s", diff)
	}
	d := newDevice(t)
	// A CSR without the required subject is rejected, for good.
	if a := c.do("POST", "/api/v1/auth/"+RealmUserCertificate, mustJSON(t, map[string]string{"csr": d.csr(t, pkix.Name{CommonName: "alice"})})); a.Status != 403 || a.Body["error"] != "csr_rejected" {
		t.Fatalf("CSR without O: %+v", a)
	}

	c = newRaw(t, s)
	start(t, c, "/api/v1/adapters/a/user", RealmUserCertificate)
	c.do("POST", "/api/v1/auth/"+RealmUserCertificate, `{"enroll":true}`)
	c.do("POST", "/api/v1/auth/form", `{"username":"alice","password":"secret"}`)
	c.do("POST", "/api/v1/auth/"+RealmUserCertificate, `{"enroll":true}`)
	a = c.do("POST", "/api/v1/auth/"+RealmUserCertificate, mustJSON(t, map[string]string{"csr": d.csr(t, pkix.Name{CommonName: "alice", Organization: []string{"Example"}})}))
	if a.Status != 200 || a.Body["status"] != "enrolled" {
		t.Fatalf("enrollment: %+v", a)
	}
	der, _ := base64.StdEncoding.DecodeString(a.Body["certificate"].(string))
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	d.chain = []*x509.Certificate{cert}
	if a := d.signIn(t, c, RealmUserCertificate, a.Body["token"].(string), "sample"); a.Status != 200 || a.Body["identity"].(map[string]any)["userId"] != "alice" {
		t.Fatalf("sign-in: %+v", a)
	}
	if got := c.do("GET", "/api/v1/session", ""); got.Body["user"].(map[string]any)["userId"] != "alice" {
		t.Errorf("session user: %+v", got)
	}

	// A new session signs in with the certificate alone; revoked, it is asked to enroll.
	n := newRaw(t, s)
	p = start(t, n, "/api/v1/adapters/a/user", RealmUserCertificate)
	if a := d.signIn(t, n, RealmUserCertificate, p["token"].(string), "sample"); a.Status != 200 {
		t.Fatalf("sign-in in a new session: %+v", a)
	}
	s.Revoke(s.Certificates()[0].Serial)
	n = newRaw(t, s)
	p = start(t, n, "/api/v1/adapters/a/user", RealmUserCertificate)
	a = d.signIn(t, n, RealmUserCertificate, p["token"].(string), "sample")
	if got, _ := challenges(a)[RealmUserCertificate].(map[string]any); a.Status != 401 || got["enroll"] != true {
		t.Errorf("revoked: %+v", a)
	}
}

func TestPKIConfigMistakes(t *testing.T) {
	t.Parallel()
	tests := map[string]func(*Config){
		"bad entity":        func(c *Config) { c.Provisioning["p"] = ProvisioningRealm{Entity: "user"} },
		"empty group":       func(c *Config) { c.Provisioning["p"] = ProvisioningRealm{Entity: "group:"} },
		"dependent unknown": func(c *Config) { c.UserCertificate["u"] = UserCertificateRealm{DependentRealm: "nosuch"} },
		"bad verdict": func(c *Config) {
			c.UserCertificate["u"] = UserCertificateRealm{DependentRealm: "form", Verdict: "MAYBE"}
		},
		"realm twice":   func(c *Config) { c.Provisioning["form"] = ProvisioningRealm{Entity: "device"} },
		"authenticity":  func(c *Config) { c.Authenticity = &AuthenticityRealm{} },
		"after nothing": func(c *Config) { c.Provisioning["p"] = ProvisioningRealm{Entity: "device", AfterAuthenticity: true} },
		"unconfigured":  func(c *Config) { c.Tests["x"] = [][]string{{RealmAuthenticity}} },
	}
	for name, edit := range tests {
		cfg := pkiConfig()
		edit(&cfg)
		if s, err := Start(cfg); err == nil {
			s.Close()
			t.Errorf("%s: Start accepted the config", name)
		}
	}
}
