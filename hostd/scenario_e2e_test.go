package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/policies/scenario"
	"github.com/realmgate/realmgate/project"
)

// TestScenarioInputIsTheEngines: the policy input a scenario is decided on (scenario.Build) is
// the one the daemon's engine builds for the same request over HTTP, and a scenario is blocked
// before the policies exactly when the daemon refuses the request before them (remote-disable
// rules). A user rule of the project denies every request with its input as the message, so the
// client sees what the policies saw.
func TestScenarioInputIsTheEngines(t *testing.T) {
	dir := copyExample(t, nil)
	mustWrite(t, filepath.Join(dir, "policies", "echo.rego"), `package realmgate.user.echo

# Every request is refused with the input the policies decided on.
deny contains json.marshal(input)
`)
	p, err := project.Load(dir, project.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, dir, "")
	cases := []struct {
		name, env, version string
		method, path, body string
		resource           scenario.Resource
		facts              scenario.Facts
		// rules are the remote-disable rules of BankApp/android during the request.
		rules string
		// blocked is the error code of a request refused before the policies.
		blocked string
	}{
		{name: "app init", env: "android", version: "2.1.0", method: "POST", path: "/api/v1/apps/BankApp/android/init", body: "{}",
			resource: scenario.Resource{Kind: "app", Name: "BankApp/android"},
			facts:    scenario.Facts{App: scenario.App{Version: "2.1.0"}}},
		{name: "procedure with parameters", env: "iphone", version: "1.9.0", method: "POST", path: "/api/v1/adapters/Accounts/payBill",
			body:     `{"parameters": [{"payee": "gas", "amount": 1500.50, "tags": ["a", 2, true, null]}]}`,
			resource: scenario.Resource{Kind: "procedure", Name: "Accounts.payBill"},
			facts: scenario.Facts{App: scenario.App{ID: "BankApp", Env: "iphone", Version: "1.9.0"},
				Parameters: []any{map[string]any{"payee": "gas", "amount": json.Number("1500.50"), "tags": []any{"a", json.Number("2"), true, nil}}}}},
		{name: "procedure of its own test", env: "mobilewebapp", version: "3.0.0", method: "POST", path: "/api/v1/adapters/Accounts/transfer", body: `{}`,
			resource: scenario.Resource{Kind: "procedure", Name: "Accounts.transfer"},
			facts:    scenario.Facts{App: scenario.App{ID: "BankApp", Env: "mobilewebapp", Version: "3.0.0"}}},
		{name: "static without the application headers", method: "GET", path: "/statements/2026-11.txt",
			resource: scenario.Resource{Kind: "static", Name: "/statements/2026-11.txt"}},
		{name: "remote-disable notice", env: "android", version: "1.4.0", method: "POST", path: "/api/v1/apps/BankApp/android/init", body: "{}",
			rules:    `{"rules":[{"versions":"<2.0.0","action":"notify","message":"Update soon"}]}`,
			resource: scenario.Resource{Kind: "app", Name: "BankApp/android"},
			facts:    scenario.Facts{App: scenario.App{Version: "1.4.0"}, RemoteDisable: "notify"}},
		{name: "remote-disable block", env: "android", version: "1.4.0", method: "POST", path: "/api/v1/apps/BankApp/android/init", body: "{}",
			rules:    `{"rules":[{"versions":"<2.0.0","action":"block","message":"Please update"}]}`,
			resource: scenario.Resource{Kind: "app", Name: "BankApp/android"},
			facts:    scenario.Facts{App: scenario.App{Version: "1.4.0"}, RemoteDisable: "block"}, blocked: "application_disabled"},
		// transferTests holds no wl_remoteDisableRealm: a block rule does not apply to it. (A
		// version 0.x, which the project's deny rule of versions 1.x lets through.)
		{name: "remote-disable block, test without the realm", env: "android", version: "0.9.0", method: "POST", path: "/api/v1/adapters/Accounts/transfer", body: "{}",
			rules:    `{"rules":[{"versions":"<2.0.0","action":"block","message":"Please update"}]}`,
			resource: scenario.Resource{Kind: "procedure", Name: "Accounts.transfer"},
			facts:    scenario.Facts{App: scenario.App{ID: "BankApp", Env: "android", Version: "0.9.0"}, RemoteDisable: "block"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRaw(t, d, tc.env, tc.version)
			if tc.env == "" {
				r.headers = map[string]string{}
			}
			if tc.rules != "" {
				if st, body := admin(t, d, "PUT", "/admin/v1/apps/BankApp/android/remote-disable", tc.rules, adminToken); st != 200 && st != 204 {
					t.Fatalf("remote-disable rules: %d %v", st, body)
				}
				t.Cleanup(func() {
					admin(t, d, "PUT", "/admin/v1/apps/BankApp/android/remote-disable", `{"rules":[]}`, adminToken)
				})
			}
			req, err := scenario.Build(p, tc.resource, tc.facts)
			if err != nil {
				t.Fatal(err)
			}
			status, body, _ := r.do(tc.method, tc.path, tc.body)
			if tc.blocked != "" {
				if status != 403 || body["error"] != tc.blocked || req.Blocked == "" {
					t.Fatalf("daemon: %d %v; scenario blocked: %q; want both refusing before the policies", status, body, req.Blocked)
				}
				return
			}
			if req.Blocked != "" {
				t.Fatalf("the scenario is blocked (%s), the daemon answered %d %v", req.Blocked, status, body)
			}
			msg, _ := body["message"].(string)
			if status != 403 || body["error"] != "policy_denied" {
				t.Fatalf("%s %s: %d %v, want the echo rule's denial", tc.method, tc.path, status, body)
			}
			var engine any
			if err := json.Unmarshal([]byte(msg), &engine); err != nil {
				t.Fatalf("the denial is not the input: %q", msg)
			}
			b, err := json.Marshal(req.Input)
			if err != nil {
				t.Fatal(err)
			}
			var built any
			if err := json.Unmarshal(b, &built); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(engine, built); diff != "" {
				t.Errorf("scenario input differs from the engine's (-engine +scenario):\n%s", diff)
			}
		})
	}
}
