package engine_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/project"
)

func TestLoginChallengePayloads(t *testing.T) {
	l := newLab(t)
	tests := []struct {
		test, realm string
		want        map[string]any
	}{
		{"form", "FormRealm", map[string]any{"authenticator": "form"}},
		{"basic", "BasicRealm", map[string]any{"authenticator": "basic", "realm": "Lab administration"}},
		{"header", "HeaderRealm", map[string]any{"authenticator": "header", "header": headerName}},
	}
	for _, tc := range tests {
		t.Run(tc.test, func(t *testing.T) {
			ch := l.client("android", "2.1.0").mustChallenge(tc.test)
			if diff := cmp.Diff(map[string]map[string]any{tc.realm: tc.want}, ch.Challenges); diff != "" {
				t.Fatalf("challenge (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFormLogin(t *testing.T) {
	l := newLab(t)
	tests := []struct {
		name, test, realm, body string
		user                    string // "" when the answer must be refused
		retry                   string // the error of a refused answer
	}{
		{"non-validating", "form", "FormRealm", `{"username":"carol","password":"anything"}`, "carol", ""},
		{"non-validating, j_ names", "form", "FormRealm", `{"j_username":"carol","j_password":"anything"}`, "carol", ""},
		{"non-validating, no password", "form", "FormRealm", `{"username":"carol"}`, "carol", ""},
		{"non-validating, empty user", "form", "FormRealm", `{"username":"","password":"x"}`, "", "a user name is required"},
		{"non-validating, no members", "form", "FormRealm", `{}`, "", "a user name is required"},
		{"password file", "password", "PasswordRealm", `{"username":"alice","password":"` + alicePassword + `"}`, "alice", ""},
		{"password file, j_ names", "password", "PasswordRealm", `{"j_username":"bob","j_password":"` + bobPassword + `"}`, "bob", ""},
		{"password file, another user's password", "password", "PasswordRealm", `{"username":"bob","password":"` + alicePassword + `"}`, "", "wrong user name or password"},
		{"password file, password case", "password", "PasswordRealm", `{"username":"alice","password":"` + strings.ToUpper(alicePassword) + `"}`, "", "wrong user name or password"},
		{"password file, user case", "password", "PasswordRealm", `{"username":"Alice","password":"` + alicePassword + `"}`, "", "wrong user name or password"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := l.client("android", "2.1.0")
			c.mustChallenge(tc.test)
			res, err := c.answer(tc.realm, tc.body)
			if err != nil {
				t.Fatal(err)
			}
			if tc.user == "" {
				if res.Retry == nil {
					t.Fatalf("%+v: want a retry", res)
				}
				want := map[string]any{"authenticator": "form", "error": tc.retry, "remainingAttempts": engine.DefaultConfig.MaxAttempts - 1}
				if diff := cmp.Diff(want, res.Retry.Challenges[tc.realm]); diff != "" {
					t.Fatalf("retry (-want +got):\n%s", diff)
				}
				return
			}
			want := map[string]any{"userId": tc.user, "displayName": tc.user, "realm": tc.realm}
			if diff := cmp.Diff(want, res.Identity); diff != "" {
				t.Fatalf("identity (-want +got):\n%s", diff)
			}
			if acc := c.mustAllow(tc.test); acc.User["userId"] != tc.user {
				t.Fatalf("user %v", acc.User)
			}
		})
	}
}

// TestPasswordFileIndistinguishable: an unknown user and a wrong password get the same answer.
func TestPasswordFileIndistinguishable(t *testing.T) {
	l := newLab(t)
	answer := func(body string) (*engine.AnswerResult, error) {
		c := l.client("android", "2.1.0")
		c.mustChallenge("password")
		return c.answer("PasswordRealm", body)
	}
	unknownRes, unknownErr := answer(`{"username":"mallory","password":"` + alicePassword + `"}`)
	wrongRes, wrongErr := answer(`{"username":"alice","password":"guess"}`)
	if unknownErr != nil || wrongErr != nil {
		t.Fatal(unknownErr, wrongErr)
	}
	if diff := cmp.Diff(jsonOf(wrongRes.Retry), jsonOf(unknownRes.Retry)); diff != "" {
		t.Fatalf("unknown user and wrong password differ (-wrong password +unknown user):\n%s", diff)
	}
}

func TestBasicLogin(t *testing.T) {
	l := newLab(t)
	tests := []struct {
		name  string
		basic *engine.BasicCredentials
		ok    bool
		retry string
	}{
		{"right", &engine.BasicCredentials{Username: "admin", Password: adminPassword}, true, ""},
		{"wrong password", &engine.BasicCredentials{Username: "admin", Password: "nope"}, false, "wrong user name or password"},
		{"wrong user", &engine.BasicCredentials{Username: "root", Password: adminPassword}, false, "wrong user name or password"},
		{"user prefix", &engine.BasicCredentials{Username: "adm", Password: adminPassword}, false, "wrong user name or password"},
		{"no header", nil, false, "send an Authorization: Basic header"},
		{"empty user", &engine.BasicCredentials{Password: adminPassword}, false, "a user name is required"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := l.client("android", "2.1.0")
			c.mustChallenge("basic")
			// The body is ignored: a Basic realm reads the header only.
			res, err := c.answerWith(engine.AnswerRequest{Realm: "BasicRealm", Body: json.RawMessage(`{"username":"admin","password":"` + adminPassword + `"}`), Basic: tc.basic})
			if err != nil {
				t.Fatal(err)
			}
			if !tc.ok {
				if res.Retry == nil || res.Retry.Challenges["BasicRealm"]["error"] != tc.retry {
					t.Fatalf("%+v, want retry %q", res.Retry, tc.retry)
				}
				return
			}
			want := map[string]any{"userId": "admin", "displayName": "Administrator", "realm": "BasicRealm"}
			if diff := cmp.Diff(want, res.Identity); diff != "" {
				t.Fatalf("identity (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHeaderLogin(t *testing.T) {
	l := newLab(t)
	// Passive: a request that carries the header passes without a challenge.
	c := l.client("android", "2.1.0")
	c.headers[headerName] = "dave"
	c.mustAllow("header")
	want := map[string]any{"userId": "dave", "displayName": "dave", "realm": "HeaderRealm"}
	// The header names the user of each request: another user in it logs that user in.
	c.headers[headerName] = "frank"
	if got := c.mustAllow("header").User["userId"]; got != "frank" {
		t.Errorf("a request for frank in dave's session ran as %v", got)
	}
	c.headers[headerName] = "dave"
	acc := c.mustAllow("header")
	if diff := cmp.Diff(want, acc.User); diff != "" {
		t.Fatalf("user (-want +got):\n%s", diff)
	}
	// Without the header: a challenge, answered by a request carrying it.
	d := l.client("android", "2.1.0")
	d.mustChallenge("header")
	res, err := d.answer("HeaderRealm", `{}`)
	if err != nil || res.Retry == nil || res.Retry.Challenges["HeaderRealm"]["error"] != "send the "+headerName+" header" {
		t.Fatalf("answer without the header: %+v %v", res, err)
	}
	// A caller that reads no headers at all (Passive.Header nil) gets the same retry.
	res, err = l.eng.Answer(t.Context(), engine.AnswerRequest{App: d.app, SessionID: d.sid, Realm: "HeaderRealm", Body: json.RawMessage(`{}`)})
	if err != nil || res.Retry == nil {
		t.Fatalf("answer with no header reader: %+v %v", res, err)
	}
	d.headers[headerName] = "erin"
	res = d.mustSucceed("HeaderRealm", `{}`)
	if res.Identity["userId"] != "erin" {
		t.Fatalf("identity %v", res.Identity)
	}
	// Values no user name can have do not pass, and are not stored.
	for _, v := range []string{"", strings.Repeat("u", 257), strings.Repeat("u", 100_000)} {
		e := l.client("android", "2.1.0")
		e.headers[headerName] = v
		if acc := e.mustChallenge("header"); acc == nil {
			t.Fatal("no challenge")
		}
		if _, st, _ := l.session(e.sid); st.Realms["HeaderRealm"] != nil && st.Realms["HeaderRealm"].Passed {
			t.Fatalf("header of %d bytes passed", len(v))
		}
		if _, err := e.answer("HeaderRealm", `{}`); codeOf(err) != engine.CodeBadRequest && v != "" {
			t.Fatalf("answer with a header of %d bytes: %v", len(v), err)
		}
	}
}

// TestFinalRefusal: a realm that accepts no login refuses finally, and stays refused (403, not
// an attempt limit) for the session.
func TestFinalRefusal(t *testing.T) {
	l := newLab(t)
	for _, tc := range []struct{ test, realm string }{
		{"reject", "RejectRealm"},
		{"unconfigured", "UnconfiguredRealm"},
	} {
		t.Run(tc.realm, func(t *testing.T) {
			c := l.client("android", "2.1.0")
			c.mustChallenge(tc.test)
			_, err := c.answer(tc.realm, `{"username":"admin","password":"`+adminPassword+`"}`)
			if codeOf(err) != engine.CodeRefused {
				t.Fatalf("answer: %v, want %s", err, engine.CodeRefused)
			}
			if _, err := c.answer(tc.realm, `{"username":"admin","password":"x"}`); codeOf(err) != engine.CodeRefused {
				t.Fatalf("second answer: %v, want the realm still refusing", err)
			}
			if _, err := c.authorize(tc.test); codeOf(err) != engine.CodeRefused {
				t.Fatalf("request after the refusal: %v, want the realm still refusing", err)
			}
			// The lock is the session's.
			l.client("android", "2.1.0").mustChallenge(tc.test)
		})
	}
}

func TestAttemptLimit(t *testing.T) {
	l := newLabWith(t, labOptions{config: engine.Config{MaxAttempts: 3}})
	c := l.client("android", "2.1.0")
	c.mustChallenge("steps")
	c.mustChallenge("steps") // step 2: PasswordRealm
	wrong := `{"username":"alice","password":"wrong"}`
	right := `{"username":"alice","password":"` + alicePassword + `"}`
	// A right answer resets the count; shown here by failing once first in another session.
	d := l.client("android", "2.1.0")
	d.mustChallenge("password")
	if res, err := d.answer("PasswordRealm", wrong); err != nil || res.Retry == nil {
		t.Fatal(res, err)
	}
	d.mustSucceed("PasswordRealm", right)
	if _, st, _ := l.session(d.sid); st.Realms["PasswordRealm"].Failures != 0 {
		t.Fatalf("failures after success: %+v", st.Realms["PasswordRealm"])
	}

	for i, want := range []any{2, 1} {
		res, err := c.answer("PasswordRealm", wrong)
		if err != nil || res.Retry == nil || res.Retry.Challenges["PasswordRealm"]["remainingAttempts"] != want {
			t.Fatalf("attempt %d: %+v %v, want remainingAttempts %v", i+1, res, err, want)
		}
	}
	_, err := c.answer("PasswordRealm", wrong)
	if codeOf(err) != engine.CodeTooManyAttempts {
		t.Fatalf("third wrong answer: %v", err)
	}
	if _, err := c.answer("PasswordRealm", right); codeOf(err) != engine.CodeTooManyAttempts {
		t.Fatalf("right credentials after the limit: %v, want %s", err, engine.CodeTooManyAttempts)
	}
	if _, err := c.authorize("steps"); codeOf(err) != engine.CodeTooManyAttempts {
		t.Fatalf("request after the limit: %v", err)
	}
	// Other realms of the session are not affected.
	c.mustChallenge("form")
	c.mustSucceed("FormRealm", `{"username":"carol"}`)
}

func TestLoginExpiration(t *testing.T) {
	l := newLab(t)
	body := `{"username":"carol"}`
	t.Run("expires when unused", func(t *testing.T) {
		c := l.client("android", "2.1.0")
		c.mustChallenge("expiring")
		c.mustSucceed("ExpiringRealm", body)
		l.clock.Advance(59 * time.Second)
		c.mustAllow("expiring")
		_, st, _ := l.session(c.sid)
		if want := l.clock.Now().Add(60 * time.Second); !st.Realms["ExpiringRealm"].ExpiresAt.Equal(want) {
			t.Fatalf("expires %v, want %v: a use extends the login", st.Realms["ExpiringRealm"].ExpiresAt, want)
		}
		l.clock.Advance(59 * time.Second) // 118 s after the login, 59 s after its last use
		c.mustAllow("expiring")
		l.clock.Advance(60 * time.Second)
		if diff := cmp.Diff([]string{"ExpiringRealm"}, realmsOf(c.mustChallenge("expiring"))); diff != "" {
			t.Fatalf("after 60 s unused (-want +got):\n%s", diff)
		}
		// The expired login's identity is not reported as the user's, nor the session's.
		acc, _ := c.authorize("form")
		if _, ok := acc.Identities["ExpiringRealm"]; ok {
			t.Fatalf("identities of an expired login: %v", acc.Identities)
		}
		c.mustSucceed("ExpiringRealm", body)
		c.mustAllow("expiring")
	})
	t.Run("-1 lives as long as the session", func(t *testing.T) {
		c := l.client("android", "2.1.0")
		c.mustChallenge("sessionLong")
		c.mustSucceed("SessionLongRealm", body)
		for range 6 {
			l.clock.Advance(25 * time.Minute)
			c.mustAllow("sessionLong")
		}
	})
}

// TestExpiredUserIdentity: a login that expired is not the user any more, wherever identities
// are reported.
func TestExpiredUserIdentity(t *testing.T) {
	l := newLab(t)
	c := l.client("android", "2.1.0")
	c.mustChallenge("password")
	c.mustSucceed("PasswordRealm", `{"username":"alice","password":"`+alicePassword+`"}`)
	c.mustAllow("password")
	l.clock.Advance(20 * time.Minute)
	c.mustChallenge("form") // keeps the session alive; the PasswordRealm login is not used
	l.clock.Advance(20 * time.Minute)
	acc, err := c.authorize("password")
	if err != nil || acc.Challenge == nil {
		t.Fatalf("after 40 minutes unused: %+v %v, want a challenge", acc, err)
	}
	if acc.User != nil || acc.Identities["PasswordRealm"] != nil {
		t.Fatalf("expired login reported: user %v identities %v", acc.User, acc.Identities)
	}
	info, err := l.eng.Session(t.Context(), c.app, c.sid, c.passive())
	if err != nil {
		t.Fatal(err)
	}
	if info.User != nil || info.Realms["PasswordRealm"] != nil {
		t.Fatalf("session info reports the expired login: %+v", info)
	}
}

func TestLogout(t *testing.T) {
	l := newLab(t)
	ctx := t.Context()
	c := l.client("android", "2.1.0")
	c.mustChallenge("password")
	c.mustSucceed("PasswordRealm", `{"username":"alice","password":"`+alicePassword+`"}`)
	c.mustAllow("password")
	if err := l.eng.Logout(ctx, c.app, c.sid, "PasswordRealm"); err != nil {
		t.Fatal(err)
	}
	if acc, err := c.authorize("password"); err != nil || acc.Challenge == nil || acc.User != nil {
		t.Fatalf("after logout: %+v %v", acc, err)
	}
	if err := l.eng.Logout(ctx, c.app, c.sid, "NoSuchRealm"); codeOf(err) != engine.CodeUnknownRealm {
		t.Fatalf("logout of an unknown realm: %v", err)
	}
	// Logging out without a session, or twice, is not an error and creates nothing.
	for _, id := range []string{"", "never-issued", c.sid} {
		if err := l.eng.Logout(ctx, c.app, id, "PasswordRealm"); err != nil {
			t.Fatalf("logout with %q: %v", id, err)
		}
	}
	if err := l.eng.Logout(ctx, c.app, c.sid, project.RealmAnonymousUser); err != nil {
		t.Fatal(err)
	}
}

func TestCredentialLimits(t *testing.T) {
	l := newLab(t)
	for _, body := range []string{
		`{"username":"` + strings.Repeat("u", 257) + `","password":"x"}`,
		`{"username":"alice","password":"` + strings.Repeat("p", 1025) + `"}`,
	} {
		c := l.client("android", "2.1.0")
		c.mustChallenge("password")
		if _, err := c.answer("PasswordRealm", body); codeOf(err) != engine.CodeBadRequest {
			t.Fatalf("answer of %d bytes: %v, want %s", len(body), err, engine.CodeBadRequest)
		}
	}
	c := l.client("android", "2.1.0")
	c.mustChallenge("form")
	if _, err := c.answer("FormRealm", `{"username":"`+strings.Repeat("u", 64<<10)+`"}`); codeOf(err) != engine.CodeBadRequest {
		t.Fatalf("answer over 64 KiB: %v", err)
	}
	for _, body := range []string{`{"username":7}`, `{"username":"a","password":["x"]}`, `"alice"`, `null`} {
		_, err := c.answer("FormRealm", body)
		if body == `null` {
			// null is an object with no members: a missing user name.
			continue
		}
		if codeOf(err) != engine.CodeBadRequest {
			t.Fatalf("answer %s: %v, want %s", body, err, engine.CodeBadRequest)
		}
	}
}
