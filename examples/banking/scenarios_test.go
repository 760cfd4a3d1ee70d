// Package banking is the example project's own Go test: it runs the policy scenarios of
// policies/*.scenario.yaml against the project's security tests and Rego.
package banking

import (
	"testing"

	"github.com/realmgate/realmgate/policies/policytest"
)

func TestPolicyScenarios(t *testing.T) {
	policytest.RunScenarios(t, ".")
}
