package engine_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/project"
)

const bobPIN = "8080"

// identityLab is the lab with a PIN for bob too, and a second-factor realm declared as not
// identifying a user (a branch code).
func identityLab(t *testing.T) *lab {
	files := labFiles(t)
	files["pins.htpasswd"] += "bob:" + hashOf(t, bobPIN) + "\n"
	conf := files[project.AuthConfigPath]
	conf = strings.Replace(conf, "<securityTests>", `<securityTests>
		<customSecurityTest name="branch">
			<test realm="PasswordRealm" isInternalUserID="true" step="1"/>
			<test realm="BranchRealm" step="2"/>
		</customSecurityTest>
		<customSecurityTest name="pinFirst">
			<test realm="PinRealm" isInternalUserID="true"/>
		</customSecurityTest>`, 1)
	conf = strings.Replace(conf, "<realms>", `<realms>
		<realm name="BranchRealm" loginModule="AnyUser">
			<className>com.worklight.core.auth.ext.FormBasedAuthenticator</className>
			<parameter name="identifies-user" value="false"/>
		</realm>`, 1)
	files[project.AuthConfigPath] = conf
	return newLabWith(t, labOptions{files: files})
}

// stepsToPIN logs the client in as alice and draws the PIN challenge of the "steps" test.
func stepsToPIN(t *testing.T, c *client) {
	t.Helper()
	c.mustChallenge("steps")
	c.mustChallenge("steps")
	c.mustSucceed("PasswordRealm", `{"username":"alice","password":"`+alicePassword+`"}`)
	if ch := c.mustChallenge("steps"); ch.Challenges["PinRealm"] == nil {
		t.Fatalf("challenge %v, want PinRealm", realmsOf(ch))
	}
}

