package client_test

import (
	"context"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/pki"
	"github.com/realmgate/realmgate/pki/pkitest"
)

// The user-certificate realms of testdata/certificates: userCertRealm enrolls through the test
// adapter's bridge, which answers each user in its own way; embeddedRealm through the embedded
// PKI.
const (
	userCertRealm = client.RealmUserCertificate
	embeddedRealm = "EmbeddedCertRealm"
)

func loginAs(user string) *client.LoginHandler {
	return login(client.Credentials{Username: user, Password: "secret"})
}

// csrAttributes reads the string attributes of a DER CSR by OID.
func csrAttributes(t *testing.T, der []byte) map[string]string {
	t.Helper()
	var req struct {
		TBS struct {
			Version    int
			Subject    asn1.RawValue
			PublicKey  asn1.RawValue
			Attributes []struct {
				Type   asn1.ObjectIdentifier
				Values []string `asn1:"set,utf8"`
			} `asn1:"optional,tag:0,set"`
		}
		Algorithm asn1.RawValue
		Signature asn1.BitString
	}
	if _, err := asn1.Unmarshal(der, &req); err != nil {
		t.Fatalf("CSR: %v", err)
	}
	out := map[string]string{}
	for _, a := range req.TBS.Attributes {
		out[a.Type.String()] = a.Values[0]
	}
	return out
}

