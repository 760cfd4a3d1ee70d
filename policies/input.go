package policies

import (
	"encoding/json"
	"fmt"
	"reflect"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/util"
)

// Input is what a security test's policy decides on: one request, as the engine sees it. Rego
// reads it as input, in the JSON form its tags give: input.test, input.passed, input.app.version,
// input.resource.kind, input.request.parameters, ...
//
// The engine fills every field of every request, so a policy never meets a missing one: an empty
// string, or null for a nil map.
type Input struct {
	// Test is the security test to decide.
	Test string `json:"test"`
	// Passed are the realms the session has passed for this request, sorted.
	Passed []string `json:"passed"`
	// App is the application the request comes from.
	App App `json:"app"`
	// Resource is what the request wants to reach.
	Resource Resource `json:"resource"`
	// Request holds facts about the request: method, path, procedure parameters. Its values are
	// what encoding/json decodes (nil, bool, string, float64, json.Number, map[string]any,
	// []any); any other value is read as the JSON it encodes to, as OPA reads it.
	Request map[string]any `json:"request"`
	// User is the identity of the test's user realm when the session has passed it (null
	// otherwise), as the realm's login recorded it: userId, displayName, and what the login
	// module adds (an LdapLoginModule's groups, groupDNs, dn and attributes), so a rule can
	// require a group for a procedure: `"tellers" in input.user.groups`. JSON-shaped as Request.
	User map[string]any `json:"user"`
}

// App is the application a request comes from (input.app).
type App struct {
	ID      string `json:"id"`
	Env     string `json:"env"`
	Version string `json:"version"`
}

// Resource is what a request wants to reach (input.resource).
type Resource struct {
	// Kind is "app", "procedure", "static" or "token".
	Kind string `json:"kind"`
	// Name identifies it: "APP/ENV", "ADAPTER.PROCEDURE", the static resource's id, the scope.
	Name string `json:"name"`
	// Attributes are more facts about it (adapter, procedure, path), JSON-shaped as Request is.
	Attributes map[string]any `json:"attributes"`
}

// Keys of the input object, made once.
var (
	termTest       = ast.StringTerm("test")
	termPassed     = ast.StringTerm("passed")
	termApp        = ast.StringTerm("app")
	termResource   = ast.StringTerm("resource")
	termRequest    = ast.StringTerm("request")
	termID         = ast.StringTerm("id")
	termEnv        = ast.StringTerm("env")
	termVersion    = ast.StringTerm("version")
	termKind       = ast.StringTerm("kind")
	termName       = ast.StringTerm("name")
	termAttributes = ast.StringTerm("attributes")
	termUser       = ast.StringTerm("user")
)

// value converts the input to OPA's value, once per evaluation: the object OPA would make of the
// input's JSON form (rego.EvalInput of it), built directly rather than through maps and JSON.
func (in *Input) value() (ast.Value, error) {
	request, err := jsonValue(in.Request, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("policies: input.request: %w", err)
	}
	attributes, err := jsonValue(in.Resource.Attributes, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("policies: input.resource.attributes: %w", err)
	}
	user, err := jsonValue(in.User, 0, nil)
	if err != nil {
		return nil, fmt.Errorf("policies: input.user: %w", err)
	}
	var passed ast.Value = ast.NullValue
	if in.Passed != nil {
		terms := make([]*ast.Term, len(in.Passed))
		for i, r := range in.Passed {
			terms[i] = ast.StringTerm(r)
		}
		passed = ast.NewArray(terms...)
	}
	return ast.NewObject(
		[2]*ast.Term{termTest, ast.StringTerm(in.Test)},
		[2]*ast.Term{termPassed, ast.NewTerm(passed)},
		[2]*ast.Term{termApp, ast.ObjectTerm(
			[2]*ast.Term{termID, ast.StringTerm(in.App.ID)},
			[2]*ast.Term{termEnv, ast.StringTerm(in.App.Env)},
			[2]*ast.Term{termVersion, ast.StringTerm(in.App.Version)},
		)},
		[2]*ast.Term{termResource, ast.ObjectTerm(
			[2]*ast.Term{termKind, ast.StringTerm(in.Resource.Kind)},
			[2]*ast.Term{termName, ast.StringTerm(in.Resource.Name)},
			[2]*ast.Term{termAttributes, ast.NewTerm(attributes)},
		)},
		[2]*ast.Term{termRequest, ast.NewTerm(request)},
		[2]*ast.Term{termUser, ast.NewTerm(user)},
	), nil
}

// cycleDepth is the depth past which jsonValue looks for a map or slice that holds itself, as
// OPA's conversion (and encoding/json) do: a cycle is an error, never an endless recursion.
const cycleDepth = 1000

// jsonValue converts a JSON-shaped Go value as OPA converts a raw input (util.RoundTripFast, then
// ast.InterfaceToValue): the types encoding/json decodes into directly, nil maps and slices as
// null, and any other value through its JSON encoding (util.RoundTrip), numbers included.
func jsonValue(v any, depth int, seen map[uintptr]bool) (ast.Value, error) {
	switch x := v.(type) {
	case nil:
		return ast.NullValue, nil
	case bool:
		return ast.Boolean(x), nil
	case string:
		return ast.String(x), nil
	case json.Number:
		return ast.InterfaceToValue(x)
	case map[string]any:
		if x == nil {
			return ast.NullValue, nil
		}
		seen, err := enter(x, depth, seen)
		if err != nil {
			return nil, err
		}
		kvs := make([][2]*ast.Term, 0, len(x))
		for k, e := range x {
			ev, err := jsonValue(e, depth+1, seen)
			if err != nil {
				return nil, err
			}
			kvs = append(kvs, [2]*ast.Term{ast.StringTerm(k), ast.NewTerm(ev)})
		}
		leave(x, seen)
		return ast.NewObject(kvs...), nil
	case []any:
		if x == nil {
			return ast.NullValue, nil
		}
		seen, err := enter(x, depth, seen)
		if err != nil {
			return nil, err
		}
		terms := make([]*ast.Term, len(x))
		for i, e := range x {
			ev, err := jsonValue(e, depth+1, seen)
			if err != nil {
				return nil, err
			}
			terms[i] = ast.NewTerm(ev)
		}
		leave(x, seen)
		return ast.NewArray(terms...), nil
	}
	y := v
	if err := util.RoundTrip(&y); err != nil {
		return nil, err
	}
	return ast.InterfaceToValue(y)
}

// enter records a map or slice on the path from the root once the path is deep enough for a cycle
// to be worth looking for, and fails when it is already on it.
func enter(x any, depth int, seen map[uintptr]bool) (map[uintptr]bool, error) {
	if depth < cycleDepth {
		return seen, nil
	}
	p := reflect.ValueOf(x).Pointer()
	if seen[p] {
		return nil, fmt.Errorf("json: unsupported value: encountered a cycle via %T", x)
	}
	if seen == nil {
		seen = map[uintptr]bool{}
	}
	seen[p] = true
	return seen, nil
}

func leave(x any, seen map[uintptr]bool) {
	if seen != nil {
		delete(seen, reflect.ValueOf(x).Pointer())
	}
}
