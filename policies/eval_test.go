package policies

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/realmgate/realmgate/project"
)

// evalConfig is a project configuration for evaluator tests: a custom test "steps" of three
// steps, a web test "web", and realms "otp" and "manager" that policies may require.
var evalConfig = authConfig(`
	<securityTests>
		<customSecurityTest name="steps">
			<test realm="wl_antiXSRFRealm" step="1"/>
			<test realm="wl_remoteDisableRealm" step="1"/>
			<test realm="form" isInternalUserID="true" step="2"/>
			<test realm="wl_deviceNoProvisioningRealm" isInternalDeviceID="true" step="3"/>
		</customSecurityTest>
		<webSecurityTest name="web"><testUser realm="form"/></webSecurityTest>
	</securityTests>
	<realms>
		<realm name="form" loginModule="reject"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>
		<realm name="otp" loginModule="reject"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>
		<realm name="manager" loginModule="reject"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>
	</realms>
	<loginModules>
		<loginModule name="reject"><className>com.worklight.core.auth.ext.RejectingLoginModule</className></loginModule>
	</loginModules>
`)

// newEvaluator loads a project of evalConfig plus the given policy files (name to source, under
// policies/) and prepares its evaluator.
func newEvaluator(t testing.TB, policies map[string]string) (*Evaluator, []Module, error) {
	t.Helper()
	fs := files{ac: evalConfig}
	for name, src := range policies {
		fs["policies/"+name] = src
	}
	p := mustLoad(t, writeProject(t, fs))
	mods, err := CompileRego(p)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := NewEvaluator(context.Background(), mods)
	return ev, mods, err
}

func mustEvaluator(t testing.TB, policies map[string]string) *Evaluator {
	t.Helper()
	ev, _, err := newEvaluator(t, policies)
	if err != nil {
		var le *project.LoadError
		if errors.As(err, &le) {
			t.Fatalf("NewEvaluator: %v\n%s", err, strings.Join(diagLines(le.Diagnostics), "\n"))
		}
		t.Fatalf("NewEvaluator: %v", err)
	}
	return ev
}

// stepUpAndDeny are user policies that deny by a request fact and require realms by another.
var stepUpAndDeny = map[string]string{
	"limits.rego": `package realmgate.user.limits

require contains "otp" if input.request.amount > 1000

require contains "manager" if input.request.amount > 10000

require contains "nosuch" if input.request.amount < 0
`,
	"hours.rego": `package realmgate.user.hours

deny contains "closed at night" if input.request.hour < 6

deny contains sprintf("country %s is blocked", [input.request.country]) if input.request.country in {"XX"}
`,
}

// in is the input of test with the given request facts and realms passed.
func in(test string, request map[string]any, passed ...string) Input {
	return Input{Test: test, Passed: sortedCopy(passed), Request: request}
}

