package scenario

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/project"
)

const ldapDir = "../../examples/ldap"

// TestBuildUser: user facts become input.user in the shape the engine records for a login of the
// test's user realm: an LdapLoginModule's groups, groupDNs and attributes (lists and a mapping,
// never null), another login module's id and display name alone; facts no login of that realm
// can record are refused.
func TestBuildUser(t *testing.T) {
	ldap, err := project.Load(ldapDir, project.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bank, _ := loadBank(t)
	portal, err := project.Load("../../testdata/projects/portal", project.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	portalApp := Resource{KindApp, "Portal/desktopbrowser"}
	teller := App{ID: "TellerApp", Env: "mobilewebapp"}
	android := App{ID: "BankApp", Env: "android"}
	cases := []struct {
		name  string
		p     *project.Project
		res   Resource
		facts Facts
		want  map[string]any
		err   string
	}{
		{name: "directory user", p: ldap, res: Resource{KindProcedure, "Teller.refund"},
			facts: Facts{App: teller, Passed: []string{"DirectoryLogin"}, User: &User{ID: "alice", DisplayName: "Alice Teller",
				DN: "uid=alice,ou=people,dc=example,dc=com", Groups: []string{"tellers"}, GroupDNs: []string{"cn=tellers,ou=groups,dc=example,dc=com"},
				Attributes: map[string][]string{"mail": {"alice@example.com"}}}},
			want: map[string]any{"userId": "alice", "displayName": "Alice Teller", "realm": "DirectoryLogin",
				"dn": "uid=alice,ou=people,dc=example,dc=com", "groups": []any{"tellers"}, "groupDNs": []any{"cn=tellers,ou=groups,dc=example,dc=com"},
				"attributes": map[string]any{"mail": []any{"alice@example.com"}}}},
		{name: "directory user with no groups", p: ldap, res: Resource{KindProcedure, "Teller.approveLoan"},
			facts: Facts{App: teller, Passed: []string{"DirectoryLogin"}, User: &User{ID: "carol"}},
			want: map[string]any{"userId": "carol", "displayName": "carol", "realm": "DirectoryLogin",
				"groups": []any{}, "groupDNs": []any{}, "attributes": map[string]any{}}},
		{name: "password file user", p: bank, res: Resource{KindProcedure, "Accounts.transfer"},
			facts: Facts{App: android, Passed: []string{"BankLogin"}, User: &User{ID: "alice"}},
			want:  map[string]any{"userId": "alice", "displayName": "alice", "realm": "BankLogin"}},
		{name: "display name of a password file", p: bank, res: Resource{KindProcedure, "Accounts.transfer"},
			facts: Facts{App: android, Passed: []string{"BankLogin"}, User: &User{ID: "alice", DisplayName: "Alice"}},
			err:   `user: the login of realm BankLogin (BankUsers: realmgate.PasswordFileLoginModule) records the user's name as the display name: leave displayName out or write "alice"`},
		{name: "single identity", p: portal, res: portalApp,
			facts: Facts{Passed: []string{"PortalLogin"}, User: &User{ID: "admin"}},
			want:  map[string]any{"userId": "admin", "displayName": "admin", "realm": "PortalLogin"}},
		{name: "another user of a single identity", p: portal, res: portalApp,
			facts: Facts{Passed: []string{"PortalLogin"}, User: &User{ID: "alice"}},
			err:   `user: realm PortalLogin (PortalAdminLogin: com.worklight.core.auth.ext.SingleIdentityLoginModule) logs in only user "admin"`},
		{name: "display name of a single identity", p: portal, res: portalApp,
			facts: Facts{Passed: []string{"PortalLogin"}, User: &User{ID: "admin", DisplayName: "Administrator"}},
			err:   `user: the login of realm PortalLogin (PortalAdminLogin: com.worklight.core.auth.ext.SingleIdentityLoginModule) records the display name "admin"`},
		{name: "no user facts", p: ldap, res: Resource{KindProcedure, "Teller.refund"},
			facts: Facts{App: teller, Passed: []string{"DirectoryLogin"}}},
		{name: "groups of a password file", p: bank, res: Resource{KindProcedure, "Accounts.transfer"},
			facts: Facts{App: android, Passed: []string{"BankLogin"}, User: &User{ID: "alice", Groups: []string{"tellers"}, Attributes: map[string][]string{}}},
			err:   "user: the login of realm BankLogin (BankUsers: realmgate.PasswordFileLoginModule) records no attributes, groups: only an LdapLoginModule reads them from a directory"},
		{name: "user realm not passed", p: ldap, res: Resource{KindProcedure, "Teller.refund"},
			facts: Facts{App: teller, User: &User{ID: "alice"}},
			err:   "user facts are the identity a login of realm DirectoryLogin records: add DirectoryLogin to passed"},
		{name: "test without a user realm", p: ldap, res: Resource{KindProcedure, "Teller.openDrawer"},
			facts: Facts{App: teller, Passed: []string{"SupervisorPin"}, User: &User{ID: "alice"}},
			err:   "security test drawerTests has no user realm: user facts are the identity its login records"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, err := Build(tc.p, tc.res, tc.facts)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Fatalf("Build: %v, want %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, req.Input.User); diff != "" {
				t.Errorf("input.user (-want +got):\n%s", diff)
			}
		})
	}
}
