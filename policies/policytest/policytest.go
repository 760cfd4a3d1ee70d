// Package policytest runs a project's policy scenarios (policies/*.scenario.yaml) from the
// project's own Go tests, so that `go test` fails when a change of the configuration or of the
// Rego breaks what a reviewer stated must hold:
//
//	func TestPolicyScenarios(t *testing.T) {
//		policytest.RunScenarios(t, ".")
//	}
package policytest

import (
	"context"
	"testing"

	"github.com/realmgate/realmgate/policies"
	"github.com/realmgate/realmgate/policies/scenario"
	"github.com/realmgate/realmgate/project"
)

// RunScenarios loads the project in dir, compiles its policies as the daemon does and runs every
// scenario of dir/policies/*.scenario.yaml as a subtest named after it. A failure names the
// scenario's file:line and shows the expected and actual decisions as a diff. A project that
// does not load, or has no scenarios, fails the test.
func RunScenarios(t *testing.T, dir string) {
	t.Helper()
	p, err := project.Load(dir, project.LoadOptions{})
	if err != nil {
		t.Fatalf("loading the project %s: %v", dir, err)
	}
	mods, err := policies.CompileRego(p)
	if err != nil {
		t.Fatalf("compiling the policies of %s: %v", dir, err)
	}
	ev, err := policies.NewEvaluator(context.Background(), mods)
	if err != nil {
		t.Fatalf("compiling the policies of %s: %v", dir, err)
	}
	scenarios, err := scenario.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(scenarios) == 0 {
		t.Fatalf("%s has no policies/*%s", dir, scenario.Suffix)
	}
	for _, r := range scenario.Run(context.Background(), p, ev, scenarios, nil) {
		t.Run(r.Scenario.Name, func(t *testing.T) {
			if !r.Passed() {
				t.Error(r.String())
			}
		})
	}
}
