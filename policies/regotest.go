package policies

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/cover"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"

	"github.com/realmgate/realmgate/project"
)

// TestResult is the outcome of one Rego test rule (a rule named test_*).
type TestResult struct {
	// Package and Name name the rule: "data.realmgate.lib_test", "test_step_one".
	Package, Name string
	// Location is the rule's file:line.
	Location string
	// Fail is true when the rule was undefined or not true; Err is set when it could not be
	// evaluated (a built-in error, a conflict).
	Fail bool
	Err  error
	// Skip is true for todo_test_* rules.
	Skip bool
}

// Passed reports whether the test passed (a skipped test did not fail).
func (r TestResult) Passed() bool { return r.Err == nil && !r.Fail }

// ProjectTestModules returns the Rego modules that `hostd policy test` runs: the project's
// compiled policy set (security tests, router, configuration, library, the user's policies),
// the library's own tests, and the project's policies/*_test.rego files.
func ProjectTestModules(p *project.Project) (map[string]string, error) {
	mods, err := CompileRego(p)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(mods)+2)
	for _, m := range mods {
		out[m.Path] = m.Source
	}
	libTests, err := fs.ReadFile(Library, "rego/lib_test.rego")
	if err != nil {
		return nil, err
	}
	out["realmgate/lib_test.rego"] = string(libTests)
	tests, err := filepath.Glob(filepath.Join(p.Dir, "policies", "*_test.rego"))
	if err != nil {
		return nil, err
	}
	for _, t := range tests {
		src, err := os.ReadFile(t)
		if err != nil {
			return nil, err
		}
		out[t] = string(src)
	}
	return out, nil
}

// RunTests parses modules (path to Rego v1 source) and runs their test_* rules with OPA's test
// runner, built-in errors raised as test errors. The results are sorted by package and name.
// A module that does not parse or compile is an error, not a failed test.
func RunTests(ctx context.Context, modules map[string]string) ([]TestResult, error) {
	return runTests(ctx, modules, nil, nil)
}

// runTests is RunTests over the base data document data (nil: none), with c (when not nil)
// collecting coverage.
func runTests(ctx context.Context, modules map[string]string, data map[string]any, c *Cover) ([]TestResult, error) {
	parsed := make(map[string]*ast.Module, len(modules))
	for path, src := range modules {
		m, err := ast.ParseModuleWithOpts(path, src, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, err
		}
		parsed[path] = m
	}
	runner := tester.NewRunner().
		SetDefaultRegoVersion(ast.RegoV1).
		SetModules(parsed).
		RaiseBuiltinErrors(true)
	if data != nil {
		runner = runner.SetStore(inmem.NewFromObject(data))
	}
	if c != nil {
		// Only the plain run: the supplementary runs tag why a line is not covered, which the
		// report does not show.
		runner = runner.SetCoverageQueryTracer(c.c).SetCoverageRuns([]cover.Kind{})
	}
	ch, err := runner.RunTests(ctx, nil)
	if err != nil {
		return nil, fmt.Errorf("compiling the Rego tests: %w", err)
	}
	var out []TestResult
	for r := range ch {
		tr := TestResult{Package: r.Package, Name: r.Name, Fail: r.Fail, Err: r.Error, Skip: r.Skip}
		if r.Location != nil {
			tr.Location = r.Location.String()
		}
		out = append(out, tr)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Package != out[j].Package {
			return out[i].Package < out[j].Package
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}
