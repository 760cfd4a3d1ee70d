package engine_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/engine"
	"github.com/realmgate/realmgate/project"
	"github.com/realmgate/realmgate/store"
)

// login asks for realm's challenge on demand (Engine.Login) in the client's session.
func (c *client) login(realm string) (*engine.LoginResult, error) {
	res, err := c.l.eng.Login(c.l.t.Context(), engine.LoginRequest{App: c.app, SessionID: c.sid, Realm: realm, Passive: c.passive()})
	if err == nil {
		c.take(res.Cookies)
		c.adoptToken(res.Challenge)
	}
	return res, err
}

// TestLoginOnDemand: a login asked for without a protected request challenges the realm as a
// protected request would (the same payload, the test and step that hold the realm, the
// anti-XSRF token of a new session when the app's test holds the anti-XSRF realm), the answer is
// settled as usual, and a session logged in gets the identity without a challenge.
func TestLoginOnDemand(t *testing.T) {
	t.Parallel()
	l := newLab(t)

	// What a protected request of the form test gets, for comparison.
	viaResource := l.client("mobilewebapp", "1.0").mustChallenge("form")

	c := l.client("mobilewebapp", "1.0")
	res, err := c.login("FormRealm")
	if err != nil {
		t.Fatal(err)
	}
	if !res.NewSession || c.sid == "" {
		t.Fatalf("Login from no session: new session %v, cookie %q: want a session made", res.NewSession, c.sid)
	}
	if diff := cmp.Diff([]string{"FormRealm", project.RealmAntiXSRF}, realmsOf(res.Challenge)); diff != "" {
		t.Fatalf("realms challenged (-want +got):\n%s", diff)
	}
	// The first test by name holding the realm ("form"; the app's "web" test does not).
	if res.Challenge.SecurityTest != "form" || res.Challenge.Step != 1 {
		t.Errorf("challenge of test %q step %d, want form step 1", res.Challenge.SecurityTest, res.Challenge.Step)
	}
	if diff := cmp.Diff(viaResource.Challenges["FormRealm"], res.Challenge.Challenges["FormRealm"]); diff != "" {
		t.Errorf("payload differs from a protected request's (-resource +login):\n%s", diff)
	}

	// The challenge is answered through Answer, which knows it pending.
	ans := c.mustSucceed("FormRealm", `{"username":"carol"}`)
	if ans.Identity["userId"] != "carol" {
		t.Fatalf("identity %v, want carol", ans.Identity)
	}

	// Logged in: the identity, no challenge, no new session.
	res, err = c.login("FormRealm")
	if err != nil {
		t.Fatal(err)
	}
	if res.Challenge != nil || res.NewSession || res.Identity["userId"] != "carol" {
		t.Errorf("Login when logged in: challenge %+v, new session %v, identity %v: want carol's identity", res.Challenge, res.NewSession, res.Identity)
	}

	// A realm of a later step before the realms of the steps before it: refused, naming them, as
	// a protected request would ask for those first (a PIN is no way around the password).
	_, err = c.login("PinRealm")
	var le *engine.Error
	if !errors.As(err, &le) || le.Code != engine.CodeLoginNotAllowed || !strings.Contains(le.Message, "log in to PasswordRealm first") {
		t.Fatalf("PinRealm before PasswordRealm: %v, want %s naming PasswordRealm", err, engine.CodeLoginNotAllowed)
	}
	if _, err := c.answer("PinRealm", `{"pin":"1234"}`); codeOf(err) != engine.CodeNoChallenge {
		t.Errorf("an answer for PinRealm after the refusal: %v, want %s", err, engine.CodeNoChallenge)
	}
	if res, err := c.login("PasswordRealm"); err != nil || res.Challenge == nil {
		t.Fatalf("PasswordRealm: %+v, %v", res, err)
	}
	c.mustSucceed("PasswordRealm", aliceCreds)

	// Then the realm of the later step: the step that holds it, and no anti-XSRF challenge again.
	res, err = c.login("PinRealm")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"PinRealm"}, realmsOf(res.Challenge)); diff != "" {
		t.Errorf("PinRealm: realms challenged (-want +got):\n%s", diff)
	}
	if res.Challenge.SecurityTest != "steps" || res.Challenge.Step != 3 {
		t.Errorf("PinRealm: test %q step %d, want steps step 3", res.Challenge.SecurityTest, res.Challenge.Step)
	}

	// Without the session's anti-XSRF token the request is refused, as an answer would be.
	c.instanceID = ""
	if _, err := c.login("PinRealm"); codeOf(err) != engine.CodeXSRF {
		t.Errorf("Login without WL-Instance-Id: %v, want %s", err, engine.CodeXSRF)
	}
}

