package main

// Attacks on device and certificate identity, each driven against a real daemon over HTTP:
// taking over a device id by provisioning a new key for it, borrowing another device's single
// sign-on, making the embedded CA sign a subject the PKI bridge did not ask for, and enrolling
// after the dependent login ended.

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/internal/daemon"
	"github.com/realmgate/realmgate/pki"
	"github.com/realmgate/realmgate/pki/pkitest"
)

// The device-security project: Mail and Calendar share the provisioning group "suite" (one key
// pair, one certificate per device) and device single sign-on of SuiteLogin; Notes provisions
// its own certificate; Portal enrolls user certificates with the embedded PKI.
const (
	devsecProject = "testdata/devicesecurity"
	devsecPackage = "com.example.suite"
	devsecRealm   = "wl_deviceAutoProvisioningRealm"
	devsecCert    = "wl_userCertificateAuthRealm"
)

// newDevsecLab copies the device-security project with a fresh attestation root, the genuine
// app's signing digest and the users CA of the embedded PKI; settings are added to hostd.yaml.
func newDevsecLab(t *testing.T, settings string) *pkiLab {
	t.Helper()
	l := &pkiLab{dir: t.TempDir()}
	if err := os.CopyFS(l.dir, os.DirFS(devsecProject)); err != nil {
		t.Fatal(err)
	}
	var err error
	if l.attestRoot, err = pki.NewCA(pki.CAOptions{CommonName: "Device security attestation root"}); err != nil {
		t.Fatal(err)
	}
	if l.usersCA, err = pki.NewCA(pki.CAOptions{CommonName: "Example Corp users CA"}); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("the suite's signing certificate"))
	l.digest = sum[:]
	p12, err := pkcs12.Modern.Encode(l.usersCA.Key, l.usersCA.Cert, nil, "test-password")
	if err != nil {
		t.Fatal(err)
	}
	mustWrite(t, filepath.Join(l.dir, "users-ca.p12"), string(p12))
	rootsFile := filepath.Join(l.dir, "attestation-roots.pem")
	mustWrite(t, rootsFile, string(pemCert(l.attestRoot.Cert)))
	l.render(t, "hostd.yaml", map[string]string{"{{ROOTS}}": rootsFile})
	if settings != "" {
		b, _ := os.ReadFile(filepath.Join(l.dir, "hostd.yaml"))
		mustWrite(t, filepath.Join(l.dir, "hostd.yaml"), string(b)+settings)
	}
	for _, app := range []string{"Mail", "Calendar", "Notes"} {
		path := filepath.Join(l.dir, "apps", app, "application-descriptor.xml")
		b, _ := os.ReadFile(path)
		mustWrite(t, path, strings.ReplaceAll(string(b), "{{DIGEST}}", hex.EncodeToString(l.digest)))
	}
	return l
}

func pemCert(c *x509.Certificate) []byte {
	return []byte("-----BEGIN CERTIFICATE-----\n" + wrap64(base64.StdEncoding.EncodeToString(c.Raw)) + "-----END CERTIFICATE-----\n")
}

func wrap64(s string) string {
	var b strings.Builder
	for len(s) > 64 {
		b.WriteString(s[:64] + "\n")
		s = s[64:]
	}
	return b.String() + s + "\n"
}

// devsecProvisioning opens a session of app that proved its authenticity and returns it with the
// provisioning challenge's nonce.
func devsecProvisioning(t *testing.T, l *pkiLab, d *daemon.Daemon, app string) (*session, string) {
	t.Helper()
	s := newSession(t, d, app, "android")
	st, body := s.init()
	auth := challengeOf(t, st, body, "wl_authenticityRealm")
	if st, body := l.attest(t, s, auth["token"].(string), devsecPackage, l.digest); st != 200 {
		t.Fatalf("%s: authenticity: %d %v", app, st, body)
	}
	st, body = s.init()
	return s, challengeOf(t, st, body, devsecRealm)["token"].(string)
}

