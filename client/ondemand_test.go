package client_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/realmgate/realmgate/client"
)

// TestLogin: Login draws the realm's challenge without a protected request, answers it with the
// realm's handler and returns the identity; logged in, it asks no handler; the identity is the
// client's view of the realm; logged out, it challenges again.
func TestLogin(t *testing.T) {
	t.Parallel()
	srv := newServer(t, nil)
	c := newClient(t, srv.URL, nil)
	c.RegisterHandler(formRealm, login(alice))
	ctx := context.Background()
	for i := range 2 {
		id, err := c.Login(ctx, formRealm)
		if err != nil {
			t.Fatalf("Login #%d: %v", i+1, err)
		}
		if id["userId"] != alice.Username || c.Identities()[formRealm]["userId"] != alice.Username {
			t.Fatalf("Login #%d = %v, identities %v: want %s", i+1, id, c.Identities(), alice.Username)
		}
	}
	if n := srv.Count("POST", "/api/v1/auth/"+formRealm); n != 1 {
		t.Errorf("%d answers, want 1 (the second login finds the session logged in)", n)
	}
	if _, err := c.InvokeProcedure(ctx, "acct", "echo"); err != nil {
		t.Fatal(err)
	}
	if err := c.Logout(ctx, formRealm); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Login(ctx, formRealm); err != nil {
		t.Fatal(err)
	}
	if n := srv.Count("POST", "/api/v1/auth/"+formRealm); n != 2 {
		t.Errorf("%d answers, want 2 (one after logout)", n)
	}
	if _, err := c.Login(ctx, "../admin"); err == nil {
		t.Errorf("Login accepted an invalid realm name")
	}
	var e *client.Error
	if _, err := c.Login(ctx, "nosuchRealm"); !errors.As(err, &e) || e.Status != http.StatusNotFound || e.Code != "unknown_realm" {
		t.Errorf("Login to an unknown realm: %v, want 404 unknown_realm", err)
	}
}

// TestLoginMalformedReply: a 200 that is not a success of the realm asked for is
// ErrMalformedResponse, not a login.
func TestLoginMalformedReply(t *testing.T) {
	t.Parallel()
	for _, body := range []string{`{"realm":"formRealm","status":"logged_out"}`, `{"realm":"other","status":"success","identity":{}}`} {
		srv := newScripted(t, func(w http.ResponseWriter, _ *http.Request, _ int) { reply(w, http.StatusOK, body) })
		c := newClient(t, srv.URL, nil)
		if _, err := c.Login(context.Background(), formRealm); !errors.Is(err, client.ErrMalformedResponse) {
			t.Errorf("reply %s: %v, want ErrMalformedResponse", body, err)
		}
		if _, ok := c.Identities()[formRealm]; ok {
			t.Errorf("reply %s: the client took an identity", body)
		}
	}
}
