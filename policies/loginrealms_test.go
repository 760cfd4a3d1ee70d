package policies

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestLoginRealmParameters checks the parameters Realmgate adds to login realms and the
// warnings about logins that are easy to abuse.
func TestLoginRealmParameters(t *testing.T) {
	cases := []struct {
		name  string
		files files
		// want are the diagnostics (diagLines) expected among the load's, and notWant
		// substrings none may hold.
		want    []string
		notWant []string
	}{
		{
			name: "identifies-user",
			files: files{ac: authConfig(`
	<securityTests>
		<customSecurityTest name="t">
			<test realm="pin" isInternalUserID="true" step="1"/>
			<test realm="branch" step="2"/>
			<test realm="odd" step="2"/>
		</customSecurityTest>
	</securityTests>
	<realms>
		<realm name="pin" loginModule="any">
			<className>com.worklight.core.auth.ext.FormBasedAuthenticator</className>
			<parameter name="identifies-user" value="false"/>
		</realm>
		<realm name="branch" loginModule="any">
			<className>com.worklight.core.auth.ext.BasicAuthenticator</className>
			<parameter name="identifies-user" value="false"/>
		</realm>
		<realm name="odd" loginModule="any">
			<className>com.worklight.core.auth.ext.FormBasedAuthenticator</className>
			<parameter name="identifies-user" value="no"/>
		</realm>
	</realms>
	<loginModules>
		<loginModule name="any"><className>com.worklight.core.auth.ext.NonValidatingLoginModule</className></loginModule>
	</loginModules>
`)},
			want: []string{
				ac + `:5: error: realm "pin" is declared identifies-user="false" but is marked isInternalUserID in security test "t"`,
				ac + `:19: error: realm "odd": identifies-user is "no", not true or false`,
			},
			notWant: []string{`parameter "identifies-user" is not used`},
		},
		{
			name: "submit-procedures",
			files: files{ac: authConfig(`
	<securityTests>
		<customSecurityTest name="t">
			<test realm="named" isInternalUserID="true"/>
			<test realm="wrong"/>
			<test realm="empty"/>
			<test realm="none"/>
		</customSecurityTest>
	</securityTests>
	<realms>
		<realm name="named" loginModule="any">
			<className>com.worklight.integration.auth.AdapterAuthenticator</className>
			<parameter name="login-function" value="Two.onAuthRequired"/>
			<parameter name="submit-procedures" value="submitStep1,Two.submitStep2"/>
		</realm>
		<realm name="wrong" loginModule="any">
			<className>com.worklight.integration.auth.AdapterAuthenticator</className>
			<parameter name="login-function" value="Two.onAuthRequired"/>
			<parameter name="submit-procedures" value="missing Other.submitStep1"/>
		</realm>
		<realm name="empty" loginModule="any">
			<className>com.worklight.integration.auth.AdapterAuthenticator</className>
			<parameter name="login-function" value="Two.onAuthRequired"/>
			<parameter name="submit-procedures" value=" , "/>
		</realm>
		<realm name="none" loginModule="any">
			<className>com.worklight.integration.auth.AdapterAuthenticator</className>
			<parameter name="login-function" value="Two.onAuthRequired"/>
		</realm>
	</realms>
	<loginModules>
		<loginModule name="any"><className>com.worklight.core.auth.ext.NonValidatingLoginModule</className></loginModule>
	</loginModules>
`), adapterPath("Two"): adapterXML("Two", `
	<procedure name="submitStep1"/>
	<procedure name="submitStep2"/>
	<procedure name="getData" securityTest="t"/>
`)},
			want: []string{
				ac + `:20: error: realm "wrong": submit procedure Two.missing is not declared by the adapter`,
				ac + `:20: error: realm "wrong": submit procedure "Other.submitStep1" is not a procedure of adapter Two`,
				ac + `:25: error: realm "empty": submit-procedures is empty`,
				ac + `:25: warning: realm "empty": no procedure of adapter Two may receive credentials (neither submitAuthentication nor an unprotected one): nobody can log in`,
				ac + `:27: warning: realm "none": no procedure of adapter Two may receive credentials (neither submitAuthentication nor an unprotected one): nobody can log in`,
			},
			notWant: []string{`realm "named"`, `parameter "submit-procedures" is not used`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := diagLines(Check(writeProject(t, tc.files), LoadOptions{}))
			var missing []string
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					missing = append(missing, w)
				}
			}
			if diff := cmp.Diff([]string(nil), missing); diff != "" {
				t.Errorf("missing diagnostics (-want +got):\n%s\nall:\n%s", diff, strings.Join(got, "\n"))
			}
			for _, nw := range tc.notWant {
				for _, g := range got {
					if strings.Contains(g, nw) {
						t.Errorf("unexpected diagnostic %q", g)
					}
				}
			}
		})
	}
}

func TestIdentifiesUser(t *testing.T) {
	p := mustLoad(t, writeProject(t, files{ac: authConfig(`
	<realms>
		<realm name="form" loginModule="any"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>
		<realm name="code" loginModule="any">
			<className>com.worklight.core.auth.ext.FormBasedAuthenticator</className>
			<parameter name="identifies-user" value="false"/>
		</realm>
		<realm name="adapter" loginModule="any">
			<className>com.worklight.integration.auth.AdapterAuthenticator</className>
			<parameter name="login-function" value="A.f"/>
		</realm>
	</realms>
	<loginModules>
		<loginModule name="any"><className>com.worklight.core.auth.ext.NonValidatingLoginModule</className></loginModule>
	</loginModules>
`)}))
	got := map[string]bool{}
	for _, name := range []string{"form", "code", "adapter", RealmAnonymousUser, RealmDeviceNoProvision} {
		got[name] = p.Realms[name].IdentifiesUser()
	}
	want := map[string]bool{"form": true, "code": false, "adapter": true, RealmAnonymousUser: false, RealmDeviceNoProvision: false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("IdentifiesUser (-want +got):\n%s", diff)
	}
}
