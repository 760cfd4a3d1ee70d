package policies

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage/inmem"
	"github.com/open-policy-agent/opa/v1/tester"
)

// UserDataRoot is the one part of data that data given to NewEvaluatorWithData may hold:
// data.realmgate.user, beside the user's packages. Data anywhere else could shadow what the
// compiled security tests, the router or the library read.
const UserDataRoot = "realmgate.user"

// NewEvaluatorWithData is NewEvaluator with a base data document that the user's policies read
// (an OPA bundle's data): rooted at data, it may only hold data.realmgate.user. The data is part
// of the evaluator, as the modules are: other data is another evaluator, with another revision.
func NewEvaluatorWithData(ctx context.Context, mods []Module, data map[string]any) (*Evaluator, error) {
	if err := checkUserData(data); err != nil {
		return nil, err
	}
	if len(data) == 0 {
		data = nil
	}
	return prepareEvaluator(ctx, mods, data)
}

// checkUserData refuses data outside data.realmgate.user.
func checkUserData(data map[string]any) error {
	for k, v := range data {
		inner, ok := v.(map[string]any)
		if k != "realmgate" || !ok {
			return fmt.Errorf("policies: data.%s is outside data.%s", k, UserDataRoot)
		}
		for k := range inner {
			if k != "user" {
				return fmt.Errorf("policies: data.realmgate.%s is outside data.%s", k, UserDataRoot)
			}
		}
	}
	return nil
}

// revisionWithData is Revision of the modules, and of the data when there is some.
func revisionWithData(mods []Module, data map[string]any) string {
	if data == nil {
		return Revision(mods)
	}
	var b strings.Builder
	if err := json.NewEncoder(&b).Encode(data); err != nil {
		// Data that does not encode cannot have been read from JSON; name it apart anyway.
		b.WriteString(fmt.Sprintf("%v", data))
	}
	return Revision(append(append([]Module(nil), mods...), Module{Path: "\x00data.json", Source: b.String()}))
}

// RunTestsWithData is RunTests with a base data document (a bundle's data, checked as
// NewEvaluatorWithData checks it) that the tests and the policies read.
func RunTestsWithData(ctx context.Context, modules map[string]string, data map[string]any) ([]TestResult, error) {
	if len(data) == 0 {
		return RunTests(ctx, modules)
	}
	if err := checkUserData(data); err != nil {
		return nil, err
	}
	parsed := make(map[string]*ast.Module, len(modules))
	for path, src := range modules {
		m, err := ast.ParseModuleWithOpts(path, src, ast.ParserOptions{RegoVersion: ast.RegoV1})
		if err != nil {
			return nil, err
		}
		parsed[path] = m
	}
	ch, err := tester.NewRunner().
		SetDefaultRegoVersion(ast.RegoV1).
		SetModules(parsed).
		SetStore(inmem.NewFromObject(data)).
		RaiseBuiltinErrors(true).
		RunTests(ctx, nil)
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
