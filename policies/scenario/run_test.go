package scenario

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/policies"
	"github.com/realmgate/realmgate/project"
)

const bankDir = "../../examples/banking"

func loadBank(t *testing.T) (*project.Project, *policies.Evaluator) {
	t.Helper()
	p, err := project.Load(bankDir, project.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	mods, err := policies.CompileRego(p)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := policies.NewEvaluator(context.Background(), mods)
	if err != nil {
		t.Fatal(err)
	}
	return p, ev
}

// TestBuild: a resource resolves to the security test the server applies to it, and the facts to
// the engine's input (hostd's TestScenarioInputIsTheEngines checks the input against the daemon).
func TestBuild(t *testing.T) {
	p, _ := loadBank(t)
	android := App{ID: "BankApp", Env: "Android", Version: "2.1.0"}
	cases := []struct {
		name  string
		res   Resource
		facts Facts
		test  string
		// passed and blocked are what the engine's observation makes of the facts.
		passed      []string
		blocked     string
		unprotected bool
		err         string
	}{
		{name: "environment's test", res: Resource{KindApp, "BankApp/android"}, test: "mobileTests", passed: []string{"wl_remoteDisableRealm"}},
		{name: "procedure's own test", res: Resource{KindProcedure, "Accounts.transfer"}, facts: Facts{App: android, Passed: []string{"BankLogin"}},
			test: "transferTests", passed: []string{"BankLogin"}},
		{name: "procedure of the environment's test", res: Resource{KindProcedure, "Accounts.getBalance"}, facts: Facts{App: App{ID: "BankApp", Env: "mobilewebapp"}},
			test: "webTests", passed: []string{}},
		{name: "unprotected procedure", res: Resource{KindProcedure, "Accounts.getRates"}, facts: Facts{App: android}, unprotected: true},
		{name: "static by its URL", res: Resource{KindStatic, "/statements/x/../2026-11.txt"}, test: "webTests", passed: []string{}},
		{name: "token scope", res: Resource{KindToken, "offersTests"}, facts: Facts{App: android}, test: "offersTests", passed: []string{}},
		{name: "token of the environment", res: Resource{KindToken, ""}, facts: Facts{App: android}, test: "mobileTests", passed: []string{"wl_remoteDisableRealm"}},
		{name: "remote-disable notice", res: Resource{KindApp, "BankApp/android"}, facts: Facts{RemoteDisable: "notify", Passed: []string{"wl_remoteDisableRealm"}},
			test: "mobileTests", passed: []string{}},
		{name: "remote-disable block", res: Resource{KindApp, "BankApp/android"}, facts: Facts{RemoteDisable: "block"},
			test: "mobileTests", passed: []string{}, blocked: "the application is disabled by a remote-disable rule"},
		{name: "remote-disable without the realm", res: Resource{KindProcedure, "Accounts.transfer"}, facts: Facts{App: android, RemoteDisable: "block"},
			test: "transferTests", passed: []string{}},
		{name: "blocked device", res: Resource{KindApp, "BankApp/android"}, facts: Facts{DeviceBlocked: true, Passed: []string{"wl_deviceNoProvisioningRealm"}},
			test: "mobileTests", passed: []string{"wl_deviceNoProvisioningRealm", "wl_remoteDisableRealm"}, blocked: "this device is blocked; contact your administrator"},
		{name: "blocked device not signed in", res: Resource{KindApp, "BankApp/android"}, facts: Facts{DeviceBlocked: true},
			test: "mobileTests", passed: []string{"wl_remoteDisableRealm"}},
		{name: "unknown application", res: Resource{KindApp, "Nope/android"}, err: `application "Nope" is not deployed`},
		{name: "unknown environment", res: Resource{KindApp, "BankApp/windows"}, err: `application "BankApp" has no environment "windows"`},
		{name: "two applications", res: Resource{KindApp, "BankApp/android"}, facts: Facts{App: App{ID: "Other"}}, err: "app Other/ differs from the resource's application BankApp/android"},
		{name: "no application", res: Resource{KindProcedure, "Accounts.transfer"}, err: "a procedure request comes from an application: give app id and env"},
		{name: "unknown adapter", res: Resource{KindProcedure, "Cards.list"}, facts: Facts{App: android}, err: `adapter "Cards" is not deployed`},
		{name: "unknown procedure", res: Resource{KindProcedure, "Accounts.close"}, facts: Facts{App: android}, err: `adapter "Accounts" has no procedure "close" that clients may call`},
		{name: "no static resource", res: Resource{KindStatic, "/index.html"}, err: "no static resource's URL pattern matches /index.html"},
		{name: "unprotected scope", res: Resource{KindToken, project.Unprotected}, facts: Facts{App: android}, err: `scope "wl_unprotected" is not a security test of this server`},
		{name: "parameters of an app", res: Resource{KindApp, "BankApp/android"}, facts: Facts{Parameters: []any{}}, err: "parameters are those of a procedure call, not of a app resource"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := Build(p, tc.res, tc.facts)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("Build: %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if req.Unprotected != tc.unprotected || req.Blocked != tc.blocked {
				t.Errorf("unprotected %v blocked %q, want %v %q", req.Unprotected, req.Blocked, tc.unprotected, tc.blocked)
			}
			if tc.unprotected {
				return
			}
			if req.Test != tc.test || req.Input.Test != tc.test {
				t.Errorf("test %q (input %q), want %q", req.Test, req.Input.Test, tc.test)
			}
			if diff := cmp.Diff(tc.passed, req.Input.Passed); diff != "" {
				t.Errorf("passed (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRun: a scenario passes when the evaluator's decision is the one it expects, and otherwise
// fails with a diff limited to what it states; one whose request cannot be built is an error.
func TestRun(t *testing.T) {
	p, ev := loadBank(t)
	src := `- name: allowed
  resource: {procedure: Accounts.getBalance}
  app: {id: BankApp, env: mobilewebapp}
  passed: [BankLogin, wl_antiXSRFRealm]
  expect: {decision: allow}
- name: wrong realms
  resource: {procedure: Accounts.getBalance}
  app: {id: BankApp, env: mobilewebapp}
  expect: {decision: challenge, realms: [BankLogin]}
- name: wrong reason
  resource: {procedure: Accounts.transfer}
  app: {id: BankApp, env: android, version: 1.0.0}
  expect: {decision: deny, reason: too old}
- name: right reason
  resource: {procedure: Accounts.transfer}
  app: {id: BankApp, env: android, version: 1.0.0}
  expect: {decision: deny, reason: "update the app to transfer money: versions before 2.0 cannot transfer"}
- name: no such procedure
  resource: {procedure: Accounts.close}
  app: {id: BankApp, env: android}
  expect: {decision: deny}
`
	ss, err := Parse("t.scenario.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	cov := policies.NewCover()
	rs := Run(context.Background(), p, ev, ss, cov)
	var got []string
	for _, r := range rs {
		got = append(got, strings.ReplaceAll(r.String(), "\u00a0", " "))
	}
	want := []string{
		`t.scenario.yaml:1: scenario "allowed": allow`,
		`t.scenario.yaml:9: scenario "wrong realms": got challenge step 1 of 1: BankLogin, wl_antiXSRFRealm, want challenge (-want +got):
  scenario.Expect{
  	Decision: "challenge",
  	Step:     0,
  	Realms: []string{
  		"BankLogin",
+ 		"wl_antiXSRFRealm",
  	},
  	Reason: "",
  }
`,
		`t.scenario.yaml:13: scenario "wrong reason": got deny: update the app to transfer money: versions before 2.0 cannot transfer, want deny (-want +got):
  scenario.Expect{
  	Decision: "deny",
  	Step:     0,
  	Realms:   nil,
- 	Reason:   "too old",
+ 	Reason:   "update the app to transfer money: versions before 2.0 cannot transfer",
  }
`,
		`t.scenario.yaml:14: scenario "right reason": deny: update the app to transfer money: versions before 2.0 cannot transfer`,
		`t.scenario.yaml:18: scenario "no such procedure": adapter "Accounts" has no procedure "close" that clients may call`,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	for i, passed := range []bool{true, false, false, true, false} {
		if rs[i].Passed() != passed {
			t.Errorf("scenario %q: Passed() = %v", rs[i].Scenario.Name, !passed)
		}
	}
	// The scenarios' decisions count for coverage: the user's deny rule ran.
	mods, err := policies.CompileRego(p)
	if err != nil {
		t.Fatal(err)
	}
	c, err := cov.Report(mods)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range c.Files {
		if f.File == "policies/transfers.rego" && !covers(f.Covered, 15) {
			t.Errorf("the deny rule of transfers.rego is not covered: %+v", f)
		}
	}
}

func covers(rs []policies.LineRange, line int) bool {
	for _, r := range rs {
		if r.First <= line && line <= r.Last {
			return true
		}
	}
	return false
}
