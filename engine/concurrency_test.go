package engine_test

import (
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/project"
)

// parallel runs f(i) for i in [0, n) on n goroutines started together.
func parallel(n int, f func(i int)) {
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			f(i)
		}()
	}
	start.Done()
	done.Wait()
}

// TestConcurrentWrongAnswers: wrong answers racing on one session are each counted: exactly
// MaxAttempts-1 of them may retry, however they interleave.
func TestConcurrentWrongAnswers(t *testing.T) {
	const n, maxAttempts = 24, 5
	l := newLabWith(t, labOptions{config: engine.Config{MaxAttempts: maxAttempts}})
	c := l.client("android", "2.1.0")
	c.mustChallenge("password")
	codes := make([]string, n)
	parallel(n, func(i int) {
		res, err := l.eng.Answer(t.Context(), engine.AnswerRequest{App: c.app, SessionID: c.sid, Realm: "PasswordRealm",
			Body: []byte(`{"username":"alice","password":"wrong"}`), Passive: c.passive()})
		switch {
		case err != nil:
			codes[i] = string(codeOf(err))
		case res.Retry != nil:
			codes[i] = "retry"
		default:
			codes[i] = "success"
		}
	})
	count := map[string]int{}
	for _, code := range codes {
		count[code]++
	}
	want := map[string]int{"retry": maxAttempts - 1, string(engine.CodeTooManyAttempts): n - maxAttempts + 1}
	if diff := cmp.Diff(want, count); diff != "" {
		t.Fatalf("outcomes (-want +got):\n%s", diff)
	}
	_, st, _ := l.session(c.sid)
	if rs := st.Realms["PasswordRealm"]; rs.Failures != maxAttempts || rs.Passed || rs.Challenged {
		t.Fatalf("stored realm state %+v", rs)
	}
}

// TestConcurrentRequests: requests racing on one session agree on one anonymous user and leave
// the session passed.
func TestConcurrentRequests(t *testing.T) {
	const n, rounds = 16, 10
	l := newLab(t)
	c := l.client("mobilewebapp", "1.0.0")
	c.mustChallenge("xsrf") // a session with its token, and no persistent cookie yet
	users := make([]map[string]bool, n)
	issued := make([][]string, n)
	errs := make([]error, n)
	parallel(n, func(i int) {
		users[i] = map[string]bool{}
		for range rounds {
			acc, err := l.eng.Authorize(t.Context(), engine.AccessRequest{App: c.app, SessionID: c.sid,
				Resource: c.resource("web"), Passive: engine.Passive{InstanceID: c.instanceID}})
			if err != nil {
				errs[i] = err
				return
			}
			if !acc.Allowed || acc.Cookies.SessionID != "" {
				errs[i] = errorString("not allowed, or a new session: " + jsonOf(acc))
				return
			}
			users[i][acc.User["userId"].(string)] = true
			if acc.Cookies.PersistentUser != "" {
				issued[i] = append(issued[i], acc.Cookies.PersistentUser)
			}
		}
	})
	all := map[string]bool{}
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("goroutine %d: %v", i, errs[i])
		}
		for u := range users[i] {
			all[u] = true
		}
		for _, u := range issued[i] {
			all["issued:"+u] = true
		}
	}
	if len(all) != 2 {
		t.Fatalf("users seen and cookies issued: %v, want one user", all)
	}
	for _, u := range slices.Concat(issued...) {
		if !all[engine.AnonymousUserID(u)] {
			t.Fatalf("cookie %q issued, users seen %v: want the user of the cookie", u, all)
		}
	}
	_, st, _ := l.session(c.sid)
	if rs := st.Realms[project.RealmAnonymousUser]; rs == nil || !rs.Passed || !all[rs.Identity["userId"].(string)] {
		t.Fatalf("stored anonymous realm %+v", rs)
	}
}

// TestConcurrentLogins: right answers racing on one session log in once; the others find the
// session rotated away.
func TestConcurrentLogins(t *testing.T) {
	const n = 8
	l := newLab(t)
	c := l.client("android", "2.1.0")
	c.mustChallenge("password")
	old := c.sid
	results := make([]*engine.AnswerResult, n)
	errs := make([]error, n)
	parallel(n, func(i int) {
		results[i], errs[i] = l.eng.Answer(t.Context(), engine.AnswerRequest{App: c.app, SessionID: old, Realm: "PasswordRealm",
			Body: []byte(`{"username":"alice","password":"` + alicePassword + `"}`), Passive: c.passive()})
	})
	var rotated []string
	for i := range n {
		switch {
		case errs[i] == nil && results[i].Status == engine.StatusSuccess:
			rotated = append(rotated, results[i].Cookies.SessionID)
		case codeOf(errs[i]) == engine.CodeNoChallenge:
		default:
			t.Errorf("answer %d: %+v %v", i, results[i], errs[i])
		}
	}
	if len(rotated) != 1 {
		t.Fatalf("%d logins succeeded, want 1", len(rotated))
	}
	if _, _, ok := l.session(old); ok {
		t.Fatal("the old id survived the login")
	}
	c.sid = rotated[0]
	if acc := c.mustAllow("password"); acc.User["userId"] != "alice" {
		t.Fatalf("user %v", acc.User)
	}
}

type errorString string

func (e errorString) Error() string { return string(e) }
