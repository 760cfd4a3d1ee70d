package main

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/internal/cfssltest"
	"github.com/realmgate/realmgate/pki"
	"github.com/realmgate/realmgate/pki/pkitest"
	"github.com/realmgate/realmgate/project"
)

// requireTool returns the path of a tool the test needs; it skips the test when the tool is
// absent, unless CI requires every toolchain (REALMGATE_REQUIRE_TOOLCHAINS).
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("REALMGATE_REQUIRE_TOOLCHAINS") != "" {
			t.Fatalf("%s is required (REALMGATE_REQUIRE_TOOLCHAINS is set): %v", name, err)
		}
		t.Skipf("%s is not installed (run .ci/install-*.sh)", name)
	}
	return p
}

// cfsslServe starts cfssl serve with a new ECDSA P-256 CA on a free port of 127.0.0.1 and returns
// its port and CA certificate.
func cfsslServe(t *testing.T) (int, *x509.Certificate) {
	t.Helper()
	return cfssltest.Serve(t, "CFSSL test CA")
}

func xmlAttr(s string) string { return strings.ReplaceAll(html.EscapeString(s), "\n", "&#10;") }

func caSettings(t *testing.T, ca *pki.CA) string {
	t.Helper()
	key, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return `<setting name="ca-cert" value="` + xmlAttr(string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}))) + `"/>
		<setting name="ca-key" value="` + xmlAttr(string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key}))) + `"/>`
}

// bridgeRealm is a user-certificate realm whose seven procedures are adapter's.
func bridgeRealm(name, adapter string) string {
	var params strings.Builder
	for role, proc := range map[string]string{
		"init": "init", "identity-validation": "validateIdentity", "csr-requirements": "getCSRRequirements",
		"csr-validation": "validateCSR", "certificate-generation": "generateCertificate",
		"identity-from-certificate": "getIdentityFromCertificate", "certificate-validation": "validateCertificate",
	} {
		fmt.Fprintf(&params, "\n\t\t\t<parameter name=\"adapter-pki-bridge-%s-procedure\" value=\"%s.%s\"/>", role, adapter, proc)
	}
	return `
		<realm name="` + name + `" loginModule="CertModule">
			<className>com.worklight.core.auth.ext.UserCertificateAuthenticator</className>
			<parameter name="dependent-user-auth-realm" value="Login"/>
			<parameter name="pki-bridge-class" value="com.worklight.core.auth.ext.UserCertificateAdapterBasedPKI"/>` + params.String() + `
		</realm>`
}

const bridgeProcedures = `
	<procedure name="init"/><procedure name="validateIdentity"/><procedure name="getCSRRequirements"/>
	<procedure name="validateCSR"/><procedure name="generateCertificate"/>
	<procedure name="getIdentityFromCertificate"/><procedure name="validateCertificate"/>`

