package engine_test

import (
	"strings"
	"testing"
	"time"

	"github.com/realmgate/realmgate/engine"
)

// TestPendingSessionExpiry: a session that holds no login of a realm needing a credential ends
// after the pending timeout; a login gives it the idle timeout, and a logout takes it back.
func TestPendingSessionExpiry(t *testing.T) {
	l := newLabWith(t, labOptions{config: engine.Config{SessionIdle: 30 * time.Minute, SessionPending: 5 * time.Minute}})
	expiresIn := func(c *client) time.Duration {
		t.Helper()
		rec, _, ok := l.session(c.sid)
		if !ok {
			t.Fatal("the session is not stored")
		}
		return rec.ExpiresAt.Sub(l.clock.Now())
	}

	// Challenged, never answered: gone after the pending timeout.
	c := l.client("android", "2.1.0")
	c.mustChallenge("password")
	if got := expiresIn(c); got != 5*time.Minute {
		t.Errorf("a new session expires in %v, want the pending timeout 5m", got)
	}
	abandoned := c.sid
	l.clock.Advance(5*time.Minute + time.Second)
	c.mustChallenge("password")
	if c.sid == abandoned {
		t.Fatal("a session unused for longer than the pending timeout was kept")
	}

	// Logged in: the idle timeout, from the login on.
	c.mustSucceed("PasswordRealm", aliceCreds)
	if got := expiresIn(c); got != 30*time.Minute {
		t.Errorf("a logged-in session expires in %v, want the idle timeout 30m", got)
	}
	l.clock.Advance(20 * time.Minute)
	loggedIn := c.sid
	c.mustAllow("password")
	if c.sid != loggedIn {
		t.Fatal("a logged-in session ended before its idle timeout")
	}

	// Logged out: pending again.
	if err := l.eng.Logout(t.Context(), c.app, c.sid, "PasswordRealm"); err != nil {
		t.Fatal(err)
	}
	if got := expiresIn(c); got != 5*time.Minute {
		t.Errorf("after the logout the session expires in %v, want the pending timeout 5m", got)
	}

	// Credential-free realms alone (anti-XSRF) keep a session pending.
	x := l.client("android", "2.1.0")
	x.mustChallenge("xsrf")
	x.mustAllow("xsrf")
	if got := expiresIn(x); got != 5*time.Minute {
		t.Errorf("a session holding only the anti-XSRF realm expires in %v, want the pending timeout", got)
	}
}

// TestSessionStateDoesNotGrow: answering again and again (wrong answers up to the attempt
// limit, logins, logouts, a second user's refused factor) leaves a session's stored state the
// size it had after the first round.
func TestSessionStateDoesNotGrow(t *testing.T) {
	l := newLab(t)
	c := l.client("android", "2.1.0")
	sizes := make([]int, 0, 200)
	for round := range 100 {
		c.mustChallenge("password")
		for range 3 {
			res, err := c.answer("PasswordRealm", `{"username":"alice","password":"wrong"}`)
			if err != nil || res.Retry == nil {
				t.Fatalf("round %d: wrong password: %+v %v, want a retry", round, res, err)
			}
		}
		c.mustSucceed("PasswordRealm", aliceCreds)
		c.mustAllow("password")
		if rec, _, ok := l.session(c.sid); ok {
			sizes = append(sizes, len(rec.State)) // logged in
		}
		if err := l.eng.Logout(t.Context(), c.app, c.sid, "PasswordRealm"); err != nil {
			t.Fatal(err)
		}
		rec, _, ok := l.session(c.sid)
		if !ok {
			t.Fatalf("round %d: session gone", round)
		}
		sizes = append(sizes, len(rec.State)) // logged out, with no failure left
		l.clock.Advance(2 * time.Second)      // clear of the login backoff of the account
	}
	for i, n := range sizes {
		if first := sizes[i%2]; n > first {
			t.Fatalf("step %d: the state holds %d bytes, %d in round 0: it grows (%v)", i, n, first, sizes)
		}
	}
	t.Logf("stored state after each of %d rounds: %d bytes logged in, %d logged out", len(sizes)/2, sizes[len(sizes)-2], sizes[len(sizes)-1])
}

// TestSessionFullIsRefused: a login whose identity (an adapter's, which may carry any
// attributes) would take the session past its bound is refused with session_full, and the
// session stays as it was.
func TestSessionFullIsRefused(t *testing.T) {
	f := &fakeAdapter{identity: `{"userId":"carol","photo":"` + strings.Repeat("A", 70<<10) + `"}`}
	l := adapterLab(t, f)
	c := l.client("mobilewebapp", "1.0")
	c.mustChallenge("adapterDefault")
	before, _, ok := l.session(c.sid)
	if !ok {
		t.Fatal("no session after the challenge")
	}
	_, err := c.answer("DefaultRealm", `{"parameters":["carol","pw"]}`)
	if codeOf(err) != engine.CodeSessionFull {
		t.Fatalf("a 70 KiB identity: %v, want %s", err, engine.CodeSessionFull)
	}
	after, st, ok := l.session(c.sid)
	if !ok || string(after.State) != string(before.State) {
		t.Errorf("the session changed (%v): %.200s", ok, after.State)
	}
	if rs := st.Realms["DefaultRealm"]; rs != nil && rs.Passed {
		t.Error("the refused login was kept")
	}
	// An identity that fits logs in.
	f.identity = `{"userId":"carol","photo":"` + strings.Repeat("A", 8<<10) + `"}`
	c.mustSucceed("DefaultRealm", `{"parameters":["carol","pw"]}`)
}
