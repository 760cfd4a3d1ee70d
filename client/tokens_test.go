package client_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/realmgate/realmgate/client"
)

// TestLastAccessToken: like Worklight's getLastAccessToken(), no scope names the token obtained
// last, whatever its scope; a scope names the last token of that scope.
func TestLastAccessToken(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	c := newClient(t, srv.URL, nil) // android: its own test is webTest
	c.RegisterHandler(formRealm, login(alice))
	ctx := context.Background()

	if tok := c.LastAccessToken(""); tok != nil {
		t.Fatalf("LastAccessToken(\"\") before any token = %+v, want nil", tok)
	}
	obtain := func(scope string) *client.AccessToken {
		t.Helper()
		tok, err := c.ObtainAccessToken(ctx, scope)
		if err != nil {
			t.Fatalf("ObtainAccessToken(%q): %v", scope, err)
		}
		return tok
	}
	web := obtain("") // the environment's own test: the token's scope is webTest
	if web.Scope != "webTest" {
		t.Fatalf("scope %q, want webTest", web.Scope)
	}
	two := obtain("twoStep")

	tests := []struct {
		scope string
		want  *client.AccessToken
	}{
		{"", two},
		{"twoStep", two},
		{"webTest", web},
		{"basicTest", nil},
	}
	for _, tc := range tests {
		if got := c.LastAccessToken(tc.scope); got != tc.want {
			t.Errorf("LastAccessToken(%q) = %s, want %s", tc.scope, scopeOf(got), scopeOf(tc.want))
		}
	}

	// Obtaining webTest again makes it the last one.
	again := obtain("webTest")
	if got := c.LastAccessToken(""); got != again {
		t.Errorf("LastAccessToken(\"\") = %s, want the webTest token just obtained", scopeOf(got))
	}
	if got := c.LastAccessToken("twoStep"); got != two {
		t.Errorf("LastAccessToken(\"twoStep\") = %s, want the twoStep token", scopeOf(got))
	}
}

// scopeOf names a token in a failure without printing its value.
func scopeOf(tok *client.AccessToken) string {
	if tok == nil {
		return "nil"
	}
	return "a token of scope " + tok.Scope + " expiring " + tok.ExpiresAt.Format("15:04:05.000")
}

// TestCallResourceWithoutHintSendsNoToken: the last token of any scope is what LastAccessToken("")
// returns, but CallResource without a scope hint sends none: a bearer token goes only to a
// resource server that asked for its scope.
func TestCallResourceWithoutHintSendsNoToken(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	c := newClient(t, srv.URL, nil)
	ctx := context.Background()
	if _, err := c.ObtainAccessToken(ctx, "webTest"); err != nil {
		t.Fatalf("ObtainAccessToken: %v", err)
	}
	var got []string
	rs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"))
	}))
	defer rs.Close()
	req, err := http.NewRequest(http.MethodGet, rs.URL+"/open", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.CallResource(ctx, req, "")
	if err != nil {
		t.Fatalf("CallResource: %v", err)
	}
	resp.Body.Close()
	if len(got) != 1 || got[0] != "" {
		t.Errorf("%d requests, the first with Authorization %t: want one request without a token", len(got), len(got) > 0 && got[0] != "")
	}
}
