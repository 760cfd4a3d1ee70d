package engine_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store"
)

func TestNewSessionIsCreatedAndStored(t *testing.T) {
	l := newLab(t)
	c := l.client("android", "2.1.0")
	ch := c.mustChallenge("xsrf")
	if len(c.sid) != 43 {
		t.Fatalf("session id %q: want 256 random bits, URL-safe base64 (43 characters)", c.sid)
	}
	rec, st, ok := l.session(c.sid)
	if !ok {
		t.Fatal("the new session is not in the store")
	}
	// A session that holds no login of a realm needing a credential ends after the pending
	// timeout (sessionbounds.go).
	want := store.Session{ID: sessionKey(c.sid), App: labApp, Env: "android", CreatedAt: l.clock.Now(), ExpiresAt: l.clock.Now().Add(engine.DefaultConfig.SessionPending)}
	rec.State = nil
	if diff := cmp.Diff(want, rec); diff != "" {
		t.Errorf("stored session (-want +got):\n%s", diff)
	}
	if st.Lineage == "" || st.Lineage == c.sid || st.Version != "2.1.0" {
		t.Errorf("state %+v: want a lineage of its own and the app version", st)
	}
	if tok := ch.Challenges[project.RealmAntiXSRF]["WL-Instance-Id"]; tok != st.InstanceID || st.InstanceID == "" {
		t.Errorf("challenge token %v, stored %q", tok, st.InstanceID)
	}
	// The next request of the session is not given a new cookie.
	acc, err := c.authorize("xsrf")
	if err != nil || acc.Cookies.SessionID != "" {
		t.Fatalf("second request: cookies %+v err %v, want no new session cookie", acc.Cookies, err)
	}
	// Two clients get two sessions.
	d := l.client("android", "2.1.0")
	d.mustChallenge("xsrf")
	if d.sid == c.sid {
		t.Fatal("two clients share a session id")
	}
}

// TestSessionNotAdopted: a session id that the engine did not issue for this application
// environment, or that has ended, starts a new session; the id given is never used.
func TestSessionNotAdopted(t *testing.T) {
	l := newLabWith(t, labOptions{config: engine.Config{SessionIdle: 10 * time.Minute}})
	ctx := t.Context()
	// issued returns the id of a session that passed the anti-XSRF realm in app/env.
	issued := func(app, env string) string {
		c := l.client(env, "2.1.0")
		c.app.App = app
		c.mustChallenge("xsrf")
		c.mustAllow("xsrf")
		return c.sid
	}
	overlong := strings.Repeat("A", 129)
	// A session stored under an overlong id (another writer of the store) is still not read.
	if err := l.db.PutSession(ctx, store.Session{ID: overlong, App: labApp, Env: "android", CreatedAt: l.clock.Now(),
		ExpiresAt: l.clock.Now().Add(time.Hour), State: json.RawMessage(`{"lineage":"x","instanceId":"known"}`)}); err != nil {
		t.Fatal(err)
	}
	expired := issued(labApp, "android")
	l.clock.Advance(10 * time.Minute)
	tests := []struct {
		name string
		id   string
		env  string
	}{
		{"empty", "", "android"},
		{"forged, well-formed", "Zm9yZ2VkLXNlc3Npb24taWQtdGhhdC13YXMtbmV2ZXI", "android"},
		{"forged, junk", "../../etc/passwd\x00", "android"},
		{"overlong, present in the store", overlong, "android"},
		{"another application's", issued("OtherApp", "android"), "android"},
		{"another environment's", issued(labApp, "iphone"), "android"},
		{"expired", expired, "android"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := l.client(tc.env, "2.1.0")
			c.sid, c.instanceID = tc.id, "known"
			acc, err := c.authorize("xsrf")
			if err != nil {
				t.Fatal(err)
			}
			if acc.Cookies.SessionID == "" || acc.Cookies.SessionID == tc.id {
				t.Fatalf("session cookie %q: want a new session", acc.Cookies.SessionID)
			}
			if acc.Challenge == nil {
				t.Fatal("the request passed the anti-XSRF realm of a session it does not own")
			}
			rec, _, ok := l.session(acc.Cookies.SessionID)
			if !ok || rec.App != labApp || rec.Env != tc.env {
				t.Fatalf("new session stored %v as %+v", ok, rec)
			}
		})
	}
	// The other application's session is left as it was: still valid there.
	t.Run("bound sessions still work where they belong", func(t *testing.T) {
		c := l.client("iphone", "2.1.0")
		c.sid = tests[5].id
		_, st, ok := l.session(c.sid)
		if !ok {
			t.Fatal("the iphone session was removed by a request of another environment")
		}
		c.instanceID = st.InstanceID
		acc := c.mustAllow("xsrf")
		if acc.Cookies.SessionID != "" {
			t.Fatalf("session re-issued: %+v", acc.Cookies)
		}
	})
}

