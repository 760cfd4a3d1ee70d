package engine_test

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store"
	"github.com/realmgate/realmgate/store/memnonce"
)

func TestAntiXSRFTokenIssuedOncePerSession(t *testing.T) {
	l := newLab(t)
	c := l.client("android", "2.1.0")
	c.mustChallenge("xsrf")
	c.instanceID = "" // a client that did not keep the token is asked again, with the same one
	c.mustChallenge("xsrf")
	if len(c.tokens) != 2 || c.tokens[0] != c.tokens[1] || len(c.tokens[0]) != 43 {
		t.Fatalf("tokens %q: want the same 256-bit token twice", c.tokens)
	}
	d := l.client("android", "2.1.0")
	d.mustChallenge("xsrf")
	if d.tokens[0] == c.tokens[0] {
		t.Fatal("two sessions got the same anti-XSRF token")
	}
	// The token is what passes the realm, every time.
	c.instanceID = c.tokens[0]
	c.mustAllow("xsrf")
	c.mustAllow("xsrf")
}

func TestAntiXSRFHeaderChecked(t *testing.T) {
	l := newLab(t)
	c := l.client("android", "2.1.0")
	c.mustChallenge("xsrf")
	token := c.instanceID
	tests := []struct {
		name   string
		header string
		pass   bool
	}{
		{"right token", token, true},
		{"none", "", false},
		{"prefix", token[:42], false},
		{"longer", token + "A", false},
		{"one character changed", token[:20] + string(token[20]^1) + token[21:], false},
		{"other session's token", otherToken(t, l), false},
		{"case changed", strings.ToLower(token), token == strings.ToLower(token)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c.instanceID = tc.header
			acc, err := c.authorize("xsrf")
			if err != nil {
				t.Fatal(err)
			}
			if acc.Allowed != tc.pass {
				t.Fatalf("allowed %v, want %v", acc.Allowed, tc.pass)
			}
			if !tc.pass && acc.Challenge.Challenges[project.RealmAntiXSRF]["WL-Instance-Id"] != token {
				t.Fatalf("challenge %v: want the session's token again", acc.Challenge)
			}
		})
	}
}

func otherToken(t *testing.T, l *lab) string {
	d := l.client("android", "2.1.0")
	d.mustChallenge("xsrf")
	return d.instanceID
}

// TestAntiXSRFAnswers: once the session has a token, every answer must carry it; before, none
// needs it. The anti-XSRF realm itself is answered by the header.
func TestAntiXSRFAnswers(t *testing.T) {
	l := newLab(t)
	creds := `{"username":"alice","password":"x"}`

	// A session without a token answers without the header.
	plain := l.client("android", "2.1.0")
	plain.mustChallenge("form")
	plain.mustSucceed("FormRealm", creds)

	c := l.client("android", "2.1.0")
	c.mustChallenge("xsrfForm")
	token := c.instanceID
	if diff := cmp.Diff([]string{"FormRealm"}, realmsOf(c.mustChallenge("xsrfForm"))); diff != "" {
		t.Fatalf("step 2 (-want +got):\n%s", diff)
	}
	for _, bad := range []string{"", "forged", token + "x", token[:len(token)-1]} {
		c.instanceID = bad
		if _, err := c.answer("FormRealm", creds); codeOf(err) != engine.CodeXSRF {
			t.Fatalf("answer with WL-Instance-Id %q: %v, want %s", bad, err, engine.CodeXSRF)
		}
	}
	_, st, _ := l.session(c.sid)
	if fr := st.Realms["FormRealm"]; fr == nil || fr.Failures != 0 || !fr.Challenged {
		t.Fatalf("FormRealm after refused answers: %+v: an answer refused for XSRF is not an attempt", fr)
	}
	c.instanceID = token
	c.mustSucceed("FormRealm", creds)
	c.mustAllow("xsrfForm")

	// Answering the anti-XSRF realm itself: the header is the answer.
	d := l.client("android", "2.1.0")
	d.mustChallenge("xsrf")
	token = d.instanceID
	d.instanceID = "wrong"
	res, err := d.answer(project.RealmAntiXSRF, `{}`)
	if err != nil || res.Retry == nil {
		t.Fatalf("anti-XSRF answer without the token: %+v %v, want a retry", res, err)
	}
	if got := res.Retry.Challenges[project.RealmAntiXSRF]; got["WL-Instance-Id"] != token || got["remainingAttempts"] != engine.DefaultConfig.MaxAttempts-1 {
		t.Fatalf("retry payload %v", got)
	}
	d.instanceID = token
	d.mustSucceed(project.RealmAntiXSRF, `{}`)
}

