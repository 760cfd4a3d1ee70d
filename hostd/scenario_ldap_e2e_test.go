package main

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/client"
	"github.com/realmgate/realmgate/internal/slapdtest"
	"github.com/realmgate/realmgate/policies/scenario"
	"github.com/realmgate/realmgate/project"
)

// TestScenarioUserIsTheEngines: for users logged in against a real directory, the input the
// daemon decides on (input.user as the LdapLoginModule recorded it: groups, groupDNs, dn,
// attributes) is the input scenario.Build makes of the same user facts. A rule of the test
// project denies every request of a signed-in user with the input as its reason.
func TestScenarioUserIsTheEngines(t *testing.T) {
	s := slapdtest.StartLDIF(t, exampleLDIF(t))
	dir := ldapExample(t, s, nil)
	mustWrite(t, filepath.Join(dir, "policies", "echo.rego"), `package realmgate.user.echo

# Every request of a signed-in user is refused with the input the policies decided on.
deny contains json.marshal(input) if input.user.userId
`)
	p, err := project.Load(dir, project.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, dir, "")
	app := scenario.App{ID: "TellerApp", Env: "mobilewebapp", Version: "1.0"}
	cases := []struct {
		user, password string
		procedure      string
		params         []any
		facts          scenario.Facts
	}{
		{user: "alice", password: "alice-secret", procedure: "approveLoan", params: []any{map[string]any{"amount": 1000}},
			facts: scenario.Facts{App: app, Passed: []string{"DirectoryLogin", "wl_antiXSRFRealm"},
				Parameters: []any{map[string]any{"amount": json.Number("1000")}},
				User: &scenario.User{ID: "alice", DisplayName: "Alice Teller", DN: "uid=alice,ou=people,dc=example,dc=com",
					Groups: []string{"tellers"}, GroupDNs: []string{"cn=tellers,ou=groups,dc=example,dc=com"},
					Attributes: map[string][]string{"mail": {"alice@example.com"}, "displayName": {"Alice Teller"}}}}},
		{user: "carol", password: "carol-secret", procedure: "refund", params: []any{map[string]any{"amount": 20}},
			facts: scenario.Facts{App: app, Passed: []string{"DirectoryLogin", "wl_antiXSRFRealm"},
				Parameters: []any{map[string]any{"amount": json.Number("20")}},
				User: &scenario.User{ID: "carol", DisplayName: "Carol Sales", DN: "uid=carol,ou=people,dc=example,dc=com",
					Groups: []string{"sales"}, GroupDNs: []string{"cn=sales,ou=groups,dc=example,dc=com"},
					Attributes: map[string][]string{"mail": {"carol@example.com"}, "displayName": {"Carol Sales"}}}}},
	}
	for _, tc := range cases {
		t.Run(tc.user, func(t *testing.T) {
			req, err := scenario.Build(p, scenario.Resource{Kind: scenario.KindProcedure, Name: "Teller." + tc.procedure}, tc.facts)
			if err != nil {
				t.Fatal(err)
			}
			c := tellerClient(t, d, tc.user, tc.password)
			_, err = c.InvokeProcedure(context.Background(), "Teller", tc.procedure, tc.params...)
			var ce *client.Error
			if !errors.As(err, &ce) || ce.Status != 403 || ce.Code != "policy_denied" {
				t.Fatalf("%s calls %s: %v, want the echo rule's denial", tc.user, tc.procedure, err)
			}
			var engine any
			if err := json.Unmarshal([]byte(ce.Message), &engine); err != nil {
				t.Fatalf("the denial is not the input: %q", ce.Message)
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

// TestPolicyExplainRecordedUser: a decision the daemon logged for a directory user is explained
// from the log. The log holds no user identity, which the output says: without it carol's
// denial is made again as an allow. --facts gives it, and with carol's groups the decision made
// again is the one recorded.
func TestPolicyExplainRecordedUser(t *testing.T) {
	s := slapdtest.StartLDIF(t, exampleLDIF(t))
	dir := ldapExample(t, s, nil)
	d, logs := startDaemonLogged(t, dir)
	carol := tellerClient(t, d, "carol", "carol-secret")
	var ce *client.Error
	if _, err := carol.InvokeProcedure(context.Background(), "Teller", "approveLoan", map[string]any{"amount": 1000}); !errors.As(err, &ce) || ce.Code != "policy_denied" {
		t.Fatalf("carol approves a loan: %v, want policy_denied", err)
	}
	var id string
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec struct {
			Msg        string `json:"msg"`
			DecisionID string `json:"decision_id"`
			Resource   string `json:"resource"`
			Outcome    string `json:"outcome"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && rec.Msg == "decision" && rec.Resource == "Teller.approveLoan" && rec.Outcome == "deny" {
			id = rec.DecisionID
		}
	}
	if id == "" {
		t.Fatalf("no denial of Teller.approveLoan in the daemon's log:\n%s", logs.String())
	}
	logFile := filepath.Join(t.TempDir(), "decisions.log")
	mustWrite(t, logFile, logs.String())

	code, out, errs := runHostd(t, "policy", "explain", "--config", dir, "--decision", id, "--log", logFile)
	if code != 0 || !strings.Contains(out, "the record holds no user identity: rules that read input.user see null") ||
		!strings.Contains(out, "\ndecision: allow\n") {
		t.Errorf("without the user: exit %d:\n%s%s", code, out, errs)
	}
	facts := filepath.Join(t.TempDir(), "carol.yaml")
	mustWrite(t, facts, "user: {userId: carol, displayName: Carol Sales, groups: [sales]}\nparameters: [{amount: 1000}]\n")
	code, out, errs = runHostd(t, "policy", "explain", "--config", dir, "--decision", id, "--log", logFile, "--facts", facts)
	if code != 0 || !strings.Contains(out, "  recorded: deny: approving a loan is for the tellers group\n") ||
		!strings.Contains(out, "user: carol (groups: sales)\ndecision: deny: approving a loan is for the tellers group\n") ||
		strings.Contains(out, "holds no") {
		t.Errorf("with carol's groups: exit %d:\n%s%s", code, out, errs)
	}
	mustWrite(t, facts, "passed: [DirectoryLogin]\n")
	code, _, errs = runHostd(t, "policy", "explain", "--config", dir, "--decision", id, "--log", logFile, "--facts", facts)
	if code != 1 || !strings.Contains(errs, "with --decision, facts give only parameters and user: the rest is recorded") {
		t.Errorf("recorded facts given again: exit %d, stderr %q", code, errs)
	}
}