func TestEnrollThenSignIn(t *testing.T) {
	t.Parallel()
	// The bridge asks alice for {"OU": "Mobile", "O": "Example, Inc."} and the challenge password pw-1.
	srv := newPKIServer(t)
	ks := client.DirKeystore(filepath.Join(t.TempDir(), "keys"))
	ctx := context.Background()

	c1 := pkiClient(t, srv, ks, "sample", "android", nil)
	c1.RegisterHandler(userLogin, loginAs("alice"))
	if _, err := c1.InvokeProcedure(ctx, "acct", "user"); err != nil {
		t.Fatalf("enrollment: %v", err)
	}
	wantSteps := []step{
		{"POST", "/api/v1/adapters/acct/user", false},   // 401 anti-XSRF
		{"POST", "/api/v1/adapters/acct/user", true},    // 401 user certificate
		{"POST", "/api/v1/auth/" + userCertRealm, true}, // enroll: 401 dependent realm
		{"POST", "/api/v1/auth/" + userLogin, true},     // the login
		{"POST", "/api/v1/adapters/acct/user", true},    // 401 user certificate again
		{"POST", "/api/v1/auth/" + userCertRealm, true}, // enroll: 401 csrRequirements
		{"POST", "/api/v1/auth/" + userCertRealm, true}, // csr: 200 enrolled
		{"POST", "/api/v1/auth/" + userCertRealm, true}, // x5c payload: 200 success
		{"POST", "/api/v1/adapters/acct/user", true},
	}
	if diff := cmp.Diff(wantSteps, steps(srv.Requests())); diff != "" {
		t.Fatalf("requests (-want +got):\n%s", diff)
	}
	bodies := answers(t, srv, userCertRealm, 0)
	if diff := cmp.Diff([]string{"enroll", "enroll", "csr", "payload"}, kinds(bodies)); diff != "" {
		t.Fatalf("answers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"enroll": true}, bodies[0]); diff != "" {
		t.Errorf("enroll answer (-want +got):\n%s", diff)
	}
	der, err := base64.StdEncoding.DecodeString(bodies[2]["csr"].(string))
	if err != nil {
		t.Fatal(err)
	}
	csr, err := pki.ParseCSR(der)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := adapters.CSRObject(csr).DN, `CN=alice,OU=Mobile,O=Example\, Inc.`; got != want {
		t.Errorf("CSR subject %q, want %q", got, want)
	}
	if diff := cmp.Diff(map[string]string{"1.2.840.113549.1.9.7": "pw-1"}, csrAttributes(t, der)); diff != "" {
		t.Errorf("CSR attributes (-want +got):\n%s", diff)
	}
	certs := srv.Certificates(t)
	if len(certs) != 1 || certs[0].Entity != "user:"+userCertRealm || certs[0].Owner != "alice" {
		t.Fatalf("issued %+v", certs)
	}
	// The daemon trusts the certificate it stored for a bridge's CA it does not know.
	stored, err := ks.Load(client.UserEntity(userCertRealm))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(stored.Leaf())
	if _, _, err := pki.VerifyX5C(bodies[3]["payload"].(string), roots, time.Time{}); err != nil {
		t.Errorf("sign-in payload: %v", err)
	}
	if got := leafSerial(t, ks, client.UserEntity(userCertRealm)); got != certs[0].Serial {
		t.Errorf("stored %s, issued %s", got, certs[0].Serial)
	}
	wantID := client.Identity{"userId": "alice", "displayName": "alice", "realm": userCertRealm, "certificateSerial": certs[0].Serial}
	if diff := cmp.Diff(wantID, c1.Identities()[userCertRealm]); diff != "" {
		t.Errorf("identity (-want +got):\n%s", diff)
	}

	// Another client with the keystore and no login handler signs in with the certificate.
	n := len(srv.Requests())
	c2 := pkiClient(t, srv, ks, "sample", "android", nil)
	if _, err := c2.InvokeProcedure(ctx, "acct", "user"); err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	if diff := cmp.Diff([]string{"payload"}, kinds(answers(t, srv, userCertRealm, n))); diff != "" {
		t.Errorf("sign-in answers (-want +got):\n%s", diff)
	}
	if srv.Count("POST", "/api/v1/auth/"+userLogin) != 1 || len(srv.Certificates(t)) != 1 {
		t.Errorf("the sign-in logged in or enrolled again")
	}
	cred, err := ks.Load(client.UserEntity(userCertRealm))
	if err != nil {
		t.Fatal(err)
	}
	noKeyLeaves(t, srv, cred)
}

// A certificate the server no longer accepts (revoked) is answered with "enroll": true; the
// client drops it and enrolls again, logging in to the dependent realm on the way. The realm
// signs with the embedded PKI.
func TestUserCertificateRevoked(t *testing.T) {
	t.Parallel()
	srv := newPKIServer(t)
	var ks client.MemoryKeystore
	ctx := context.Background()
	embeddedClient := func() *client.Client {
		c := pkiClient(t, srv, &ks, "sample", "android", nil)
		c.RegisterHandler(embeddedRealm, c.UserCertificateHandler())
		c.RegisterHandler(userLogin, loginAs("alice"))
		return c
	}
	if _, err := embeddedClient().InvokeProcedure(ctx, "acct", "embedded"); err != nil {
		t.Fatal(err)
	}
	srv.Revoke(t, srv.Certificates(t)[0].Serial)

	n := len(srv.Requests())
	if _, err := embeddedClient().InvokeProcedure(ctx, "acct", "embedded"); err != nil {
		t.Fatalf("after revocation: %v", err)
	}
	if diff := cmp.Diff([]string{"payload", "enroll", "enroll", "csr", "payload"}, kinds(answers(t, srv, embeddedRealm, n))); diff != "" {
		t.Errorf("answers (-want +got):\n%s", diff)
	}
	certs := srv.Certificates(t)
	if len(certs) != 2 || !certs[0].Revoked() || certs[1].Revoked() || certs[1].Entity != client.UserEntity(embeddedRealm) {
		t.Fatalf("certificates %+v", certs)
	}
	cred, err := ks.Load(client.UserEntity(embeddedRealm))
	if err != nil {
		t.Fatal(err)
	}
	if got := serialOf(cred.Leaf()); got != certs[1].Serial {
		t.Errorf("keystore holds %s, want %s", got, certs[1].Serial)
	}
	// The embedded PKI's CA signed it, for the subject the realm requires and nothing else.
	if _, err := cred.Leaf().Verify(x509.VerifyOptions{Roots: srv.usersCA.Roots(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("the certificate does not chain to the embedded PKI's CA: %v", err)
	}
	if got := cred.Leaf().Subject.String(); got != "CN=alice" {
		t.Errorf("subject %q, want CN=alice", got)
	}
}

// The bridge of testdata/certificates answers each user in one of the ways a PKI bridge may.
func TestUserCertificateVerdicts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		user        string
		wantAnswers []string
		wantIs      []error
		wantCode    string
	}{
		{
			name:        "dependent realm only",
			user:        "dora", // validateIdentity: NO_USE_DEPENDENT_REALM_ONLY
			wantAnswers: []string{"enroll", "enroll"},
		},
		{
			name:        "no",
			user:        "mallory", // validateIdentity: NO
			wantAnswers: []string{"enroll", "enroll"},
			wantIs:      []error{client.ErrEnrollmentRefused, client.ErrRefused}, wantCode: "realm_refused",
		},
		{
			name:        "csr rejected",
			user:        "rita", // validateCSR: NO
			wantAnswers: []string{"enroll", "enroll", "csr"},
			wantIs:      []error{client.ErrEnrollmentRefused, client.ErrRefused}, wantCode: "csr_rejected",
		},
		{
			// The server refuses requirements it could not enforce, before the client builds a key.
			name:        "a subject attribute nobody knows",
			user:        "colin", // getCSRRequirements: additionalSubject {"Colour": "blue"}
			wantAnswers: []string{"enroll", "enroll"},
			wantCode:    "unavailable",
		},
		{
			name:        "a request attribute nobody knows",
			user:        "attila", // getCSRRequirements: additionalAttributes {"colour": "blue"}
			wantAnswers: []string{"enroll", "enroll"},
			wantCode:    "unavailable",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := newPKIServer(t)
			var ks client.MemoryKeystore
			c := pkiClient(t, srv, &ks, "sample", "android", nil)
			c.RegisterHandler(userLogin, loginAs(tt.user))
			_, err := c.InvokeProcedure(context.Background(), "acct", "user")
			if diff := cmp.Diff(tt.wantAnswers, kinds(answers(t, srv, userCertRealm, 0))); diff != "" {
				t.Errorf("answers (-want +got):\n%s", diff)
			}
			if issued := srv.Certificates(t); len(ks.Entities()) != 0 || len(issued) != 0 {
				t.Errorf("keystore %v, issued %v", ks.Entities(), issued)
			}
			if tt.wantIs == nil && tt.wantCode == "" {
				if err != nil {
					t.Fatal(err)
				}
				want := client.Identity{"userId": tt.user, "displayName": tt.user, "realm": userCertRealm, "dependentRealm": userLogin}
				if diff := cmp.Diff(want, c.Identities()[userCertRealm]); diff != "" {
					t.Errorf("identity (-want +got):\n%s", diff)
				}
				return
			}
			for _, want := range tt.wantIs {
				if !errors.Is(err, want) {
					t.Errorf("error %v, want %v", err, want)
				}
			}
			var re *client.RealmError
			var se *client.Error
			if (!errors.As(err, &re) || re.Realm != userCertRealm) && (!errors.As(err, &se) || se.Realm != userCertRealm) {
				t.Errorf("error %v does not name the realm", err)
			}
			var e *client.Error
			if tt.wantCode != "" && (!errors.As(err, &e) || e.Code != tt.wantCode) {
				t.Errorf("error %v, want the server's %s", err, tt.wantCode)
			}
		})
	}
}

