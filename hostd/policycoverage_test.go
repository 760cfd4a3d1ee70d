package main

import (
	"context"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/policies/policytest"
)

// TestPolicytestCoverageIsHostds: the coverage a project's go test asserts
// (policytest.MinCoverage) is the one hostd policy test --coverage reports for it.
func TestPolicytestCoverageIsHostds(t *testing.T) {
	for _, dir := range []string{exampleDir, ldapExampleDir} {
		rep, err := policyTest(context.Background(), dir, true)
		if err != nil {
			t.Fatal(err)
		}
		got, err := policytest.Check(context.Background(), dir, policytest.MinCoverage(0))
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(rep.Coverage, got.Coverage); diff != "" {
			t.Errorf("%s: coverage (-hostd +policytest):\n%s", dir, diff)
		}
	}
}
