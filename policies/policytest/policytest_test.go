package policytest

import (
	"context"
	"strings"
	"testing"
)

const bankDir = "../../examples/banking"

// TestCheckCoverage: with MinCoverage, Check runs the Rego tests and the scenarios with coverage;
// a minimum above the coverage is reported with the lines not covered, one at or below it is not.
func TestCheckCoverage(t *testing.T) {
	ctx := context.Background()
	rep, err := Check(ctx, bankDir)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Scenarios) == 0 || rep.Coverage != nil || rep.Tests != nil || rep.BelowMin() {
		t.Fatalf("without MinCoverage: %d scenarios, coverage %v, %d Rego tests", len(rep.Scenarios), rep.Coverage, len(rep.Tests))
	}
	rep, err = Check(ctx, bankDir, MinCoverage(100))
	if err != nil {
		t.Fatal(err)
	}
	c := rep.Coverage
	if c == nil || len(rep.Tests) == 0 {
		t.Fatalf("MinCoverage: coverage %v, %d Rego tests", c, len(rep.Tests))
	}
	for _, r := range rep.Tests {
		if !r.Passed() {
			t.Errorf("Rego test %s.%s failed: %v", r.Package, r.Name, r.Err)
		}
	}
	if c.Percent <= 0 || c.Percent >= 100 {
		t.Fatalf("coverage %.1f%%: the example leaves some lines unrun and runs others", c.Percent)
	}
	// The scenarios count: transfers.rego's deny rule runs only in a scenario.
	var transfers bool
	for _, f := range c.Files {
		if f.File == "policies/transfers.rego" {
			transfers = f.CoveredLines > 0
		}
	}
	if !transfers {
		t.Errorf("the scenarios' decisions do not count: %+v", c.Files)
	}
	msg := rep.Uncovered()
	if !rep.BelowMin() || !strings.Contains(msg, "minimum 100.0%") || !strings.Contains(msg, "not covered: ") {
		t.Errorf("below 100%%: BelowMin %v, %q", rep.BelowMin(), msg)
	}
	for _, pct := range []float64{c.Percent, 0} {
		rep, err := Check(ctx, bankDir, MinCoverage(pct))
		if err != nil {
			t.Fatal(err)
		}
		if rep.BelowMin() {
			t.Errorf("MinCoverage(%.1f) with coverage %.1f%% is below the minimum", pct, rep.Coverage.Percent)
		}
	}
	if _, err := Check(ctx, "testdata/nosuch"); err == nil || !strings.Contains(err.Error(), "loading the project testdata/nosuch") {
		t.Errorf("missing project: %v", err)
	}
}