func TestDecide(t *testing.T) {
	ev := mustEvaluator(t, stepUpAndDeny)
	step1 := []string{"wl_antiXSRFRealm", "wl_remoteDisableRealm"}
	all := append(append([]string{}, step1...), "form", "wl_deviceNoProvisioningRealm")
	day := map[string]any{"hour": 12}
	cases := []struct {
		name  string
		input Input
		want  Decision
	}{
		{"nothing passed: step 1", in("steps", day),
			Decision{Outcome: Challenge, Step: 1, Steps: 3, Realms: step1}},
		{"part of step 1: the rest of it", in("steps", day, "wl_remoteDisableRealm"),
			Decision{Outcome: Challenge, Step: 1, Steps: 3, Realms: []string{"wl_antiXSRFRealm"}}},
		{"step 1 passed: step 2", in("steps", day, step1...),
			Decision{Outcome: Challenge, Step: 2, Steps: 3, Realms: []string{"form"}}},
		{"a later step passed alone does not skip earlier ones", in("steps", day, "form", "wl_deviceNoProvisioningRealm"),
			Decision{Outcome: Challenge, Step: 1, Steps: 3, Realms: step1}},
		{"steps 1 and 2 passed: step 3", in("steps", day, append(step1, "form")...),
			Decision{Outcome: Challenge, Step: 3, Steps: 3, Realms: []string{"wl_deviceNoProvisioningRealm"}}},
		{"all passed", in("steps", day, all...), Decision{Outcome: Allow}},
		{"no request facts", in("steps", nil, all...), Decision{Outcome: Allow}},
		{"web: anti-XSRF and the user realm in one step", in("web", day), Decision{Outcome: Challenge, Step: 1, Steps: 1, Realms: []string{"form", "wl_antiXSRFRealm"}}},
		{"step-up after the test's steps", in("steps", map[string]any{"hour": 12, "amount": 5000}, all...),
			Decision{Outcome: Challenge, Step: 4, Steps: 4, Realms: []string{"otp"}}},
		{"step-up waits for the test's steps", in("steps", map[string]any{"hour": 12, "amount": 5000}, step1...),
			Decision{Outcome: Challenge, Step: 2, Steps: 4, Realms: []string{"form"}}},
		{"step-up of two realms", in("steps", map[string]any{"hour": 12, "amount": 50000}, all...),
			Decision{Outcome: Challenge, Step: 4, Steps: 4, Realms: []string{"manager", "otp"}}},
		{"step-up partly passed", in("steps", map[string]any{"hour": 12, "amount": 50000}, append(all, "otp")...),
			Decision{Outcome: Challenge, Step: 4, Steps: 4, Realms: []string{"manager"}}},
		{"step-up passed", in("steps", map[string]any{"hour": 12, "amount": 50000}, append(all, "otp", "manager")...),
			Decision{Outcome: Allow}},
		{"step-up of an undefined realm denies", in("steps", map[string]any{"hour": 12, "amount": -1}, all...),
			Decision{Outcome: Deny, Reasons: []string{`a policy requires realm "nosuch", which the project does not define`}}},
		{"deny wins over allow", in("steps", map[string]any{"hour": 3}, all...),
			Decision{Outcome: Deny, Reasons: []string{"closed at night"}}},
		{"deny wins over a challenge", in("web", map[string]any{"hour": 3}),
			Decision{Outcome: Deny, Reasons: []string{"closed at night"}}},
		{"deny wins over step-up; every reason", in("steps", map[string]any{"hour": 3, "country": "XX", "amount": 50000}),
			Decision{Outcome: Deny, Reasons: []string{"closed at night", "country XX is blocked"}}},
	}
	ctx := context.Background()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, f := range []struct {
				name string
				eval func(context.Context, Input) (Decision, error)
			}{{"Eval", ev.Eval}, {"Decide", ev.Decide}, {"Decide again", ev.Decide}} {
				got, err := f.eval(ctx, tc.input)
				if err != nil {
					t.Fatalf("%s: %v", f.name, err)
				}
				if diff := cmp.Diff(tc.want, got, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("%s (-want +got):\n%s", f.name, diff)
				}
			}
		})
	}
}

func TestDecideUnknownTest(t *testing.T) {
	ev := mustEvaluator(t, nil)
	for _, input := range []Input{in("nosuch", nil), {Passed: []string{}}, {}} {
		for i := 0; i < 2; i++ { // a second call must not come from a memo
			_, err := ev.Decide(context.Background(), input)
			if !errors.Is(err, ErrNoDecision) {
				t.Errorf("Decide(%+v) error = %v, want ErrNoDecision", input, err)
			}
		}
	}
}

func TestEvaluatorRevision(t *testing.T) {
	ev, mods, err := newEvaluator(t, stepUpAndDeny)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Revision() != Revision(mods) {
		t.Errorf("Revision() = %s, want %s", ev.Revision(), Revision(mods))
	}
	other, mods2, err := newEvaluator(t, nil)
	if err != nil {
		t.Fatal(err)
	}
	if other.Revision() == ev.Revision() || other.Revision() != Revision(mods2) {
		t.Error("two policy sets share a revision")
	}
}

