package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/internal/daemon"
	"github.com/realmgate/realmgate/internal/pkcs10"
)

// TestDocumentedShapesBridge: a PKI bridge written from Worklight's documentation of the
// adapter-based PKI bridge alone (testdata/docbridge: plain JSON in and out, no Realmgate type
// or SDK, the wasm ABI's exports written by hand) enrolls a user through the Go client and signs
// the user in with the certificate in a new session. The bridge fails any call whose input
// lacks a documented member or holds it in another shape, asks for {"O": "IBM", "OU": "Mobile"}
// and a challengePassword, and insists on java.security's algorithm names.
func TestDocumentedShapesBridge(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm PKI bridge")
	}
	d := startDocBridge(t)

	const realm = "wl_userCertificateAuthRealm"
	ks := &client.MemoryKeystore{}
	logins := 0
	newClient := func(user string) *client.Client {
		c, err := client.New(client.Config{BaseURL: baseURL(d), AppID: "Bank", Environment: "iphone", AppVersion: "1.0", Keystore: ks,
			Device: &client.DeviceInfo{ID: "laptop", OS: "iphone", Model: "test"}})
		if err != nil {
			t.Fatal(err)
		}
		c.RegisterHandler("Login", &client.LoginHandler{Ask: func(context.Context, client.LoginPrompt) (client.Credentials, error) {
			logins++
			return client.Credentials{Username: user, Password: "x"}, nil
		}})
		c.RegisterHandler(realm, c.UserCertificateHandler())
		return c
	}

	// Enrollment: the dependent login, the bridge's requirements, a CSR built to them, the
	// certificate, and the sign-in with it.
	c := newClient("alice")
	res, err := c.Init(context.Background())
	if err != nil {
		t.Fatalf("enrollment: %v", err)
	}
	if res.User["userId"] != "alice" || logins != 1 {
		t.Fatalf("after enrollment: user %v, %d logins", res.User, logins)
	}
	cred, err := ks.Load(client.UserEntity(realm))
	if err != nil {
		t.Fatalf("keystore: %v", err)
	}
	leaf := cred.Leaf()
	if got, want := leaf.Subject.String(), "CN=alice,OU=Mobile,O=IBM"; got != want {
		t.Errorf("certificate subject %q, want %q", got, want)
	}
	if leaf.Issuer.CommonName != "Documented bridge CA" {
		t.Errorf("certificate issuer %q, want the bridge's CA", leaf.Issuer)
	}
	// getIdentityFromCertificate saw the algorithms under java.security's names.
	wantAttrs := map[string]any{"keyAlgorithm": "EC", "signatureAlgorithm": "Ed25519", "serialNumber": leaf.SerialNumber.Text(16)}
	if d := cmp.Diff(wantAttrs, c.Identities()[realm]["attributes"]); d != "" {
		t.Errorf("identity attributes from getIdentityFromCertificate (-want +got):\n%s", d)
	}

	// A new session signs in with the certificate alone: validateCertificate and
	// getIdentityFromCertificate on the certificate object, no login.
	res, err = newClient("alice").Init(context.Background())
	if err != nil || res.User["userId"] != "alice" || logins != 1 {
		t.Fatalf("sign-in with the certificate: %v, user %v, %d logins (want still 1)", err, res, logins)
	}

	// The bridge's validateIdentity refuses mallory.
	ks = &client.MemoryKeystore{}
	if _, err := newClient("mallory").Init(context.Background()); err == nil {
		t.Error("mallory enrolled; the bridge's validateIdentity answers NO for her")
	}
}

