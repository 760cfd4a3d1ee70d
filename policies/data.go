package policies

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
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
	return runTests(ctx, modules, data, nil)
}
