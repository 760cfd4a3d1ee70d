// Package pkijs_test enrolls users end to end through the example's JavaScript PKI bridges,
// written as Worklight's documentation of the adapter-based PKI bridge shows them: the Go client
// logs in to the dependent realm, sends a CSR, gets a certificate signed by CFSSL (through
// WL.Server.invokeHttp) or by the host PKI capability (WL.Server.pki), and then signs in with
// that certificate in a new session, against the real daemon on 127.0.0.1.
package pkijs_test

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/hostd/hostdtest"
	"github.com/realmgate/realmgate/pki"
)

// requireTool returns the path of a tool; it skips the test when the tool is absent, unless
// CI requires every toolchain (REALMGATE_REQUIRE_TOOLCHAINS; .ci/install-cfssl.sh installs it).
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("REALMGATE_REQUIRE_TOOLCHAINS") != "" {
			t.Fatalf("%s is required (REALMGATE_REQUIRE_TOOLCHAINS is set): %v", name, err)
		}
		t.Skipf("%s is not installed (run .ci/install-cfssl.sh)", name)
	}
	return p
}

// startCFSSL runs cfssl serve with a new CA on a free port of 127.0.0.1, trusting that CA for
// its bundle endpoint (the bridge's validateCertificate), and returns its port and CA.
func startCFSSL(t *testing.T) (int, *x509.Certificate) {
	t.Helper()
	cfssl, cfssljson := requireTool(t, "cfssl"), requireTool(t, "cfssljson")
	dir := t.TempDir()
	gen := exec.Command("sh", "-c", fmt.Sprintf(`echo '{"CN":"Example Bank CFSSL CA","key":{"algo":"ecdsa","size":256}}' | %s gencert -initca - | %s -bare ca`, cfssl, cfssljson))
	gen.Dir = dir
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("cfssl gencert: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(cfssl, "serve", "-address", "127.0.0.1", "-port", fmt.Sprint(port),
		"-ca", "ca.pem", "-ca-key", "ca-key.pem", "-ca-bundle", "ca.pem", "-int-bundle", "ca.pem")
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for i := 0; ; i++ {
		if c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			c.Close()
			break
		}
		if i > 200 {
			t.Fatal("cfssl serve did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	b, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	ca, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return port, ca
}

func TestUsersEnrollThroughJavaScriptBridges(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the JavaScript engine and runs cfssl")
	}
	cfsslPort, cfsslCA := startCFSSL(t)
	data := t.TempDir()
	hostCA, err := pki.InitCA(filepath.Join(data, "keys", "bridge-ca"), pki.CAOptions{CommonName: "Example Bank users CA"})
	if err != nil {
		t.Fatal(err)
	}
	desc, err := os.ReadFile("adapters/CFSSLBridge/CFSSLBridge.xml")
	if err != nil {
		t.Fatal(err)
	}
	rewritten := strings.Replace(string(desc), "<port>8888</port>", fmt.Sprintf("<port>%d</port>", cfsslPort), 1)
	if rewritten == string(desc) {
		t.Fatal("adapters/CFSSLBridge/CFSSLBridge.xml has no <port>8888</port>")
	}
	d := hostdtest.Start(t, ".", hostdtest.Options{Data: data, Files: map[string][]byte{
		"adapters/CFSSLBridge/CFSSLBridge.xml": []byte(rewritten),
	}})

	for _, tc := range []struct {
		env, realm string
		issuer     *x509.Certificate
	}{
		{"android", "CFSSLCertificateRealm", cfsslCA},
		{"iphone", "HostPKICertificateRealm", hostCA.Cert},
	} {
		t.Run(tc.realm, func(t *testing.T) {
			ks := &client.MemoryKeystore{}
			logins := 0
			newClient := func() *client.Client {
				c, err := client.New(client.Config{BaseURL: d.URL, AppID: "Bank", Environment: tc.env, AppVersion: "1.0", Keystore: ks,
					Device: &client.DeviceInfo{ID: "phone-" + tc.env, OS: tc.env, Model: "test"}})
				if err != nil {
					t.Fatal(err)
				}
				c.RegisterHandler("Login", &client.LoginHandler{Ask: func(context.Context, client.LoginPrompt) (client.Credentials, error) {
					logins++
					return client.Credentials{Username: "alice", Password: "any"}, nil
				}})
				c.RegisterHandler(tc.realm, c.UserCertificateHandler())
				return c
			}
			res, err := newClient().Init(context.Background())
			if err != nil {
				t.Fatalf("enrollment: %v", err)
			}
			if res.User["userId"] != "alice" || logins != 1 {
				t.Fatalf("after enrollment: user %v, %d logins, want alice after 1 login", res.User, logins)
			}
			cred, err := ks.Load(client.UserEntity(tc.realm))
			if err != nil {
				t.Fatalf("keystore: %v", err)
			}
			leaf := cred.Leaf()
			if err := leaf.CheckSignatureFrom(tc.issuer); err != nil {
				t.Errorf("the certificate is not from the bridge's CA %q: %v", tc.issuer.Subject, err)
			}
			if leaf.Subject.CommonName != "alice" || len(leaf.Subject.Organization) != 1 || leaf.Subject.Organization[0] != "Example Bank" {
				t.Errorf("certificate subject %q, want CN=alice,O=Example Bank (getCSRRequirements)", leaf.Subject)
			}
			// A new session signs in with the stored certificate: the bridge's
			// validateCertificate and getIdentityFromCertificate decide, and no login is asked.
			res, err = newClient().Init(context.Background())
			if err != nil || res.User["userId"] != "alice" || logins != 1 {
				t.Fatalf("sign-in with the certificate: %v, user %v, %d logins (want still 1)", err, res, logins)
			}
		})
	}
}