// devsecCSR answers the provisioning challenge with a CSR of dev's key, and proof when not empty.
func devsecCSR(t *testing.T, s *session, dev *device, token, proof string) (int, map[string]any) {
	t.Helper()
	jws, err := pki.SignJWK(dev.key, dev.payload(s.app, s.env, token))
	if err != nil {
		t.Fatal(err)
	}
	answer := map[string]any{"csr": csrFor(t, dev.key, pkix.Name{CommonName: dev.id}), "payload": jws}
	if proof != "" {
		answer["proof"] = proof
	}
	return s.answer(devsecRealm, answer)
}

// devsecKeep records the certificate of a "provisioned" reply as dev's chain.
func devsecKeep(t *testing.T, dev *device, body map[string]any) {
	t.Helper()
	dev.chain = nil
	for _, enc := range append([]any{body["certificate"]}, body["chain"].([]any)...) {
		c, err := x509.ParseCertificate(mustB64(enc.(string)))
		if err != nil {
			t.Fatal(err)
		}
		dev.chain = append(dev.chain, c)
	}
}

// devsecLogin answers SuiteLogin's challenge in s.
func devsecLogin(t *testing.T, s *session, user, password string) {
	t.Helper()
	st, body := s.init()
	challengeOf(t, st, body, "SuiteLogin")
	if st, body := s.answer("SuiteLogin", map[string]any{"username": user, "password": password}); st != 200 {
		t.Fatalf("login of %s: %d %v", user, st, body)
	}
}

// devsecVictim provisions phone in Mail and logs alice in there: the device then carries a
// live certificate and a shared login. It returns alice's session.
func devsecVictim(t *testing.T, l *pkiLab, d *daemon.Daemon, phone *device) *session {
	t.Helper()
	s, token := devsecProvisioning(t, l, d, "Mail")
	provision(t, s, phone, token)
	devsecLogin(t, s, "alice", "alice-password")
	if st, body := s.init(); st != 200 || body["user"].(map[string]any)["userId"] != "alice" {
		t.Fatalf("the victim's own session: %d %v", st, body)
	}
	return s
}

func serialOf(c *x509.Certificate) string { return hex.EncodeToString(c.SerialNumber.Bytes()) }

// deviceSerial returns the certificate serial the admin API lists for device (id, entity).
func deviceSerial(t *testing.T, d *daemon.Daemon, id, entity string) string {
	t.Helper()
	st, body := admin(t, d, "GET", "/admin/v1/devices", "", adminToken)
	if st != 200 {
		t.Fatalf("list devices: %d %v", st, body)
	}
	for _, v := range body["devices"].([]any) {
		dev := v.(map[string]any)
		if dev["id"] == id && dev["entity"] == entity {
			s, _ := dev["certificateSerial"].(string)
			return s
		}
	}
	return ""
}

// signProof signs claims with dev's key and certificate chain in the x5c header: the "proof" of
// a re-provisioning, built here from the wire format of PROTOCOL.md, not from the server's code.
func signProof(t *testing.T, dev *device, claims map[string]any) string {
	t.Helper()
	x5c := make([]string, len(dev.chain))
	for i, c := range dev.chain {
		x5c[i] = base64.StdEncoding.EncodeToString(c.Raw)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: dev.key}, (&jose.SignerOptions{}).WithHeader("x5c", x5c))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	obj, err := signer.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// thumbprint is the RFC 7638 SHA-256 thumbprint of a public key, base64url without padding.
func thumbprint(t *testing.T, pub crypto.PublicKey) string {
	t.Helper()
	tp, err := (&jose.JSONWebKey{Key: pub}).Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(tp)
}

func proofClaims(s *session, dev *device, token, newKey string) map[string]any {
	return map[string]any{
		"token":  token,
		"device": map[string]any{"id": dev.id, "os": "android 16", "model": "test"},
		"app":    map[string]any{"id": s.app, "version": "1.0", "environment": s.env},
		"newKey": newKey,
	}
}

