package daemon

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/realmgate/realmgate/hostd/internal/policybundle"
	"github.com/realmgate/realmgate/policies"
)

// TestProjectPolicyCallsBundleFunction: the project's policies and the bundle's are compiled
// together, once: a project rule may call a function the bundle defines, and read its data.
func TestProjectPolicyCallsBundleFunction(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../../testdata/projects/bank")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "policies"), 0o755); err != nil {
		t.Fatal(err)
	}
	project := "package realmgate.user.uses_bundle\n\ndeny contains \"over the bundle's limit\" if {\n\tdata.realmgate.user.limits.over(input.request.amount)\n}\n"
	if err := os.WriteFile(filepath.Join(dir, "policies", "uses_bundle.rego"), []byte(project), 0o600); err != nil {
		t.Fatal(err)
	}
	b := &policybundle.Bundle{
		Revision: "fn-1",
		Modules:  []policybundle.Module{{Path: "/limits.rego", Source: "package realmgate.user.limits\n\nover(x) if x > data.realmgate.user.limits.max\n"}},
		Data:     map[string]any{"realmgate": map[string]any{"user": map[string]any{"limits": map[string]any{"max": 100}}}},
	}
	ctx := context.Background()
	if _, _, err := LoadProject(ctx, dir); err == nil {
		t.Fatal("the project loaded without the bundle its policy calls")
	}
	p, ev, _, err := loadProjectBundle(ctx, dir, b)
	if err != nil {
		t.Fatalf("with the bundle: %v", err)
	}
	dec, err := ev.Decide(ctx, policies.Input{Test: p.TestOrder[0], Request: map[string]any{"amount": 1000}})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, r := range dec.Reasons {
		found = found || r == "over the bundle's limit"
	}
	if !found {
		t.Errorf("decision %+v, want the project rule to deny through the bundle's function", dec)
	}
}
