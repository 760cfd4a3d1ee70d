package sdktest

import (
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/adaptertest"
)

// hostSignBridgeDir is the C host-signing bridge's folder, from this package's folder.
const hostSignBridgeDir = "../c/examples/hostsignbridge"

// hostSignModule builds the C host-signing bridge (cached by the content of the C SDK and the
// bridge) and returns the module's path. It skips the test when the C toolchain is absent,
// unless REALMGATE_REQUIRE_TOOLCHAINS is set.
func hostSignModule(t testing.TB) string {
	t.Helper()
	for _, l := range languages {
		if m := l.missing(); l.Name == "c" && m != "" {
			msg := fmt.Sprintf("C toolchain absent: %s is missing (install with .ci/install-wasm-sdks.sh)", m)
			if os.Getenv(requireToolchains) != "" {
				t.Fatalf("%s; %s is set, so this fails", msg, requireToolchains)
			}
			t.Skip(msg)
		}
	}
	var inputs []string
	for _, dir := range []string{sdkDir("c") + "/src", sdkDir("c") + "/include", sdkDir("c") + "/conformance", sdkDir("c") + "/cc-wasm.sh", hostSignBridgeDir} {
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && !strings.Contains(path, "/build/") {
				inputs = append(inputs, path)
			}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return adaptertest.CachedBuild(t, "hostsignbridge.wasm", inputs, toolVersions("c"), func(out string) error {
		if b, err := exec.Command("bash", filepath.Join(hostSignBridgeDir, "build.sh"), out).CombinedOutput(); err != nil {
			return fmt.Errorf("hostsignbridge build.sh: %w\n%s", err, b)
		}
		return nil
	})
}

// TestHostSignBridge: the C bridge's generateCertificate, granted the host PKI, issues the
// subject it requires (CN=the user, O=its organization setting) for the CSR's key, signed by
// the grant's CA; a CSR for another user and an adapter without the grant are refused.
func TestHostSignBridge(t *testing.T) {
	module := hostSignModule(t)
	ca := adaptertest.NewCA(t, "C bridge CA")
	a := openWasm(t, module, adapters.Config{Name: "bridge", Settings: map[string]string{"organization": "Example"},
		PKI: &adapters.PKIGrant{Issuer: ca.Cert, Key: ca.Key, KeyName: "c-ca"}})
	input := func(user, cn string) ([]byte, *x509.CertificateRequest) {
		_, csr := adaptertest.NewCSR(t, pkix.Name{CommonName: cn, OrganizationalUnit: []string{"admins"}})
		b, _ := json.Marshal(adapters.NewCSRInput(adapters.IdentityInput{DeviceID: "device-1", UserIdentity: adapters.UserIdentity{UserName: user}}, csr))
		return b, csr
	}
	in, csr := input("device-1", "device-1")
	raw, err := a.Call(t.Context(), "generateCertificate", in)
	if err != nil {
		t.Fatalf("generateCertificate: %v", err)
	}
	var g adapters.GeneratedCertificate
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	der, _ := base64.StdEncoding.DecodeString(g.CertificateBase64)
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("the certificate does not parse: %v", err)
	}
	if err := cert.CheckSignatureFrom(ca.Cert); err != nil {
		t.Errorf("the certificate does not verify against the grant's CA: %v", err)
	}
	if got := cert.Subject.String(); got != "CN=device-1,O=Example" {
		t.Errorf("subject %q, want the required CN=device-1,O=Example (never the CSR's OU)", got)
	}
	if !cert.PublicKey.(*ecdsa.PublicKey).Equal(csr.PublicKey) {
		t.Error("the certificate is not for the CSR's key")
	}
	other, _ := input("device-1", "device-2")
	_, err = a.Call(t.Context(), "generateCertificate", other)
	adaptertest.CheckError(t, err, adapters.CodeFailed, "bridge", "generateCertificate")

	none := openWasm(t, module, adapters.Config{Name: "bridge"})
	_, err = none.Call(t.Context(), "generateCertificate", in)
	if e := adaptertest.CheckError(t, err, adapters.CodeFailed, "bridge", "generateCertificate"); e != nil && !strings.Contains(e.Message, "not granted") {
		t.Errorf("without the grant: %q, want the host's reason", e.Message)
	}
}