// TestDeviceTakeoverByReprovisioningRefused: an attacker whose app passes authenticity in its
// own session provisions a new key under the victim's device id. The device keeps the victim's
// certificate, and the attacker gets neither the device nor the victim's shared login.
func TestDeviceTakeoverByReprovisioningRefused(t *testing.T) {
	l := newDevsecLab(t, "")
	d := l.start(t)
	victim := newDevice(t, "victim-phone")
	devsecVictim(t, l, d, victim)

	attacker := newDevice(t, "victim-phone") // the victim's id, the attacker's key
	s, token := devsecProvisioning(t, l, d, "Calendar")
	st, body := devsecCSR(t, s, attacker, token, "")
	if st != 403 || body["error"] != "device_proof_required" {
		t.Errorf("a new key for a device with a live certificate: %d %v, want 403 device_proof_required", st, body)
	}
	if st == 200 {
		devsecKeep(t, attacker, body)
		signIn(t, s, attacker, body["token"].(string), 200)
	}
	if st, body := s.init(); st == 200 {
		t.Errorf("the attacker reached the suite as %v without a password", body["user"])
	}
	if got, want := deviceSerial(t, d, "victim-phone", "group:suite"), serialOf(victim.chain[0]); got != want {
		t.Errorf("the victim's device now holds certificate %s, want %s (the victim's)", got, want)
	}
	// The victim's own certificate still works, in the suite's other app, with the shared login.
	s2, token := devsecProvisioning(t, l, d, "Calendar")
	signIn(t, s2, victim, token, 200)
	if st, body := s2.init(); st != 200 || body["user"].(map[string]any)["userId"] != "alice" {
		t.Errorf("the victim's single sign-on in Calendar: %d %v", st, body)
	}
}

// TestDeviceSSOKeyedByProvingCertificate: a device id is only a claim. An attacker that
// provisions the victim's device id in an application with its own entity (no live certificate
// there, so provisioning succeeds) proves a certificate of its own, and a shared login is keyed
// by the certificate that proved the device: the victim's login is not the attacker's.
func TestDeviceSSOKeyedByProvingCertificate(t *testing.T) {
	l := newDevsecLab(t, "")
	d := l.start(t)
	victim := newDevice(t, "victim-phone")
	devsecVictim(t, l, d, victim)

	attacker := newDevice(t, "victim-phone")
	s, token := devsecProvisioning(t, l, d, "Notes")
	provision(t, s, attacker, token)
	st, body := s.init()
	if st == 200 {
		t.Fatalf("Notes with the victim's device id: logged in as %v without a password", body["user"])
	}
	challengeOf(t, st, body, "SuiteLogin")
	// The attacker's own login does not leak to the victim's device either.
	devsecLogin(t, s, "mallory", "mallory-password")
	s2, token := devsecProvisioning(t, l, d, "Calendar")
	signIn(t, s2, victim, token, 200)
	if st, body := s2.init(); st != 200 || body["user"].(map[string]any)["userId"] != "alice" {
		t.Errorf("the victim's device in Calendar: %d %v, want alice's shared login", st, body)
	}
}

