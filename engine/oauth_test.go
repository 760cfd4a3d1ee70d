package engine_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/engine"
)

// fakeRotator is a key set that records its rotations.
type fakeRotator struct {
	kid     string
	err     error
	retains []time.Duration
}

func (f *fakeRotator) JWKS(time.Time) jose.JSONWebKeySet {
	return jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{KeyID: f.kid}, {KeyID: "old"}}}
}

func (f *fakeRotator) Rotate(_ context.Context, _ time.Time, retain time.Duration) error {
	if f.err != nil {
		return f.err
	}
	f.retains = append(f.retains, retain)
	f.kid = "k" + string(rune('1'+len(f.retains)))
	return nil
}

// oauthEngine is an engine over the lab's project and store with tokens on.
func oauthEngine(t *testing.T, l *lab, ti *engine.TokenIssuer, rot engine.KeyRotator) *engine.Engine {
	t.Helper()
	eng, err := engine.New(l.project, engine.Options{Store: l.store, Evaluator: l.eval, Now: l.clock.Now, Tokens: ti, KeyRotator: rot})
	if err != nil {
		t.Fatal(err)
	}
	return eng
}

// TestGrantToken: the scope is one security test of the project (the environment's when none is
// named), the audience one resource server named once, or the application.
func TestGrantToken(t *testing.T) {
	l := newLab(t)
	eng := oauthEngine(t, l, l.issuer(t), nil)
	c := l.client("android", "2.1.0")
	c.mustChallenge("password")
	c.mustSucceed("PasswordRealm", aliceCreds)
	grant := func(scope string, audience, resource []string) engine.TokenGrant {
		return engine.TokenGrant{App: c.app, SessionID: c.sid, Passive: c.passive(), Scope: scope, Audience: audience, Resource: resource}
	}
	refused := []struct {
		name string
		g    engine.TokenGrant
		want engine.Code
	}{
		{"two scopes", grant("password web", nil, nil), engine.CodeInvalidScope},
		{"an unknown scope", grant("nosuch", nil, nil), engine.CodeInvalidScope},
		{"the unprotected test", grant("wl_unprotected", nil, nil), engine.CodeInvalidScope},
		{"two audiences", grant("password", []string{"statements", "statements"}, nil), engine.CodeInvalidTarget},
		{"audience and resource disagree", grant("password", []string{"statements"}, []string{labApp}), engine.CodeInvalidTarget},
		{"an unknown audience", grant("password", nil, []string{"payments"}), engine.CodeInvalidTarget},
	}
	for _, tc := range refused {
		if _, _, err := eng.GrantToken(t.Context(), tc.g); codeOf(err) != tc.want {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.want)
		}
	}
	_, tok, err := eng.GrantToken(t.Context(), grant(" password ", []string{"statements"}, []string{"statements"}))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"password", "statements", labApp}, []string{tok.Scope, tok.Claims.Audience, tok.Claims.ClientID}); diff != "" {
		t.Errorf("token (-want +got):\n%s", diff)
	}
	// No scope: the environment's test, which this session has not passed.
	acc, tok, err := eng.GrantToken(t.Context(), grant("", nil, nil))
	if err != nil || tok != nil || acc.Challenge == nil || acc.Challenge.SecurityTest != "mobile" {
		t.Errorf("no scope: %+v %v %v, want the challenge of the environment's test", acc, tok, err)
	}
	if _, _, err := newLab(t).eng.GrantToken(t.Context(), grant("password", nil, nil)); codeOf(err) != engine.CodeNotImplemented {
		t.Errorf("tokens off: %v, want %s", err, engine.CodeNotImplemented)
	}
}