// The app proves itself genuine before a device is provisioned, even when the provisioning
// realm's name sorts before wl_authenticityRealm (authTest of testdata/certificates: anti-XSRF,
// AProvisioning and wl_authenticityRealm in one step).
func TestAuthenticity(t *testing.T) {
	t.Parallel()
	root, err := attestationRoot()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		pkg     string
		wantErr bool
	}{
		{name: "genuine", pkg: "com.example.bank"},
		{name: "repackaged", pkg: "com.example.fake", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const early = "AProvisioning"
			srv := newPKIServer(t)
			var challenges []string
			var ks client.MemoryKeystore
			c := pkiClient(t, srv, &ks, "sample", "android", func(cfg *client.Config) {
				cfg.Attestation = func(_ context.Context, challenge string) (*client.Attestation, error) {
					challenges = append(challenges, challenge)
					chain, _, err := pkitest.NewAttestation(root, []byte(challenge), tt.pkg, signingDigest[:])
					return &client.Attestation{Format: "android-key", Chain: chain}, err
				}
			})
			c.RegisterHandler(early, c.ProvisioningHandler())
			_, err := c.InvokeProcedure(context.Background(), "acct", "auth")
			var paths []string
			for _, r := range srv.Requests() {
				paths = append(paths, r.Path)
			}
			if tt.wantErr {
				if !errors.Is(err, client.ErrAuthenticityRefused) || !errors.Is(err, client.ErrRefused) {
					t.Fatalf("error %v, want ErrAuthenticityRefused", err)
				}
				if diff := cmp.Diff([]string{"/api/v1/adapters/acct/auth", "/api/v1/auth/" + client.RealmAuthenticity}, paths); diff != "" {
					t.Errorf("requests (-want +got):\n%s", diff)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := []string{
				"/api/v1/adapters/acct/auth",
				"/api/v1/auth/" + client.RealmAuthenticity,
				"/api/v1/auth/" + early, "/api/v1/auth/" + early,
				"/api/v1/adapters/acct/auth",
			}
			if diff := cmp.Diff(want, paths); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			body := answers(t, srv, client.RealmAuthenticity, 0)[0]
			att, _ := body["attestation"].(map[string]any)
			if att["format"] != "android-key" || len(att["chain"].([]any)) < 2 || len(challenges) != 1 || challenges[0] == "" {
				t.Errorf("attestation answer %v for challenges %q", body, challenges)
			}
		})
	}
}

func TestCertificateHandlersNeedConfig(t *testing.T) {
	t.Parallel()
	srv := newPKIServer(t)
	// Without a keystore (and without attestations) no certificate realm has a handler.
	c := newClient(t, srv.URL, nil)
	for _, proc := range []string{"prov", "user"} {
		if _, err := c.InvokeProcedure(context.Background(), "acct", proc); !errors.Is(err, client.ErrNoHandler) {
			t.Errorf("%s without a keystore: %v, want ErrNoHandler", proc, err)
		}
	}
	// Provisioning needs the device id for the CSR.
	_, err := client.New(client.Config{BaseURL: srv.URL, AppID: "sample", Environment: "android", AppVersion: "1",
		Keystore: &client.MemoryKeystore{}, Device: &client.DeviceInfo{OS: "android"}})
	if err == nil {
		t.Errorf("New accepted a keystore with a device without id")
	}
}