// TestClientEnrollsWithEveryBridge: the Go client SDK enrolls a user certificate, then signs in
// with it in a new session, through the embedded PKCS#12 bridge and the example bridges: Go
// wasm, go-plugin and the CFSSL REST bridge (Go wasm talking to a real cfssl serve).
func TestClientEnrollsWithEveryBridge(t *testing.T) {
	if testing.Short() {
		t.Skip("builds wasm adapters and a plugin")
	}
	dir := t.TempDir()
	users, _ := pki.NewCA(pki.CAOptions{CommonName: "Users CA"})
	goCA, _ := pki.NewCA(pki.CAOptions{CommonName: "Go bridge CA"})
	pluginCA, _ := pki.NewCA(pki.CAOptions{CommonName: "Plugin bridge CA"})
	p12, _ := pkcs12.Modern.Encode(users.Key, users.Cert, nil, "p12-password")
	mustWrite(t, filepath.Join(dir, "users.p12"), string(p12))

	goWasm := adaptertest.BuildGoWasm(t, "../sdk-wasm/go/examples/pkibridge")
	cfsslWasm := adaptertest.BuildGoWasm(t, "../sdk-wasm/go/examples/cfsslbridge")
	var inputs []string
	for _, pattern := range []string{"../plugins/*.go", "../plugins/*/*.go", "../plugins/*/*/*.go", "../plugins/*/*/*/*.go", "../adapters/*.go", "../internal/*/*.go", "../go.mod", "../go.sum"} {
		files, _ := filepath.Glob(pattern)
		inputs = append(inputs, files...)
	}
	plugin := adaptertest.CachedBuild(t, "pkibridge-plugin", inputs, "", func(out string) error {
		if b, err := exec.Command("go", "build", "-o", out, "../plugins/examples/pkibridge").CombinedOutput(); err != nil {
			return errors.New(string(b))
		}
		return nil
	})
	cfsslPort, cfsslCA := cfsslServe(t)

	for _, a := range []struct{ name, file, src string }{{"GoBridge", "bridge.wasm", goWasm}, {"CFSSLBridge", "bridge.wasm", cfsslWasm}, {"PluginBridge", "pkibridge", plugin}} {
		copyFile(t, a.src, filepath.Join(dir, "adapters", a.name, a.file))
	}
	os.Chmod(filepath.Join(dir, "adapters/PluginBridge/pkibridge"), 0o755)
	mustWrite(t, filepath.Join(dir, "adapters/GoBridge/GoBridge.xml"), `<wl:adapter name="GoBridge" xmlns:wl="http://www.ibm.com/mfp/integration">
	<backend kind="wasm" module="bridge.wasm" sha256="`+fileSHA256(t, filepath.Join(dir, "adapters/GoBridge/bridge.wasm"))+`">
		`+caSettings(t, goCA)+`
	</backend>`+bridgeProcedures+`
</wl:adapter>`)
	mustWrite(t, filepath.Join(dir, "adapters/PluginBridge/PluginBridge.xml"), `<wl:adapter name="PluginBridge" xmlns:wl="http://www.ibm.com/mfp/integration">
	<backend kind="plugin" command="./pkibridge" sha256="`+fileSHA256(t, filepath.Join(dir, "adapters/PluginBridge/pkibridge"))+`">
		`+caSettings(t, pluginCA)+`
	</backend>`+bridgeProcedures+`
</wl:adapter>`)
	mustWrite(t, filepath.Join(dir, "adapters/CFSSLBridge/CFSSLBridge.xml"), fmt.Sprintf(`<wl:adapter name="CFSSLBridge" xmlns:wl="http://www.ibm.com/mfp/integration">
	<connectivity>
		<connectionPolicy><protocol>http</protocol><domain>127.0.0.1</domain><port>%d</port></connectionPolicy>
	</connectivity>
	<backend kind="wasm" module="bridge.wasm" sha256="%s">
		<setting name="cfssl-url" value="http://127.0.0.1:%d"/>
		<setting name="profile" value="client"/>
	</backend>%s
</wl:adapter>`, cfsslPort, fileSHA256(t, filepath.Join(dir, "adapters/CFSSLBridge/bridge.wasm")), cfsslPort, bridgeProcedures))

	tests := []struct{ realm, env string }{
		{"EmbeddedRealm", "android"}, {"GoBridgeRealm", "iphone"}, {"PluginBridgeRealm", "ipad"}, {"CFSSLBridgeRealm", "mobilewebapp"},
	}
	var testsXML strings.Builder
	for _, tc := range tests {
		// A mobile environment's test holds exactly one device realm; a web one's none.
		device := ""
		if project.IsMobileEnvironment(tc.env) {
			device = `
			<test realm="wl_deviceNoProvisioningRealm" isInternalDeviceID="true" step="1"/>`
		}
		fmt.Fprintf(&testsXML, `
		<customSecurityTest name="%sTests">
			<test realm="wl_antiXSRFRealm" step="1"/>
			<test realm="%s" isInternalUserID="true" step="1"/>%s
		</customSecurityTest>`, tc.realm, tc.realm, device)
	}
	mustWrite(t, filepath.Join(dir, "server/conf/authenticationConfig.xml"), `<tns:loginConfiguration xmlns:tns="http://www.worklight.com/auth/config">
	<securityTests>`+testsXML.String()+`
	</securityTests>
	<realms>
		<realm name="Login" loginModule="AnyUser"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>
		<realm name="EmbeddedRealm" loginModule="CertModule">
			<className>com.worklight.core.auth.ext.UserCertificateAuthenticator</className>
			<parameter name="dependent-user-auth-realm" value="Login"/>
			<parameter name="pki-bridge-class" value="com.worklight.core.auth.ext.UserCertificateEmbeddedPKI"/>
			<parameter name="embedded-pki-bridge-ca-p12-file-path" value="users.p12"/>
			<parameter name="embedded-pki-bridge-ca-p12-password" value="p12-password"/>
		</realm>`+bridgeRealm("GoBridgeRealm", "GoBridge")+bridgeRealm("PluginBridgeRealm", "PluginBridge")+bridgeRealm("CFSSLBridgeRealm", "CFSSLBridge")+`
	</realms>
	<loginModules>
		<loginModule name="AnyUser"><className>com.worklight.core.auth.ext.NonValidatingLoginModule</className></loginModule>
		<loginModule name="CertModule"><className>com.worklight.core.auth.ext.UserCertificateLoginModule</className></loginModule>
	</loginModules>
</tns:loginConfiguration>`)
	var envs strings.Builder
	for _, tc := range tests {
		fmt.Fprintf(&envs, "\n\t<%s securityTest=\"%sTests\" version=\"1.0\"/>", tc.env, tc.realm)
	}
	mustWrite(t, filepath.Join(dir, "apps/Bank/application-descriptor.xml"), `<application id="Bank">`+envs.String()+`
</application>`)
	mustWrite(t, filepath.Join(dir, "hostd.yaml"), "development: true\n")
	d := startDaemon(t, dir, "")

	issuers := map[string]*x509.Certificate{"EmbeddedRealm": users.Cert, "GoBridgeRealm": goCA.Cert, "PluginBridgeRealm": pluginCA.Cert, "CFSSLBridgeRealm": cfsslCA}
	for _, tc := range tests {
		t.Run(tc.realm, func(t *testing.T) {
			ks := &client.MemoryKeystore{}
			logins := 0
			newC := func() *client.Client {
				c, err := client.New(client.Config{BaseURL: baseURL(d), AppID: "Bank", Environment: tc.env, AppVersion: "1.0", Keystore: ks,
					Device: &client.DeviceInfo{ID: "laptop", OS: tc.env, Model: "test"}})
				if err != nil {
					t.Fatal(err)
				}
				c.RegisterHandler("Login", &client.LoginHandler{Ask: func(context.Context, client.LoginPrompt) (client.Credentials, error) {
					logins++
					return client.Credentials{Username: "alice", Password: "x"}, nil
				}})
				c.RegisterHandler(tc.realm, c.UserCertificateHandler())
				return c
			}
			res, err := newC().Init(context.Background())
			if err != nil {
				t.Fatalf("enrollment: %v", err)
			}
			if res.User["userId"] != "alice" || logins != 1 {
				t.Fatalf("after enrollment: user %v, %d logins", res.User, logins)
			}
			cred, err := ks.Load(client.UserEntity(tc.realm))
			if err != nil {
				t.Fatalf("keystore: %v", err)
			}
			if err := cred.Leaf().CheckSignatureFrom(issuers[tc.realm]); err != nil {
				t.Errorf("the certificate is not from the bridge's CA: %v", err)
			}
			// A new session signs in with the stored certificate: no login.
			res, err = newC().Init(context.Background())
			if err != nil || res.User["userId"] != "alice" || logins != 1 {
				t.Fatalf("sign-in with the certificate: %v, user %v, %d logins (want still 1)", err, res, logins)
			}
		})
	}
}