func TestSecondFactorMustIdentifyTheSessionsUser(t *testing.T) {
	l := identityLab(t)
	c := l.client("android", "2.1.0")
	stepsToPIN(t, c)
	_, err := c.answer("PinRealm", `{"username":"bob","password":"`+bobPIN+`"}`)
	if codeOf(err) != engine.CodeIdentityMismatch {
		t.Fatalf("bob's PIN after alice's password: %v, want identity_mismatch", err)
	}
	// The refusal is final for the session: alice's own PIN does not pass after it either.
	if _, err := c.answer("PinRealm", `{"username":"alice","password":"`+alicePIN+`"}`); codeOf(err) != engine.CodeRefused {
		t.Errorf("alice's PIN after the mismatch: %v, want realm_refused", err)
	}
	if _, err := c.authorize("steps"); codeOf(err) != engine.CodeRefused {
		t.Errorf("the test after the mismatch: %v, want realm_refused", err)
	}
	recs, err := l.db.ListAudit(t.Context(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		if r.Action == "login.identity_mismatch" {
			got = append(got, r.Target+" "+string(r.Detail))
		}
	}
	want := []string{`PinRealm {"app":"LabApp","env":"android","sessionUser":"alice","user":"bob","userRealm":"PasswordRealm"}`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}

	// The right user passes.
	c = l.client("android", "2.1.0")
	stepsToPIN(t, c)
	c.mustSucceed("PinRealm", `{"username":"alice","password":"`+alicePIN+`"}`)
	if acc := c.mustAllow("steps"); acc.User["userId"] != "alice" {
		t.Errorf("user %v", acc.User)
	}
}

// A factor that passed first binds the session too: the user realm cannot then log in another
// user beside it without the factor being forgotten.
func TestUserRealmLoginAsAnotherUserForgetsTheOthers(t *testing.T) {
	l := identityLab(t)
	c := l.client("android", "2.1.0")
	stepsToPIN(t, c)
	c.mustSucceed("PinRealm", `{"username":"alice","password":"`+alicePIN+`"}`)
	c.mustAllow("steps")
	if err := l.eng.Logout(t.Context(), c.app, c.sid, "PasswordRealm"); err != nil {
		t.Fatal(err)
	}
	if ch := c.mustChallenge("steps"); !slices.Equal(realmsOf(ch), []string{"PasswordRealm"}) {
		t.Fatalf("after logout: %v, want PasswordRealm", realmsOf(ch))
	}
	c.mustSucceed("PasswordRealm", `{"username":"bob","password":"`+bobPassword+`"}`)
	// alice's PIN proved nothing about bob: the test asks for a PIN again, bob's.
	if ch := c.mustChallenge("steps"); !slices.Equal(realmsOf(ch), []string{"PinRealm"}) {
		t.Fatalf("after bob's login: %v, want PinRealm", realmsOf(ch))
	}
	if _, err := c.answer("PinRealm", `{"username":"alice","password":"`+alicePIN+`"}`); codeOf(err) != engine.CodeIdentityMismatch {
		t.Errorf("alice's PIN in bob's session: %v, want identity_mismatch", err)
	}
	info, err := l.eng.Session(t.Context(), c.app, c.sid, c.passive())
	if err != nil {
		t.Fatal(err)
	}
	if id := info.Realms["PasswordRealm"]["identity"].(map[string]any); id["userId"] != "bob" || info.Realms["PinRealm"] != nil {
		t.Errorf("session realms %v, want bob's login and no PIN", info.Realms)
	}

	// The same when the factor was the user realm of the test that asked for it.
	c = l.client("android", "2.1.0")
	c.mustChallenge("pinFirst")
	c.mustSucceed("PinRealm", `{"username":"bob","password":"`+bobPIN+`"}`)
	c.mustChallenge("steps")
	c.mustChallenge("steps")
	if _, err := c.answer("PasswordRealm", `{"username":"alice","password":"`+alicePassword+`"}`); err != nil {
		t.Fatalf("alice as the steps test's user after bob's PIN: %v", err)
	}
	if ch := c.mustChallenge("steps"); !slices.Equal(realmsOf(ch), []string{"PinRealm"}) {
		t.Errorf("after alice's login: %v, want PinRealm (bob's PIN forgotten)", realmsOf(ch))
	}
}

// A realm declared identifies-user="false" passes whatever name its login gives.
func TestRealmDeclaredNotIdentifyingAUser(t *testing.T) {
	l := identityLab(t)
	c := l.client("android", "2.1.0")
	c.mustChallenge("branch")
	c.mustSucceed("PasswordRealm", `{"username":"alice","password":"`+alicePassword+`"}`)
	c.mustChallenge("branch")
	c.mustSucceed("BranchRealm", `{"username":"branch-17","password":"x"}`)
	if acc := c.mustAllow("branch"); acc.User["userId"] != "alice" {
		t.Errorf("user %v, want alice", acc.User)
	}
}

// A header login (an SSO proxy) that names another user than the session's second factor is
// not passed.
func TestHeaderLoginOfAnotherUserThanTheSessions(t *testing.T) {
	files := labFiles(t)
	files[project.AuthConfigPath] = strings.Replace(files[project.AuthConfigPath], "<securityTests>", `<securityTests>
		<customSecurityTest name="headerThenPassword">
			<test realm="PasswordRealm" isInternalUserID="true" step="1"/>
			<test realm="HeaderRealm" step="2"/>
		</customSecurityTest>`, 1)
	l := newLabWith(t, labOptions{files: files})
	c := l.client("android", "2.1.0")
	c.mustChallenge("headerThenPassword")
	c.mustSucceed("PasswordRealm", `{"username":"alice","password":"`+alicePassword+`"}`)
	c.headers[headerName] = "bob"
	if ch := c.mustChallenge("headerThenPassword"); !slices.Equal(realmsOf(ch), []string{"HeaderRealm"}) {
		t.Errorf("bob's header in alice's session: %v, want the header realm challenged", realmsOf(ch))
	}
	c.headers[headerName] = "alice"
	c.mustAllow("headerThenPassword")
}
