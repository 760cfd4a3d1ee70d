package wasm_test

import (
	"os"
	"os/exec"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/adapters"
	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/sdk-wasm/go/realmgate"
)

// shape describes a type as JSON sees it: field names with their options, and the shapes of
// the field types, so that two types with the same shape encode and decode the same JSON.
func shape(t reflect.Type) any {
	switch t.Kind() {
	case reflect.Struct:
		fields := map[string]any{}
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			tag := f.Tag.Get("json")
			if tag == "" {
				tag = f.Name + " (untagged)"
			}
			fields[tag] = shape(f.Type)
		}
		return fields
	case reflect.Map:
		return map[string]any{"map of " + t.Key().Kind().String(): shape(t.Elem())}
	case reflect.Slice, reflect.Array:
		return []any{shape(t.Elem())}
	case reflect.Pointer:
		return shape(t.Elem())
	}
	return t.Kind().String()
}

// TestSDKTypesMirrorHost keeps the Go SDK's PKI-bridge types equal, as JSON, to adapters/pki.go.
func TestSDKTypesMirrorHost(t *testing.T) {
	t.Parallel()
	pairs := []struct{ host, sdk any }{
		{adapters.InitInput{}, realmgate.InitInput{}},
		{adapters.UserIdentity{}, realmgate.UserIdentity{}},
		{adapters.ClientData{}, realmgate.ClientData{}},
		{adapters.IdentityInput{}, realmgate.IdentityInput{}},
		{adapters.Valid{}, realmgate.Valid{}},
		{adapters.CSRRequirements{}, realmgate.CSRRequirements{}},
		{adapters.CSRInfo{}, realmgate.CSRInfo{}},
		{adapters.CSRInput{}, realmgate.CSRInput{}},
		{adapters.GeneratedCertificate{}, realmgate.GeneratedCertificate{}},
		{adapters.KeyInfo{}, realmgate.KeyInfo{}},
		{adapters.SigInfo{}, realmgate.SigInfo{}},
		{adapters.Issuer{}, realmgate.Issuer{}},
		{adapters.Validity{}, realmgate.Validity{}},
		{adapters.Certificate{}, realmgate.Certificate{}},
		{adapters.CertificateInput{}, realmgate.CertificateInput{}},
		{adapters.IdentityFromCertificate{}, realmgate.IdentityFromCertificate{}},
	}
	for _, p := range pairs {
		host, sdk := reflect.TypeOf(p.host), reflect.TypeOf(p.sdk)
		t.Run(host.Name(), func(t *testing.T) {
			if host.Name() != sdk.Name() {
				t.Errorf("the SDK names adapters.%s %s", host.Name(), sdk.Name())
			}
			if diff := cmp.Diff(shape(host), shape(sdk)); diff != "" {
				t.Errorf("realmgate.%s differs from adapters.%s as JSON (-host +sdk):\n%s", sdk.Name(), host.Name(), diff)
			}
		})
	}
	// Every exported type of adapters/pki.go is in the list above.
	src, err := os.ReadFile("../pki.go")
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, p := range pairs {
		listed[reflect.TypeOf(p.host).Name()] = true
	}
	for _, m := range regexp.MustCompile(`(?m)^type ([A-Z]\w*) `).FindAllStringSubmatch(string(src), -1) {
		if !listed[m[1]] {
			t.Errorf("adapters.%s is not compared with the SDK: add it to the pairs", m[1])
		}
	}
	for _, v := range []struct{ host, sdk string }{
		{adapters.Yes, realmgate.Yes}, {adapters.No, realmgate.No}, {adapters.NoUseDependentRealmOnly, realmgate.NoUseDependentRealmOnly},
	} {
		if v.host != v.sdk {
			t.Errorf("verdict %q is %q in the SDK", v.host, v.sdk)
		}
	}
}

// TestBuildScript builds the example with the SDK's build.sh and opens the module pinned to the
// hash the script prints.
func TestBuildScript(t *testing.T) {
	t.Parallel()
	out := t.TempDir() + "/pkibridge.wasm"
	cmd := exec.Command("bash", "../../sdk-wasm/go/build.sh", exampleDir, out)
	cmd.Stderr = os.Stderr
	printed, err := cmd.Output()
	if err != nil {
		t.Fatalf("build.sh: %v", err)
	}
	hash, file, ok := strings.Cut(strings.TrimSpace(string(printed)), "  ")
	if !ok || file != out || len(hash) != 64 {
		t.Fatalf("build.sh printed %q, want \"<sha256>  %s\"", printed, out)
	}
	a, err := openModule(t, out, func(c *adapters.Config) {
		c.SHA256 = hash
		c.CacheDir = adaptertest.CompilationCacheDir(t)
		c.Limits.MemoryPages = 0
		c.Procedures = append([]string{"init", "generateCertificate"}, adaptertest.CoreProcedures...)
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := a.Call(t.Context(), "echo", []byte(`"built"`))
	if err != nil || string(got) != `"built"` {
		t.Fatalf("echo = %s, %v", got, err)
	}
}