// TestClientProvisioningWithMDMActivationCode: custom provisioning with the C MDM bridge's
// validateIdentity deciding on the activation code, and the built-in CA signing. The bridge
// runs four instances: the used codes are kept by the daemon's store (realmgate.once), so of
// eight clients provisioning concurrently with one code exactly one succeeds, and after a
// restart on the same data folder a redeemed code is still refused.
func TestClientProvisioningWithMDMActivationCode(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a C wasm adapter")
	}
	requireTool(t, "clang")
	mdm := adaptertest.CachedBuild(t, "mdmbridge-hostd", []string{
		"../sdk-wasm/c/examples/mdmbridge/mdmbridge.c", "../sdk-wasm/c/src/realmgate.c", "../sdk-wasm/c/src/json.c",
		"../sdk-wasm/c/src/pki.c", "../sdk-wasm/c/include/realmgate.h", "../sdk-wasm/c/src/internal.h", "../sdk-wasm/c/src/scan.h",
		"../sdk-wasm/c/conformance/realmgate_conformance.c", "../sdk-wasm/c/examples/mdmbridge/build.sh", "../sdk-wasm/c/cc-wasm.sh",
	}, "", func(out string) error {
		if b, err := exec.Command("../sdk-wasm/c/examples/mdmbridge/build.sh", out).CombinedOutput(); err != nil {
			return errors.New(string(b))
		}
		return nil
	})
	dir := t.TempDir()
	copyFile(t, mdm, filepath.Join(dir, "adapters/MDMBridge/mdm.wasm"))
	codes := fmt.Sprintf(`[{"code":"MDM-7Q2X","deviceId":"ward-tablet","expiresAt":%d},{"code":"MDM-OLD1","deviceId":"old-tablet","expiresAt":%d},`+
		`{"code":"MDM-RACE","deviceId":"race-tablet","expiresAt":%[1]d},{"code":"MDM-LATE","deviceId":"late-tablet","expiresAt":%[1]d}]`,
		time.Now().Add(time.Hour).Unix(), time.Now().Add(-time.Hour).Unix())
	mustWrite(t, filepath.Join(dir, "adapters/MDMBridge/MDMBridge.xml"), `<wl:adapter name="MDMBridge" xmlns:wl="http://www.ibm.com/mfp/integration">
	<backend kind="wasm" module="mdm.wasm" sha256="`+fileSHA256(t, filepath.Join(dir, "adapters/MDMBridge/mdm.wasm"))+`" instances="4">
		<setting name="codes" value="`+xmlAttr(codes)+`"/>
	</backend>
	<procedure name="validateIdentity"/>
</wl:adapter>`)
	mustWrite(t, filepath.Join(dir, "server/conf/authenticationConfig.xml"), `<tns:loginConfiguration xmlns:tns="http://www.worklight.com/auth/config">
	<securityTests>
		<customSecurityTest name="wardTests">
			<test realm="wl_antiXSRFRealm" step="1"/>
			<test realm="wl_anonymousUserRealm" isInternalUserID="true" step="1"/>
			<test realm="MDMProvisioning" isInternalDeviceID="true" step="2"/>
		</customSecurityTest>
	</securityTests>
	<realms>
		<realm name="MDMProvisioning" loginModule="Provisioned">
			<className>com.worklight.core.auth.ext.DeviceAutoProvisioningAuthenticator</className>
			<parameter name="adapter-pki-bridge-identity-validation-procedure" value="MDMBridge.validateIdentity"/>
		</realm>
	</realms>
	<loginModules>
		<loginModule name="Provisioned"><className>com.worklight.core.auth.ext.DeviceAutoProvisioningLoginModule</className></loginModule>
	</loginModules>
</tns:loginConfiguration>`)
	mustWrite(t, filepath.Join(dir, "apps/Ward/application-descriptor.xml"), `<application id="Ward">
	<android securityTest="wardTests" version="1.0"><security><provisioning entity="device"/></security></android>
</application>`)
	mustWrite(t, filepath.Join(dir, "hostd.yaml"), "development: true\n")
	data := t.TempDir()
	d := startDaemon(t, dir, data)
	provision := func(deviceID, code string) (*client.Client, error) {
		c, err := client.New(client.Config{BaseURL: baseURL(d), AppID: "Ward", Environment: "android", AppVersion: "1.0",
			Device: &client.DeviceInfo{ID: deviceID}, Keystore: &client.MemoryKeystore{}, ActivationCode: code})
		if err != nil {
			t.Fatal(err)
		}
		c.RegisterHandler("MDMProvisioning", c.ProvisioningHandler())
		_, err = c.Init(context.Background())
		return c, err
	}
	for _, tc := range []struct {
		device, code string
		ok           bool
	}{
		{"ward-tablet", "MDM-WRONG", false}, // unknown code
		{"other-tablet", "MDM-7Q2X", false}, // another device's code
		{"old-tablet", "MDM-OLD1", false},   // expired
		{"ward-tablet", "MDM-7Q2X", true},   // its own code
		{"ward-tablet", "MDM-7Q2X", false},  // used
	} {
		c, err := provision(tc.device, tc.code)
		if tc.ok != (err == nil) {
			t.Errorf("%s with %s: %v, want ok=%v", tc.device, tc.code, err, tc.ok)
		}
		if tc.ok && c.Identities()["MDMProvisioning"]["id"] != tc.device {
			t.Errorf("identity %v", c.Identities())
		}
		if !tc.ok && err != nil && !errors.Is(err, client.ErrProvisioningRefused) {
			t.Errorf("%s with %s: %v, want ErrProvisioningRefused", tc.device, tc.code, err)
		}
	}

	// Eight clients of one device race with one code over four instances: one is provisioned.
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		results = map[string]int{}
	)
	for range 8 {
		wg.Go(func() {
			_, err := provision("race-tablet", "MDM-RACE")
			r := "provisioned"
			switch {
			case errors.Is(err, client.ErrProvisioningRefused):
				r = "refused"
			case err != nil:
				r = err.Error()
			}
			mu.Lock()
			results[r]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if diff := cmp.Diff(map[string]int{"provisioned": 1, "refused": 7}, results); diff != "" {
		t.Errorf("8 concurrent provisionings with one code (-want +got):\n%s", diff)
	}

	// A restart on the same data folder: the used codes stay used, an unused one works once.
	if err := d.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	d = startDaemon(t, dir, data)
	for _, tc := range []struct {
		device, code string
		ok           bool
	}{
		{"ward-tablet", "MDM-7Q2X", false},
		{"race-tablet", "MDM-RACE", false},
		{"late-tablet", "MDM-LATE", true},
		{"late-tablet", "MDM-LATE", false},
	} {
		if _, err := provision(tc.device, tc.code); tc.ok != (err == nil) {
			t.Errorf("after the restart, %s with %s: %v, want ok=%v", tc.device, tc.code, err, tc.ok)
		}
	}
}

// TestClientProvisioningWithAuthenticity: the Go client proves the app's authenticity,
// provisions the device for the app group, signs in with the stored certificate in a new
// session and from the group's other app, and provisions again after a revocation.
func TestClientProvisioningWithAuthenticity(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm PKI bridge")
	}
	l := newPKILab(t)
	d := l.start(t)
	ks := client.DirKeystore(filepath.Join(t.TempDir(), "keys"))
	attestations := 0
	newC := func(app string, digest []byte) *client.Client {
		c, err := client.New(client.Config{BaseURL: baseURL(d), AppID: app, Environment: "android", AppVersion: "1.0",
			Device: &client.DeviceInfo{ID: "phone-42", OS: "android", Model: "test"}, Keystore: ks,
			Attestation: func(_ context.Context, challenge string) (*client.Attestation, error) {
				attestations++
				chain, _, err := pkitest.NewAttestation(l.attestRoot, []byte(challenge), "com.example.wallet", digest)
				return &client.Attestation{Format: "android-key", Chain: chain}, err
			}})
		if err != nil {
			t.Fatal(err)
		}
		c.RegisterHandler("Login", &client.LoginHandler{Credentials: client.Credentials{Username: "wally", Password: "x"}})
		return c
	}
	ctx := context.Background()
	res, err := newC("Wallet", l.digest).Init(ctx)
	if err != nil {
		t.Fatalf("first run: %v", err)
	}
	if res.Device["id"] != "phone-42" || res.User["userId"] != "wally" {
		t.Fatalf("identities %v %v", res.Device, res.User)
	}
	cred, err := ks.Load("group:wallet-suite")
	if err != nil {
		t.Fatalf("the group's credential: %v", err)
	}
	serial := hex.EncodeToString(cred.Leaf().SerialNumber.Bytes())
	for _, app := range []string{"Wallet", "Wallet2"} {
		if _, err := newC(app, l.digest).Init(ctx); err != nil {
			t.Fatalf("%s with the stored certificate: %v", app, err)
		}
		again, _ := ks.Load("group:wallet-suite")
		if hex.EncodeToString(again.Leaf().SerialNumber.Bytes()) != serial {
			t.Fatalf("%s provisioned again instead of signing in", app)
		}
	}
	// A repackaged app (another signing certificate) is refused.
	other := sha256.Sum256([]byte("repackaged"))
	if _, err := newC("Wallet", other[:]).Init(ctx); !errors.Is(err, client.ErrAuthenticityRefused) {
		t.Errorf("repackaged app: %v, want ErrAuthenticityRefused", err)
	}
	// Revoked: the client drops the certificate and provisions again.
	if st, body := admin(t, d, "POST", "/admin/v1/certificates/"+serial+"/revoke", "", adminToken); st != 200 {
		t.Fatalf("revoke: %d %v", st, body)
	}
	if _, err := newC("Wallet", l.digest).Init(ctx); err != nil {
		t.Fatalf("after revocation: %v", err)
	}
	fresh, _ := ks.Load("group:wallet-suite")
	if hex.EncodeToString(fresh.Leaf().SerialNumber.Bytes()) == serial {
		t.Error("the revoked certificate is still the stored one")
	}
}