// TestDecideRuntimeError: a policy that fails at evaluation fails the decision every time; the
// failure is not memoized as a decision.
func TestDecideRuntimeError(t *testing.T) {
	ev := mustEvaluator(t, map[string]string{"conflict.rego": `package realmgate.user.conflict

mode := "a" if input.request.x == 1

mode := "b" if input.request.x == 1

deny contains mode if mode == "never"
`})
	if memo, _ := ev.Memoized(); !memo {
		t.Fatal("expected a memoized evaluator")
	}
	input := in("web", map[string]any{"x": 1})
	for i := 0; i < 3; i++ {
		if d, err := ev.Decide(context.Background(), input); err == nil {
			t.Fatalf("call %d: Decide = %+v, want a conflict error", i, d)
		}
	}
	if d, err := ev.Decide(context.Background(), in("web", map[string]any{"x": 2})); err != nil || d.Outcome != Challenge {
		t.Errorf("Decide without the conflict = %+v, %v", d, err)
	}
}

func TestUserPolicyRefused(t *testing.T) {
	cases := []struct {
		name   string
		file   string
		source string
		want   []string // diagnostics as FILE:LINE: severity: message prefix
	}{
		{
			name:   "package outside realmgate.user",
			file:   "override.rego",
			source: "# Tries to replace a test's decision.\npackage realmgate.tests.web\n\ndecision := {\"outcome\": \"allow\"}\n",
			want:   []string{"policies/override.rego:2: error: policy package realmgate.tests.web is outside realmgate.user.*"},
		},
		{
			name:   "the realmgate.user package itself",
			file:   "user.rego",
			source: "package realmgate.user\n\nx := 1\n",
			want:   []string{"policies/user.rego:1: error: policy package realmgate.user is outside realmgate.user.*"},
		},
		{
			name:   "a look-alike prefix",
			file:   "users.rego",
			source: "package realmgate.users.x\n\nx := 1\n",
			want:   []string{"policies/users.rego:1: error: policy package realmgate.users.x is outside realmgate.user.*"},
		},
		{
			name:   "the library package",
			file:   "lib.rego",
			source: "package realmgate.lib\n\npassed := {\"form\"}\n",
			want:   []string{"policies/lib.rego:1: error: policy package realmgate.lib is outside realmgate.user.*"},
		},
		{
			name:   "syntax error",
			file:   "broken.rego",
			source: "package realmgate.user.broken\n\ndeny contains \"x\" if {\n\tinput.request.a ==\n}\n",
			want:   []string{"policies/broken.rego:5: error: "},
		},
		{
			name:   "v0 syntax",
			file:   "old.rego",
			source: "package realmgate.user.old\n\ndeny[msg] {\n\tmsg := \"x\"\n}\n",
			want: []string{
				"policies/old.rego:3: error: `contains` keyword is required for partial set rules",
				"policies/old.rego:3: error: `if` keyword is required before rule body",
			},
		},
		{
			// "deny if ..." is the usual OPA idiom, but the library reads deny as a set of
			// messages: a boolean deny would never deny.
			name:   "boolean deny",
			file:   "bool.rego",
			source: "package realmgate.user.bool\n\ndefault deny := false\n\ndeny if input.request.hour < 6\n",
			want: []string{
				`policies/bool.rego:3: error: rule deny is not a set: the library reads deny as a set of messages, so this rule would never deny`,
				`policies/bool.rego:5: error: rule deny is not a set: the library reads deny as a set of messages, so this rule would never deny`,
			},
		},
		{
			name:   "deny of one message",
			file:   "one.rego",
			source: "package realmgate.user.one\n\ndeny := \"closed\"\n",
			want:   []string{`policies/one.rego:3: error: rule deny is not a set`},
		},
		{
			name:   "deny of nested sets",
			file:   "nested.rego",
			source: "package realmgate.user.nested\n\ndeny.night contains \"x\" if true\n",
			want:   []string{`policies/nested.rego:3: error: rule deny is not a set`},
		},
		{
			name:   "deny as a function",
			file:   "function.rego",
			source: "package realmgate.user.function\n\ndeny(x) := x\n",
			want:   []string{`policies/function.rego:3: error: rule deny is not a set`},
		},
		{
			name:   "require of one realm",
			file:   "one.rego",
			source: "package realmgate.user.one\n\nrequire := \"otp\" if input.request.amount > 10\n\nrequire_other contains \"otp\" if true\n",
			want:   []string{`policies/one.rego:3: error: rule require is not a set: the library reads require as a set of realm names, so this rule would never step up`},
		},
		{
			name:   "unknown function",
			file:   "typo.rego",
			source: "package realmgate.user.typo\n\n\ndeny contains \"x\" if strings.has_prefix(input.request.path, \"/admin\")\n",
			want:   []string{"policies/typo.rego:4: error: undefined function strings.has_prefix"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, _, err := newEvaluator(t, map[string]string{tc.file: tc.source})
			var le *project.LoadError
			if !errors.As(err, &le) {
				t.Fatalf("NewEvaluator error = %v, want a *LoadError", err)
			}
			got := diagLines(le.Diagnostics)
			if len(got) != len(tc.want) {
				t.Fatalf("diagnostics = %q, want %q", got, tc.want)
			}
			for i := range got {
				if !strings.HasPrefix(got[i], tc.want[i]) {
					t.Errorf("diagnostic %d = %q, want it to start with %q", i, got[i], tc.want[i])
				}
			}
			for _, d := range le.Diagnostics {
				if d.Pos.Line <= 0 {
					t.Errorf("diagnostic without a line: %s", d)
				}
			}
		})
	}
}