func TestAntiXSRFLogoutIssuesNewToken(t *testing.T) {
	l := newLab(t)
	c := l.client("android", "2.1.0")
	c.mustChallenge("xsrf")
	c.mustAllow("xsrf")
	if err := l.eng.Logout(t.Context(), c.app, c.sid, project.RealmAntiXSRF); err != nil {
		t.Fatal(err)
	}
	acc, err := c.authorize("xsrf")
	if err != nil || acc.Allowed {
		t.Fatalf("after logout the old token still passes: %+v %v", acc, err)
	}
	if c.tokens[1] == c.tokens[0] {
		t.Fatal("the token was not renewed")
	}
	c.mustAllow("xsrf")
}

func TestAnonymousUser(t *testing.T) {
	l := newLab(t)
	ctx := t.Context()
	c := l.client("android", "2.1.0")
	acc := c.mustAllow("anon")
	cookie := acc.Cookies.PersistentUser
	id := engine.AnonymousUserID(cookie)
	if len(cookie) != 36 || len(id) != 36 || id == cookie || acc.User["userId"] != id || acc.User["displayName"] != id {
		t.Fatalf("first request: cookie %q user %v: want a new UUID cookie and the user %q derived from it", cookie, acc.User, id)
	}
	u, err := l.db.GetUser(ctx, id)
	if err != nil || !u.CreatedAt.Equal(l.clock.Now()) {
		t.Fatalf("stored user %+v %v", u, err)
	}
	if _, err := l.db.GetUser(ctx, cookie); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the store keys a user by the cookie: %v", err)
	}
	// Issued once: the next request carries it and gets no new cookie.
	acc = c.mustAllow("anon")
	if acc.Cookies.PersistentUser != "" || acc.User["userId"] != id {
		t.Fatalf("second request: %+v", acc)
	}
	// The cookie lost within the session: the same cookie comes back, and the same user.
	c.persistent = ""
	acc = c.mustAllow("anon")
	if acc.Cookies.PersistentUser != cookie || acc.User["userId"] != id {
		t.Fatalf("cookie lost: cookie %q user %v, want %q back as user %q", acc.Cookies.PersistentUser, acc.User, cookie, id)
	}
	// A new session with the cookie: the same user, LastSeen updated at most once an hour.
	for _, tc := range []struct {
		wait     time.Duration
		lastSeen time.Time
	}{
		{30 * time.Minute, u.LastSeen},
		{2 * time.Hour, u.LastSeen.Add(150 * time.Minute)},
	} {
		l.clock.Advance(tc.wait)
		d := l.client("android", "2.1.0")
		d.persistent = cookie
		acc = d.mustAllow("anon")
		if acc.Cookies.PersistentUser != "" || acc.User["userId"] != id {
			t.Fatalf("new session with the cookie: %+v", acc)
		}
		got, err := l.db.GetUser(ctx, id)
		if err != nil || !got.LastSeen.Equal(tc.lastSeen) {
			t.Fatalf("after %v: LastSeen %v, want %v (%v)", tc.wait, got.LastSeen, tc.lastSeen, err)
		}
	}
}

func TestAnonymousUserID(t *testing.T) {
	const cookie = "0f8fad5b-d9cb-469f-a165-70867728950e"
	id := engine.AnonymousUserID(cookie)
	// Fixed: the id is stable across releases and daemons, or every anonymous user would change.
	if diff := cmp.Diff("0332332a-6f33-8a41-a647-3ee2434604c3", id); diff != "" {
		t.Errorf("AnonymousUserID (-want +got):\n%s", diff)
	}
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id) {
		t.Errorf("AnonymousUserID = %q, want a version 8 UUID", id)
	}
	if other := engine.AnonymousUserID("0f8fad5b-d9cb-469f-a165-70867728950f"); other == id {
		t.Errorf("two cookies, one id %q", id)
	}
	if engine.AnonymousUserID(id) == id {
		t.Errorf("the id is a fixed point")
	}
}

