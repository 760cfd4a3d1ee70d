package scenario

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/policies"
	"github.com/realmgate/realmgate/project"
)

// Request is a scenario's request as the engine sees it: the security test the server applies to
// the resource and the policy input the engine builds. Unprotected is true when the resource is
// served without any security test; Blocked, when the engine refuses the request before any policy
// (Reason says why).
type Request struct {
	Test        string
	Input       policies.Input
	Unprotected bool
	Blocked     string
}

// Outcome is what the engine decides for a request: a policy decision, or a refusal before it.
type Outcome struct {
	Test     string   `json:"test,omitempty"`
	Decision string   `json:"decision"`
	Step     int      `json:"step,omitempty"`
	Steps    int      `json:"steps,omitempty"`
	Realms   []string `json:"realms,omitempty"`
	Reasons  []string `json:"reasons,omitempty"`
	// Unprotected is true when no security test protects the resource.
	Unprotected bool `json:"unprotected,omitempty"`
}

// Build resolves a resource and facts against a project as the server and the engine do: the
// resource's security test (an application environment's, a procedure's or its environment's, the
// static resource's whose URL pattern matches first, the token scope's) and the policy input of
// the request, with the request facts the server adds (method, path, a procedure's parameters).
// A request the server would refuse (an unknown application, a procedure clients may not call,
// a path no static resource matches) is an error.
func Build(p *project.Project, r Resource, f Facts) (Request, error) {
	if err := r.check(); err != nil {
		return Request{}, err
	}
	app := policies.App{ID: f.App.ID, Env: strings.ToLower(f.App.Env), Version: f.App.Version}
	if r.Kind == KindApp {
		id, env, _ := strings.Cut(r.Name, "/")
		env = strings.ToLower(env)
		if (app.ID != "" && app.ID != id) || (app.Env != "" && app.Env != env) {
			return Request{}, fmt.Errorf("app %s/%s differs from the resource's application %s/%s", app.ID, app.Env, id, env)
		}
		app.ID, app.Env = id, env
	}
	if f.Parameters != nil && r.Kind != KindProcedure {
		return Request{}, fmt.Errorf("parameters are those of a procedure call, not of a %s resource", r.Kind)
	}
	var envTest string // the application environment's security test
	if app.ID != "" || app.Env != "" {
		a := p.Apps[app.ID]
		if a == nil {
			return Request{}, fmt.Errorf("application %q is not deployed", app.ID)
		}
		e := a.Envs[app.Env]
		if e == nil {
			return Request{}, fmt.Errorf("application %q has no environment %q", app.ID, app.Env)
		}
		envTest = e.SecurityTest
	} else if r.Kind != KindStatic {
		// Browsers may fetch static resources without the application headers; every other
		// request must send them.
		return Request{}, fmt.Errorf("a %s request comes from an application: give app id and env", r.Kind)
	}
	req := Request{Input: policies.Input{App: app, Passed: []string{}}}
	facts := map[string]any{}
	switch r.Kind {
	case KindApp:
		req.Test = envTest
		req.Input.Resource = policies.Resource{Kind: KindApp, Name: app.ID + "/" + app.Env,
			Attributes: map[string]any{"app": app.ID, "env": app.Env}}
		facts["method"], facts["path"] = "POST", "/api/v1/apps/"+app.ID+"/"+app.Env+"/init"
	case KindProcedure:
		adapter, proc, _ := strings.Cut(r.Name, ".")
		a := p.Adapters[adapter]
		if a == nil {
			return Request{}, fmt.Errorf("adapter %q is not deployed", adapter)
		}
		pr := a.Procedures[proc]
		if pr == nil || p.Internal[adapter+"."+proc] {
			return Request{}, fmt.Errorf("adapter %q has no procedure %q that clients may call", adapter, proc)
		}
		req.Test = cmpOr(pr.SecurityTest, envTest)
		req.Input.Resource = policies.Resource{Kind: KindProcedure, Name: adapter + "." + proc,
			Attributes: map[string]any{"adapter": adapter, "procedure": proc}}
		params := f.Parameters
		if params == nil {
			params = []any{}
		}
		facts["parameters"] = params
		facts["method"], facts["path"] = "POST", "/api/v1/adapters/"+adapter+"/"+proc
	case KindStatic:
		urlPath := path.Clean("/" + r.Name)
		sr := p.StaticResourceAt(urlPath)
		if sr == nil {
			return Request{}, fmt.Errorf("no static resource's URL pattern matches %s", urlPath)
		}
		req.Test = sr.SecurityTest
		req.Input.Resource = policies.Resource{Kind: KindStatic, Name: sr.ID,
			Attributes: map[string]any{"path": urlPath, "resource": sr.ID}}
		facts["method"], facts["path"] = "GET", urlPath
	case KindToken:
		scope := cmpOr(strings.TrimSpace(r.Name), envTest)
		if _, ok := p.Tests[scope]; !ok || scope == project.Unprotected {
			return Request{}, fmt.Errorf("scope %q is not a security test of this server", scope)
		}
		req.Test = scope
		req.Input.Resource = policies.Resource{Kind: KindToken, Name: scope, Attributes: map[string]any{"scope": scope}}
		facts["method"], facts["path"] = "POST", "/oauth/token"
	}
	req.Input.Request = facts
	if req.Test == project.Unprotected && (r.Kind == KindApp || r.Kind == KindProcedure) {
		// The server serves these without asking the engine (a static resource has no such
		// exemption: the engine refuses a test it does not know).
		req.Unprotected = true
		return req, nil
	}
	t := p.Tests[req.Test]
	if t == nil {
		return Request{}, fmt.Errorf("security test %q is not defined", req.Test)
	}
	req.Input.Test = t.Name
	passed := append([]string(nil), f.Passed...)
	for _, tr := range t.Realms {
		// wl_remoteDisableRealm is passed exactly when no rule applies to the app version: the
		// engine looks at the rules on every request.
		if tr.Enforced && tr.Realm == project.RealmRemoteDisable {
			switch f.RemoteDisable {
			case "block":
				req.Blocked = "the application is disabled by a remote-disable rule"
			case "notify":
				passed = slices.DeleteFunc(passed, func(r string) bool { return r == project.RealmRemoteDisable })
			default:
				passed = append(passed, project.RealmRemoteDisable)
			}
		}
	}
	if f.DeviceBlocked && t.DeviceRealm != "" && slices.Contains(passed, t.DeviceRealm) {
		req.Blocked = "this device is blocked; contact your administrator"
	}
	slices.Sort(passed)
	req.Input.Passed = slices.Compact(passed)
	if req.Input.Passed == nil {
		req.Input.Passed = []string{}
	}
	if f.User != nil {
		user, err := userInput(p, t, req.Input.Passed, f.User)
		if err != nil {
			return Request{}, err
		}
		req.Input.User = user
	}
	return req, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Decider decides a policy input: the engine's evaluator ([policies.Evaluator.Decide]).
type Decider interface {
	Decide(ctx context.Context, in policies.Input) (policies.Decision, error)
}

// Decide returns the outcome of a built request: the refusal or the unprotected resource the
// engine and the server settle without a policy, or the decision of the policies.
func Decide(ctx context.Context, d Decider, req Request) (Outcome, error) {
	switch {
	case req.Unprotected:
		return Outcome{Decision: Allow, Unprotected: true}, nil
	case req.Blocked != "":
		return Outcome{Test: req.Test, Decision: Blocked, Reasons: []string{req.Blocked}}, nil
	}
	dec, err := d.Decide(ctx, req.Input)
	if err != nil {
		return Outcome{}, err
	}
	return Outcome{Test: req.Test, Decision: dec.Outcome, Step: dec.Step, Steps: dec.Steps, Realms: dec.Realms, Reasons: dec.Reasons}, nil
}

// Result is the result of one scenario.
type Result struct {
	Scenario *Scenario
	Got      Outcome
	// Err is set when the scenario could not run (its resource is not in the project, the
	// policies failed); Diff, when it ran and the decision is not the one expected.
	Err  error
	Diff string
}

// Passed reports whether the scenario got the decision it expects.
func (r Result) Passed() bool { return r.Err == nil && r.Diff == "" }

// String is the result as a report line: the scenario's file:line, its name and what went wrong.
func (r Result) String() string {
	s := r.Scenario
	switch {
	case r.Err != nil:
		return fmt.Sprintf("%s:%d: scenario %q: %v", s.File, s.Line, s.Name, r.Err)
	case r.Diff != "":
		return fmt.Sprintf("%s:%d: scenario %q: got %s, want %s (-want +got):\n%s", s.File, s.ExpectLine, s.Name,
			describe(r.Got), s.Expect.Decision, r.Diff)
	}
	return fmt.Sprintf("%s:%d: scenario %q: %s", s.File, s.Line, s.Name, describe(r.Got))
}

func describe(o Outcome) string {
	switch o.Decision {
	case Challenge:
		return fmt.Sprintf("challenge step %d of %d: %s", o.Step, o.Steps, strings.Join(o.Realms, ", "))
	case Deny, Blocked:
		return o.Decision + ": " + strings.Join(o.Reasons, "; ")
	}
	if o.Unprotected {
		return "allow (unprotected)"
	}
	return o.Decision
}

// Run runs scenarios against a project and its evaluator, in order. With c set, the lines of the
// policies each decision ran are recorded in it (by a second, traced evaluation of the same input).
func Run(ctx context.Context, p *project.Project, ev *policies.Evaluator, scenarios []*Scenario, c *policies.Cover) []Result {
	out := make([]Result, 0, len(scenarios))
	for _, s := range scenarios {
		res := Result{Scenario: s}
		req, err := Build(p, s.Resource, s.Facts)
		if err == nil {
			res.Got, err = Decide(ctx, ev, req)
		}
		if err == nil && c != nil && !req.Unprotected && req.Blocked == "" {
			_, err = ev.EvalCovered(ctx, req.Input, c)
		}
		if err != nil {
			res.Err = err
		} else {
			res.Diff = cmp.Diff(s.Expect, observed(s.Expect, res.Got))
		}
		out = append(out, res)
	}
	return out
}

// observed is the outcome in the terms of want: the members want names, and the reason want
// names when the outcome has it among its reasons.
func observed(want Expect, got Outcome) Expect {
	o := Expect{Decision: got.Decision}
	if want.Step != 0 {
		o.Step = got.Step
	}
	if want.Realms != nil {
		o.Realms = got.Realms
	}
	if want.Reason != "" {
		o.Reason = strings.Join(got.Reasons, "; ")
		if slices.Contains(got.Reasons, want.Reason) {
			o.Reason = want.Reason
		}
	}
	return o
}
