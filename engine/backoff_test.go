package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/store"
)

// passwordAttempt opens a new session of the "password" test from address ip and answers
// PasswordRealm with user and password.
func (l *lab) passwordAttempt(ip, user, password string) (*engine.AnswerResult, error) {
	c := l.client("mobilewebapp", "1.0")
	c.mustChallenge("password")
	body, _ := json.Marshal(map[string]string{"username": user, "password": password})
	return c.answerWith(engine.AnswerRequest{Realm: "PasswordRealm", Body: body, Client: ip})
}

// outcome names what an answer came to: "success", "retry", or the error code with the wait.
func outcome(res *engine.AnswerResult, err error) string {
	var e *engine.Error
	switch {
	case errors.As(err, &e) && e.RetryAfter > 0:
		return fmt.Sprintf("%s %v", e.Code, e.RetryAfter)
	case err != nil:
		return string(codeOf(err))
	case res.Retry != nil:
		return "retry"
	}
	return res.Status
}

func TestBackoffPerAccountDoublesToTheCap(t *testing.T) {
	l := newLabWith(t, labOptions{config: engine.Config{BackoffMax: 8 * time.Second}})
	steps := []struct {
		advance        time.Duration
		user, password string
		want           string
	}{
		{0, "alice", "wrong", "retry"},
		{0, "alice", "wrong", "retry"},
		{0, "alice", "wrong", "retry"},
		{0, "alice", "wrong", "retry"},
		{0, "alice", "wrong", "retry"},
		{0, "alice", "wrong", "login_backoff 1s"}, // five failures: the next waits 1s
		{0, "bob", bobPassword, "success"},        // another account does not wait
		{time.Second, "alice", "wrong", "retry"},
		{1999 * time.Millisecond, "alice", alicePassword, "login_backoff 1s"}, // six: 2s, even for the right password
		{time.Millisecond, "alice", "wrong", "retry"},
		{3 * time.Second, "alice", "wrong", "login_backoff 1s"}, // seven: 4s
		{time.Second, "alice", "wrong", "retry"},
		{7 * time.Second, "alice", "wrong", "login_backoff 1s"}, // eight: 8s
		{time.Second, "alice", "wrong", "retry"},
		{7 * time.Second, "alice", alicePassword, "login_backoff 1s"}, // nine: 16s, capped at 8s
		{time.Second, "alice", alicePassword, "success"},
		{0, "alice", "wrong", "retry"}, // the login reset the account's count
	}
	for i, s := range steps {
		l.clock.Advance(s.advance)
		if got := outcome(l.passwordAttempt("192.0.2.10", s.user, s.password)); got != s.want {
			t.Errorf("step %d (%s after %v): %s, want %s", i, s.user, s.advance, got, s.want)
		}
	}
}

func TestBackoffPerClient(t *testing.T) {
	l := newLabWith(t, labOptions{config: engine.Config{ClientBackoffAfter: 3}})
	var got []string
	for i := range 4 {
		got = append(got, outcome(l.passwordAttempt("2001:db8:1:2::1", fmt.Sprint("user", i), "guess")))
	}
	// Another address of the same /64 is the same client; another /64 is another.
	got = append(got, outcome(l.passwordAttempt("2001:db8:1:2:ffff::9", "bob", bobPassword)))
	got = append(got, outcome(l.passwordAttempt("2001:db8:1:3::1", "bob", bobPassword)))
	// An IPv4-mapped address is the IPv4 client.
	for range 3 {
		l.passwordAttempt("198.51.100.7", "nobody", "guess")
	}
	got = append(got, outcome(l.passwordAttempt("::ffff:198.51.100.7", "bob", bobPassword)))
	// The client's own login does not clear its count.
	l.clock.Advance(time.Second)
	got = append(got, outcome(l.passwordAttempt("198.51.100.7", "bob", bobPassword)))
	got = append(got, outcome(l.passwordAttempt("198.51.100.7", "nobody", "guess")))
	got = append(got, outcome(l.passwordAttempt("198.51.100.7", "bob", bobPassword)))
	// A client that stops failing for the window starts again.
	l.clock.Advance(engine.DefaultConfig.FailureWindow)
	got = append(got, outcome(l.passwordAttempt("198.51.100.7", "nobody", "guess")))
	want := []string{"retry", "retry", "retry", "login_backoff 1s",
		"login_backoff 1s", "success",
		"login_backoff 1s",
		"success", "retry", "login_backoff 2s",
		"retry"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("outcomes (-want +got):\n%s", diff)
	}
}

