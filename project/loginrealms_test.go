package project

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"
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
	cases = append(cases, struct {
		name    string
		files   files
		want    []string
		notWant []string
	}{
		name: "bcrypt costs",
		files: files{ac: authConfig(`
	<securityTests>
		<customSecurityTest name="t">
			<test realm="mixed" isInternalUserID="true"/>
			<test realm="single"/>
			<test realm="strong"/>
		</customSecurityTest>
	</securityTests>
	<realms>
		<realm name="mixed" loginModule="mixed"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>
		<realm name="single" loginModule="single"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>
		<realm name="strong" loginModule="strong"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>
	</realms>
	<loginModules>
		<loginModule name="mixed">
			<className>realmgate.PasswordFileLoginModule</className>
			<parameter name="file" value="mixed.htpasswd"/>
		</loginModule>
		<loginModule name="single">
			<className>com.worklight.core.auth.ext.SingleIdentityLoginModule</className>
			<parameter name="user-name" value="admin"/>
			<parameter name="password-hash" value="` + costHash(t, 4) + `"/>
		</loginModule>
		<loginModule name="strong">
			<className>realmgate.PasswordFileLoginModule</className>
			<parameter name="file" value="strong.htpasswd"/>
		</loginModule>
	</loginModules>
`),
			"mixed.htpasswd":  "a:" + costHash(t, 5) + "\nb:" + costHash(t, 5) + "\nc:" + costHash(t, 4) + "\n",
			"strong.htpasswd": "a:" + costHash(t, 10) + "\n",
		},
		want: []string{
			ac + `:16: warning: login module "mixed": mixed.htpasswd has bcrypt hashes of cost 4, 5, below 10: each guess costs an attacker little`,
			ac + `:16: warning: login module "mixed": mixed.htpasswd mixes bcrypt costs; a login of a user whose cost is not 5 (c) takes another time than one of an unknown user name, which tells that the user exists`,
			ac + `:20: warning: login module "single": password-hash has bcrypt cost 4: each guess costs an attacker little`,
		},
		notWant: []string{`login module "strong"`},
	})
	cases = append(cases, struct {
		name    string
		files   files
		want    []string
		notWant []string
	}{
		name: "header trust",
		files: files{ac: authConfig(`
	<securityTests>
		<customSecurityTest name="t">
			<test realm="open" isInternalUserID="true"/>
			<test realm="trusted"/>
			<test realm="closed"/>
			<test realm="typo"/>
			<test realm="form"/>
		</customSecurityTest>
	</securityTests>
	<realms>
		<realm name="open" loginModule="headers"><className>com.worklight.core.auth.ext.HeaderAuthenticator</className></realm>
		<realm name="trusted" loginModule="headers">
			<className>com.worklight.core.auth.ext.HeaderAuthenticator</className>
			<parameter name="behind-trusted-proxy" value="true"/>
		</realm>
		<realm name="closed" loginModule="nobody"><className>com.worklight.core.auth.ext.HeaderAuthenticator</className></realm>
		<realm name="typo" loginModule="headers">
			<className>com.worklight.core.auth.ext.HeaderAuthenticator</className>
			<parameter name="behind-trusted-proxy" value="yes"/>
		</realm>
		<realm name="form" loginModule="headers"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>
	</realms>
	<loginModules>
		<loginModule name="headers">
			<className>com.worklight.core.auth.ext.HeaderLoginModule</className>
			<parameter name="user-name-header" value="X-SSO-User"/>
		</loginModule>
		<loginModule name="nobody"><className>com.worklight.core.auth.ext.RejectingLoginModule</className></loginModule>
	</loginModules>
`)},
		want: []string{
			ac + `:13: warning: realm "open" logs in whoever sends the X-SSO-User header: any client that reaches hostd directly can be any user`,
			ac + `:19: error: realm "typo": behind-trusted-proxy is "yes", not true or false`,
			ac + `:19: warning: realm "typo" logs in whoever sends the X-SSO-User header: any client that reaches hostd directly can be any user`,
			ac + `:23: warning: realm "form" uses HeaderLoginModule "headers" with FormBasedAuthenticator: any user name a client sends logs in, with no password`,
		},
		notWant: []string{`realm "trusted"`, `realm "closed"`},
	})
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

// costHash returns a bcrypt hash of cost, memoized (a cost-10 hash takes a while).
func costHash(t *testing.T, cost int) string {
	t.Helper()
	if h, ok := costHashes[cost]; ok {
		return h
	}
	h, err := bcrypt.GenerateFromPassword([]byte("pw"), cost)
	if err != nil {
		t.Fatal(err)
	}
	costHashes[cost] = string(h)
	return string(h)
}

var costHashes = map[int]string{}

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

// FuzzSubmitProcedures checks the parsing of submit-procedures: no empty or separator-holding
// names, and a list written back parses the same.
func FuzzSubmitProcedures(f *testing.F) {
	for _, seed := range []string{"submitAuthentication", "step1, Auth.step2", " , ", "a,,b\tc\nd", "", "Ünïcode,x"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r := &Realm{Params: Params{{Name: ParamSubmitProcedures, Value: v}}}
		procs, explicit := r.SubmitProcedures()
		if !explicit {
			t.Fatal("an explicit parameter read as the default")
		}
		for _, p := range procs {
			if p == "" || strings.ContainsAny(p, ", \t\n\r") {
				t.Fatalf("%q: name %q is empty or holds a separator", v, p)
			}
		}
		again, _ := (&Realm{Params: Params{{Name: ParamSubmitProcedures, Value: strings.Join(procs, ",")}}}).SubmitProcedures()
		if !slices.Equal(procs, again) {
			t.Fatalf("%q: %q written back parses as %q", v, procs, again)
		}
	})
}
