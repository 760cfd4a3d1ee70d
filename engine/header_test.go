package engine_test

import (
	"testing"

	"github.com/realmgate/realmgate/engine"
)

// A header login rotates the session id, as an answer's login does.
func TestHeaderLoginRotatesTheSession(t *testing.T) {
	l := newLab(t)
	c := l.client("mobilewebapp", "1.0")
	c.mustChallenge("header")
	planted := c.sid
	if planted == "" {
		t.Fatal("no session after the challenge")
	}
	c.headers[headerName] = "alice"
	acc := c.mustAllow("header")
	if acc.Cookies.SessionID == "" || c.sid == planted {
		t.Fatalf("header login kept session id %q", c.sid)
	}
	if _, _, ok := l.session(planted); ok {
		t.Error("the id from before the header login still names a session")
	}
	// The same user on later requests keeps the new id.
	if acc := c.mustAllow("header"); acc.Cookies.SessionID != "" {
		t.Errorf("a later request of the same user rotated the id again")
	}
}

// A request refused after a header login keeps the session's id (the refusal carries no cookie)
// and does not keep the login: the next request logs in and rotates.
func TestRefusedRequestUndoesTheHeaderLogin(t *testing.T) {
	l := newLab(t)
	c := l.client("mobilewebapp", "1.0")
	c.mustChallenge("header")
	before := c.sid
	c.headers[headerName] = "alice"
	_, err := c.request(engine.Resource{Kind: engine.ResourceProcedure, Name: "Accounts.closed", Test: "header"}, nil)
	if codeOf(err) != engine.CodePolicyDenied {
		t.Fatalf("closed resource: %v, want policy_denied", err)
	}
	_, st, ok := l.session(before)
	if !ok {
		t.Fatal("the refused request lost the session")
	}
	if rs := st.Realms["HeaderRealm"]; rs != nil && rs.Passed {
		t.Errorf("the refused request kept the header login under the old id: %+v", rs)
	}
	if acc := c.mustAllow("header"); acc.Cookies.SessionID == "" || c.sid == before {
		t.Errorf("the next request with the header did not rotate the session id")
	}
}
