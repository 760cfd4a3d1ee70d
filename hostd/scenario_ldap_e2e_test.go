package main

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
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