// TestMemoizedDependencies checks which input paths decisions are memoized on, and that
// memoization is off for policies whose result is not a function of those paths.
func TestMemoizedDependencies(t *testing.T) {
	base := []string{"input.passed", "input.test"}
	cases := []struct {
		name   string
		policy string // body of package realmgate.user.p
		memo   bool
		paths  []string
	}{
		{name: "no user policy", memo: true, paths: base},
		{name: "one fact", policy: `deny contains "x" if input.request.ip == "10.0.0.1"`, memo: true,
			paths: append(base, "input.request.ip")},
		{name: "nested facts", policy: `
require contains "otp" if input.request.params.amount > 100

deny contains "x" if input.request.params.currency == "XXX"
`, memo: true, paths: append(base, "input.request.params.amount", "input.request.params.currency")},
		{name: "a dynamic key reads its parent", policy: `
deny contains k if {
	some k in ["a", "b"]
	input.request.headers[k] == "x"
}

deny contains "y" if input.request.headers.c == "y"
`, memo: true, paths: append(base, "input.request.headers")},
		{name: "iteration reads the collection", policy: `deny contains v if some v in input.request.flags`, memo: true,
			paths: append(base, "input.request.flags")},
		{name: "a shorter path covers longer ones", policy: `
deny contains "x" if input.request.a.b == 1

deny contains "y" if count(input.request) > 5
`, memo: true, paths: append(base, "input.request")},
		{name: "an imported input path", policy: `import input.request

deny contains "x" if request.ip == "10.0.0.1"
`, memo: true, paths: append(base, "input.request.ip")},
		{name: "every", policy: `deny contains "x" if every v in input.request.list { v > 1 }`, memo: true,
			paths: append(base, "input.request.list")},
		{name: "input in a rule head", policy: `deny contains input.request.msg if input.request.flag`, memo: true,
			paths: append(base, "input.request.flag", "input.request.msg")},
		{name: "input in a comprehension", policy: `deny contains "x" if count({k | some k, _ in input.request.headers}) > 3`, memo: true,
			paths: append(base, "input.request.headers")},
		{name: "time.now_ns", policy: `deny contains "late" if time.now_ns() > 0`},
		{name: "time.now_ns in a helper rule", policy: `
now := time.now_ns()

deny contains "late" if now < 0
`},
		{name: "time.now_ns nested in a call", policy: `deny contains "late" if time.weekday(time.now_ns()) == "Sunday"`},
		{name: "time.now_ns in a function", policy: `
clock(_) := time.now_ns()

deny contains "late" if clock(1) < 0
`},
		{name: "time.now_ns in a comprehension", policy: `deny contains "x" if count([t | t := time.now_ns()]) > 5`},
		{name: "rand.intn", policy: `deny contains "unlucky" if rand.intn("x", 10) == 0`},
		{name: "http.send", policy: `deny contains "x" if http.send({"method": "GET", "url": "http://127.0.0.1:1/"}).status_code == 500`},
		{name: "uuid.rfc4122", policy: `deny contains "x" if uuid.rfc4122("a") == ""`},
		{name: "io.jwt.decode_verify reads the clock", policy: `deny contains "x" if {
	[valid, _, _] := io.jwt.decode_verify(input.request.token, {"secret": "k"})
	not valid
}`},
		{name: "certificate verification reads the clock", policy: `deny contains "x" if {
	[valid, _] := crypto.x509.parse_and_verify_certificates(input.request.chain)
	not valid
}`},
		{name: "certificate verification with options reads the clock", policy: `deny contains "x" if {
	[valid, _] := crypto.x509.parse_and_verify_certificates_with_options(input.request.chain, {})
	not valid
}`},
		{name: "input as a whole", policy: `deny contains "x" if count(input) > 3`},
		{name: "input assigned", policy: `
everything := input

deny contains "x" if everything.request.a == 1
`},
		{name: "input passed to a built-in", policy: `deny contains "x" if object.get(input, ["request", "a"], 0) == 1`},
		{name: "input walked", policy: `deny contains "x" if {
	walk(input, [_, v])
	v == "evil"
}`},
		{name: "a dynamic first key", policy: `deny contains "x" if {
	some k in ["request"]
	input[k].a == 1
}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var pol map[string]string
			if tc.policy != "" {
				pol = map[string]string{"p.rego": "package realmgate.user.p\n\n" + tc.policy + "\n"}
			}
			ev := mustEvaluator(t, pol)
			memo, paths := ev.Memoized()
			if memo != tc.memo {
				t.Errorf("Memoized() = %v, want %v (paths %q)", memo, tc.memo, paths)
			}
			if diff := cmp.Diff(sortedCopy(tc.paths), sortedCopy(paths), cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("dependency paths (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDecideConcurrent runs decisions from several goroutines (go test -race finds data races in
// the memo).
func TestDecideConcurrent(t *testing.T) {
	ev := mustEvaluator(t, stepUpAndDeny)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				input := in("steps", map[string]any{"hour": 12, "amount": (g*50 + i) % 3 * 6000})
				d, err := ev.Decide(context.Background(), input)
				plain, err2 := ev.Eval(context.Background(), input)
				if err != nil || err2 != nil || !decisionEqual(d, plain) {
					errs <- fmt.Errorf("goroutine %d: Decide = %+v, %v; Eval = %+v, %v", g, d, err, plain, err2)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestExampleProjectEvaluates(t *testing.T) {
	p := mustLoad(t, exampleProject("bank"))
	mods, err := CompileRego(p)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := NewEvaluator(context.Background(), mods)
	if err != nil {
		t.Fatal(err)
	}
	memo, paths := ev.Memoized()
	want := []string{"input.passed", "input.request.channel", "input.request.country", "input.request.hour",
		"input.request.params.amount", "input.request.procedure", "input.test"}
	if !memo {
		t.Error("the bank project's decisions are not memoized")
	}
	if diff := cmp.Diff(want, sortedCopy(paths)); diff != "" {
		t.Errorf("dependency paths (-want +got):\n%s", diff)
	}
}

// TestMemoKeyTellsApart decides pairs of inputs that share every fact a naive key would encode
// alike, one after the other: the second must not get the first one's memoized decision, and
// each must get what a plain Eval of it gets.
func TestMemoKeyTellsApart(t *testing.T) {
	ev := mustEvaluator(t, map[string]string{"p.rego": `package realmgate.user.p

deny contains "no flag" if not input.request.flag

deny contains "admin" if input.request.headers.role == "admin"

deny contains "null headers" if input.request.headers == null

deny contains "null tags" if input.request.tags == null

deny contains "null passed" if input.passed == null

deny contains "null request" if input.request == null

deny contains "null attributes" if input.resource.attributes == null

deny contains "old app" if input.app.version == "1.0"

deny contains "kind in the name" if input.resource.name == "procedure"

deny contains "no path" if not input.resource.attributes.path

deny contains "not a teller" if {
	input.request.teller
	not "tellers" in input.user.groups
}
`})
	flag := map[string]any{"flag": true}
	attrs := map[string]any{"path": "/x"}
	pairs := []struct {
		name string
		a, b Input
	}{
		{"missing and null",
			Input{Request: map[string]any{"flag": nil}},
			Input{Request: map[string]any{}}},
		{"headers as map[string]string",
			Input{Request: map[string]any{"flag": true, "headers": map[string]string{"role": "user"}}},
			Input{Request: map[string]any{"flag": true, "headers": map[string]string{"role": "admin"}}}},
		{"map[string]string at one depth and at another",
			Input{Request: map[string]any{"flag": true, "headers": map[string]string{"role": "admin"}}},
			Input{Request: map[string]any{"flag": true, "headers": map[string]any{"role": map[string]string{"role": "admin"}}}}},
		{"nil and empty []string",
			Input{Request: map[string]any{"flag": true, "tags": []string{}}},
			Input{Request: map[string]any{"flag": true, "tags": []string(nil)}}},
		{"nil and empty map",
			Input{Request: map[string]any{"flag": true, "headers": map[string]any{}}},
			Input{Request: map[string]any{"flag": true, "headers": map[string]any(nil)}}},
		{"no request facts and an empty request",
			Input{Request: map[string]any{}},
			Input{Request: nil}},
		{"nil and empty realms passed",
			Input{Passed: []string{}, Request: flag},
			Input{Passed: nil, Request: flag}},
		{"nil and empty resource attributes",
			Input{Resource: Resource{Attributes: map[string]any{}}, Request: flag},
			Input{Resource: Resource{Attributes: nil}, Request: flag}},
		{"the application's version",
			Input{App: App{ID: "1.0", Env: "1.0", Version: "2.0"}, Request: flag},
			Input{App: App{ID: "2.0", Env: "2.0", Version: "1.0"}, Request: flag}},
		{"a resource's kind and name",
			Input{Resource: Resource{Kind: "procedure", Name: "app", Attributes: attrs}, Request: flag},
			Input{Resource: Resource{Kind: "app", Name: "procedure", Attributes: attrs}, Request: flag}},
		{"the user's groups",
			Input{User: map[string]any{"userId": "alice", "groups": []any{"tellers"}}, Resource: Resource{Attributes: attrs}, Request: map[string]any{"flag": true, "teller": true}},
			Input{User: map[string]any{"userId": "bob", "groups": []any{}}, Resource: Resource{Attributes: attrs}, Request: map[string]any{"flag": true, "teller": true}}},
		{"a resource attribute and a request fact of the same name",
			Input{Resource: Resource{Attributes: attrs}, Request: flag},
			Input{Resource: Resource{Attributes: map[string]any{}}, Request: map[string]any{"flag": true, "path": "/x"}}},
	}
	ctx := context.Background()
	for _, tc := range pairs {
		t.Run(tc.name, func(t *testing.T) {
			a, b := tc.a, tc.b
			for _, in := range []*Input{&a, &b} {
				in.Test = "web"
				if in.Passed == nil && !strings.Contains(tc.name, "passed") {
					in.Passed = []string{}
				}
			}
			for _, input := range []Input{a, b, a, b} {
				want, err := ev.Eval(ctx, input)
				if err != nil {
					t.Fatal(err)
				}
				got, err := ev.Decide(ctx, input)
				if err != nil {
					t.Fatal(err)
				}
				if !decisionEqual(want, got) {
					t.Fatalf("%s: Decide = %+v, Eval = %+v", show(input), got, want)
				}
			}
			da, _ := ev.Eval(ctx, a)
			db, _ := ev.Eval(ctx, b)
			if decisionEqual(da, db) {
				t.Errorf("the pair decides alike (%+v): it tests nothing", da)
			}
		})
	}
}

// TestMemoKeyDepth: a path that stops early at a Go map of strings must not share a key with one
// that stops later at an equal map.
func TestMemoKeyDepth(t *testing.T) {
	ev := mustEvaluator(t, map[string]string{"p.rego": "package realmgate.user.p\n\ndeny contains \"five\" if input.request.a.params.amount == \"5\"\n"})
	ctx := context.Background()
	shallow := Input{Test: "web", Passed: []string{}, Request: map[string]any{"a": map[string]string{"amount": "5"}}}
	deep := Input{Test: "web", Passed: []string{}, Request: map[string]any{"a": map[string]any{"params": map[string]string{"amount": "5"}}}}
	for _, input := range []Input{shallow, deep, shallow, deep} {
		want, _ := ev.Eval(ctx, input)
		got, err := ev.Decide(ctx, input)
		if err != nil || !decisionEqual(want, got) {
			t.Fatalf("%s: Decide = %+v, %v; Eval = %+v", show(input), got, err, want)
		}
	}
	if d, _ := ev.Eval(ctx, deep); d.Outcome != Deny {
		t.Errorf("deep input: %+v, want deny", d)
	}
	if d, _ := ev.Eval(ctx, shallow); d.Outcome == Deny {
		t.Errorf("shallow input: %+v, want no denial", d)
	}
}

// TestDecisionIsACopy: changing a decision's lists does not change what the memo answers next.
func TestDecisionIsACopy(t *testing.T) {
	ev := mustEvaluator(t, stepUpAndDeny)
	ctx := context.Background()
	for _, input := range []Input{in("steps", map[string]any{"hour": 1}), in("steps", map[string]any{"hour": 12})} {
		first, err := ev.Decide(ctx, input)
		if err != nil {
			t.Fatal(err)
		}
		want := first.clone()
		for i := range first.Realms {
			first.Realms[i] = "changed"
		}
		for i := range first.Reasons {
			first.Reasons[i] = "changed"
		}
		for i := 0; i < 2; i++ {
			got, err := ev.Decide(ctx, input)
			if err != nil {
				t.Fatal(err)
			}
			if !decisionEqual(want, got) {
				t.Fatalf("after changing a returned decision, Decide = %+v, want %+v", got, want)
			}
			got.Realms = append(got.Realms[:0], "changed")
		}
	}
}

// TestMemo: Memo answers what Decide memoized, and nothing before Decide decided an input, after
// a failed evaluation, or when decisions are not memoized.
func TestMemo(t *testing.T) {
	ctx := context.Background()
	ev := mustEvaluator(t, stepUpAndDeny)
	input := in("steps", map[string]any{"hour": 12, "amount": 5000}, "wl_antiXSRFRealm", "wl_remoteDisableRealm")
	if d, ok := ev.Memo(input); ok {
		t.Fatalf("Memo before any decision = %+v", d)
	}
	want, err := ev.Decide(ctx, input)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := ev.Memo(input)
	if !ok || !decisionEqual(want, got) {
		t.Fatalf("Memo after Decide = %+v, %v; want %+v", got, ok, want)
	}
	// A fact the policies read makes another input; one they do not read does not.
	if _, ok := ev.Memo(in("steps", map[string]any{"hour": 12, "amount": 50000}, "wl_antiXSRFRealm", "wl_remoteDisableRealm")); ok {
		t.Error("Memo answers for another amount")
	}
	noisy := in("steps", map[string]any{"hour": 12, "amount": 5000, "userAgent": "x"}, "wl_antiXSRFRealm", "wl_remoteDisableRealm")
	if got, ok := ev.Memo(noisy); !ok || !decisionEqual(want, got) {
		t.Errorf("Memo with a fact no policy reads = %+v, %v; want %+v", got, ok, want)
	}
	got.Realms[0] = "changed"
	if again, _ := ev.Memo(input); !decisionEqual(want, again) {
		t.Errorf("after changing what Memo returned, Memo = %+v", again)
	}

	if _, err := ev.Decide(ctx, in("nosuch", nil)); err == nil {
		t.Fatal("Decide of an unknown test succeeded")
	}
	if d, ok := ev.Memo(in("nosuch", nil)); ok {
		t.Errorf("Memo after a failed evaluation = %+v", d)
	}

	clock := mustEvaluator(t, map[string]string{"p.rego": "package realmgate.user.p\n\ndeny contains \"late\" if time.now_ns() < 0\n"})
	if _, err := clock.Decide(ctx, in("web", nil)); err != nil {
		t.Fatal(err)
	}
	if d, ok := clock.Memo(in("web", nil)); ok {
		t.Errorf("Memo of an evaluator that does not memoize = %+v", d)
	}
}