// A client that holds fixed credentials for the dependent realm and knows its authenticator
// (the server challenged it before) answers it as soon as the user-certificate challenge names
// it, then asks to enroll: one round trip less than asking first (PROTOCOL.md section 7 step 3).
// A client that would have to ask the user keeps the enroll-first order, and so does one that
// has not seen the realm's challenge yet.
func TestEnrollAnswersDependentRealmFirst(t *testing.T) {
	t.Parallel()
	srv := newPKIServer(t)
	ctx := context.Background()
	enrollFirst := []step{
		{"POST", "/api/v1/adapters/acct/user", true},    // 401 user certificate
		{"POST", "/api/v1/auth/" + userCertRealm, true}, // enroll: 401 dependent realm
		{"POST", "/api/v1/auth/" + userLogin, true},     // the login
		{"POST", "/api/v1/adapters/acct/user", true},    // 401 user certificate again
		{"POST", "/api/v1/auth/" + userCertRealm, true}, // enroll: 401 csrRequirements
		{"POST", "/api/v1/auth/" + userCertRealm, true}, // csr: 200 enrolled
		{"POST", "/api/v1/auth/" + userCertRealm, true}, // x5c payload: 200 success
		{"POST", "/api/v1/adapters/acct/user", true},
	}
	dependentFirst := []step{
		{"POST", "/api/v1/adapters/acct/user", true},    // 401 user certificate
		{"POST", "/api/v1/auth/" + userLogin, true},     // the login, before the enroll
		{"POST", "/api/v1/auth/" + userCertRealm, true}, // enroll: 401 csrRequirements
		{"POST", "/api/v1/auth/" + userCertRealm, true}, // csr: 200 enrolled
		{"POST", "/api/v1/auth/" + userCertRealm, true}, // x5c payload: 200 success
		{"POST", "/api/v1/adapters/acct/user", true},
	}
	// enrollAgain starts the next enrollment of c in its session: it forgets the certificate
	// and logs out of both realms, and returns how many requests the server has seen.
	enrollAgain := func(t *testing.T, c *client.Client, ks client.Keystore) int {
		t.Helper()
		if err := ks.Delete(client.UserEntity(userCertRealm)); err != nil {
			t.Fatal(err)
		}
		for _, realm := range []string{userCertRealm, userLogin} {
			if err := c.Logout(ctx, realm); err != nil {
				t.Fatalf("logout of %s: %v", realm, err)
			}
		}
		return len(srv.Requests())
	}
	tests := []struct {
		name    string
		handler *client.LoginHandler
		second  []step // the second enrollment, once the client has seen the login challenge
	}{
		{"fixed credentials", loginAs("alice"), dependentFirst},
		{"credentials asked for", &client.LoginHandler{Ask: func(context.Context, client.LoginPrompt) (client.Credentials, error) {
			return client.Credentials{Username: "alice", Password: "secret"}, nil
		}}, enrollFirst},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ks client.MemoryKeystore
			c := pkiClient(t, srv, &ks, "sample", "android", func(cfg *client.Config) {
				cfg.Device = &client.DeviceInfo{ID: "order-" + strings.ReplaceAll(tc.name, " ", "-"), OS: "android", Model: "test"}
			})
			c.RegisterHandler(userLogin, tc.handler)
			// The first enrollment: the client has never seen UserLogin's challenge, so it asks
			// to enroll first.
			if _, err := c.Init(ctx); err != nil {
				t.Fatalf("init: %v", err)
			}
			n := len(srv.Requests())
			if _, err := c.InvokeProcedure(ctx, "acct", "user"); err != nil {
				t.Fatalf("first enrollment: %v", err)
			}
			if diff := cmp.Diff(enrollFirst, steps(srv.Requests()[n:])); diff != "" {
				t.Fatalf("first enrollment requests (-want +got):\n%s", diff)
			}
			n = enrollAgain(t, c, &ks)
			if _, err := c.InvokeProcedure(ctx, "acct", "user"); err != nil {
				t.Fatalf("second enrollment: %v", err)
			}
			if diff := cmp.Diff(tc.second, steps(srv.Requests()[n:])); diff != "" {
				t.Errorf("second enrollment requests (-want +got):\n%s", diff)
			}
			if got := c.Identities()[userCertRealm]["userId"]; got != "alice" {
				t.Errorf("identity %v, want alice", c.Identities()[userCertRealm])
			}
			if _, err := ks.Load(client.UserEntity(userCertRealm)); err != nil {
				t.Errorf("no certificate stored after the second enrollment: %v", err)
			}
		})
	}
}
