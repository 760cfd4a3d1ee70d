package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/internal/daemon"
	"github.com/realmgate/realmgate/pki"
)

// hostKeyProject writes a project whose realm HostKeyRealm enrolls through the Go example PKI
// bridge, with grant as the <capability> of its backend ("" for none), and returns its folder.
func hostKeyProject(t *testing.T, grant string) string {
	t.Helper()
	dir := t.TempDir()
	module := adaptertest.BuildGoWasm(t, "../sdk-wasm/go/examples/pkibridge")
	copyFile(t, module, filepath.Join(dir, "adapters/GoBridge/bridge.wasm"))
	mustWrite(t, filepath.Join(dir, "adapters/GoBridge/GoBridge.xml"), `<wl:adapter name="GoBridge" xmlns:wl="http://www.ibm.com/mfp/integration">
	<backend kind="wasm" module="bridge.wasm" sha256="`+fileSHA256(t, filepath.Join(dir, "adapters/GoBridge/bridge.wasm"))+`">
		<setting name="subject" value="O=Host Key Bank"/>
		`+grant+`
	</backend>`+bridgeProcedures+`
</wl:adapter>`)
	mustWrite(t, filepath.Join(dir, "server/conf/authenticationConfig.xml"), `<tns:loginConfiguration xmlns:tns="http://www.worklight.com/auth/config">
	<securityTests>
		<customSecurityTest name="HostKeyTests">
			<test realm="wl_antiXSRFRealm" step="1"/>
			<test realm="HostKeyRealm" isInternalUserID="true" step="1"/>
			<test realm="wl_deviceNoProvisioningRealm" isInternalDeviceID="true" step="1"/>
		</customSecurityTest>
	</securityTests>
	<realms>
		<realm name="Login" loginModule="AnyUser"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>`+
		bridgeRealm("HostKeyRealm", "GoBridge")+`
	</realms>
	<loginModules>
		<loginModule name="AnyUser"><className>com.worklight.core.auth.ext.NonValidatingLoginModule</className></loginModule>
		<loginModule name="CertModule"><className>com.worklight.core.auth.ext.UserCertificateLoginModule</className></loginModule>
	</loginModules>
</tns:loginConfiguration>`)
	mustWrite(t, filepath.Join(dir, "apps/Bank/application-descriptor.xml"), `<application id="Bank">
	<iphone securityTest="HostKeyTests" version="1.0"/>
</application>`)
	return dir
}

// startHostKeyDaemon starts hostd on dir with data as its data folder and its log in logs.
func startHostKeyDaemon(t *testing.T, dir, data string, logs *lockedBuffer) (*daemon.Daemon, error) {
	t.Helper()
	s, err := daemon.LoadSettings(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Listen, s.Data, s.AdapterCacheDir = "127.0.0.1:0", data, adaptertest.CompilationCacheDir(t)
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := daemon.Start(context.Background(), daemon.Options{ConfigDir: dir, Settings: s, AdminToken: adminToken, Logger: log})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { d.Shutdown(context.Background()) })
	return d, nil
}

// enrollAlice enrolls alice's user certificate through HostKeyRealm with a fresh client, then
// signs her in with it in a new session; it returns the keystore's credential.
func enrollAlice(t *testing.T, d *daemon.Daemon) (*client.Credential, error) {
	t.Helper()
	ks := &client.MemoryKeystore{}
	logins := 0
	newC := func() *client.Client {
		c, err := client.New(client.Config{BaseURL: baseURL(d), AppID: "Bank", Environment: "iphone", AppVersion: "1.0", Keystore: ks,
			Device: &client.DeviceInfo{ID: "phone-1", OS: "iOS", Model: "test"}})
		if err != nil {
			t.Fatal(err)
		}
		c.RegisterHandler("Login", &client.LoginHandler{Ask: func(context.Context, client.LoginPrompt) (client.Credentials, error) {
			logins++
			return client.Credentials{Username: "alice", Password: "x"}, nil
		}})
		c.RegisterHandler("HostKeyRealm", c.UserCertificateHandler())
		return c
	}
	res, err := newC().Init(context.Background())
	if err != nil {
		return nil, err
	}
	if res.User["userId"] != "alice" || logins != 1 {
		t.Fatalf("after enrollment: user %v, %d logins", res.User, logins)
	}
	cred, err := ks.Load(client.UserEntity("HostKeyRealm"))
	if err != nil {
		t.Fatalf("keystore: %v", err)
	}
	res, err = newC().Init(context.Background())
	if err != nil || res.User["userId"] != "alice" || logins != 1 {
		t.Fatalf("sign-in with the certificate: %v, user %v, %d logins (want still 1)", err, res, logins)
	}
	return cred, nil
}

