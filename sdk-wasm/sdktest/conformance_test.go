package sdktest

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/adapters/wasm"
)

// openWasm opens module through the real wasm host backend.
func openWasm(t *testing.T, module string, cfg adapters.Config) adapters.Adapter {
	t.Helper()
	cfg.Kind = wasm.Kind
	cfg.Module = module
	cfg.CacheDir = adaptertest.CompilationCacheDir(t)
	a, err := adapters.Open(t.Context(), cfg)
	if err != nil {
		t.Fatalf("opening %s: %v", module, err)
	}
	t.Cleanup(func() { _ = a.Close(context.Background()) })
	return a
}

// TestConformance runs the adapter conformance suite against every example, built from source,
// through the wasm host.
func TestConformance(t *testing.T) {
	for _, lang := range languages {
		t.Run(lang.Name, func(t *testing.T) {
			module, _ := example(t, lang)
			adaptertest.Run(t, func(t *testing.T, cfg adapters.Config) adapters.Adapter {
				return openWasm(t, module, cfg)
			})
		})
	}
}

// pkiSettings configure the examples' PKI bridge: the organization goes into the CSR subject,
// the blocked user is refused.
var pkiSettings = map[string]string{"organization": "Realmgate Example", "blockedUser": "mallory"}

// TestPKIBridge runs the PKI-bridge checks against every example through the wasm host.
func TestPKIBridge(t *testing.T) {
	for _, lang := range languages {
		t.Run(lang.Name, func(t *testing.T) {
			module, _ := example(t, lang)
			a := openWasm(t, module, adapters.Config{Name: "pki-" + lang.Name, Settings: pkiSettings})
			adaptertest.PKIBridge(t, a, adaptertest.PKIFixture{
				Parameters: map[string]string{"mode": "test"},
				ClientData: adapters.ClientData{"activationCode": "1234-5678"},
				Rejected:   &adapters.IdentityInput{DeviceID: "device-2", UserIdentity: adapters.UserIdentity{UserName: "mallory"}},
			})
		})
	}
}

// pathMessages are the failure messages of the typed decoders that name a field's path.
var pathMessages = map[string]string{
	"CN of the wrong type":             "csrInfo.cn: want a string",
	"csrInfo of the wrong type":        "csrInfo: want an object",
	"csr of the wrong type":            "csr: want a string",
	"input an array":                   "input: want an object",
	"fractional time":                  "valid.notBefore: want an integer",
	"init with a non-string parameter": "input: want an object of strings",
}

