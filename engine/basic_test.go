package engine_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/engine"
)

// staticRequest requests a static resource of test, as the HTTP layer does: the request's
// Authorization: Basic header (basic, nil for none) may answer the test's Basic realms.
func (c *client) staticRequest(name, test string, basic *engine.BasicCredentials) (*engine.Access, error) {
	acc, err := c.l.eng.Authorize(c.l.t.Context(), engine.AccessRequest{
		App: c.app, SessionID: c.sid, Passive: c.passive(), Client: "192.0.2.7",
		Resource:     engine.Resource{Kind: engine.ResourceStatic, Name: name, Test: test},
		BasicAnswers: true, Basic: basic,
	})
	if err == nil {
		c.take(acc.Cookies)
		c.adoptToken(acc.Challenge)
	}
	return acc, err
}

// TestBasicHeaderAnswers: what a static request's Authorization header does to the test's Basic
// realm (BasicRealm, basic-realm-name "Lab administration").
func TestBasicHeaderAnswers(t *testing.T) {
	admin := &engine.BasicCredentials{Username: "admin", Password: adminPassword}
	type outcome struct {
		Allowed     bool
		BasicRealms []string
		Error       any // the challenge's "error" for BasicRealm
	}
	tests := []struct {
		name    string
		answers bool // AccessRequest.BasicAnswers
		basic   *engine.BasicCredentials
		want    outcome
	}{
		{"no header", true, nil, outcome{BasicRealms: []string{"Lab administration"}}},
		{"right password", true, admin, outcome{Allowed: true}},
		{"wrong password", true, &engine.BasicCredentials{Username: "admin", Password: "nope"},
			outcome{BasicRealms: []string{"Lab administration"}, Error: "wrong user name or password"}},
		// On the API the header answers only through Answer, and no WWW-Authenticate is asked for.
		{"not a static request", false, admin, outcome{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t)
			c := l.client("android", "2.1.0")
			acc, err := c.l.eng.Authorize(t.Context(), engine.AccessRequest{
				App: c.app, Passive: c.passive(), Client: "192.0.2.7",
				Resource:     engine.Resource{Kind: engine.ResourceStatic, Name: "console", Test: "basic"},
				BasicAnswers: tc.answers, Basic: tc.basic,
			})
			if err != nil {
				t.Fatal(err)
			}
			got := outcome{Allowed: acc.Allowed, BasicRealms: acc.BasicRealms}
			if acc.Challenge != nil {
				got.Error = acc.Challenge.Challenges["BasicRealm"]["error"]
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// A header naming another user than the session's login of the realm is a login of that user:
// a wrong password for it leaves the request unauthenticated rather than served as the user
// before.
func TestBasicHeaderOfAnotherUser(t *testing.T) {
	l := newLab(t)
	c := l.client("android", "2.1.0")
	admin := &engine.BasicCredentials{Username: "admin", Password: adminPassword}
	if acc, err := c.staticRequest("console", "basic", admin); err != nil || !acc.Allowed {
		t.Fatalf("admin: %+v %v", acc, err)
	}
	acc, err := c.staticRequest("console", "basic", &engine.BasicCredentials{Username: "root", Password: adminPassword})
	if err != nil || acc.Allowed || acc.Challenge == nil {
		t.Fatalf("root with the session of admin: %+v %v, want a challenge", acc, err)
	}
	if acc.User != nil {
		t.Errorf("user %v after a failed login of another user, want none", acc.User)
	}
}

// A request refused after its header logged in keeps the session's id and does not keep the
// login, as a HeaderAuthenticator's (TestRefusedRequestUndoesTheHeaderLogin).
func TestRefusedRequestUndoesTheBasicHeaderLogin(t *testing.T) {
	l := newLab(t)
	c := l.client("android", "2.1.0")
	if _, err := c.staticRequest("console", "basic", nil); err != nil {
		t.Fatal(err)
	}
	before := c.sid
	_, err := c.staticRequest("Accounts.closed", "basic", &engine.BasicCredentials{Username: "admin", Password: adminPassword})
	if codeOf(err) != engine.CodePolicyDenied {
		t.Fatalf("closed resource: %v, want policy_denied", err)
	}
	_, st, ok := l.session(before)
	if !ok {
		t.Fatal("the refused request lost the session")
	}
	if rs := st.Realms["BasicRealm"]; rs != nil && rs.Passed {
		t.Errorf("the refused request kept the header login under the old id: %+v", rs)
	}
}