func TestAnonymousUserCookieNotAdopted(t *testing.T) {
	l := newLab(t)
	a := l.client("android", "2.1.0")
	cookieA := a.mustAllow("anon").Cookies.PersistentUser
	idA := engine.AnonymousUserID(cookieA)
	for _, cookie := range []string{
		"0f8fad5b-d9cb-469f-a165-70867728950e", // well-formed, never issued
		"0F8FAD5B-D9CB-469F-A165-70867728950E",
		"not-a-uuid",
		strings.Repeat("a", 5000),
		"'; DROP TABLE users; --",
		idA, // the public id of a user is not its cookie
	} {
		t.Run(cookie[:min(len(cookie), 20)], func(t *testing.T) {
			c := l.client("android", "2.1.0")
			c.persistent = cookie
			acc := c.mustAllow("anon")
			got := acc.Cookies.PersistentUser
			if got == "" || got == cookie || acc.User["userId"] != engine.AnonymousUserID(got) {
				t.Fatalf("cookie %q: issued %q user %v: want a new cookie and its user", cookie, got, acc.User)
			}
			if _, err := l.db.GetUser(t.Context(), engine.AnonymousUserID(cookie)); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("the forged value was stored as a user: %v", err)
			}
		})
	}
	if _, err := l.db.GetUser(t.Context(), idA); err != nil {
		t.Fatalf("the user whose id was sent as a cookie: %v", err)
	}
	// Another user's cookie sent within a session switches to that (issued) user.
	b := l.client("android", "2.1.0")
	b.mustAllow("anon")
	b.persistent = cookieA
	if acc := b.mustAllow("anon"); acc.User["userId"] != idA || acc.Cookies.PersistentUser != "" {
		t.Fatalf("issued cookie in another session: %+v", acc)
	}
}

func TestRemoteDisableBlock(t *testing.T) {
	l := newLab(t)
	rules := []store.Rule{{Versions: "<2.0.0", Action: "block", Message: "Update the app", DownloadLink: "https://example.com/app"}}
	if err := l.eng.SetRules(t.Context(), "admin", labApp, "android", rules); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		env, version string
		blocked      bool
	}{
		{"android", "1.9.9", true},
		{"android", "1.0", true},
		{"android", "v1.2.3", true},
		{"android", "2.0.0", false},
		{"android", "2.1.0", false},
		{"android", "10.0.0", false},
		// Versions that do not parse are blocked: the rule cannot be dodged by a bad header.
		{"android", "", true},
		{"android", "two", true},
		{"android", "2.0.0.0.1", true},
		{"android", "2.0.0; drop", true},
		{"iphone", "1.0.0", false}, // rules are per environment
	}
	for _, tc := range tests {
		t.Run(tc.env+"/"+tc.version, func(t *testing.T) {
			c := l.client(tc.env, tc.version)
			acc, err := c.authorize("remote")
			if !tc.blocked {
				if err != nil || !acc.Allowed {
					t.Fatalf("%+v %v, want allowed", acc, err)
				}
				return
			}
			var e *engine.Error
			if !errors.As(err, &e) {
				t.Fatalf("%+v %v, want %s", acc, err, engine.CodeApplicationDisabled)
			}
			want := &engine.Error{Code: engine.CodeApplicationDisabled, Message: "Update the app",
				Details: map[string]any{"downloadLink": "https://example.com/app"}}
			if diff := cmp.Diff(want, e); diff != "" {
				t.Fatalf("error (-want +got):\n%s", diff)
			}
		})
	}
	// Answers are blocked too: a blocked version cannot acknowledge its way through.
	if err := l.eng.SetRules(t.Context(), "admin", labApp, "android", nil); err != nil {
		t.Fatal(err)
	}
	c := l.client("android", "1.0.0")
	notify := []store.Rule{{Action: "notify", Message: "hello", MessageID: "m1"}}
	if err := l.eng.SetRules(t.Context(), "admin", labApp, "android", notify); err != nil {
		t.Fatal(err)
	}
	c.mustChallenge("remote")
	if err := l.eng.SetRules(t.Context(), "admin", labApp, "android", append(notify, rules...)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.answer(project.RealmRemoteDisable, `{"acknowledged":true,"messageId":"m1"}`); codeOf(err) != engine.CodeApplicationDisabled {
		t.Fatalf("acknowledging while blocked: %v", err)
	}
}