func TestSessionIdleExpiry(t *testing.T) {
	for _, idle := range []time.Duration{10 * time.Minute, 30 * time.Second} {
		t.Run(idle.String(), func(t *testing.T) {
			// The anti-XSRF realm needs no credential: with the pending timeout as long as the
			// idle one, the session lives by the idle timeout (TestPendingSessionExpiry).
			l := newLabWith(t, labOptions{config: engine.Config{SessionIdle: idle, SessionPending: idle}})
			c := l.client("android", "2.1.0")
			c.mustChallenge("xsrf")
			first := c.sid
			// The idle timeout is refreshed when less than this is left of it: rarely written,
			// never lost.
			slack := min(time.Minute, idle/10)
			steps := []struct {
				wait time.Duration
				same bool
			}{
				{idle - time.Second, true}, // used just before the end: kept and extended
				{idle - time.Second, true}, // the use extended it
				{slack / 2, true},          // a use soon after does not need a write, still kept
				{idle - slack/2 - time.Second, true},
				{idle, false}, // unused for the idle time: ended
			}
			for i, s := range steps {
				l.clock.Advance(s.wait)
				acc, err := c.authorize("xsrf")
				if err != nil {
					t.Fatal(err)
				}
				if got := acc.Cookies.SessionID == ""; got != s.same {
					t.Fatalf("step %d (after %v): same session %v, want %v", i, s.wait, got, s.same)
				}
				if s.same && c.sid != first {
					t.Fatalf("step %d: the session id changed", i)
				}
				rec, _, ok := l.session(c.sid)
				if !ok || rec.ExpiresAt.Sub(l.clock.Now()) < idle-slack {
					t.Fatalf("step %d: stored %v, expires %v, now %v: the use did not extend it", i, ok, rec.ExpiresAt, l.clock.Now())
				}
			}
		})
	}
}

// TestSessionRotatedAtLogin: a user login gives the session a new id, so an id known before the
// login (fixation) is worthless after it; nonces issued before the rotation still work.
func TestSessionRotatedAtLogin(t *testing.T) {
	l := newLab(t)
	c := l.client("android", "2.1.0")
	ch := c.mustChallenge("deviceAndLogin")
	if diff := cmp.Diff([]string{"PasswordRealm", project.RealmDeviceNoProvision}, realmsOf(ch)); diff != "" {
		t.Fatalf("challenged (-want +got):\n%s", diff)
	}
	nonce := ch.Challenges[project.RealmDeviceNoProvision]["token"].(string)
	before := c.sid
	_, stBefore, _ := l.session(before)

	res := c.mustSucceed("PasswordRealm", `{"username":"alice","password":"`+alicePassword+`"}`)
	if res.Cookies.SessionID == "" || res.Cookies.SessionID == before {
		t.Fatalf("login cookies %+v: want a new session id", res.Cookies)
	}
	if _, _, ok := l.session(before); ok {
		t.Fatal("the id known before the login is still in the store")
	}
	_, stAfter, ok := l.session(c.sid)
	if !ok || stAfter.Lineage != stBefore.Lineage || !stAfter.Realms["PasswordRealm"].Passed {
		t.Fatalf("rotated session %v %+v: want the same lineage and the login", ok, stAfter)
	}

	// The nonce issued before the rotation answers the device realm of the rotated session.
	res = c.mustSucceed(project.RealmDeviceNoProvision, `{"token":"`+nonce+`","device":{"id":"dev-1","os":"android"}}`)
	if res.Cookies.SessionID != "" {
		t.Errorf("a device answer rotated the session: %+v", res.Cookies)
	}
	acc := c.mustAllow("deviceAndLogin")
	if acc.User["userId"] != "alice" || acc.Device["id"] != "dev-1" {
		t.Errorf("identities user %v device %v", acc.User, acc.Device)
	}

	// The old id gives a new, empty session.
	old := l.client("android", "2.1.0")
	old.sid = before
	acc, err := old.authorize("deviceAndLogin")
	if err != nil || acc.Challenge == nil || acc.Cookies.SessionID == "" || acc.Cookies.SessionID == c.sid {
		t.Fatalf("old id after login: access %+v err %v: want a challenge in a new session", acc, err)
	}
	// An answer with the old id is not taken as the rotated session's.
	old.sid = before
	if _, err := old.answer("PasswordRealm", `{"username":"alice","password":"`+alicePassword+`"}`); codeOf(err) != engine.CodeNoChallenge {
		t.Fatalf("answer with the old id: %v, want %s", err, engine.CodeNoChallenge)
	}
}

