package engine_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store"
)

// TestAnonymousUserLegacyRowAdopted: a user row keyed by the raw cookie (as stored before rows
// were keyed by the derived id) is moved under the derived id on the cookie's next visit, with
// its CreatedAt, and the row keyed by the cookie is gone.
func TestAnonymousUserLegacyRowAdopted(t *testing.T) {
	l := newLab(t)
	ctx := t.Context()
	const cookie = "5b0c5e0e-2a4f-4d6b-9c1e-3f2a1b0c9d8e"
	id := engine.AnonymousUserID(cookie)
	created := l.clock.Now().Add(-90 * 24 * time.Hour)
	if err := l.db.PutUser(ctx, store.User{ID: cookie, CreatedAt: created, LastSeen: created.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	c := l.client("android", "2.1.0")
	c.persistent = cookie
	acc := c.mustAllow("anon")
	if acc.Cookies.PersistentUser != "" || acc.User["userId"] != id {
		t.Fatalf("legacy cookie: issued %q, user %v; want no new cookie and user %q", acc.Cookies.PersistentUser, acc.User, id)
	}
	got, err := l.db.GetUser(ctx, id)
	if err != nil {
		t.Fatalf("adopted row: %v", err)
	}
	want := store.User{ID: id, CreatedAt: created, LastSeen: l.clock.Now()}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("adopted row (-want +got):\n%s", diff)
	}
	if _, err := l.db.GetUser(ctx, cookie); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the row keyed by the cookie is still there: %v", err)
	}
	// Once adopted, a new session finds the derived row.
	l.clock.Advance(2 * time.Hour)
	d := l.client("android", "2.1.0")
	d.persistent = cookie
	if acc := d.mustAllow("anon"); acc.Cookies.PersistentUser != "" || acc.User["userId"] != id {
		t.Fatalf("after adoption: %+v", acc)
	}
	if got, err := l.db.GetUser(ctx, id); err != nil || !got.CreatedAt.Equal(created) || !got.LastSeen.Equal(l.clock.Now()) {
		t.Errorf("after adoption: row %+v %v", got, err)
	}
}

// TestAnonymousUserLegacySession: a session stored before the cookie was kept apart from the
// identity (identity userId = the cookie, no realm data) moves to the derived id at its next
// request; a request without the cookie gets a new one rather than the old identity back.
func TestAnonymousUserLegacySession(t *testing.T) {
	l := newLab(t)
	c := l.client("android", "2.1.0")
	cookie := c.mustAllow("anon").Cookies.PersistentUser
	rec, _, ok := l.session(c.sid)
	if !ok {
		t.Fatal("no stored session")
	}
	legacy := map[string]any{"lineage": "l", "realms": map[string]any{project.RealmAnonymousUser: map[string]any{
		"passed": true, "identity": map[string]any{"userId": cookie, "displayName": cookie, "realm": project.RealmAnonymousUser}}}}
	rec.State, _ = json.Marshal(legacy)
	rec.ID = sessionKey(c.sid)
	if err := l.db.PutSession(t.Context(), rec); err != nil {
		t.Fatal(err)
	}
	if acc := c.mustAllow("anon"); acc.User["userId"] != engine.AnonymousUserID(cookie) || acc.Cookies.PersistentUser != "" {
		t.Fatalf("legacy session with the cookie: %+v", acc)
	}
	if _, st, _ := l.session(c.sid); st.Realms[project.RealmAnonymousUser].Identity["userId"] != engine.AnonymousUserID(cookie) {
		t.Fatalf("stored identity %v", st.Realms[project.RealmAnonymousUser].Identity)
	}
}