// TestDeviceReprovisioningNeedsProof: a device id with a live certificate takes a new key only
// with a "proof" signed by that certificate's key over the new nonce and the new key; the old
// certificate is then revoked.
func TestDeviceReprovisioningNeedsProof(t *testing.T) {
	l := newDevsecLab(t, "")
	d := l.start(t)
	phone := newDevice(t, "phone-1")
	devsecVictim(t, l, d, phone)
	stranger := newDevice(t, "stranger-phone")
	s, token := devsecProvisioning(t, l, d, "Mail")
	provision(t, s, stranger, token)
	other := newDevice(t, "phone-1") // a key nobody certified

	tests := []struct {
		name  string
		proof func(s *session, next *device, token string) string
	}{
		{"no proof", func(*session, *device, string) string { return "" }},
		{"signed by another device's certificate", func(s *session, next *device, token string) string {
			c := proofClaims(s, phone, token, thumbprint(t, next.key.Public()))
			return signProof(t, stranger, c)
		}},
		{"signed by a key with the device's certificate", func(s *session, next *device, token string) string {
			forged := &device{id: phone.id, key: other.key, chain: phone.chain}
			return signProof(t, forged, proofClaims(s, phone, token, thumbprint(t, next.key.Public())))
		}},
		{"for another new key", func(s *session, next *device, token string) string {
			return signProof(t, phone, proofClaims(s, phone, token, thumbprint(t, other.key.Public())))
		}},
		{"over another nonce", func(s *session, next *device, token string) string {
			_, stale := devsecProvisioning(t, l, d, "Mail")
			return signProof(t, phone, proofClaims(s, phone, stale, thumbprint(t, next.key.Public())))
		}},
		{"without the new key", func(s *session, next *device, token string) string {
			return signProof(t, phone, proofClaims(s, phone, token, ""))
		}},
		{"not a JWS", func(*session, *device, string) string { return "not.a.jws" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			next := newDevice(t, "phone-1")
			s, token := devsecProvisioning(t, l, d, "Calendar")
			st, body := devsecCSR(t, s, next, token, tc.proof(s, next, token))
			if st != 403 || body["error"] != "device_proof_required" {
				t.Errorf("%d %v, want 403 device_proof_required", st, body)
			}
		})
	}
	if got := deviceSerial(t, d, "phone-1", "group:suite"); got != serialOf(phone.chain[0]) {
		t.Fatalf("a refused re-provisioning changed the device's certificate to %s", got)
	}

	// The device itself re-keys: the proof is signed by its current key.
	next := newDevice(t, "phone-1")
	s, token = devsecProvisioning(t, l, d, "Calendar")
	st, body := devsecCSR(t, s, next, token, signProof(t, phone, proofClaims(s, phone, token, thumbprint(t, next.key.Public()))))
	if st != 200 || body["status"] != "provisioned" {
		t.Fatalf("re-keying with a proof: %d %v", st, body)
	}
	devsecKeep(t, next, body)
	signIn(t, s, next, body["token"].(string), 200)
	if got := deviceSerial(t, d, "phone-1", "group:suite"); got != serialOf(next.chain[0]) {
		t.Errorf("after re-keying the device holds %s, want the new certificate %s", got, serialOf(next.chain[0]))
	}
	// The replaced certificate is revoked: it signs in no more.
	s, token = devsecProvisioning(t, l, d, "Mail")
	res := signIn(t, s, phone, token, 401)
	if ch := challenges(res)[devsecRealm].(map[string]any); ch["enroll"] != true {
		t.Errorf("the replaced certificate: %v, want a new challenge with enroll", res)
	}
	if !certRevoked(t, d, serialOf(phone.chain[0])) {
		t.Error("the replaced certificate is not revoked")
	}
}

func certRevoked(t *testing.T, d *daemon.Daemon, serial string) bool {
	t.Helper()
	_, body := admin(t, d, "GET", "/admin/v1/certificates", "", adminToken)
	for _, v := range body["certificates"].([]any) {
		c := v.(map[string]any)
		if c["serial"] == serial {
			return c["revokedAt"] != nil
		}
	}
	t.Fatalf("no certificate %s", serial)
	return false
}