// TestAnswerNeedsSession: an answer without a session, or for a realm not challenged in it, is a
// conflict and creates nothing.
func TestAnswerNeedsSession(t *testing.T) {
	l := newLab(t)
	c := l.client("android", "2.1.0")
	if _, err := c.answer("FormRealm", `{"username":"a","password":"b"}`); codeOf(err) != engine.CodeNoChallenge {
		t.Fatalf("answer without a session: %v", err)
	}
	if c.sid != "" {
		t.Fatal("an answer without a session issued one")
	}
	c.mustChallenge("form")
	if _, err := c.answer("PasswordRealm", `{"username":"alice","password":"`+alicePassword+`"}`); codeOf(err) != engine.CodeNoChallenge {
		t.Fatalf("answer for a realm not challenged: %v", err)
	}
	if _, err := c.answer("NoSuchRealm", `{}`); codeOf(err) != engine.CodeUnknownRealm {
		t.Fatalf("answer for an unknown realm: %v", err)
	}
	if _, err := c.authorize("noSuchTest"); codeOf(err) != engine.CodeUnknownSecurityTest {
		t.Fatalf("unknown test: %v", err)
	}
}

func TestSessionInfo(t *testing.T) {
	l := newLab(t)
	c := l.client("mobilewebapp", "")
	info, err := l.eng.Session(t.Context(), c.app, "", c.passive())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&engine.SessionInfo{App: labApp, Env: "mobilewebapp", Realms: map[string]map[string]any{}}, info); diff != "" {
		t.Errorf("no session (-want +got):\n%s", diff)
	}
	c.mustChallenge("web")
	acc := c.mustAllow("web")
	user := acc.User["userId"].(string)
	info, err = l.eng.Session(t.Context(), c.app, c.sid, c.passive())
	if err != nil {
		t.Fatal(err)
	}
	anon := map[string]any{"userId": user, "displayName": user, "realm": project.RealmAnonymousUser}
	want := &engine.SessionInfo{App: labApp, Env: "mobilewebapp",
		Realms: map[string]map[string]any{
			project.RealmAntiXSRF:      {"identity": nil},
			project.RealmAnonymousUser: {"identity": anon},
		},
		User: anon,
	}
	if diff := cmp.Diff(want, info); diff != "" {
		t.Errorf("session (-want +got):\n%s", diff)
	}
}

// TestSessionChangedByAnotherEngine: two engines on one store, as two daemons share one. What
// one of them changes in a session (a login, a logout) the other sees at its next request, though
// it read the session before.
func TestSessionChangedByAnotherEngine(t *testing.T) {
	l := newLab(t)
	other, err := engine.New(l.project, engine.Options{Store: l.store, Evaluator: l.eval, Now: l.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	c := l.client("android", "2.1.0")
	c.mustChallenge("password")
	c.mustSucceed("PasswordRealm", `{"username":"alice","password":"`+alicePassword+`"}`)
	c.mustAllow("password")
	c.mustAllow("password") // this engine has read the session as it is now
	if err := other.Logout(t.Context(), c.app, c.sid, "PasswordRealm"); err != nil {
		t.Fatal(err)
	}
	if ch := c.mustChallenge("password"); ch.Challenges["PasswordRealm"] == nil {
		t.Fatalf("after a logout through the other engine: challenge %+v, want PasswordRealm", ch)
	}
	// And the other way round: a login through the other engine.
	acc, err := other.Authorize(t.Context(), engine.AccessRequest{App: c.app, SessionID: c.sid, Resource: c.resource("password"), Passive: c.passive()})
	if err != nil || acc.Challenge == nil {
		t.Fatalf("other engine: %+v, %v; want a challenge", acc, err)
	}
	c.take(acc.Cookies)
	res, err := other.Answer(t.Context(), engine.AnswerRequest{App: c.app, SessionID: c.sid, Realm: "PasswordRealm",
		Body: []byte(`{"username":"alice","password":"` + alicePassword + `"}`), Passive: c.passive()})
	if err != nil {
		t.Fatalf("login through the other engine: %v", err)
	}
	c.take(res.Cookies)
	if acc := c.mustAllow("password"); acc.User["userId"] != "alice" {
		t.Errorf("after a login through the other engine: user %v, want alice", acc.User)
	}
}
