package engine_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store"
)

var aliceCreds = `{"username":"alice","password":"` + alicePassword + `"}`

// TestSessionStoredUnderItsHash: the store knows a session by the SHA-256 of its id, never by
// the id, nor does the state it stores hold the id; a rotation removes the old key.
func TestSessionStoredUnderItsHash(t *testing.T) {
	l := newLab(t)
	ctx := t.Context()
	c := l.client("android", "2.1.0")
	c.mustChallenge("password")
	before := c.sid
	c.mustSucceed("PasswordRealm", aliceCreds)
	if c.sid == before {
		t.Fatal("the id did not change at login")
	}
	for _, id := range []string{before, c.sid} {
		if _, err := l.db.GetSession(ctx, id, l.clock.Now()); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the store holds a session under the id itself: %v", err)
		}
	}
	if _, _, ok := l.session(before); ok {
		t.Error("the id before the login still names a session")
	}
	rec, _, ok := l.session(c.sid)
	if !ok {
		t.Fatal("the session is not stored under the hash of its id")
	}
	if bytes.Contains(rec.State, []byte(c.sid)) || bytes.Contains(rec.State, []byte(before)) {
		t.Error("the stored state holds a session id")
	}
	c.mustAllow("password")
}

// TestSessionMaxLifetime: use within the idle timeout keeps a session only up to its absolute
// lifetime; its stored expiry never passes that end.
func TestSessionMaxLifetime(t *testing.T) {
	l := newLabWith(t, labOptions{config: engine.Config{SessionIdle: 10 * time.Minute, SessionMaxLifetime: 30 * time.Minute}})
	c := l.client("android", "2.1.0")
	c.mustChallenge("password")
	c.mustSucceed("PasswordRealm", aliceCreds)
	start := l.clock.Now()
	for l.clock.Now().Sub(start) < 28*time.Minute {
		l.clock.Advance(7 * time.Minute)
		c.mustAllow("password")
		rec, _, _ := l.session(c.sid)
		if end := rec.CreatedAt.Add(30 * time.Minute); rec.ExpiresAt.After(end) {
			t.Fatalf("stored expiry %v after the end of the lifetime %v", rec.ExpiresAt, end)
		}
	}
	l.clock.Advance(2 * time.Minute) // 30 minutes since the session began
	old := c.sid
	ch := c.mustChallenge("password")
	if c.sid == old || ch.Challenges["PasswordRealm"] == nil {
		t.Errorf("after the lifetime: session %q (was %q), challenge %v; want a new session", c.sid, old, ch)
	}
	// A shorter lifetime in a new configuration ends sessions made under the old one.
	l2 := newLabWith(t, labOptions{config: engine.Config{SessionIdle: time.Hour, SessionPending: time.Hour, SessionMaxLifetime: 24 * time.Hour}})
	c2 := l2.client("android", "2.1.0")
	c2.mustChallenge("xsrf")
	c2.mustAllow("xsrf")
	l2.clock.Advance(20 * time.Minute)
	c2.mustAllow("xsrf")
	shorter, err := engine.New(l2.project, engine.Options{Config: engine.Config{SessionIdle: time.Hour, SessionPending: time.Hour, SessionMaxLifetime: 15 * time.Minute},
		Store: l2.store, Evaluator: l2.eval, Now: l2.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := shorter.Authorize(t.Context(), engine.AccessRequest{App: c2.app, SessionID: c2.sid, Resource: c2.resource("xsrf"), Passive: c2.passive()})
	if err != nil || acc.Challenge == nil || acc.Cookies.SessionID == c2.sid {
		t.Errorf("a session older than the new lifetime: %+v %v, want a new session's challenge", acc, err)
	}
}

// boundsLab is the lab with a rule that refuses a procedure call it sees parameters of, and a
// rule that is slow for resource "slow".
func boundsLab(t *testing.T, cfg engine.Config) *lab {
	files := labFiles(t)
	files["policies/bounds.rego"] = `package realmgate.user.bounds

deny contains sprintf("saw %d parameters", [count(input.request.parameters)]) if {
	input.resource.kind == "procedure"
	count(input.request.parameters) > 0
}

deny contains "withheld" if {
	input.resource.name == "probe"
	input.request.withheld
}

deny contains "unreachable" if {
	input.resource.name == "slow"
	n := count([1 | some i in numbers.range(1, 400); some j in numbers.range(1, 400); i + j == 0])
	n > 0
}
`
	return newLabWith(t, labOptions{config: cfg, files: files})
}

func procedure(test string) engine.Resource {
	return engine.Resource{Kind: engine.ResourceProcedure, Name: "A.p", Test: test}
}

func params(n, size int) map[string]any {
	ps := make([]any, n)
	for i := range ps {
		ps[i] = strings.Repeat("p", size)
	}
	return map[string]any{"method": "POST", "path": "/api/v1/adapters/A/p", "parameters": ps}
}

func nested(depth int) map[string]any {
	var v any = "leaf"
	for range depth {
		v = []any{v}
	}
	return map[string]any{"parameters": []any{v}}
}

// TestUnauthenticatedFactsAreBounded: a caller that passed no realm needing a credential gets
// decisions made without facts over the size bound (a challenge stands, an allow becomes
// CodeInputTooLarge); facts nested too deep are refused for every caller; an authenticated
// caller's facts reach the policy whole.
func TestUnauthenticatedFactsAreBounded(t *testing.T) {
	l := boundsLab(t, engine.Config{UnauthenticatedInputBytes: 1000, InputDepth: 10})
	big, small := params(50, 40), params(1, 10)

	c := l.client("android", "2.1.0")
	if acc, err := c.request(procedure("password"), big); err != nil || acc.Challenge == nil {
		t.Errorf("large facts, unauthenticated: %+v %v; want the challenge, decided without them", acc, err)
	}
	if _, err := c.request(procedure("password"), small); codeOf(err) != engine.CodePolicyDenied {
		t.Errorf("small facts, unauthenticated: %v; want the policy to see them", err)
	}
	if _, err := c.request(engine.Resource{Kind: engine.ResourceApp, Name: "probe", Test: "password"}, big); codeOf(err) != engine.CodePolicyDenied {
		t.Errorf("withheld facts: %v; want the policy to see input.request.withheld", err)
	}
	if _, err := c.request(procedure("password"), nested(9)); codeOf(err) != engine.CodeBadRequest {
		t.Errorf("deep facts, unauthenticated: %v; want %s", err, engine.CodeBadRequest)
	}
	// Only credential-free realms passed: an allow of withheld facts is refused.
	x := l.client("android", "2.1.0")
	x.mustChallenge("xsrf")
	x.mustAllow("xsrf")
	if _, err := x.request(procedure("xsrf"), big); codeOf(err) != engine.CodeInputTooLarge {
		t.Errorf("large facts after the anti-XSRF realm: %v; want %s", err, engine.CodeInputTooLarge)
	}
	// Signed in: the policy sees everything (and refuses what it sees).
	c.mustChallenge("password")
	c.mustSucceed("PasswordRealm", aliceCreds)
	if _, err := c.request(procedure("password"), big); codeOf(err) != engine.CodePolicyDenied || !strings.Contains(err.Error(), "saw 50 parameters") {
		t.Errorf("large facts, signed in: %v; want the policy to see all 50", err)
	}
	if _, err := c.request(procedure("password"), nested(9)); codeOf(err) != engine.CodeBadRequest {
		t.Errorf("deep facts, signed in: %v; want %s", err, engine.CodeBadRequest)
	}
	if _, err := c.request(procedure("password"), nested(6)); codeOf(err) != engine.CodePolicyDenied {
		t.Errorf("facts within the depth, signed in: %v; want the policy to see them", err)
	}
}

// TestUnauthenticatedPolicyDeadline: the evaluation for a caller who has not authenticated stops
// at its deadline; an authenticated caller's is not cut.
func TestUnauthenticatedPolicyDeadline(t *testing.T) {
	// 25 ms: far above an ordinary decision even under the race detector, far below the slow one.
	l := boundsLab(t, engine.Config{UnauthenticatedPolicyTimeout: 25 * time.Millisecond})
	slow := engine.Resource{Kind: engine.ResourceApp, Name: "slow", Test: "password"}
	c := l.client("android", "2.1.0")
	start := time.Now()
	if _, err := c.request(slow, nil); codeOf(err) != engine.CodePolicyTimeout {
		t.Fatalf("slow policy, unauthenticated: %v; want %s", err, engine.CodePolicyTimeout)
	}
	t.Logf("stopped after %v", time.Since(start))
	c.mustChallenge("password")
	c.mustSucceed("PasswordRealm", aliceCreds)
	if acc, err := c.request(slow, nil); err != nil || !acc.Allowed {
		t.Errorf("slow policy, signed in: %+v %v; want it evaluated to the end", acc, err)
	}
}

// tokenKeys is one ES256 signing key.
type tokenKeys struct{ key engine.SigningKey }

func newTokenKeys(t *testing.T) tokenKeys {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return tokenKeys{engine.SigningKey{ID: "k1", Algorithm: engine.AlgES256, Key: priv}}
}

func (k tokenKeys) Active() (engine.SigningKey, error) { return k.key, nil }
func (k tokenKeys) Verifier(kid string) (crypto.PublicKey, string, bool) {
	return k.key.Key.Public(), k.key.Algorithm, kid == k.key.ID
}

func (l *lab) issuer(t *testing.T) *engine.TokenIssuer {
	return &engine.TokenIssuer{Keys: newTokenKeys(t), Issuer: "https://lab", Audiences: []string{"statements"},
		Revocations: l.db, Now: l.clock.Now}
}

func (c *client) token(ti *engine.TokenIssuer, test, audience string) (*engine.Token, error) {
	acc, tok, err := c.l.eng.IssueToken(c.l.t.Context(), ti, engine.AccessRequest{App: c.app, SessionID: c.sid,
		Resource: engine.Resource{Kind: engine.ResourceToken, Name: test, Test: test}, Passive: c.passive()}, audience)
	if acc != nil {
		c.take(acc.Cookies)
	}
	if err == nil && tok == nil {
		err = errors.New("challenged")
	}
	return tok, err
}

// TestTokenAudience: a token is for the application unless the request names a resource server
// the issuer knows; online validation for an audience refuses tokens for others.
func TestTokenAudience(t *testing.T) {
	l := newLab(t)
	ti := l.issuer(t)
	c := l.client("android", "2.1.0")
	c.mustChallenge("password")
	c.mustSucceed("PasswordRealm", aliceCreds)
	for _, tc := range []struct{ requested, want string }{{"", labApp}, {labApp, labApp}, {"statements", "statements"}} {
		tok, err := c.token(ti, "password", tc.requested)
		if err != nil {
			t.Fatalf("%q: %v", tc.requested, err)
		}
		if tok.Claims.Audience != tc.want {
			t.Errorf("requested %q: aud %q, want %q", tc.requested, tok.Claims.Audience, tc.want)
		}
		if _, err := ti.Introspect(t.Context(), tok.AccessToken, "", tc.want); err != nil {
			t.Errorf("introspection as %q: %v", tc.want, err)
		}
		if _, err := ti.Introspect(t.Context(), tok.AccessToken, "", "payments"); !errors.Is(err, engine.ErrTokenAudience) {
			t.Errorf("introspection as payments: %v, want ErrTokenAudience", err)
		}
	}
	for _, bad := range []string{"payments", "OtherApp", "Statements"} {
		if _, err := c.token(ti, "password", bad); codeOf(err) != engine.CodeInvalidTarget {
			t.Errorf("requested %q: %v, want %s", bad, err, engine.CodeInvalidTarget)
		}
	}
}

// TestTokenRevocation: a logout revokes the tokens its session obtained, not those of a later
// login in the same session nor another session's; a device block revokes the device's tokens
// issued up to the block.
func TestTokenRevocation(t *testing.T) {
	l := newLab(t)
	ti := l.issuer(t)
	ctx := t.Context()
	introspect := func(tok *engine.Token) error {
		_, err := ti.Introspect(ctx, tok.AccessToken, "", "")
		return err
	}
	c := l.client("android", "2.1.0")
	c.mustChallenge("password")
	c.mustSucceed("PasswordRealm", aliceCreds)
	first, err := c.token(ti, "password", "")
	if err != nil {
		t.Fatal(err)
	}
	second, _ := c.token(ti, "password", "")
	if first.Claims.SessionRef == "" || second.Claims.SessionRef != first.Claims.SessionRef || strings.Contains(c.sid, first.Claims.SessionRef) {
		t.Errorf("sid %q, %q: want one reference for the session's tokens, not its id", first.Claims.SessionRef, second.Claims.SessionRef)
	}
	other := l.client("android", "2.1.0")
	other.mustChallenge("password")
	other.mustSucceed("PasswordRealm", aliceCreds)
	otherTok, _ := other.token(ti, "password", "")
	if err := l.eng.Logout(ctx, c.app, c.sid, "PasswordRealm"); err != nil {
		t.Fatal(err)
	}
	for _, tok := range []*engine.Token{first, second} {
		if err := introspect(tok); !errors.Is(err, engine.ErrTokenRevoked) {
			t.Errorf("token of a session that logged out: %v, want ErrTokenRevoked", err)
		}
		if _, err := ti.Validate(tok.AccessToken, ""); err != nil {
			t.Errorf("offline validation sees no revocation: %v", err)
		}
	}
	if err := introspect(otherTok); err != nil {
		t.Errorf("another session's token: %v", err)
	}
	c.mustChallenge("password")
	c.mustSucceed("PasswordRealm", aliceCreds)
	again, _ := c.token(ti, "password", "")
	if err := introspect(again); err != nil || again.Claims.SessionRef == first.Claims.SessionRef {
		t.Errorf("token of a new login in the same session: %v, sid %q", err, again.Claims.SessionRef)
	}

	// Device: tokens up to the block (iat in whole seconds), not those after.
	d := l.client("android", "2.1.0")
	n, _ := d.mustChallenge("device").Challenges[project.RealmDeviceNoProvision]["token"].(string)
	d.mustSucceed(project.RealmDeviceNoProvision, `{"token":"`+n+`","device":{"id":"phone-1"}}`)
	devTok, err := d.token(ti, "device", "")
	if err != nil || devTok.Claims.Data.DeviceID != "phone-1" {
		t.Fatalf("device token: %+v %v", devTok, err)
	}
	l.clock.Advance(300 * time.Millisecond)
	if err := l.eng.RevokeDeviceTokens(ctx, "phone-1"); err != nil {
		t.Fatal(err)
	}
	if err := introspect(devTok); !errors.Is(err, engine.ErrTokenRevoked) {
		t.Errorf("token of a blocked device: %v, want ErrTokenRevoked", err)
	}
	l.clock.Advance(time.Second)
	later, _ := d.token(ti, "device", "")
	if err := introspect(later); err != nil {
		t.Errorf("token issued after the block: %v", err)
	}
	// The revocations are kept while a token they revoke may live, then forgotten.
	rec, err := l.db.GetTokenRevocation(ctx, store.TokensOfDevice, "phone-1", l.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if life := rec.ExpiresAt.Sub(rec.RevokedAt); life < engine.DefaultTokenLifetime {
		t.Errorf("revocation kept %v, shorter than a token lives", life)
	}
	if diff := cmp.Diff(store.TokensOfDevice, rec.Kind); diff != "" {
		t.Error(diff)
	}
}

// TestIntrospectFailsClosed: a revocation store that does not answer makes introspection fail
// with CodeUnavailable, never pass.
func TestIntrospectFailsClosed(t *testing.T) {
	l := newLab(t)
	ti := l.issuer(t)
	c := l.client("android", "2.1.0")
	c.mustChallenge("password")
	c.mustSucceed("PasswordRealm", aliceCreds)
	tok, err := c.token(ti, "password", "")
	if err != nil {
		t.Fatal(err)
	}
	ti.Revocations = failingRevocations{}
	if _, err := ti.Introspect(t.Context(), tok.AccessToken, "", ""); codeOf(err) != engine.CodeUnavailable {
		t.Errorf("introspection with a failing store: %v, want %s", err, engine.CodeUnavailable)
	}
}

type failingRevocations struct{ store.TokenRevocations }

func (failingRevocations) GetTokenRevocation(context.Context, string, string, time.Time) (store.TokenRevocation, error) {
	return store.TokenRevocation{}, errors.New("disk on fire")
}
