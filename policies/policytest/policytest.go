// Package policytest runs a project's policy scenarios (policies/*.scenario.yaml) from the
// project's own Go tests, so that `go test` fails when a change of the configuration or of the
// Rego breaks what a reviewer stated must hold:
//
//	func TestPolicyScenarios(t *testing.T) {
//		policytest.RunScenarios(t, ".")
//	}
//
// With [MinCoverage] the test also fails when the Rego tests and the scenarios leave too much of
// the policies unrun, as `hostd policy test --min` does:
//
//	policytest.RunScenarios(t, ".", policytest.MinCoverage(80))
package policytest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/realmgate/realmgate/policies"
	"github.com/realmgate/realmgate/policies/scenario"
	"github.com/realmgate/realmgate/project"
)

// Option changes what RunScenarios and Check do.
type Option func(*options)

type options struct {
	min *float64
}

// MinCoverage runs the project's Rego tests (the built-in library's and policies/*_test.rego)
// with the scenarios, collects the lines of the generated and user Rego they ran, as
// `hostd policy test --coverage` does, and fails when fewer than pct percent of them ran, naming
// the lines not covered. A Rego test that fails fails too.
func MinCoverage(pct float64) Option {
	return func(o *options) { o.min = &pct }
}

// Report is what Check found.
type Report struct {
	// Scenarios are the results of the project's scenarios, in file and line order.
	Scenarios []scenario.Result
	// Tests are the Rego tests' results; Coverage the lines they and the scenarios ran. Both are
	// set only with MinCoverage.
	Tests    []policies.TestResult
	Coverage *policies.Coverage
	// Min is MinCoverage's percentage, when given.
	Min *float64
}

// BelowMin reports whether the coverage is below MinCoverage's percentage.
func (r *Report) BelowMin() bool {
	return r.Min != nil && r.Coverage != nil && r.Coverage.Percent < *r.Min
}

// Uncovered describes the coverage and each file's lines not covered, for a failure message.
func (r *Report) Uncovered() string {
	if r.Coverage == nil {
		return ""
	}
	c := r.Coverage
	var b strings.Builder
	fmt.Fprintf(&b, "coverage %.1f%% (%d of %d lines)", c.Percent, c.CoveredLines, c.CoveredLines+c.NotCoveredLines)
	if r.Min != nil {
		fmt.Fprintf(&b, ", minimum %.1f%%", *r.Min)
	}
	for _, f := range c.Files {
		if len(f.NotCovered) == 0 {
			continue
		}
		lines := make([]string, len(f.NotCovered))
		for i, l := range f.NotCovered {
			lines[i] = l.String()
		}
		fmt.Fprintf(&b, "\n  %s %.1f%%: not covered: %s", f.File, f.Percent, strings.Join(lines, ", "))
	}
	return b.String()
}

// Check loads the project in dir, compiles its policies as the daemon does and runs every
// scenario of dir/policies/*.scenario.yaml; with MinCoverage, the Rego tests too, with coverage.
// An error is a project that does not load or compile, or a scenario file that does not parse.
func Check(ctx context.Context, dir string, opts ...Option) (*Report, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	p, err := project.Load(dir, project.LoadOptions{})
	if err != nil {
		return nil, fmt.Errorf("loading the project %s: %w", dir, err)
	}
	mods, err := policies.CompileRego(p)
	if err != nil {
		return nil, fmt.Errorf("compiling the policies of %s: %w", dir, err)
	}
	ev, err := policies.NewEvaluator(ctx, mods)
	if err != nil {
		return nil, fmt.Errorf("compiling the policies of %s: %w", dir, err)
	}
	scenarios, err := scenario.LoadDir(dir)
	if err != nil {
		return nil, err
	}
	rep := &Report{Min: o.min}
	var cov *policies.Cover
	if o.min != nil {
		cov = policies.NewCover()
		tests, err := policies.ProjectTestModules(p)
		if err != nil {
			return nil, err
		}
		if rep.Tests, err = policies.RunTestsCovered(ctx, tests, cov); err != nil {
			return nil, fmt.Errorf("running the Rego tests of %s: %w", dir, err)
		}
	}
	rep.Scenarios = scenario.Run(ctx, p, ev, scenarios, cov)
	if cov != nil {
		c, err := cov.Report(mods)
		if err != nil {
			return nil, err
		}
		rep.Coverage = &c
	}
	return rep, nil
}

// RunScenarios runs Check and reports it through t: every scenario as a subtest named after it,
// whose failure names the scenario's file:line and shows the expected and actual decisions as a
// diff; with MinCoverage, the failing Rego tests and a coverage below the minimum, with the
// lines not covered. A project that does not load, or has no scenarios, fails the test.
func RunScenarios(t *testing.T, dir string, opts ...Option) {
	t.Helper()
	rep, err := Check(context.Background(), dir, opts...)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Scenarios) == 0 {
		t.Fatalf("%s has no policies/*%s", dir, scenario.Suffix)
	}
	for _, r := range rep.Scenarios {
		t.Run(r.Scenario.Name, func(t *testing.T) {
			if !r.Passed() {
				t.Error(r.String())
			}
		})
	}
	for _, r := range rep.Tests {
		switch {
		case r.Err != nil:
			t.Errorf("Rego test %s.%s (%s): %v", r.Package, r.Name, r.Location, r.Err)
		case r.Fail:
			t.Errorf("Rego test %s.%s (%s) failed", r.Package, r.Name, r.Location)
		}
	}
	if rep.Coverage != nil {
		if rep.BelowMin() {
			t.Errorf("policy %s", rep.Uncovered())
		} else {
			t.Logf("policy coverage %.1f%%", rep.Coverage.Percent)
		}
	}
}
