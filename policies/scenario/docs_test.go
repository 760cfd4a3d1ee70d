package scenario

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/realmgate/realmgate/policies"
	"github.com/realmgate/realmgate/project"
)

// TestDocsExample: the scenario file of docs/policy.md parses and every scenario in it passes
// against the example project it describes.
func TestDocsExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/policy.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "### Scenario files")
	if !ok {
		t.Fatal("docs/policy.md has no Scenario files section")
	}
	_, block, ok := strings.Cut(section, "```yaml\n")
	if !ok {
		t.Fatal("the Scenario files section has no YAML example")
	}
	block, _, _ = strings.Cut(block, "```")
	ss, err := Parse("docs/policy.md", []byte(block))
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) < 5 {
		t.Fatalf("%d scenarios in the example", len(ss))
	}
	p, ev := loadBank(t)
	for _, r := range Run(context.Background(), p, ev, ss, nil) {
		if !r.Passed() {
			t.Error(r.String())
		}
	}
}

// TestDocsUserExample: the scenario file of the User facts section of docs/policy.md parses and
// every scenario in it passes against the LDAP example project it describes.
func TestDocsUserExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/policy.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "### User facts")
	if !ok {
		t.Fatal("docs/policy.md has no User facts section")
	}
	_, block, ok := strings.Cut(section, "```yaml\n")
	if !ok {
		t.Fatal("the User facts section has no YAML example")
	}
	block, _, _ = strings.Cut(block, "```")
	ss, err := Parse("docs/policy.md", []byte(block))
	if err != nil {
		t.Fatal(err)
	}
	if len(ss) < 3 {
		t.Fatalf("%d scenarios in the example", len(ss))
	}
	p, err := project.Load(ldapDir, project.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mods, err := policies.CompileRego(p)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := policies.NewEvaluator(context.Background(), mods)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range Run(context.Background(), p, ev, ss, nil) {
		if !r.Passed() {
			t.Error(r.String())
		}
	}
}
