package console_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/realmgate/realmgate/client"
)

// Every console page and action needs a signed-in session, and every action the session's
// CSRF token: without them nothing is shown and nothing changes.
func TestNothingWithoutSignIn(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	var ks client.MemoryKeystore
	enroll(t, d, &ks)
	serial := certificates(t, d)[0].Serial

	reads := []string{"/console/", "/console/adapters", "/console/remote-disable", "/console/remote-disable?app=Wallet&env=android",
		"/console/devices", "/console/certificates", "/console/decisions", "/console/health", "/console/audit", "/console/nothing"}
	changes := []struct {
		path string
		form url.Values
	}{
		{"/console/devices/status", url.Values{"id": {deviceID}, "status": {"blocked"}}},
		{"/console/certificates/revoke", url.Values{"serial": {serial}, "reason": {"x"}}},
		{"/console/remote-disable", url.Values{"app": {app}, "env": {env}, "versions": {""}, "action": {"block"}, "message": {"off"}, "downloadLink": {""}, "messageId": {""}}},
		{"/console/remote-disable/preview", url.Values{"versions": {""}, "action": {"block"}, "message": {"off"}, "downloadLink": {""}, "messageId": {""}}},
		{"/console/logout", url.Values{}},
	}
	anon := newOperator(t, d)
	for _, p := range reads {
		resp, body := anon.do("GET", p, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/console/login" {
			t.Errorf("GET %s without a session: %d to %q, want 303 to the sign-in form", p, resp.StatusCode, resp.Header.Get("Location"))
		}
		if strings.Contains(body, deviceID) || strings.Contains(body, serial) {
			t.Errorf("GET %s without a session shows data", p)
		}
	}
	resp, _ := anon.do("GET", "/console/decisions/stream", nil)
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the decision stream without a session: %d", resp.StatusCode)
	}
	// A wrong token signs no one in; a forged cookie is no session.
	if resp, _ := anon.do("POST", "/console/login", url.Values{"token": {d.AdminToken + "x"}}); resp.StatusCode != http.StatusUnauthorized || len(resp.Cookies()) != 0 {
		t.Errorf("a wrong token: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	forged := newOperator(t, d)
	u, _ := url.Parse(d.URL + "/console/")
	forged.http.Jar.SetCookies(u, []*http.Cookie{{Name: "RG_CONSOLE", Value: d.AdminToken}})
	if resp, _ := forged.do("GET", "/console/devices", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the admin token as the cookie: %d, want a redirect to the sign-in form", resp.StatusCode)
	}

	signed := newOperator(t, d)
	csrf := signed.signIn(d.AdminToken)
	for _, c := range changes {
		for _, who := range []struct {
			name string
			op   *operator
			csrf string
		}{{"no session", anon, csrf}, {"no CSRF token", signed, ""}, {"another CSRF token", signed, csrf[1:] + "A"}} {
			form := url.Values{}
			for k, v := range c.form {
				form[k] = v
			}
			if who.csrf != "" {
				form.Set("csrf", who.csrf)
			}
			resp, _ := who.op.do("POST", c.path, form)
			if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST %s with %s: %d, want 401 or 403", c.path, who.name, resp.StatusCode)
			}
		}
	}
	// A cross-origin POST is refused even with the token.
	req, _ := http.NewRequest("POST", d.URL+"/console/devices/status", strings.NewReader(url.Values{"csrf": {csrf}, "id": {deviceID}, "status": {"blocked"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if resp, err := signed.http.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("a cross-site POST: %v %v, want 403", resp.StatusCode, err)
	}
	if recs := audit(t, d); len(recs) != 0 {
		t.Errorf("refused requests changed something: %+v", recs)
	}
	if certs := certificates(t, d); certs[0].RevokedAt != nil {
		t.Error("a refused request revoked the certificate")
	}
	// Signed out, the session is gone.
	if resp, _ := signed.do("POST", "/console/logout", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out: %d", resp.StatusCode)
	}
	if resp, _ := signed.do("GET", "/console/devices", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("after sign-out: %d, want a redirect to the sign-in form", resp.StatusCode)
	}
}

// The session cookie holds no secret of the daemon and cannot be read or sent cross-site.
func TestSessionCookie(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	op := newOperator(t, d)
	resp, _ := op.do("POST", "/console/login", url.Values{"token": {d.AdminToken}})
	cookies := resp.Cookies()
	if len(cookies) != 1 {
		t.Fatalf("cookies %v", cookies)
	}
	c := cookies[0]
	got := []any{c.Name, c.Path, c.HttpOnly, c.SameSite, strings.Contains(c.Value, d.AdminToken), len(c.Value) >= 43}
	if diff := cmp.Diff([]any{"RG_CONSOLE", "/console", true, http.SameSiteStrictMode, false, true}, got); diff != "" {
		t.Errorf("cookie (-want +got):\n%s", diff)
	}
	// Pages forbid framing and scripts from elsewhere.
	resp, _ = op.do("GET", "/console/", nil)
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("Content-Security-Policy %q", csp)
	}
}

// The console's changes go through the admin API, and the audit records them as the console's.
func TestChangesAudited(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	var ks client.MemoryKeystore
	enroll(t, d, &ks)
	serial := certificates(t, d)[0].Serial
	op := newOperator(t, d)
	csrf := op.signIn(d.AdminToken)
	post := func(path string, form url.Values) {
		t.Helper()
		form.Set("csrf", csrf)
		if resp, body := op.do("POST", path, form); resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("POST %s: %d\n%s", path, resp.StatusCode, body)
		}
	}
	post("/console/devices/status", url.Values{"id": {deviceID}, "status": {"blocked"}})
	post("/console/devices/status", url.Values{"id": {deviceID}, "status": {"active"}})
	post("/console/certificates/revoke", url.Values{"serial": {serial}, "reason": {"lost phone"}})
	post("/console/remote-disable", url.Values{"app": {app}, "env": {env},
		"versions": {"<1.5.0", ""}, "action": {"block", "block"}, "message": {"Update the app", ""}, "downloadLink": {"", ""}, "messageId": {"", ""}})
	// A change the API refuses is shown and not made.
	form := url.Values{"app": {app}, "env": {env}, "versions": {"<<1"}, "action": {"block"}, "message": {"m"}, "downloadLink": {""}, "messageId": {""}, "csrf": {csrf}}
	if resp, body := op.do("POST", "/console/remote-disable", form); resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "not a semantic-version constraint") {
		t.Errorf("an invalid rule: %d\n%s", resp.StatusCode, body)
	}
	var got []string
	for _, r := range audit(t, d) {
		got = append(got, r.Actor+" "+r.Action)
	}
	want := []string{"console:admin device.status", "console:admin device.status", "console:admin certificate.revoke", "console:admin remote_disable.put"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
	// The audit page shows them.
	_, page := op.do("GET", "/console/audit", nil)
	if n := strings.Count(page, "console:admin"); n < len(want) {
		t.Errorf("the audit page shows %d changes of the console, want %d", n, len(want))
	}
	if !slices.Contains(got, "console:admin certificate.revoke") {
		t.Error("no revocation audited")
	}
}

// Sign-in attempts are bounded per client address: a script cannot try tokens as fast as the
// daemon answers, and while bounded even the right token waits.
func TestSignInThrottled(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	op := newOperator(t, d)
	var got []int
	for range 6 {
		resp, _ := op.do("POST", "/console/login", url.Values{"token": {"wrong-token-wrong-token"}})
		got = append(got, resp.StatusCode)
	}
	resp, _ := op.do("POST", "/console/login", url.Values{"token": {d.AdminToken}})
	got = append(got, resp.StatusCode)
	want := []int{401, 401, 401, 401, 401, 429, 429}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if resp.Header.Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
}

// A client chooses its device id: one made to look like markup or a path is shown as text, and
// blocking it from the console blocks that device and nothing else.
func TestHostileDeviceID(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	const hostile = `../certificates/revoke"><b>x</b>`
	c, err := client.New(client.Config{BaseURL: d.URL, AppID: app, Environment: env, AppVersion: "2.0.0", Keystore: &client.MemoryKeystore{},
		Device: &client.DeviceInfo{ID: hostile, OS: "android", Model: "<i>m</i>"}})
	if err != nil {
		t.Fatal(err)
	}
	c.RegisterHandler(certRealm, c.UserCertificateHandler())
	c.RegisterHandler(loginRealm, &client.LoginHandler{Credentials: client.Credentials{Username: "mallory", Password: "x"}})
	if _, err := c.Init(t.Context()); err != nil {
		t.Fatal(err)
	}
	op := newOperator(t, d)
	csrf := op.signIn(d.AdminToken)
	_, page := op.do("GET", "/console/devices", nil)
	if strings.Contains(page, "<b>x</b>") || strings.Contains(page, "<i>m</i>") || !strings.Contains(page, "&lt;b&gt;x&lt;/b&gt;") {
		t.Errorf("the devices page does not escape the device:\n%s", page)
	}
	if resp, body := op.do("POST", "/console/devices/status", url.Values{"csrf": {csrf}, "id": {hostile}, "status": {"blocked"}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("block: %d\n%s", resp.StatusCode, body)
	}
	var got []string
	for _, r := range audit(t, d) {
		got = append(got, r.Action+" "+r.Target)
	}
	if diff := cmp.Diff([]string{"device.status " + hostile}, got); diff != "" {
		t.Errorf("audit (-want +got):\n%s", diff)
	}
}
