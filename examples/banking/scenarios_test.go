// Package banking is the example project's own Go test: it runs the policy scenarios of
// policies/*.scenario.yaml against the project's security tests and Rego.
package banking

import (
	"testing"

	"github.com/realmgate/realmgate/policies/policytest"
)

// TestPolicyScenarios runs the scenarios, and fails when they and the Rego tests leave more than
// 30% of the policies' lines unrun.
func TestPolicyScenarios(t *testing.T) {
	policytest.RunScenarios(t, ".", policytest.MinCoverage(70))
}
