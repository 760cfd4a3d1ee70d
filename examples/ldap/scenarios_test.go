// Package ldap is the LDAP example project's own Go test: it runs the policy scenarios of
// policies/*.scenario.yaml, whose user facts state the directory groups of the signed-in user,
// against the project's security tests and Rego.
package ldap

import (
	"testing"

	"github.com/realmgate/realmgate/policies/policytest"
)

func TestPolicyScenarios(t *testing.T) {
	policytest.RunScenarios(t, ".")
}