// TestWasmBridgeHostKey: the Go example bridge, granted the host PKI capability with a CA in
// the data folder, enrolls a user certificate through a real hostd and the Go client; the
// signature is logged with the adapter, serial and key name and nothing of the key. Without the
// grant the enrollment fails cleanly and the daemon keeps serving; a grant whose CA is missing
// stops the load with the capability's line and a fix.
func TestWasmBridgeHostKey(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a wasm adapter")
	}
	t.Run("granted", func(t *testing.T) {
		data := t.TempDir()
		ca, err := pki.InitCA(filepath.Join(data, "keys", "bridge"), pki.CAOptions{CommonName: "Host key bridge CA"})
		if err != nil {
			t.Fatal(err)
		}
		logs := &lockedBuffer{}
		d, err := startHostKeyDaemon(t, hostKeyProject(t, `<capability name="pki" ca="keys/bridge" maxValidityDays="90"/>`), data, logs)
		if err != nil {
			t.Fatal(err)
		}
		cred, err := enrollAlice(t, d)
		if err != nil {
			t.Fatalf("enrollment: %v", err)
		}
		leaf := cred.Leaf()
		if err := leaf.CheckSignatureFrom(ca.Cert); err != nil {
			t.Errorf("the certificate is not from the host's CA: %v", err)
		}
		if got, want := leaf.Subject.String(), "CN=alice,O=Host Key Bank"; got != want {
			t.Errorf("subject %q, want %q", got, want)
		}
		if life := leaf.NotAfter.Sub(leaf.NotBefore).Hours() / 24; life > 91 {
			t.Errorf("validity of %.0f days beyond the grant's 90", life)
		}
		var signed map[string]any
		for _, line := range strings.Split(logs.String(), "\n") {
			if strings.Contains(line, "certificate signed with a host-held key") {
				if err := json.Unmarshal([]byte(line), &signed); err != nil {
					t.Fatal(err)
				}
			}
		}
		if signed["adapter"] != "GoBridge" || signed["serial"] != leaf.SerialNumber.Text(16) || signed["key"] != "keys/bridge" {
			t.Errorf("audit record %v, want adapter GoBridge, serial %s, key keys/bridge", signed, leaf.SerialNumber.Text(16))
		}
		if strings.Contains(logs.String(), "PRIVATE KEY") {
			t.Error("the log holds key material")
		}
	})
	t.Run("validity beyond the grant", func(t *testing.T) {
		data := t.TempDir()
		if _, err := pki.InitCA(filepath.Join(data, "keys", "bridge"), pki.CAOptions{CommonName: "Host key bridge CA"}); err != nil {
			t.Fatal(err)
		}
		d, err := startHostKeyDaemon(t, hostKeyProject(t, `<setting name="validity-days" value="3650"/><capability name="pki" ca="keys/bridge" maxValidityDays="90"/>`), data, &lockedBuffer{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := enrollAlice(t, d); err == nil || !strings.Contains(err.Error(), "beyond the grant's bound of 90 days") {
			t.Fatalf("enrollment asking for 3650 days: %v, want the host's refusal", err)
		}
	})
	t.Run("not granted", func(t *testing.T) {
		d, err := startHostKeyDaemon(t, hostKeyProject(t, ""), t.TempDir(), &lockedBuffer{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := enrollAlice(t, d); err == nil {
			t.Fatal("a bridge without the grant enrolled a certificate")
		}
		resp, err := http.Get(baseURL(d) + "/readyz")
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("the daemon stopped serving: %v %v", resp, err)
		}
		resp.Body.Close()
	})
	t.Run("CA missing", func(t *testing.T) {
		_, err := startHostKeyDaemon(t, hostKeyProject(t, `<capability name="pki" ca="keys/absent"/>`), t.TempDir(), &lockedBuffer{})
		if err == nil || !strings.Contains(err.Error(), "GoBridge.xml:4") || !strings.Contains(err.Error(), "hostd ca init --dir") {
			t.Fatalf("start: %v, want the capability's line and a fix", err)
		}
	})
}