// TestExampleBridge checks the examples' own PKI-bridge decisions, the same in every language,
// through the wasm host.
func TestExampleBridge(t *testing.T) {
	tests := []struct {
		name, procedure, input string
		want                   string // output; empty when the call must fail
	}{
		{"known user with device", "validateIdentity", `{"deviceId":"d1","userIdentity":{"userName":"alice"},"appId":"a"}`, `{"valid":"YES"}`},
		{"no device", "validateIdentity", `{"userIdentity":{"userName":"alice"}}`, `{"valid":"NO_USE_DEPENDENT_REALM_ONLY"}`},
		{"blocked user", "validateIdentity", `{"deviceId":"d1","userIdentity":{"userName":"mallory"}}`, `{"valid":"NO"}`},
		{"no user", "validateIdentity", `{"deviceId":"d1","userIdentity":{}}`, `{"valid":"NO"}`},
		{"requirements", "getCSRRequirements", `{"userIdentity":{"userName":"bob"}}`, `{"commonName":"bob","additionalSubject":{"O":"Realmgate Example"}}`},
		{"requirements without a user", "getCSRRequirements", `{"userIdentity":{}}`, ``},
		{"CN matches", "validateCSR", `{"csrInfo":{"cn":"bob"},"userIdentity":{"userName":"bob"}}`, `{"valid":"YES"}`},
		{"CN differs", "validateCSR", `{"csrInfo":{"cn":"eve"},"userIdentity":{"userName":"bob"}}`, `{"valid":"NO"}`},
		{"CN with a NUL", "validateCSR", `{"csrInfo":{"cn":"bob\u0000x"},"userIdentity":{"userName":"bob"}}`, `{"valid":"NO"}`},
		{"CN of another case", "validateCSR", `{"csrInfo":{"cn":"Bob"},"userIdentity":{"userName":"bob"}}`, `{"valid":"NO"}`},
		{"CN with unicode", "validateCSR", `{"csrInfo":{"cn":"jürgen 😀"},"userIdentity":{"userName":"j\u00fcrgen \ud83d\ude00"}}`, `{"valid":"YES"}`},
		{"no user, no CN", "validateCSR", `{"csrInfo":{},"userIdentity":{}}`, `{"valid":"NO"}`},
		{"CN of the wrong type", "validateCSR", `{"csrInfo":{"cn":5},"userIdentity":{"userName":"bob"}}`, ``},
		{"csrInfo of the wrong type", "validateCSR", `{"csrInfo":[],"userIdentity":{"userName":"bob"}}`, ``},
		{"csr of the wrong type", "validateCSR", `{"csr":{},"userIdentity":{"userName":"bob"}}`, ``},
		{"input of the wrong type", "validateCSR", `"csr"`, ``},
		{"input an array", "validateCSR", `[{"cn":"bob"}]`, ``},
		{"identity an array", "validateIdentity", `{"userIdentity":["bob","","",""]}`, ``},
		{"nulls are zero values", "validateCSR", `{"csr":null,"csrInfo":{"cn":null,"dnsNames":null},"userIdentity":null,"clientData":null}`, `{"valid":"NO"}`},
		{"identity from certificate", "getIdentityFromCertificate", `{"cn":"carol","serialNumber":"1f"}`, `{"userName":"carol","displayName":"carol"}`},
		{"certificate without CN", "getIdentityFromCertificate", `{"cn":""}`, ``},
		{"valid certificate", "validateCertificate", `{"cn":"carol","valid":{"notBefore":1,"notAfter":2}}`, `{"valid":"YES"}`},
		{"backwards validity", "validateCertificate", `{"cn":"carol","valid":{"notBefore":2,"notAfter":1}}`, `{"valid":"NO"}`},
		{"fractional time", "validateCertificate", `{"cn":"carol","valid":{"notBefore":1.5,"notAfter":2}}`, ``},
		{"init", "init", `{"dependent-user-auth-realm":"Login","pki-bridge-class":"com.worklight.core.auth.ext.UserCertificateAdapterBasedPKI"}`, `{}`},
		{"init with a non-string parameter", "init", `{"a":1}`, ``},
	}
	for _, lang := range languages {
		t.Run(lang.Name, func(t *testing.T) {
			module, _ := example(t, lang)
			a := openWasm(t, module, adapters.Config{Name: "bridge", Settings: pkiSettings})
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					out, err := a.Call(t.Context(), tt.procedure, json.RawMessage(tt.input))
					if tt.want == "" {
						e := adaptertest.CheckError(t, err, adapters.CodeFailed, "bridge", tt.procedure)
						// The C and AssemblyScript decoders name the field; serde names the type.
						if want := pathMessages[tt.name]; e != nil && want != "" && lang.Name != "rust" && e.Message != want {
							t.Errorf("message %q, want %q", e.Message, want)
						}
						return
					}
					if err != nil {
						t.Fatalf("%s(%s): %v", tt.procedure, tt.input, err)
					}
					var got, want any
					if err := json.Unmarshal(out, &got); err != nil {
						t.Fatalf("output %q: %v", out, err)
					}
					if err := json.Unmarshal([]byte(tt.want), &want); err != nil {
						t.Fatal(err)
					}
					if d := cmp.Diff(want, got); d != "" {
						t.Errorf("%s(%s) (-want +got):\n%s", tt.procedure, tt.input, d)
					}
				})
			}
		})
	}
}