// TestAnonymousCookieNeverLeaves: the persistent cookie is a bearer secret; what the engine
// hands on (the Access a server answers with and passes to adapters, the policy input of the
// decision log, access tokens, the audit) carries the derived id and never the cookie.
func TestAnonymousCookieNeverLeaves(t *testing.T) {
	l := newLab(t)
	ti := l.issuer(t)
	c := l.client("android", "2.1.0")
	acc := c.mustAllow("anon")
	cookie := acc.Cookies.PersistentUser
	id := engine.AnonymousUserID(cookie)
	if cookie == "" {
		t.Fatal("no persistent cookie issued")
	}
	// present: what must carry the id and must not carry the cookie.
	present := func(what string, v any) {
		t.Helper()
		raw, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(raw), id) {
			t.Errorf("%s: no anonymous user id %q in %s", what, id, raw)
		}
		if strings.Contains(string(raw), cookie) {
			t.Errorf("%s holds the persistent cookie: %s", what, raw)
		}
	}
	acc.Cookies = engine.Cookies{} // the one place the cookie belongs: the Set-Cookie
	present("the access (user, identities)", acc)
	again := c.mustAllow("anon")
	present("a later access", again)

	var inputs []any
	for _, r := range l.records() {
		if r.Input != nil {
			inputs = append(inputs, r.Input)
		}
	}
	if len(inputs) == 0 {
		t.Fatal("no policy input recorded")
	}
	present("the policy input", inputs)

	tok, err := c.token(ti, "anon", "")
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	if tok.Claims.Subject != id || tok.Claims.Data.UserID != id {
		t.Errorf("token sub %q user %q, want %q", tok.Claims.Subject, tok.Claims.Data.UserID, id)
	}
	present("the token's claims", tok.Claims)
	parts := strings.Split(tok.AccessToken, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q: not a JWS", tok.AccessToken)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	present("the token's payload", json.RawMessage(payload))
	if in, err := ti.Introspect(t.Context(), tok.AccessToken, "", labApp); err != nil {
		t.Errorf("introspect: %v", err)
	} else {
		present("the introspection", in)
	}

	// The audit, as an administrator reads it, and the engine's log.
	audit, err := l.eng.AuditRecords(t.Context(), 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if raw, _ := json.Marshal(audit); strings.Contains(string(raw), cookie) {
		t.Errorf("the audit holds the persistent cookie: %s", raw)
	}
	if logs := l.logs.String(); strings.Contains(logs, cookie) {
		t.Errorf("the engine's log holds the persistent cookie: %s", logs)
	}
}

// FuzzPersistentCookie: whatever WL_PERSISTENT_COOKIE a client sends (issued, forged, a user's
// public id, garbage), the anonymous user is the id derived from the cookie the client ends up
// with, never the value sent nor the cookie itself, and a value the server did not issue is
// not adopted.
func FuzzPersistentCookie(f *testing.F) {
	l := newLab(f)
	issued := l.client("android", "2.1.0").mustAllow("anon").Cookies.PersistentUser
	for _, s := range []string{issued, engine.AnonymousUserID(issued), "", "not-a-uuid",
		"0f8fad5b-d9cb-469f-a165-70867728950e", strings.ToUpper(issued), issued + " ", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cookie string) {
		l := l.withT(t)
		c := l.client("android", "2.1.0")
		c.persistent = cookie
		acc := c.mustAllow("anon")
		user, _ := acc.User["userId"].(string)
		kept := cookie
		if acc.Cookies.PersistentUser != "" {
			kept = acc.Cookies.PersistentUser
		}
		if user != engine.AnonymousUserID(kept) || user == kept || (cookie != "" && user == cookie) {
			t.Fatalf("cookie %q: kept %q, user %q; want the id derived from the kept cookie", cookie, kept, user)
		}
		if kept == cookie && cookie != issued {
			t.Fatalf("cookie %q adopted, though never issued", cookie)
		}
	})
}

// BenchmarkAnonymousNewSession measures a new session's first request with a stored
// WL_PERSISTENT_COOKIE (session created, user id derived, user read from SQLite, decision), beside
// its peer measured in the same run: AnonymousUserID alone. x-derive is the request's time over
// the derivation's, so the derivation's share of the path is 1/x-derive.
func BenchmarkAnonymousNewSession(b *testing.B) {
	l := newLab(b)
	cookie := l.client("android", "2.1.0").mustAllow("anon").Cookies.PersistentUser
	id := engine.AnonymousUserID(cookie)
	l.discard.Store(true)
	const n = 100000
	start := time.Now()
	for range n {
		if engine.AnonymousUserID(cookie) != id {
			b.Fatal("unstable id")
		}
	}
	derive := float64(time.Since(start).Nanoseconds()) / n
	for b.Loop() {
		c := l.client("android", "2.1.0")
		c.persistent = cookie
		if acc := c.mustAllow("anon"); acc.User["userId"] != id {
			b.Fatalf("user %v", acc.User)
		}
	}
	b.ReportMetric(derive, "derive-ns/op")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/derive, "x-derive")
}