// TestAdminResetsDevice: a device that lost its key is provisioned anew after an administrator
// resets it; the reset revokes its certificate, ends its shared logins and is audited.
func TestAdminResetsDevice(t *testing.T) {
	l := newDevsecLab(t, "")
	d := l.start(t)
	phone := newDevice(t, "lost-phone")
	thief := devsecVictim(t, l, d, phone) // the session on the lost phone
	if st, body := admin(t, d, "POST", "/admin/v1/devices/lost-phone/reset", `{"reason":"phone replaced"}`, ""); st != 401 {
		t.Errorf("reset without the admin token: %d %v", st, body)
	}
	if st, body := admin(t, d, "POST", "/admin/v1/devices/no-such-phone/reset", "", adminToken); st != 404 {
		t.Errorf("reset of an unknown device: %d %v", st, body)
	}
	st, body := admin(t, d, "POST", "/admin/v1/devices/lost-phone/reset", `{"reason":"phone replaced"}`, adminToken)
	if st != 200 {
		t.Fatalf("reset: %d %v", st, body)
	}
	if !certRevoked(t, d, serialOf(phone.chain[0])) {
		t.Error("the reset device's certificate is not revoked")
	}
	if got := deviceSerial(t, d, "lost-phone", "group:suite"); got != "" {
		t.Errorf("the reset device still holds certificate %s", got)
	}
	// The session that signed in with the reset certificate must prove the device again, and
	// the certificate proves it no more.
	st, body = thief.init()
	ch := challengeOf(t, st, body, devsecRealm)
	res := signIn(t, thief, phone, ch["token"].(string), 401)
	if again := challenges(res)[devsecRealm].(map[string]any); again["enroll"] != true {
		t.Errorf("the reset certificate: %v, want a new challenge with enroll", res)
	}
	// The replacement phone provisions without a proof, and the old login is not handed to it.
	replacement := newDevice(t, "lost-phone")
	s, token := devsecProvisioning(t, l, d, "Calendar")
	provision(t, s, replacement, token)
	if st, body := s.init(); st == 200 {
		t.Errorf("after a reset the device's old login was reused: %v", body["user"])
	}
	_, audit := admin(t, d, "GET", "/admin/v1/audit", "", adminToken)
	found := false
	for _, v := range audit["records"].([]any) {
		r := v.(map[string]any)
		if r["action"] == "device.reset" && r["target"] == "lost-phone" {
			found = true
			if !strings.Contains(jsonBody(t, r), serialOf(phone.chain[0])) {
				t.Errorf("the audit record does not name the revoked certificate: %v", r)
			}
		}
	}
	if !found {
		t.Errorf("no device.reset audit record: %v", audit)
	}
}

// TestClientSSOAcrossGroupApps: with the Go client, the applications of a provisioning group
// (one key pair) share a login; an application with its own certificate claiming the same
// device id does not get it.
func TestClientSSOAcrossGroupApps(t *testing.T) {
	l := newDevsecLab(t, "")
	d := l.start(t)
	ks := &client.MemoryKeystore{}
	newC := func(app, user string) (*client.Client, *int) {
		c, err := client.New(client.Config{BaseURL: baseURL(d), AppID: app, Environment: "android", AppVersion: "1.0",
			Device: &client.DeviceInfo{ID: "tablet-1", OS: "android", Model: "test"}, Keystore: ks,
			Attestation: func(_ context.Context, challenge string) (*client.Attestation, error) {
				chain, _, err := pkitest.NewAttestation(l.attestRoot, []byte(challenge), devsecPackage, l.digest)
				return &client.Attestation{Format: "android-key", Chain: chain}, err
			}})
		if err != nil {
			t.Fatal(err)
		}
		logins := 0
		c.RegisterHandler("SuiteLogin", &client.LoginHandler{Ask: func(context.Context, client.LoginPrompt) (client.Credentials, error) {
			logins++
			return client.Credentials{Username: user, Password: user + "-password"}, nil
		}})
		return c, &logins
	}
	ctx := context.Background()
	for _, tc := range []struct {
		app    string
		logins int
	}{{"Mail", 1}, {"Calendar", 0}, {"Notes", 1}} {
		c, logins := newC(tc.app, "alice")
		res, err := c.Init(ctx)
		if err != nil {
			t.Fatalf("%s: %v", tc.app, err)
		}
		if res.User["userId"] != "alice" || *logins != tc.logins {
			t.Errorf("%s: user %v after %d logins, want alice after %d", tc.app, res.User["userId"], *logins, tc.logins)
		}
	}
}