// startDocBridge starts a daemon on a project whose wl_userCertificateAuthRealm is the
// documentation's example realm definition, its seven procedures those of testdata/docbridge
// (adapter PKIAdapter), with Login (any user name) as the dependent realm; app Bank, iphone.
func startDocBridge(t *testing.T) *daemon.Daemon {
	t.Helper()
	dir := t.TempDir()
	copyFile(t, adaptertest.BuildGoWasm(t, "testdata/docbridge"), filepath.Join(dir, "adapters/PKIAdapter/bridge.wasm"))
	mustWrite(t, filepath.Join(dir, "adapters/PKIAdapter/PKIAdapter.xml"), `<wl:adapter name="PKIAdapter" xmlns:wl="http://www.ibm.com/mfp/integration">
	<backend kind="wasm" module="bridge.wasm" sha256="`+fileSHA256(t, filepath.Join(dir, "adapters/PKIAdapter/bridge.wasm"))+`"/>`+bridgeProcedures+`
</wl:adapter>`)
	// The realm definition of the documentation's example, with Login as the dependent realm.
	mustWrite(t, filepath.Join(dir, "server/conf/authenticationConfig.xml"), `<tns:loginConfiguration xmlns:tns="http://www.worklight.com/auth/config">
	<securityTests>
		<customSecurityTest name="certTests">
			<test realm="wl_antiXSRFRealm" step="1"/>
			<test realm="wl_userCertificateAuthRealm" isInternalUserID="true" step="1"/>
			<test realm="wl_deviceNoProvisioningRealm" isInternalDeviceID="true" step="1"/>
		</customSecurityTest>
	</securityTests>
	<realms>
		<realm name="Login" loginModule="AnyUser"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>
		<realm name="wl_userCertificateAuthRealm" loginModule="UserCertificateLoginModule">
			<className>com.worklight.core.auth.ext.UserCertificateAuthenticator</className>
			<parameter name="dependent-user-auth-realm" value="Login"/>
			<parameter name="pki-bridge-class" value="com.worklight.core.auth.ext.UserCertificateAdapterBasedPKI"/>
			<parameter name="adapter-pki-bridge-init-procedure" value="PKIAdapter.init"/>
			<parameter name="adapter-pki-bridge-identity-validation-procedure" value="PKIAdapter.validateIdentity"/>
			<parameter name="adapter-pki-bridge-csr-requirements-procedure" value="PKIAdapter.getCSRRequirements"/>
			<parameter name="adapter-pki-bridge-csr-validation-procedure" value="PKIAdapter.validateCSR"/>
			<parameter name="adapter-pki-bridge-certificate-generation-procedure" value="PKIAdapter.generateCertificate"/>
			<parameter name="adapter-pki-bridge-identity-from-certificate-procedure" value="PKIAdapter.getIdentityFromCertificate"/>
			<parameter name="adapter-pki-bridge-certificate-validation-procedure" value="PKIAdapter.validateCertificate"/>
		</realm>
	</realms>
	<loginModules>
		<loginModule name="AnyUser"><className>com.worklight.core.auth.ext.NonValidatingLoginModule</className></loginModule>
		<loginModule name="UserCertificateLoginModule"><className>com.worklight.core.auth.ext.UserCertificateLoginModule</className></loginModule>
	</loginModules>
</tns:loginConfiguration>`)
	mustWrite(t, filepath.Join(dir, "apps/Bank/application-descriptor.xml"), `<application id="Bank">
	<iphone securityTest="certTests" version="1.0"/>
</application>`)
	return startDaemon(t, dir, "")

}

// TestCSRRequirementsEnforced: whatever the bridge's validateCSR says, the daemon refuses
// (403 csr_rejected) a CSR that does not carry what getCSRRequirements asked for: the documented
// additionalSubject object ({"O": "IBM", "OU": "Mobile"}) and the additionalAttributes (PKCS #9
// challengePassword and unstructuredName), each with the value asked for. The challenge sends
// the requirements in the documented form.
func TestCSRRequirementsEnforced(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm PKI bridge")
	}
	d := startDocBridge(t)
	const realm = "wl_userCertificateAuthRealm"
	var (
		cn                = asn1.ObjectIdentifier{2, 5, 4, 3}
		o                 = asn1.ObjectIdentifier{2, 5, 4, 10}
		ou                = asn1.ObjectIdentifier{2, 5, 4, 11}
		challengePassword = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 7}
		unstructuredName  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 2}
	)
	rdn := func(oid asn1.ObjectIdentifier, v string) pkix.RelativeDistinguishedNameSET {
		return pkix.RelativeDistinguishedNameSET{{Type: oid, Value: v}}
	}
	subject := pkix.RDNSequence{rdn(o, "IBM"), rdn(ou, "Mobile"), rdn(cn, "alice")}
	attrs := []pkcs10.Attribute{{Type: challengePassword, Value: "s3cret-alice"}, {Type: unstructuredName, Value: "Bank"}}
	tests := []struct {
		name    string
		subject pkix.RDNSequence
		attrs   []pkcs10.Attribute
		want    int
	}{
		{"as asked", subject, attrs, 200},
		{"no OU", pkix.RDNSequence{rdn(o, "IBM"), rdn(cn, "alice")}, attrs, 403},
		{"no challengePassword", subject, attrs[1:], 403},
		{"another challengePassword", subject, []pkcs10.Attribute{{Type: challengePassword, Value: "guess"}, attrs[1]}, 403},
		{"no attributes", subject, nil, 403},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newSession(t, d, "Bank", "iphone")
			s.init()
			if st, body := s.answer("Login", map[string]any{"username": "alice", "password": "x"}); st != 200 {
				t.Fatalf("dependent login: %d %v", st, body)
			}
			st, body := s.answer(realm, map[string]any{"enroll": true})
			req := challengeOf(t, st, body, realm)["csrRequirements"]
			want := map[string]any{"commonName": "alice", "additionalSubject": map[string]any{"O": "IBM", "OU": "Mobile"},
				"additionalAttributes": map[string]any{"challengePassword": "s3cret-alice", "unstructuredName": "Bank"}}
			if d := cmp.Diff(want, req); d != "" {
				t.Fatalf("csrRequirements of the challenge (-want +got):\n%s", d)
			}
			key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			der, err := pkcs10.New(key, tc.subject, tc.attrs)
			if err != nil {
				t.Fatal(err)
			}
			st, body = s.answer(realm, map[string]any{"csr": base64.StdEncoding.EncodeToString(der)})
			if st != tc.want || tc.want == 403 && body["error"] != "csr_rejected" || tc.want == 200 && body["status"] != "enrolled" {
				t.Errorf("CSR: %d %v, want %d", st, body, tc.want)
			}
			if msg, _ := body["message"].(string); strings.Contains(msg, "s3cret") {
				t.Errorf("the refusal %q repeats the challenge password", msg)
			}
		})
	}
}
