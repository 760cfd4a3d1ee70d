package project

import (
	"os"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestAdaptersDocExample loads the adapter XML of docs/adapters.md, the example of the call
// limits, in a project of its own: it loads without a diagnostic, with the limits it shows.
func TestAdaptersDocExample(t *testing.T) {
	doc, err := os.ReadFile("../docs/adapters.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)```xml\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("docs/adapters.md has no xml example")
	}
	dir := writeProject(t, files{
		AuthConfigPath:                    authConfig("<securityTests/><realms/><loginModules/>"),
		"adapters/Accounts/Accounts.xml":  string(m[1]),
		"adapters/Accounts/accounts.wasm": "accounts adapter module (the loader only hashes it)\n",
	})
	p, err := Load(dir, LoadOptions{})
	if err != nil {
		t.Fatalf("the example does not load: %v", err)
	}
	if ds := Check(dir, LoadOptions{}); len(ds) > 0 {
		t.Errorf("the example draws diagnostics:\n%v", ds)
	}
	b := p.Adapters["Accounts"].Backend
	queue := 32
	want := &Backend{Kind: BackendWasm, Module: b.Module, SHA256: b.SHA256, Settings: map[string]string{},
		MemoryPages: 512, CallTimeoutMS: 2000, Instances: 8, MaxConcurrent: 8, MaxQueue: &queue, Pos: b.Pos}
	if diff := cmp.Diff(want, b); diff != "" {
		t.Errorf("the example's backend (-want +got):\n%s", diff)
	}
}
