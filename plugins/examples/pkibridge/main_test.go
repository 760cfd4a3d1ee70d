package main

import (
	"context"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/adaptertest"
	_ "github.com/realmgate/realmgate/plugins"
	"github.com/realmgate/realmgate/plugins/internal/plugintest"
)

// open builds the example from source (cached by source hash), pins its SHA-256 and opens it
// through the registry as the daemon does.
func open(t *testing.T, cfg adapters.Config) adapters.Adapter {
	t.Helper()
	bin, sum := plugintest.Build(t, "plugins/examples/pkibridge")
	cfg.Kind, cfg.Command, cfg.SHA256 = "plugin", []string{bin}, sum
	a, err := adapters.Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	return a
}

func TestConformance(t *testing.T) {
	adaptertest.Run(t, open)
}

// caSettings returns a fresh CA and the settings that hand it to the bridge.
func caSettings(t testing.TB) (*adaptertest.CA, map[string]string) {
	ca := adaptertest.NewCA(t, "Example Issuing CA")
	key, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	return ca, map[string]string{
		"ca-cert": string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})),
		"ca-key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: key})),
	}
}

func TestPKIBridge(t *testing.T) {
	ca, settings := caSettings(t)
	a := open(t, adapters.Config{
		Name:     "PKIBridge",
		Settings: settings,
		// Declaring every procedure makes Open check the plugin exports them all.
		Procedures: []string{"echo", "fail", "config", "log", "init", "validateIdentity", "getCSRRequirements",
			"validateCSR", "generateCertificate", "getIdentityFromCertificate", "validateCertificate"},
	})
	adaptertest.PKIBridge(t, a, adaptertest.PKIFixture{
		Issuer:   ca.Cert,
		Rejected: &adapters.IdentityInput{DeviceID: "device-without-user"},
	})
}

func TestConfigRedactsKey(t *testing.T) {
	_, settings := caSettings(t)
	settings["validity-days"] = "30"
	a := open(t, adapters.Config{Name: "PKIBridge", Settings: settings})
	out, err := a.Call(t.Context(), "config", json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]string
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"adapter": "PKIBridge", "ca-cert": settings["ca-cert"], "ca-key": "[redacted]", "validity-days": "30"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

func TestGenerateCertificateErrors(t *testing.T) {
	_, good := caSettings(t)
	_, other := caSettings(t)
	_, csr := adaptertest.NewCSR(t, pkix.Name{CommonName: "alice"})
	input, err := json.Marshal(adapters.NewCSRInput(adapters.IdentityInput{UserIdentity: adapters.UserIdentity{UserName: "alice"}}, csr))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		settings map[string]string
		msg      string
	}{
		{"no CA", map[string]string{}, "lack ca-cert or ca-key"},
		{"key of another CA", map[string]string{"ca-cert": good["ca-cert"], "ca-key": other["ca-key"]}, "not a matching PEM certificate and key"},
		{"bad validity", map[string]string{"ca-cert": good["ca-cert"], "ca-key": good["ca-key"], "validity-days": "0"}, "validity-days"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := open(t, adapters.Config{Name: "PKIBridge", Settings: tc.settings})
			_, err := a.Call(t.Context(), "generateCertificate", input)
			var e *adapters.Error
			if !errors.As(err, &e) || e.Code != adapters.CodeFailed || !strings.Contains(e.Message, tc.msg) {
				t.Fatalf("generateCertificate: %v, want adapter_failure containing %q", err, tc.msg)
			}
			if strings.Contains(e.Message, "PRIVATE KEY") {
				t.Errorf("error message reveals the key: %q", e.Message)
			}
		})
	}
}