func TestRemoteDisableNotify(t *testing.T) {
	l := newLab(t)
	ctx := t.Context()
	rules := []store.Rule{
		{Versions: "<3.0.0", Action: "notify", Message: "Maintenance on Sunday", MessageID: "maint-1"},
		{Versions: ">=2.0.0, <3.0.0", Action: "notify", Message: "New features!"}, // id derived from the message
		{Versions: "<1.0.0", Action: "block", Message: "too old"},
	}
	if err := l.eng.SetRules(ctx, "admin", labApp, "android", rules); err != nil {
		t.Fatal(err)
	}
	c := l.client("android", "2.1.0")
	ch := c.mustChallenge("remote")
	first := ch.Challenges[project.RealmRemoteDisable]
	if diff := cmp.Diff(map[string]any{"action": "notify", "message": "Maintenance on Sunday", "messageId": "maint-1"}, first); diff != "" {
		t.Fatalf("first notice (-want +got):\n%s", diff)
	}
	// A wrong acknowledgement is a failed attempt and shows the same notice again.
	for _, body := range []string{`{"acknowledged":false,"messageId":"maint-1"}`, `{"acknowledged":true,"messageId":"other"}`, `{"acknowledged":true}`} {
		res, err := c.answer(project.RealmRemoteDisable, body)
		if err != nil || res.Retry == nil || res.Retry.Challenges[project.RealmRemoteDisable]["messageId"] != "maint-1" {
			t.Fatalf("answer %s: %+v %v, want the notice again", body, res, err)
		}
	}
	// Acknowledging the first shows the second, which is not a failed attempt.
	res, err := c.answer(project.RealmRemoteDisable, `{"acknowledged":true,"messageId":"maint-1"}`)
	if err != nil || res.Retry == nil {
		t.Fatalf("ack 1: %+v %v, want the next notice", res, err)
	}
	second := res.Retry.Challenges[project.RealmRemoteDisable]
	id2, _ := second["messageId"].(string)
	if second["message"] != "New features!" || len(id2) != 16 || second["error"] != nil || second["remainingAttempts"] != nil {
		t.Fatalf("second notice %v: want the next message, without an error", second)
	}
	_, st, _ := l.session(c.sid)
	if f := st.Realms[project.RealmRemoteDisable].Failures; f != 3 {
		t.Fatalf("failures %d after 3 wrong acknowledgements and one right one, want 3", f)
	}
	c.mustSucceed(project.RealmRemoteDisable, `{"acknowledged":true,"messageId":"`+id2+`"}`)
	c.mustAllow("remote")

	// Acknowledgements belong to the session: another session sees the notices again.
	d := l.client("android", "2.1.0")
	if got := d.mustChallenge("remote").Challenges[project.RealmRemoteDisable]["messageId"]; got != "maint-1" {
		t.Fatalf("new session: notice %v", got)
	}
	// An edited message (no id) must be acknowledged again; the acknowledged one stays quiet.
	rules[1].Message = "New features, revised!"
	if err := l.eng.SetRules(ctx, "admin", labApp, "android", rules); err != nil {
		t.Fatal(err)
	}
	ch = c.mustChallenge("remote")
	if got := ch.Challenges[project.RealmRemoteDisable]["message"]; got != "New features, revised!" {
		t.Fatalf("after the edit: %v", ch.Challenges)
	}
	// A version no notify rule matches passes.
	e := l.client("android", "3.0.0")
	e.mustAllow("remote")
}

