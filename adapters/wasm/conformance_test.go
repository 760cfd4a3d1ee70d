package wasm_test

import (
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/adaptertest"
	_ "github.com/realmgate/realmgate/adapters/wasm"
)

// exampleDir is the Go SDK's example adapter, built from source by the tests.
const exampleDir = "../../sdk-wasm/go/examples/pkibridge"

// openWasm returns an open function for adaptertest that loads module through the registry,
// with the shared compilation cache.
func openWasm(module string) func(t *testing.T, cfg adapters.Config) adapters.Adapter {
	return func(t *testing.T, cfg adapters.Config) adapters.Adapter {
		t.Helper()
		cfg.Kind = "wasm"
		cfg.Module = module
		cfg.CacheDir = adaptertest.CompilationCacheDir(t)
		a, err := adapters.Open(t.Context(), cfg)
		if err != nil {
			t.Fatalf("opening %s: %v", module, err)
		}
		t.Cleanup(func() { _ = a.Close(t.Context()) })
		return a
	}
}

func TestConformanceGoExample(t *testing.T) {
	t.Parallel()
	adaptertest.Run(t, openWasm(adaptertest.BuildGoWasm(t, exampleDir)))
}

// caSettings returns the settings of the example bridge for ca.
func caSettings(t testing.TB, ca *adaptertest.CA) map[string]string {
	t.Helper()
	key, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{
		"ca-cert":      string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})),
		"ca-key":       string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key})),
		"subject":      "O=Example,OU=Mobile",
		"denied-users": "mallory",
	}
}

func TestPKIBridgeGoExample(t *testing.T) {
	t.Parallel()
	ca := adaptertest.NewCA(t, "Example bridge CA")
	cfg := adaptertest.Config(adaptertest.NewLogRecorder())
	cfg.Name = "pkibridge"
	cfg.Settings = caSettings(t, ca)
	a := openWasm(adaptertest.BuildGoWasm(t, exampleDir))(t, cfg)
	rejected := adapters.IdentityInput{DeviceID: "device-2", UserIdentity: adapters.UserIdentity{UserName: "mallory"}}
	adaptertest.PKIBridge(t, a, adaptertest.PKIFixture{Issuer: ca.Cert, Rejected: &rejected})
}

// TestPKIBridgeGoExampleHostKey: the example bridge passes the PKI-bridge conformance with the
// host PKI grant and no key in its settings: the host parses and signs.
func TestPKIBridgeGoExampleHostKey(t *testing.T) {
	t.Parallel()
	ca := adaptertest.NewCA(t, "Example host-key CA")
	cfg := adaptertest.Config(adaptertest.NewLogRecorder())
	cfg.Name = "pkibridge"
	cfg.Settings = map[string]string{"subject": "O=Example,OU=Mobile", "denied-users": "mallory"}
	cfg.PKI = &adapters.PKIGrant{Issuer: ca.Cert, Key: ca.Key, KeyName: "example-ca"}
	a := openWasm(adaptertest.BuildGoWasm(t, exampleDir))(t, cfg)
	rejected := adapters.IdentityInput{DeviceID: "device-2", UserIdentity: adapters.UserIdentity{UserName: "mallory"}}
	adaptertest.PKIBridge(t, a, adaptertest.PKIFixture{Issuer: ca.Cert, Rejected: &rejected})
}