// TestEmbeddedCAIssuesRequiredSubjectOnly: whatever subject and extensions a CSR asks for, the
// embedded PKI issues CN=<required common name> plus the required additional subject, and none
// of the CSR's extensions.
func TestEmbeddedCAIssuesRequiredSubjectOnly(t *testing.T) {
	l := newDevsecLab(t, "")
	d := l.start(t)
	oidUID := asn1.ObjectIdentifier{0, 9, 2342, 19200300, 100, 1, 1}
	admins, _ := url.Parse("spiffe://example.com/admins")
	caTrue, _ := asn1.Marshal(struct {
		IsCA bool
	}{true})
	tests := []struct {
		name string
		csr  x509.CertificateRequest
	}{
		{"extra attributes", x509.CertificateRequest{Subject: pkix.Name{
			CommonName: "carol", Organization: []string{"Example Corp"}, OrganizationalUnit: []string{"admins"},
			ExtraNames: []pkix.AttributeTypeAndValue{{Type: oidUID, Value: "alice"}}}}},
		{"a multi-valued RDN", x509.CertificateRequest{RawSubject: mustMarshal(t, pkix.RDNSequence{
			{{Type: asn1.ObjectIdentifier{2, 5, 4, 10}, Value: "Example Corp"}},
			{{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "carol"}, {Type: oidUID, Value: "alice"}},
		})}},
		{"names and extensions", x509.CertificateRequest{
			Subject:        pkix.Name{CommonName: "carol", Organization: []string{"Example Corp"}},
			DNSNames:       []string{"admin.example.com"},
			EmailAddresses: []string{"alice@example.com"},
			IPAddresses:    []net.IP{net.IPv4(127, 0, 0, 1)},
			URIs:           []*url.URL{admins},
			ExtraExtensions: []pkix.Extension{
				{Id: asn1.ObjectIdentifier{2, 5, 29, 19}, Critical: true, Value: caTrue},
				{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 7}, Value: []byte{0x0c, 0x05, 'a', 'd', 'm', 'i', 'n'}},
			}}},
	}
	type issued struct {
		Subject    string
		DNSNames   []string
		Emails     []string
		IPs        int
		URIs       int
		IsCA       bool
		Extensions []string
	}
	want := issued{Subject: "CN=carol,O=Example Corp", Extensions: []string{"2.5.29.14", "2.5.29.15", "2.5.29.19", "2.5.29.35", "2.5.29.37"}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(t, d, "Portal", "android")
			devsecEnrollFor(t, s, "carol")
			key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			der, err := x509.CreateCertificateRequest(rand.Reader, &tc.csr, key)
			if err != nil {
				t.Fatal(err)
			}
			st, body := s.answer(devsecCert, map[string]any{"csr": base64.StdEncoding.EncodeToString(der)})
			if st != 200 || body["status"] != "enrolled" {
				t.Fatalf("enrollment: %d %v", st, body)
			}
			cert, err := x509.ParseCertificate(mustB64(body["certificate"].(string)))
			if err != nil {
				t.Fatal(err)
			}
			var rdns pkix.RDNSequence
			asn1.Unmarshal(cert.RawSubject, &rdns)
			got := issued{Subject: rdns.String(), DNSNames: cert.DNSNames, Emails: cert.EmailAddresses, IPs: len(cert.IPAddresses), URIs: len(cert.URIs), IsCA: cert.IsCA}
			for _, e := range cert.Extensions {
				got.Extensions = append(got.Extensions, e.Id.String())
			}
			sortStrings(got.Extensions)
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("issued certificate (-want +got):\n%s", d)
			}
			// And the certificate signs carol in, as carol.
			st, body = certSignIn(t, s, devsecCert, key, cert, body["token"].(string))
			if st != 200 || body["identity"].(map[string]any)["userId"] != "carol" {
				t.Errorf("sign-in: %d %v", st, body)
			}
		})
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := asn1.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// devsecEnrollFor walks Portal's enrollment to the CSR requirements for user (CertLogin takes
// any password) and checks them.
func devsecEnrollFor(t *testing.T, s *session, user string) {
	t.Helper()
	st, body := s.init()
	challengeOf(t, st, body, devsecCert)
	st, body = s.answer(devsecCert, map[string]any{"enroll": true})
	challengeOf(t, st, body, "CertLogin")
	if st, body := s.answer("CertLogin", map[string]any{"username": user, "password": "x"}); st != 200 {
		t.Fatalf("dependent login: %d %v", st, body)
	}
	st, body = s.answer(devsecCert, map[string]any{"enroll": true})
	req, _ := challengeOf(t, st, body, devsecCert)["csrRequirements"].(map[string]any)
	if d := cmp.Diff(map[string]any{"commonName": user, "additionalSubject": map[string]any{"O": "Example Corp"}}, req); d != "" {
		t.Fatalf("requirements (-want +got):\n%s", d)
	}
}