// TestRemoteDisableManyNotices: a session acknowledges more notices than the attempt limit
// without being locked out.
func TestRemoteDisableManyNotices(t *testing.T) {
	l := newLabWith(t, labOptions{config: engine.Config{MaxAttempts: 2}})
	var rules []store.Rule
	for i := range 5 {
		rules = append(rules, store.Rule{Action: "notify", Message: fmt.Sprintf("notice %d", i), MessageID: fmt.Sprintf("n%d", i)})
	}
	if err := l.eng.SetRules(t.Context(), "admin", labApp, "android", rules); err != nil {
		t.Fatal(err)
	}
	c := l.client("android", "2.1.0")
	payload := c.mustChallenge("remote").Challenges[project.RealmRemoteDisable]
	var seen []string
	for range 10 {
		id := payload["messageId"].(string)
		seen = append(seen, id)
		res, err := c.answer(project.RealmRemoteDisable, `{"acknowledged":true,"messageId":"`+id+`"}`)
		if err != nil {
			t.Fatalf("acknowledging %s: %v", id, err)
		}
		if res.Status == engine.StatusSuccess {
			break
		}
		payload = res.Retry.Challenges[project.RealmRemoteDisable]
	}
	if diff := cmp.Diff([]string{"n0", "n1", "n2", "n3", "n4"}, seen); diff != "" {
		t.Fatalf("notices acknowledged (-want +got):\n%s", diff)
	}
	c.mustAllow("remote")
}

// TestRemoteDisableRulesCache: rules set through the engine apply at once; rules written to the
// store by another daemon apply within the cache TTL.
func TestRemoteDisableRulesCache(t *testing.T) {
	l := newLabWith(t, labOptions{config: engine.Config{RulesCacheTTL: 5 * time.Second}})
	ctx := t.Context()
	c := l.client("android", "1.0.0")
	c.mustAllow("remote") // caches "no rules"
	block := []store.Rule{{Action: "block", Message: "stop"}}
	if err := l.eng.SetRules(ctx, "admin", labApp, "android", block); err != nil {
		t.Fatal(err)
	}
	if _, err := c.authorize("remote"); codeOf(err) != engine.CodeApplicationDisabled {
		t.Fatalf("right after SetRules: %v, want %s", err, engine.CodeApplicationDisabled)
	}
	// Another daemon clears the rules in the store: seen after the TTL, not before.
	if err := l.db.PutRules(ctx, labApp, "android", nil); err != nil {
		t.Fatal(err)
	}
	l.clock.Advance(4 * time.Second)
	if _, err := c.authorize("remote"); codeOf(err) != engine.CodeApplicationDisabled {
		t.Fatalf("within the TTL: %v, want the cached block", err)
	}
	l.clock.Advance(time.Second)
	c.mustAllow("remote")
	// A clock that goes back does not keep a cache entry alive.
	if err := l.db.PutRules(ctx, labApp, "android", block); err != nil {
		t.Fatal(err)
	}
	l.clock.Advance(-time.Hour)
	if _, err := c.authorize("remote"); codeOf(err) != engine.CodeApplicationDisabled {
		t.Fatalf("after the clock went back: %v", err)
	}
	// The change is audited.
	recs, err := l.db.ListAudit(ctx, 0, 10)
	if err != nil || len(recs) != 1 || recs[0].Action != "remote_disable.put" || recs[0].Actor != "admin" || recs[0].Target != "LabApp/android" {
		t.Fatalf("audit %+v %v", recs, err)
	}
}