// TestLoginOnDemandRefused: unknown realms, realms that identify nobody by a login module, and
// realms that no security test holds cannot be logged in to on demand; a refusal says why.
func TestLoginOnDemandRefused(t *testing.T) {
	t.Parallel()
	files := labFiles(t)
	files[project.AuthConfigPath] = strings.Replace(files[project.AuthConfigPath], "</realms>",
		`<realm name="SpareRealm" loginModule="AnyUser"><className>com.worklight.core.auth.ext.FormBasedAuthenticator</className></realm>
	</realms>`, 1)
	l := newLabWith(t, labOptions{files: files})
	for _, tc := range []struct {
		realm   string
		code    engine.Code
		message string
	}{
		{"NoSuchRealm", engine.CodeUnknownRealm, "not defined"},
		{project.RealmAntiXSRF, engine.CodeLoginNotAllowed, "login module"},
		{project.RealmAnonymousUser, engine.CodeLoginNotAllowed, "login module"},
		{project.RealmDeviceNoProvision, engine.CodeLoginNotAllowed, "login module"},
		{project.RealmAuthenticity, engine.CodeLoginNotAllowed, "login module"},
		{project.RealmRemoteDisable, engine.CodeLoginNotAllowed, "login module"},
		{"SpareRealm", engine.CodeLoginNotAllowed, "add it to a customSecurityTest"},
	} {
		t.Run(tc.realm, func(t *testing.T) {
			c := l.client("mobilewebapp", "1.0")
			res, err := c.login(tc.realm)
			if codeOf(err) != tc.code || !strings.Contains(err.Error(), tc.message) {
				t.Fatalf("Login(%s) = %+v, %v: want %s saying %q", tc.realm, res, err, tc.code, tc.message)
			}
			if c.sid != "" {
				t.Errorf("a refused login issued a session")
			}
		})
	}
	// A realm that refused the session for good stays refused.
	c := l.client("mobilewebapp", "1.0")
	if _, err := c.login("RejectRealm"); err != nil {
		t.Fatal(err)
	}
	if _, err := c.answer("RejectRealm", `{"username":"x","password":"y"}`); codeOf(err) != engine.CodeRefused {
		t.Fatalf("RejectRealm's answer: %v, want %s", err, engine.CodeRefused)
	}
	if _, err := c.login("RejectRealm"); codeOf(err) != engine.CodeRefused {
		t.Errorf("Login after a final refusal: %v, want %s", err, engine.CodeRefused)
	}
}

// TestLoginOnDemandBlocked: a blocked application version, and a session whose device an
// administrator blocked, are refused as on any request of the app.
func TestLoginOnDemandBlocked(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	ctx := t.Context()
	rules := []store.Rule{{Versions: "<2.0.0", Action: "block", Message: "Update the app"}}
	if err := l.eng.SetRules(ctx, "admin", labApp, "android", rules); err != nil {
		t.Fatal(err)
	}
	if _, err := l.client("android", "1.0.0").login("PasswordRealm"); codeOf(err) != engine.CodeApplicationDisabled {
		t.Errorf("blocked version: %v, want %s", err, engine.CodeApplicationDisabled)
	}

	c := l.client("android", "2.1.0")
	n := deviceNonce(t, c)
	c.mustSucceed(project.RealmDeviceNoProvision, `{"token":"`+n+`","device":{"id":"dev-login","os":"android"}}`)
	if _, err := c.login("PasswordRealm"); err != nil {
		t.Fatalf("before the block: %v", err)
	}
	if err := l.db.SetDeviceStatus(ctx, "dev-login", store.DeviceBlocked); err != nil {
		t.Fatal(err)
	}
	l.eng.DeviceStatusChanged("dev-login") // as the admin API tells it
	if _, err := c.login("PasswordRealm"); codeOf(err) != engine.CodeDeviceBlocked {
		t.Errorf("blocked device: %v, want %s", err, engine.CodeDeviceBlocked)
	}
}

// BenchmarkLoginOnDemand measures a new session's on-demand login challenge of FormRealm (with
// the anti-XSRF token the app's test asks for) beside its peer, the challenge a new session's
// protected request of the "form" test gets (a policy evaluation, then FormRealm's challenge
// saved): compare the two in one run.
func BenchmarkLoginOnDemand(b *testing.B) {
	for _, tc := range []struct {
		name string
		do   func(c *client) error
	}{
		{"login", func(c *client) error { _, err := c.login("FormRealm"); return err }},
		{"protected", func(c *client) error { _, err := c.authorize("form"); return err }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			l := newLab(b)
			l.discard.Store(true)
			b.ReportAllocs()
			for b.Loop() {
				if err := tc.do(l.client("mobilewebapp", "1.0")); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A remote-disable notice the session has not acknowledged comes with an on-demand login's
// challenge, as it comes before any protected resource of the app; once acknowledged, not again.
func TestLoginOnDemandRemoteDisableNotice(t *testing.T) {
	t.Parallel()
	l := newLab(t)
	notify := []store.Rule{{Action: "notify", Message: "Maintenance on Sunday", MessageID: "maint-1"}}
	if err := l.eng.SetRules(t.Context(), "admin", labApp, "android", notify); err != nil {
		t.Fatal(err)
	}
	c := l.client("android", "2.1.0")
	res, err := c.login("FormRealm")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"FormRealm", project.RealmAntiXSRF, project.RealmRemoteDisable}, realmsOf(res.Challenge)); diff != "" {
		t.Fatalf("realms challenged (-want +got):\n%s", diff)
	}
	if got := res.Challenge.Challenges[project.RealmRemoteDisable]["messageId"]; got != "maint-1" {
		t.Errorf("the notice's id %v, want maint-1", got)
	}
	if _, err := c.answer(project.RealmRemoteDisable, `{"acknowledged":true,"messageId":"maint-1"}`); err != nil {
		t.Fatal(err)
	}
	res, err = c.login("FormRealm")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"FormRealm"}, realmsOf(res.Challenge)); diff != "" {
		t.Errorf("after the acknowledgement, realms challenged (-want +got):\n%s", diff)
	}
}
