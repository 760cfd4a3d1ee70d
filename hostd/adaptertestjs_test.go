package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/pki"
)

// TestAdapterTestJavaScriptBridges runs `hostd adapter test` on the JavaScript PKI bridges of
// examples/pki-js, written as Worklight's documentation shows the adapter-based PKI bridge: the
// CFSSL one (generateCertificate through WL.Server.invokeHttp to a real cfssl serve) and the host
// PKI one (WL.Server.pki with the CA the --pki-ca flag grants). Both must pass every check,
// including that a certificate of another CA with the same name is not valid; a bridge whose CA
// is not the issuer fails.
func TestAdapterTestJavaScriptBridges(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the hostd binary and the JavaScript engine, runs cfssl")
	}
	engine, cache := jsEngineModule(t), adaptertest.CompilationCacheDir(t)
	cfsslPort, cfsslCA := cfsslServe(t)
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "cfssl-ca.pem"), string(pemCert(cfsslCA)))
	if _, err := pki.InitCA(filepath.Join(dir, "bridge-ca"), pki.CAOptions{CommonName: "Example Bank users CA"}); err != nil {
		t.Fatal(err)
	}
	pass := regexp.MustCompile(`(?m)^PASS: 8 passed, 0 failed, 1 skipped$`)
	for _, tc := range []struct {
		name string
		args []string
		want *regexp.Regexp
	}{
		{"CFSSL", []string{"--connectivity", fmt.Sprintf("http://127.0.0.1:%d", cfsslPort), "--issuer", filepath.Join(dir, "cfssl-ca.pem"),
			"../examples/pki-js/adapters/CFSSLBridge/CFSSLBridge-impl.js"}, pass},
		{"host PKI", []string{"--pki-ca", filepath.Join(dir, "bridge-ca"), "--issuer", filepath.Join(dir, "bridge-ca", pki.CACertFile),
			"../examples/pki-js/adapters/HostPKIBridge/HostPKIBridge-impl.js"}, pass},
		{"host PKI with another issuer", []string{"--pki-ca", filepath.Join(dir, "bridge-ca"), "--issuer", filepath.Join(dir, "cfssl-ca.pem"),
			"../examples/pki-js/adapters/HostPKIBridge/HostPKIBridge-impl.js"},
			regexp.MustCompile(`(?m)does not verify against the issuer(.|\n)*^FAIL: `)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"adapter", "test", "--js-engine", engine, "--cache", cache}, tc.args...)
			out, _ := exec.Command(hostdBinary(t), args...).CombinedOutput()
			if !tc.want.Match(out) {
				t.Errorf("hostd %q: output does not match %s\n%s", args, tc.want, out)
			}
		})
	}
}