func TestValidateRule(t *testing.T) {
	long := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name string
		rule store.Rule
		ok   bool
	}{
		{"block", store.Rule{Action: "block", Message: "m"}, true},
		{"notify with versions", store.Rule{Action: "notify", Versions: ">=1.0, <1.4", Message: "m", MessageID: "id"}, true},
		{"unknown action", store.Rule{Action: "warn", Message: "m"}, false},
		{"no action", store.Rule{Message: "m"}, false},
		{"action case", store.Rule{Action: "Block", Message: "m"}, false},
		{"bad constraint", store.Rule{Action: "block", Versions: "less than two", Message: "m"}, false},
		{"no message", store.Rule{Action: "block"}, false},
		{"message too long", store.Rule{Action: "block", Message: long(4097)}, false},
		{"longest message", store.Rule{Action: "block", Message: long(4096)}, true},
		{"link too long", store.Rule{Action: "block", Message: "m", DownloadLink: long(2049)}, false},
		{"id too long", store.Rule{Action: "notify", Message: "m", MessageID: long(129)}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := engine.ValidateRule(tc.rule)
			if (err == nil) != tc.ok {
				t.Fatalf("ValidateRule: %v, want ok=%v", err, tc.ok)
			}
			if err != nil && codeOf(err) != engine.CodeBadRequest {
				t.Fatalf("code %s", codeOf(err))
			}
		})
	}
	// SetRules refuses the whole list and stores nothing.
	l := newLab(t)
	err := l.eng.SetRules(t.Context(), "admin", labApp, "android", []store.Rule{{Action: "block", Message: "ok"}, {Action: "warn", Message: "m"}})
	if codeOf(err) != engine.CodeBadRequest {
		t.Fatalf("SetRules: %v", err)
	}
	if got, _ := l.db.GetRules(t.Context(), labApp, "android"); len(got) != 0 {
		t.Fatalf("rules stored after a refusal: %v", got)
	}
}

func TestDeviceNoProvisioning(t *testing.T) {
	l := newLab(t)
	ctx := t.Context()
	c := l.client("android", "2.1.0")
	nonce := deviceNonce(t, c)
	res := c.mustSucceed(project.RealmDeviceNoProvision,
		`{"token":"`+nonce+`","device":{"id":"dev-42","os":"android","model":"Pixel","displayName":"Alice's phone"}}`)
	wantID := map[string]any{"id": "dev-42", "os": "android", "model": "Pixel", "displayName": "Alice's phone"}
	if diff := cmp.Diff(wantID, res.Identity); diff != "" {
		t.Fatalf("identity (-want +got):\n%s", diff)
	}
	dev, err := l.db.GetDevice(ctx, "dev-42", "none")
	if err != nil {
		t.Fatal(err)
	}
	now := l.clock.Now()
	want := store.Device{ID: "dev-42", Entity: "none", App: labApp, OS: "android", Model: "Pixel", DisplayName: "Alice's phone",
		Status: store.DeviceActive, CreatedAt: now, LastSeen: now}
	if diff := cmp.Diff(want, dev); diff != "" {
		t.Fatalf("stored device (-want +got):\n%s", diff)
	}
	if acc := c.mustAllow("device"); acc.Device["id"] != "dev-42" {
		t.Fatalf("device identity %v", acc.Device)
	}
}

// deviceNonce requests the device test and returns the challenge's nonce.
func deviceNonce(t *testing.T, c *client) string {
	t.Helper()
	ch := c.mustChallenge("device")
	n, _ := ch.Challenges[project.RealmDeviceNoProvision]["token"].(string)
	if len(n) != 43 {
		t.Fatalf("device challenge %v: want a 256-bit token", ch.Challenges)
	}
	return n
}

// TestDeviceNonceRefused runs with the nonces in the store (daemons sharing it) and in memory
// (a daemon owning the embedded store): a nonce is refused alike.
func TestDeviceNonceRefused(t *testing.T) {
	mem := memnonce.New()
	for _, mode := range []struct {
		name   string
		nonces store.Nonces
		put    func(ctx context.Context, n store.Nonce) error
	}{
		{"in the store", nil, nil},
		{"in memory", mem, mem.PutNonce},
	} {
		t.Run(mode.name, func(t *testing.T) { testDeviceNonceRefused(t, mode.nonces, mode.put) })
	}
}

