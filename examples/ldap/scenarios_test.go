// Package ldap is the LDAP example project's own Go test: it runs the policy scenarios of
// policies/*.scenario.yaml, whose user facts state the directory groups of the signed-in user,
// against the project's security tests and Rego.
package ldap

import (
	"testing"

	"github.com/realmgate/realmgate/policies/policytest"
)

// TestPolicyScenarios runs the scenarios, and fails when they and the Rego tests leave more than
// a quarter of the policies' lines unrun (the built-in default tests, which no resource of the
// example uses, are most of what they leave).
func TestPolicyScenarios(t *testing.T) {
	policytest.RunScenarios(t, ".", policytest.MinCoverage(75))
}