func TestFailedLoginsAreAuditedWithoutTheSecret(t *testing.T) {
	l := newLab(t)
	l.passwordAttempt("192.0.2.10", "alice", "hunter2-not-hers")
	c := l.client("mobilewebapp", "1.0")
	c.mustChallenge("basic")
	c.answerWith(engine.AnswerRequest{Realm: "BasicRealm", Body: json.RawMessage(`{}`),
		Basic: &engine.BasicCredentials{Username: "admin", Password: "letmein-guess"}, Client: "192.0.2.11"})
	recs, err := l.db.ListAudit(t.Context(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range recs {
		if r.Action != "login.failure" {
			continue
		}
		if strings.Contains(string(r.Detail), "hunter2") || strings.Contains(string(r.Detail), "letmein") {
			t.Errorf("audit record %s holds the password", r.Detail)
		}
		var d map[string]string
		json.Unmarshal(r.Detail, &d)
		got = append(got, r.Target+" "+d["user"]+" "+d["client"])
	}
	want := []string{"PasswordRealm alice 192.0.2.10", "BasicRealm admin 192.0.2.11"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("login.failure records (-want +got):\n%s", diff)
	}
}

// A store that cannot count failures refuses the login rather than letting it guess freely.
func TestBackoffFailsClosed(t *testing.T) {
	l := newLabWith(t, labOptions{wrap: func(s engine.Store) engine.Store { return brokenFailures{s} }})
	if got := outcome(l.passwordAttempt("192.0.2.10", "alice", alicePassword)); got != string(engine.CodeUnavailable) {
		t.Errorf("login with a broken failure store: %s, want unavailable", got)
	}
}

type brokenFailures struct{ engine.Store }

func (brokenFailures) GetLoginFailure(ctx context.Context, key string, now time.Time) (store.LoginFailure, error) {
	return store.LoginFailure{}, errors.New("disk on fire")
}

// Logging out of a realm keeps its failed attempts and a final refusal.
func TestLogoutKeepsAttemptsAndRefusal(t *testing.T) {
	l := newLabWith(t, labOptions{config: engine.Config{MaxAttempts: 3, BackoffAfter: 100}})
	c := l.client("mobilewebapp", "1.0")
	c.mustChallenge("password")
	for range 2 {
		c.answer("PasswordRealm", `{"username":"alice","password":"wrong"}`)
	}
	if err := l.eng.Logout(t.Context(), c.app, c.sid, "PasswordRealm"); err != nil {
		t.Fatal(err)
	}
	c.mustChallenge("password")
	if _, err := c.answer("PasswordRealm", `{"username":"alice","password":"wrong"}`); codeOf(err) != engine.CodeTooManyAttempts {
		t.Errorf("third wrong password after a logout: %v, want too_many_attempts", err)
	}
	l.eng.Logout(t.Context(), c.app, c.sid, "PasswordRealm")
	if _, err := c.authorize("password"); codeOf(err) != engine.CodeTooManyAttempts {
		t.Errorf("challenge after the limit and a logout: %v, want too_many_attempts", err)
	}

	c = l.client("mobilewebapp", "1.0")
	c.mustChallenge("reject")
	if _, err := c.answer("RejectRealm", `{"username":"x","password":"y"}`); codeOf(err) != engine.CodeRefused {
		t.Fatalf("RejectRealm: %v, want realm_refused", err)
	}
	l.eng.Logout(t.Context(), c.app, c.sid, "RejectRealm")
	if _, err := c.authorize("reject"); codeOf(err) != engine.CodeRefused {
		t.Errorf("challenge after a refusal and a logout: %v, want realm_refused", err)
	}
}

// BenchmarkLoginAnswer measures a form login's answer (bcrypt at the lab's cost 4, about a
// millisecond) with the failed-login counters: a right password reads the account's and the
// client's counts; a wrong one also adds to both and audits.
func BenchmarkLoginAnswer(b *testing.B) {
	for _, tc := range []struct{ name, password string }{{"right", alicePassword}, {"wrong", "wrong"}} {
		b.Run(tc.name, func(b *testing.B) {
			// Thresholds no run reaches: every answer is checked.
			l := newLabWith(b, labOptions{config: engine.Config{BackoffAfter: 1 << 30, ClientBackoffAfter: 1 << 30}})
			body := json.RawMessage(`{"username":"alice","password":"` + tc.password + `"}`)
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				c := l.client("mobilewebapp", "1.0")
				c.mustChallenge("password")
				b.StartTimer()
				if _, err := c.answerWith(engine.AnswerRequest{Realm: "PasswordRealm", Body: body, Client: "192.0.2.10"}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