func testDeviceNonceRefused(t *testing.T, nonces store.Nonces, put func(context.Context, store.Nonce) error) {
	l := newLabWith(t, labOptions{config: engine.Config{NonceTTL: time.Minute}, nonces: nonces})
	ctx := t.Context()
	if put == nil {
		put = l.db.PutNonce
	}
	body := func(n string) string { return `{"token":"` + n + `","device":{"id":"dev-1"}}` }
	tests := []struct {
		name string
		// nonce prepares the client c and returns the nonce it answers with.
		nonce func(t *testing.T, c *client) string
	}{
		{"replayed", func(t *testing.T, c *client) string {
			n := deviceNonce(t, c)
			c.mustSucceed(project.RealmDeviceNoProvision, body(n))
			if err := l.eng.Logout(ctx, c.app, c.sid, project.RealmDeviceNoProvision); err != nil {
				t.Fatal(err)
			}
			deviceNonce(t, c)
			return n
		}},
		{"expired", func(t *testing.T, c *client) string {
			n := deviceNonce(t, c)
			l.clock.Advance(time.Minute)
			return n
		}},
		{"another session's", func(t *testing.T, c *client) string {
			deviceNonce(t, c)
			return deviceNonce(t, l.client("android", "2.1.0"))
		}},
		{"another realm's", func(t *testing.T, c *client) string {
			deviceNonce(t, c)
			_, st, _ := l.session(c.sid)
			n := "nonce-of-another-realm-0123456789"
			if err := put(ctx, store.Nonce{Value: n, SessionID: st.Lineage, Realm: "FormRealm", ExpiresAt: l.clock.Now().Add(time.Minute)}); err != nil {
				t.Fatal(err)
			}
			return n
		}},
		{"made up", func(t *testing.T, c *client) string {
			deviceNonce(t, c)
			return "Zm9yZ2VkLW5vbmNlLXRoYXQtd2FzLW5ldmVyLWlzc3Vl"
		}},
		{"empty", func(t *testing.T, c *client) string {
			deviceNonce(t, c)
			return ""
		}},
		{"overlong", func(t *testing.T, c *client) string {
			deviceNonce(t, c)
			return strings.Repeat("n", 4096)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := l.client("android", "2.1.0")
			n := tc.nonce(t, c)
			res, err := c.answer(project.RealmDeviceNoProvision, body(n))
			if err != nil || res.Retry == nil {
				t.Fatalf("answer: %+v %v, want a retry", res, err)
			}
			p := res.Retry.Challenges[project.RealmDeviceNoProvision]
			if fresh, _ := p["token"].(string); len(fresh) != 43 || fresh == n || p["error"] == nil {
				t.Fatalf("retry payload %v: want a fresh token and an error", p)
			}
			_, st, _ := l.session(c.sid)
			if rs := st.Realms[project.RealmDeviceNoProvision]; rs.Passed || rs.Failures != 1 {
				t.Fatalf("realm state %+v", rs)
			}
		})
	}
}

func TestDeviceNonceSingleUseUnderRace(t *testing.T) {
	l := newLab(t)
	c := l.client("android", "2.1.0")
	n := deviceNonce(t, c)
	// Two sessions cannot share a nonce, so the race is between answers of one session: they are
	// serialized, and the second finds the realm passed and no challenge pending.
	results := make(chan error, 8)
	for range 8 {
		go func() {
			_, err := l.eng.Answer(t.Context(), engine.AnswerRequest{App: c.app, SessionID: c.sid, Realm: project.RealmDeviceNoProvision,
				Body: []byte(`{"token":"` + n + `","device":{"id":"dev-1"}}`), Passive: c.passive()})
			results <- err
		}()
	}
	ok := 0
	for range 8 {
		switch err := <-results; codeOf(err) {
		case "":
			ok++
		case engine.CodeNoChallenge:
		default:
			t.Errorf("answer: %v", err)
		}
	}
	if ok != 1 {
		t.Fatalf("%d answers with one nonce succeeded, want 1", ok)
	}
}