// carolCSR is a CSR that meets carol's requirements.
func carolCSR(t *testing.T) string {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	return csrFor(t, key, pkix.Name{CommonName: "carol", Organization: []string{"Example Corp"}})
}

// TestEnrollmentNeedsLiveDependentLoginAndNonce: a CSR is accepted only while the dependent
// login that started the enrollment and the enrollment's nonce are both live, and only once.
func TestEnrollmentNeedsLiveDependentLoginAndNonce(t *testing.T) {
	l := newDevsecLab(t, "limits:\n  nonceTTL: 4s\n")
	d := l.start(t)
	tests := []struct {
		name   string
		before func(t *testing.T, s *session)
	}{
		{"after logging out of the dependent realm", func(t *testing.T, s *session) {
			if st, body := s.req("POST", "/api/v1/logout/CertLogin", "{}"); st != 200 {
				t.Fatalf("logout: %d %v", st, body)
			}
		}},
		{"after another user logged in to the dependent realm", func(t *testing.T, s *session) {
			s.req("POST", "/api/v1/logout/CertLogin", "{}")
			s.answer(devsecCert, map[string]any{"enroll": true})
			if st, body := s.answer("CertLogin", map[string]any{"username": "mallory", "password": "x"}); st != 200 {
				t.Fatalf("mallory's login: %d %v", st, body)
			}
		}},
		{"after the enrollment nonce expired", func(t *testing.T, s *session) {
			time.Sleep(5 * time.Second)
		}},
		{"a second CSR of one enrollment", func(t *testing.T, s *session) {
			st, body := s.answer(devsecCert, map[string]any{"csr": carolCSR(t)})
			if st != 200 || body["status"] != "enrolled" {
				t.Fatalf("first CSR: %d %v", st, body)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(t, d, "Portal", "android")
			devsecEnrollFor(t, s, "carol")
			tc.before(t, s)
			st, body := s.answer(devsecCert, map[string]any{"csr": carolCSR(t)})
			if st == 200 {
				t.Fatalf("CSR accepted: %d %v", st, body)
			}
			if st != 401 && st != 409 {
				t.Errorf("%d %v, want 401 or 409", st, body)
			}
		})
	}
	// A live enrollment still works.
	s := newSession(t, d, "Portal", "android")
	devsecEnrollFor(t, s, "carol")
	if st, body := s.answer(devsecCert, map[string]any{"csr": carolCSR(t)}); st != 200 || body["status"] != "enrolled" {
		t.Errorf("a live enrollment: %d %v", st, body)
	}
}

// TestCheckAdvisesDeviceSSO: hostd check says when device single sign-on cannot be shared
// safely: by a device id that is only claimed, or between applications that hold different
// keys.
func TestCheckAdvisesDeviceSSO(t *testing.T) {
	l := newDevsecLab(t, "")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"check", "--config", l.dir}, &out, &errb); code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, out.String(), errb.String())
	}
	for _, want := range []string{
		`warning: login module "SuiteUsers" shares logins between applications that prove the same device certificate; application Notes (android) provisions its own certificate (entity application), so its logins are not shared`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if code := run(context.Background(), []string{"check", "--config", "testdata/ssoproject"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d:\n%s%s", code, out.String(), errb.String())
	}
	if want := `warning: login module "SuiteUsers" names ssoDeviceLoginModule WLDeviceNoProvisioningLoginModule: a device id that is only claimed proves nothing, so its logins are not shared`; !strings.Contains(out.String(), want) {
		t.Errorf("check output lacks %q:\n%s", want, out.String())
	}
}