// TestIntrospectToken: a valid token is active; one of another scope or audience is not, with
// the reason; a store that does not answer and a malformed audience are errors.
func TestIntrospectToken(t *testing.T) {
	l := newLab(t)
	ti := l.issuer(t)
	eng := oauthEngine(t, l, ti, nil)
	c := l.client("android", "2.1.0")
	c.mustChallenge("password")
	c.mustSucceed("PasswordRealm", aliceCreds)
	tok, err := c.token(ti, "password", "statements")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		q      engine.TokenQuery
		active bool
		reason error
	}{
		{"valid", engine.TokenQuery{Token: tok.AccessToken, Scope: "password", Resource: []string{"statements"}}, true, nil},
		{"another scope", engine.TokenQuery{Token: tok.AccessToken, Scope: "web"}, false, engine.ErrTokenInsufficientScope},
		{"another audience", engine.TokenQuery{Token: tok.AccessToken, Audience: []string{"payments"}}, false, engine.ErrTokenAudience},
		{"not a token", engine.TokenQuery{Token: "x.y.z"}, false, engine.ErrTokenInvalid},
	}
	for _, tc := range cases {
		in, err := eng.IntrospectToken(t.Context(), tc.q)
		if err != nil || in.Active != tc.active || (tc.reason != nil && !errors.Is(in.Reason, tc.reason)) {
			t.Errorf("%s: %+v %v, want active %v for %v", tc.name, in, err, tc.active, tc.reason)
		}
	}
	if _, err := eng.IntrospectToken(t.Context(), engine.TokenQuery{Token: tok.AccessToken, Audience: []string{"a", "b"}}); codeOf(err) != engine.CodeInvalidTarget {
		t.Errorf("two audiences: %v, want %s", err, engine.CodeInvalidTarget)
	}
	ti.Revocations = failingRevocations{}
	if in, err := eng.IntrospectToken(t.Context(), engine.TokenQuery{Token: tok.AccessToken}); codeOf(err) != engine.CodeUnavailable || in.Active {
		t.Errorf("a failing revocation store: %+v %v, want %s", in, err, engine.CodeUnavailable)
	}
}

// TestRotateTokenKeys: a rotated-out key stays published as long as the configuration's tokens
// live plus the JWKS cache time; the rotation is audited.
func TestRotateTokenKeys(t *testing.T) {
	l := newLab(t)
	rot := &fakeRotator{kid: "k1"}
	eng := oauthEngine(t, l, l.issuer(t), rot)
	want := engine.DefaultTokenLifetime + engine.JWKSMaxAge + 5*time.Second
	if got := eng.KeyRetention(); got != want {
		t.Errorf("KeyRetention %v, want %v", got, want)
	}
	r, err := eng.RotateTokenKeys(t.Context(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(engine.KeyRotation{KeyID: "k2", Published: 2, Retain: want}, r); diff != "" {
		t.Errorf("rotation (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]time.Duration{want}, rot.retains); diff != "" {
		t.Errorf("retention asked of the key set (-want +got):\n%s", diff)
	}
	recs, _ := eng.AuditRecords(t.Context(), 0, 0)
	if len(recs) != 1 || recs[0].Action != "keys.rotate" || recs[0].Target != "k2" || string(recs[0].Detail) != `{"retainSeconds":125}` {
		t.Errorf("audit %+v, want one keys.rotate of k2", recs)
	}
	rot.err = errors.New("disk full")
	if _, err := eng.RotateTokenKeys(t.Context(), "admin"); codeOf(err) != engine.CodeUnavailable {
		t.Errorf("a key set that cannot rotate: %v, want %s", err, engine.CodeUnavailable)
	}
	set, err := eng.TokenKeySet()
	if err != nil || len(set.Keys) != 2 {
		t.Errorf("TokenKeySet: %+v %v", set, err)
	}
	off := oauthEngine(t, l, nil, nil)
	if _, err := off.TokenKeySet(); codeOf(err) != engine.CodeNotImplemented {
		t.Errorf("keys off: %v, want %s", err, engine.CodeNotImplemented)
	}
	if _, err := off.RotateTokenKeys(t.Context(), "admin"); codeOf(err) != engine.CodeNotImplemented {
		t.Errorf("keys off: %v, want %s", err, engine.CodeNotImplemented)
	}
}

// TestGrantTokenCappedByDescriptor: an application descriptor's accessTokenExpiration shortens
// the application's tokens below their test's lifetime, and never lengthens them past it.
func TestGrantTokenCappedByDescriptor(t *testing.T) {
	life := int(engine.Lifetime(nil) / time.Second)
	tests := []struct {
		name       string
		descriptor int
		want       int
	}{
		{"none", 0, life},
		{"shorter", 10, 10},
		{"longer", 3600, life},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			l := newLab(t)
			l.project.Apps[labApp].AccessTokenExpiration = tc.descriptor
			eng := oauthEngine(t, l, l.issuer(t), nil)
			c := l.client("android", "2.1.0")
			c.mustChallenge("password")
			c.mustSucceed("PasswordRealm", aliceCreds)
			_, tok, err := eng.GrantToken(t.Context(), engine.TokenGrant{App: c.app, SessionID: c.sid, Passive: c.passive(), Scope: "password"})
			if err != nil {
				t.Fatal(err)
			}
			exp := tok.Claims.Expiry.Time().Sub(tok.Claims.IssuedAt.Time())
			if tok.ExpiresIn != tc.want || exp != time.Duration(tc.want)*time.Second {
				t.Errorf("expires_in %d, exp-iat %v; want %d s", tok.ExpiresIn, exp, tc.want)
			}
		})
	}
}