func TestDeviceBlocked(t *testing.T) {
	l := newLab(t)
	ctx := t.Context()
	c := l.client("android", "2.1.0")
	n := deviceNonce(t, c)
	c.mustSucceed(project.RealmDeviceNoProvision, `{"token":"`+n+`","device":{"id":"dev-9","os":"android"}}`)
	if err := l.db.SetDeviceStatus(ctx, "dev-9", store.DeviceBlocked); err != nil {
		t.Fatal(err)
	}
	d := l.client("android", "2.1.0")
	n = deviceNonce(t, d)
	_, err := d.answer(project.RealmDeviceNoProvision, `{"token":"`+n+`","device":{"id":"dev-9","os":"evil"}}`)
	if codeOf(err) != engine.CodeDeviceBlocked {
		t.Fatalf("blocked device: %v, want %s", err, engine.CodeDeviceBlocked)
	}
	dev, _ := l.db.GetDevice(ctx, "dev-9", "none")
	if dev.Status != store.DeviceBlocked || dev.OS != "android" {
		t.Fatalf("blocked device changed: %+v", dev)
	}
	_, st, _ := l.session(d.sid)
	if rs := st.Realms[project.RealmDeviceNoProvision]; rs.Passed {
		t.Fatal("blocked device passed")
	}
	// Another device is fine.
	e := l.client("android", "2.1.0")
	n = deviceNonce(t, e)
	e.mustSucceed(project.RealmDeviceNoProvision, `{"token":"`+n+`","device":{"id":"dev-10"}}`)
}

func TestDeviceAnswerMalformed(t *testing.T) {
	l := newLab(t)
	for _, tc := range []struct{ name, body string }{
		{"empty", ``},
		{"not json", `token=abc`},
		{"array", `[]`},
		{"no device id", `{"token":"%s","device":{}}`},
		{"device id too long", `{"token":"%s","device":{"id":"` + strings.Repeat("d", 257) + `"}}`},
		{"model too long", `{"token":"%s","device":{"id":"d","model":"` + strings.Repeat("m", 257) + `"}}`},
		{"token not a string", `{"token":7,"device":{"id":"d"}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := l.client("android", "2.1.0")
			n := deviceNonce(t, c)
			body := tc.body
			if strings.Contains(body, "%s") {
				body = fmt.Sprintf(body, n)
			}
			if _, err := c.answer(project.RealmDeviceNoProvision, body); codeOf(err) != engine.CodeBadRequest {
				t.Fatalf("answer %.60q: %v, want %s", body, err, engine.CodeBadRequest)
			}
			// The nonce was not spent: the corrected answer succeeds.
			c.mustSucceed(project.RealmDeviceNoProvision, `{"token":"`+n+`","device":{"id":"d"}}`)
		})
	}
}

// TestRemoteDisableUnparsableConstraint: a rule whose constraint does not parse (written to the
// store by something other than SetRules) applies to every version: it fails closed.
func TestRemoteDisableUnparsableConstraint(t *testing.T) {
	l := newLab(t)
	if err := l.db.PutRules(t.Context(), labApp, "android", []store.Rule{{Versions: "less than two", Action: "block", Message: "stop"}}); err != nil {
		t.Fatal(err)
	}
	for _, v := range []string{"1.0.0", "2.1.0", "99.0.0", "", "junk"} {
		if _, err := l.client("android", v).authorize("remote"); codeOf(err) != engine.CodeApplicationDisabled {
			t.Errorf("version %q: %v, want %s", v, err, engine.CodeApplicationDisabled)
		}
	}
}

// TestRemoteDisableBlocksSessionInfo: a blocked version is refused on every request, the
// session description included, with or without a session; other versions read theirs.
func TestRemoteDisableBlocksSessionInfo(t *testing.T) {
	l := newLab(t)
	ctx := t.Context()
	ok := l.client("android", "2.1.0")
	ok.mustChallenge("mobile") // a session exists
	if err := l.eng.SetRules(ctx, "admin", labApp, "android", []store.Rule{{Versions: "<2.0.0", Action: "block", Message: "Update the app"}}); err != nil {
		t.Fatal(err)
	}
	old := l.client("android", "1.9.0")
	old.mustChallenge("xsrf") // a session that a test without remote disable let in
	for _, tc := range []struct {
		name string
		c    *client
		sid  string
		want engine.Code
	}{
		{"blocked version, its session", old, old.sid, engine.CodeApplicationDisabled},
		{"blocked version, no session", old, "", engine.CodeApplicationDisabled},
		{"other version", ok, ok.sid, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := l.eng.Session(ctx, tc.c.app, tc.sid, tc.c.passive())
			if got := codeOf(err); got != tc.want {
				t.Fatalf("Session: %+v %v, want code %q", info, err, tc.want)
			}
			if tc.want == "" && info == nil {
				t.Fatal("no session description")
			}
		})
	}
}
