package main

// Attacks on logins, each against a real daemon over HTTP on 127.0.0.1: a second factor of
// another user, procedures run through an adapter-based realm, attempt limits dodged by logging
// out or by opening new sessions, user names told apart by timing, and header logins that keep
// the session id a client had before.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"

	"github.com/realmgate/realmgate/adapters/adaptertest"
	"github.com/realmgate/realmgate/hostd/internal/daemon"
)

// lockedBuffer collects a daemon's log lines; the daemon writes from many goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startDaemonLogged is startDaemon with the daemon's log (adapters' logs included) kept.
func startDaemonLogged(t *testing.T, dir string) (*daemon.Daemon, *lockedBuffer) {
	t.Helper()
	s, err := daemon.LoadSettings(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Listen, s.Data, s.AdapterCacheDir = "127.0.0.1:0", t.TempDir(), adaptertest.CompilationCacheDir(t)
	logs := &lockedBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := daemon.Start(context.Background(), daemon.Options{ConfigDir: dir, Settings: s, AdminToken: adminToken, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Shutdown(context.Background()) })
	return d, logs
}

// copyExample copies the banking example into a temporary project and applies edits to its
// files: each edit replaces the first occurrence of old by new in the file.
func copyExample(t *testing.T, edits map[string][][2]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(exampleDir)); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(dir, "data"))
	// The copy is outside the module, where hostd cannot build the adapter from its source: it
	// gets the module built here instead.
	copyFile(t, adaptertest.BuildGoWasm(t, exampleDir+"/adapters/Accounts/src"), filepath.Join(dir, "adapters/Accounts/accounts.wasm"))
	if edits == nil {
		edits = map[string][][2]string{}
	}
	edits["adapters/Accounts/Accounts.xml"] = append(edits["adapters/Accounts/Accounts.xml"], [2]string{` source="src"`, ""})
	for file, reps := range edits {
		path := filepath.Join(dir, filepath.FromSlash(file))
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for _, r := range reps {
			if !strings.Contains(s, r[0]) {
				t.Fatalf("%s does not contain %q", file, r[0])
			}
			s = strings.Replace(s, r[0], r[1], 1)
		}
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// xsrf returns the anti-XSRF header pair of a challenge body.
func xsrf(t *testing.T, body map[string]any) []string {
	t.Helper()
	c, _ := challenges(body)["wl_antiXSRFRealm"].(map[string]any)
	tok, _ := c["WL-Instance-Id"].(string)
	if tok == "" {
		t.Fatalf("no anti-XSRF challenge in %v", body)
	}
	return []string{"WL-Instance-Id", tok}
}

// auditRecords returns the audit log through the admin API.
func auditRecords(t *testing.T, d *daemon.Daemon) []map[string]any {
	t.Helper()
	status, body := admin(t, d, "GET", "/admin/v1/audit?limit=1000", "", adminToken)
	if status != 200 {
		t.Fatalf("audit log: %d %v", status, body)
	}
	var out []map[string]any
	for _, r := range body["records"].([]any) {
		out = append(out, r.(map[string]any))
	}
	return out
}

// auditOf returns the audit records with the action.
func auditOf(recs []map[string]any, action string) []map[string]any {
	var out []map[string]any
	for _, r := range recs {
		if r["action"] == action {
			out = append(out, r)
		}
	}
	return out
}

// webLoginChallenge opens a new session of the example's web environment and draws the
// BankLogin challenge; it returns the session and its anti-XSRF header.
func webLoginChallenge(t *testing.T, d *daemon.Daemon) (*raw, []string) {
	t.Helper()
	r := newRaw(t, d, "mobilewebapp", "2.1.0")
	_, body, _ := r.do("POST", "/api/v1/apps/BankApp/mobilewebapp/init", "{}")
	x := xsrf(t, body)
	status, body, _ := r.do("POST", "/api/v1/apps/BankApp/mobilewebapp/init", "{}", x...)
	if status != 401 || challenges(body)["BankLogin"] == nil {
		t.Fatalf("init: %d %v, want the BankLogin challenge", status, body)
	}
	return r, x
}

// pinChallenge logs alice in and draws the PIN challenge of a transfer.
func pinChallenge(t *testing.T, d *daemon.Daemon) (*raw, []string) {
	t.Helper()
	r := newRaw(t, d, "android", "2.1.0")
	_, body, _ := r.do("POST", "/api/v1/adapters/Accounts/transfer", `{"parameters":[{"amount":10,"to":"bob"}]}`)
	x := xsrf(t, body)
	if status, body, _ := r.do("POST", "/api/v1/auth/BankLogin", `{"username":"alice","password":"alice-password"}`, x...); status != 200 {
		t.Fatalf("alice's login: %d %v", status, body)
	}
	status, body, _ := r.do("POST", "/api/v1/adapters/Accounts/transfer", `{"parameters":[{"amount":10,"to":"bob"}]}`, x...)
	if status != 401 || challenges(body)["PinRealm"] == nil {
		t.Fatalf("transfer after login: %d %v, want the PIN challenge", status, body)
	}
	return r, x
}

// Item 2: alice logs in and answers the PIN realm with bob's user name and PIN. The PIN realm must
// identify the user the session's user realm identified; another user is refused and audited.
func TestSecondFactorOfAnotherUserIsRefused(t *testing.T) {
	d := startDaemon(t, exampleDir, "")
	r, x := pinChallenge(t, d)
	status, body, _ := r.do("POST", "/api/v1/auth/PinRealm", `{"username":"bob","password":"4321"}`, x...)
	if status != 403 || body["error"] != "identity_mismatch" {
		t.Errorf("bob's PIN in alice's session: %d %v, want 403 identity_mismatch", status, body)
	}
	status, body, _ = r.do("POST", "/api/v1/adapters/Accounts/transfer", `{"parameters":[{"amount":10,"to":"mallory"}]}`, x...)
	if status == 200 {
		t.Fatalf("the transfer ran with bob's PIN as alice: %v", body)
	}
	recs := auditOf(auditRecords(t, d), "login.identity_mismatch")
	if len(recs) != 1 {
		t.Fatalf("%d identity_mismatch audit records, want 1", len(recs))
	}
	detail, _ := recs[0]["detail"].(map[string]any)
	want := map[string]any{"user": "bob", "sessionUser": "alice", "userRealm": "BankLogin"}
	got := map[string]any{"user": detail["user"], "sessionUser": detail["sessionUser"], "userRealm": detail["userRealm"]}
	if diff := cmp.Diff(want, got); diff != "" || recs[0]["target"] != "PinRealm" {
		t.Errorf("audit record %v (-want +got):\n%s", recs[0], diff)
	}
	if b, _ := json.Marshal(recs); strings.Contains(string(b), "4321") {
		t.Errorf("the audit log holds the PIN: %s", b)
	}

	// Alice's own PIN, in a new session, still passes.
	r, x = pinChallenge(t, d)
	if status, body, _ := r.do("POST", "/api/v1/auth/PinRealm", `{"username":"alice","password":"1234"}`, x...); status != 200 {
		t.Fatalf("alice's PIN: %d %v", status, body)
	}
	status, body, _ = r.do("POST", "/api/v1/adapters/Accounts/transfer", `{"parameters":[{"amount":10,"to":"bob"}]}`, x...)
	if res, _ := body["result"].(map[string]any); status != 200 || res["from"] != "alice" {
		t.Errorf("transfer with alice's PIN: %d %v", status, body)
	}
}

// adapterLoginProject is the example with an adapter-based realm whose login function is a
// procedure of the Accounts adapter, protecting the /partners/ static resources.
func adapterLoginProject(t *testing.T) string {
	return copyExample(t, map[string][][2]string{
		"server/conf/authenticationConfig.xml": {
			{"<staticResources>", `<staticResources>
		<resource id="partners" securityTest="adapterLoginTests">
			<urlPatterns>/partners/*</urlPatterns>
		</resource>`},
			{"<securityTests>", `<securityTests>
		<customSecurityTest name="adapterLoginTests">
			<test realm="AdapterLogin" isInternalUserID="true"/>
		</customSecurityTest>`},
			{"<realms>", `<realms>
		<realm name="AdapterLogin" loginModule="AdapterUsers">
			<className>com.worklight.integration.auth.AdapterAuthenticator</className>
			<parameter name="login-function" value="Accounts.getRates"/>
		</realm>`},
			{"<loginModules>", `<loginModules>
		<loginModule name="AdapterUsers">
			<className>com.worklight.core.auth.ext.NonValidatingLoginModule</className>
		</loginModule>`},
		},
	})
}

// Item 3: an answer to an adapter-based realm names the procedure to run. Only the procedures the
// realm submits credentials to (and unprotected ones) may run that way; payBill, which a direct
// call may not reach unauthenticated, must not run either.
func TestAdapterLoginRealmRunsOnlySubmitProcedures(t *testing.T) {
	d, logs := startDaemonLogged(t, adapterLoginProject(t))
	r := newRaw(t, d, "mobilewebapp", "2.1.0")
	status, body, _ := r.do("POST", "/api/v1/adapters/Accounts/payBill", `{"parameters":[{"payee":"mallory","amount":500}]}`)
	if status != 401 {
		t.Fatalf("direct payBill: %d %v, want 401", status, body)
	}
	x := xsrf(t, body)
	status, body, _ = r.do("GET", "/partners/terms.txt", "", x...)
	if c, _ := challenges(body)["AdapterLogin"].(map[string]any); status != 401 || c["authenticator"] != "adapter" {
		t.Fatalf("partners page: %d %v, want the AdapterLogin challenge", status, body)
	}
	for _, proc := range []string{"payBill", "transfer", "getBalance"} {
		status, body, _ := r.do("POST", "/api/v1/auth/AdapterLogin", `{"procedure":"`+proc+`","parameters":[{"payee":"mallory","to":"mallory","amount":500}]}`, x...)
		if status != 403 || body["error"] != "procedure_not_allowed" {
			t.Errorf("%s through the realm: %d %v, want 403 procedure_not_allowed", proc, status, body)
		}
	}
	// A negative amount makes payBill fail with its own message: a sign that it ran.
	status, body, _ = r.do("POST", "/api/v1/auth/AdapterLogin", `{"procedure":"payBill","parameters":[{"payee":"mallory","amount":-1}]}`, x...)
	if msg, _ := body["message"].(string); status != 403 || strings.Contains(msg, "amount") {
		t.Errorf("payBill with a bad amount through the realm: %d %v: the procedure ran", status, body)
	}
	if strings.Contains(logs.String(), "bill paid") {
		t.Errorf("payBill ran through the login realm; daemon log:\n%s", logs.String())
	}
}

// Item 5: logging out of a realm forgets its login, not the failed attempts of the session.
// Twenty wrong PINs, with a logout after every four, must not all be tried.
func TestLogoutKeepsFailedAttempts(t *testing.T) {
	d := startDaemon(t, exampleDir, "")
	r, x := pinChallenge(t, d)
	var got []string
	for i := range 20 {
		if i > 0 && i%4 == 0 {
			if status, _, _ := r.do("POST", "/api/v1/logout/PinRealm", "{}", x...); status != 200 {
				t.Fatalf("logout: %d", status)
			}
			status, body, _ := r.do("POST", "/api/v1/adapters/Accounts/transfer", `{"parameters":[{"amount":10,"to":"bob"}]}`, x...)
			got = append(got, fmt.Sprint("transfer ", status, " ", body["error"]))
		}
		status, body, _ := r.do("POST", "/api/v1/auth/PinRealm", fmt.Sprintf(`{"username":"alice","password":"%04d"}`, 9000+i), x...)
		got = append(got, fmt.Sprint("pin ", status, " ", body["error"]))
	}
	want := []string{"pin 401 <nil>", "pin 401 <nil>", "pin 401 <nil>", "pin 401 <nil>", "transfer 401 <nil>", "pin 429 too_many_attempts"}
	for len(want) < len(got) {
		if len(want)%5 == 4 {
			want = append(want, "transfer 429 too_many_attempts")
		} else {
			want = append(want, "pin 429 too_many_attempts")
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("wrong PINs with logouts (-want +got):\n%s", diff)
	}
	// Even the right PIN is refused in this session now.
	if status, _, _ := r.do("POST", "/api/v1/auth/PinRealm", `{"username":"alice","password":"1234"}`, x...); status != 429 {
		t.Errorf("right PIN after the limit: %d, want 429", status)
	}
}

// Item 5: wrong passwords for one account from new sessions back off (429 with Retry-After),
// the right password too while the backoff lasts; failed logins are audited without the
// password.
func TestFailedLoginsBackOffPerAccount(t *testing.T) {
	d := startDaemon(t, exampleDir, "")
	// The sessions are opened first, so that the answers follow each other closely: the backoff
	// is measured from the last failure, and a bcrypt check under the race detector on a busy
	// machine can take as long as the first wait (1 s).
	type challenged struct {
		r *raw
		x []string
	}
	sessions := make([]challenged, 7)
	for i := range sessions {
		r, x := webLoginChallenge(t, d)
		sessions[i] = challenged{r, x}
	}
	var statuses []int
	var last http.Header
	var lastBody map[string]any
	for i := range 6 {
		r, x := sessions[i].r, sessions[i].x
		status, body, hdr := r.do("POST", "/api/v1/auth/BankLogin", fmt.Sprintf(`{"username":"bob","password":"guess-%d"}`, i), x...)
		statuses = append(statuses, status)
		last, lastBody = hdr, body
	}
	if diff := cmp.Diff([]int{401, 401, 401, 401, 401, 429}, statuses); diff != "" {
		t.Fatalf("wrong passwords for bob from new sessions (-want +got):\n%s", diff)
	}
	secs, err := strconv.Atoi(last.Get("Retry-After"))
	if lastBody["error"] != "login_backoff" || err != nil || secs < 1 || secs > 2 {
		t.Errorf("backoff reply: Retry-After %q, body %v; want login_backoff and 1 or 2 seconds", last.Get("Retry-After"), lastBody)
	}
	r, x := sessions[6].r, sessions[6].x
	if status, body, _ := r.do("POST", "/api/v1/auth/BankLogin", `{"username":"bob","password":"bob-password"}`, x...); status != 429 {
		t.Errorf("right password during the backoff: %d %v, want 429", status, body)
	}
	// Another account is not held back by bob's.
	if status, body, _ := r.do("POST", "/api/v1/auth/BankLogin", `{"username":"alice","password":"alice-password"}`, x...); status != 200 {
		t.Errorf("alice during bob's backoff: %d %v, want 200", status, body)
	}
	time.Sleep(time.Duration(secs)*time.Second + 100*time.Millisecond)
	r, x = webLoginChallenge(t, d)
	if status, body, _ := r.do("POST", "/api/v1/auth/BankLogin", `{"username":"bob","password":"bob-password"}`, x...); status != 200 {
		t.Errorf("right password after the backoff: %d %v, want 200", status, body)
	}
	// A login resets the account's count: the next wrong password is an ordinary one.
	r, x = webLoginChallenge(t, d)
	if status, body, _ := r.do("POST", "/api/v1/auth/BankLogin", `{"username":"bob","password":"guess-again"}`, x...); status != 401 {
		t.Errorf("wrong password after a login: %d %v, want 401", status, body)
	}

	recs := auditRecords(t, d)
	failures := auditOf(recs, "login.failure")
	if len(failures) != 6 {
		t.Errorf("%d login.failure audit records, want 6 (the evaluated wrong passwords)", len(failures))
	}
	for _, f := range failures {
		detail, _ := f["detail"].(map[string]any)
		if f["target"] != "BankLogin" || detail["user"] != "bob" || detail["client"] != "127.0.0.1" {
			t.Errorf("audit record %v: want target BankLogin, user bob, client 127.0.0.1", f)
		}
	}
	if b, _ := json.Marshal(recs); strings.Contains(string(b), "guess") || strings.Contains(string(b), "bob-password") {
		t.Errorf("the audit log holds a password: %s", b)
	}
}

// Item 5: one client trying many user names backs off too.
func TestFailedLoginsBackOffPerClient(t *testing.T) {
	d := startDaemon(t, exampleDir, "")
	// Sessions first, answers back to back (see TestFailedLoginsBackOffPerAccount).
	rs := make([]*raw, 21)
	xs := make([][]string, 21)
	for i := range rs {
		rs[i], xs[i] = webLoginChallenge(t, d)
	}
	var statuses []int
	for i := range 21 {
		status, _, _ := rs[i].do("POST", "/api/v1/auth/BankLogin", fmt.Sprintf(`{"username":"user%d","password":"guess"}`, i), xs[i]...)
		statuses = append(statuses, status)
	}
	want := append(slices.Repeat([]int{401}, 20), 429)
	if diff := cmp.Diff(want, statuses); diff != "" {
		t.Errorf("wrong passwords for 21 user names from one client (-want +got):\n%s", diff)
	}
}

// timingProject is the example with its users' hashes at bcrypt cost 5.
func timingProject(t *testing.T, users int) string {
	dir := copyExample(t, nil)
	var b strings.Builder
	for i := range users {
		h, err := bcrypt.GenerateFromPassword([]byte(fmt.Sprint("password-", i)), 5)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "user%d:%s\n", i, h)
	}
	mustWrite(t, filepath.Join(dir, "users.htpasswd"), b.String())
	return dir
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// Item 6: with cost-5 hashes, an unknown user name must cost what a known one costs.
func TestUnknownUserNamesAnswerLikeKnownOnes(t *testing.T) {
	const n = 7
	d := startDaemon(t, timingProject(t, n), "")
	answer := func(user string) time.Duration {
		r, x := webLoginChallenge(t, d)
		start := time.Now()
		status, body, _ := r.do("POST", "/api/v1/auth/BankLogin", `{"username":"`+user+`","password":"wrong"}`, x...)
		took := time.Since(start)
		if status != 401 {
			t.Fatalf("%s: %d %v, want 401", user, status, body)
		}
		return took
	}
	answer("warm-up")
	var known, unknown []time.Duration
	for i := range n {
		known = append(known, answer(fmt.Sprint("user", i)))
		unknown = append(unknown, answer(fmt.Sprint("nobody", i)))
	}
	k, u := median(known), median(unknown)
	t.Logf("median answer: known user %v, unknown user %v", k, u)
	if u > 2*k+10*time.Millisecond {
		t.Errorf("unknown users answer in %v, known ones in %v: user names can be told apart by timing", u, k)
	}
}

// Item 6: hostd check warns about bcrypt hashes cheaper than cost 10.
func TestCheckWarnsAboutCheapHashes(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"check", "--config", timingProject(t, 2)}, &out, &errb); code != 0 {
		t.Fatalf("check: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if want := `warning: login module "BankUsers": users.htpasswd has bcrypt hashes of cost 5, below 10`; !strings.Contains(out.String(), want) {
		t.Errorf("check output lacks %q:\n%s", want, out.String())
	}
	// The example's own hashes are cost 10: nothing to say about them.
	out.Reset()
	run(context.Background(), []string{"check", "--config", exampleDir}, &out, &errb)
	if strings.Contains(out.String(), "bcrypt") {
		t.Errorf("check on the example warns about its hashes:\n%s", out.String())
	}
}

// Item 13: hostd check warns about a header login nobody vouches for, unless the realm is marked
// as behind a trusted proxy.
func TestCheckWarnsAboutUntrustedHeaderLogins(t *testing.T) {
	dir := headerProject(t)
	conf := filepath.Join(dir, "server/conf/authenticationConfig.xml")
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	trusted := `<parameter name="behind-trusted-proxy" value="true"/>`
	if !strings.Contains(string(b), trusted) {
		t.Fatal("the header project is not marked as behind a trusted proxy")
	}
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"check", "--config", dir}, &out, &errb); code != 0 || strings.Contains(out.String(), "ProxyRealm") {
		t.Errorf("check with behind-trusted-proxy: exit %d\n%s", code, out.String())
	}
	mustWrite(t, conf, strings.Replace(string(b), trusted, "", 1))
	out.Reset()
	if code := run(context.Background(), []string{"check", "--config", dir}, &out, &errb); code != 0 {
		t.Fatalf("check: exit %d\n%s%s", code, out.String(), errb.String())
	}
	if want := `:7: warning: realm "ProxyRealm" logs in whoever sends the X-Proxy-User header`; !strings.Contains(out.String(), want) {
		t.Errorf("check output lacks %q:\n%s", want, out.String())
	}
}

// headerProject is a project whose web app is protected by a header realm behind a proxy.
func headerProject(t *testing.T) string {
	dir := t.TempDir()
	mustWrite(t, filepath.Join(dir, "server/conf/authenticationConfig.xml"), `<?xml version="1.0" encoding="UTF-8"?>
<tns:loginConfiguration xmlns:tns="http://www.worklight.com/auth/config">
	<securityTests>
		<customSecurityTest name="proxyTests"><test realm="ProxyRealm" isInternalUserID="true"/></customSecurityTest>
	</securityTests>
	<realms>
		<realm name="ProxyRealm" loginModule="ProxyUsers">
			<className>com.worklight.core.auth.ext.HeaderAuthenticator</className>
			<parameter name="behind-trusted-proxy" value="true"/>
		</realm>
	</realms>
	<loginModules>
		<loginModule name="ProxyUsers">
			<className>com.worklight.core.auth.ext.HeaderLoginModule</className>
			<parameter name="user-name-header" value="X-Proxy-User"/>
		</loginModule>
	</loginModules>
</tns:loginConfiguration>
`)
	mustWrite(t, filepath.Join(dir, "apps/ProxyApp/application-descriptor.xml"), `<?xml version="1.0" encoding="UTF-8"?>
<application xmlns="http://www.worklight.com/application-descriptor" id="ProxyApp">
	<displayName>ProxyApp</displayName>
	<mobileWebApp securityTest="proxyTests"/>
</application>
`)
	return dir
}

func sessionCookie(h http.Header) string {
	for _, c := range (&http.Response{Header: h}).Cookies() {
		if c.Name == "WL_SESSION" {
			return c.Value
		}
	}
	return ""
}

// Item 13: a session that a header login authenticates gets a new id, so that an id known before
// the login (planted by an attacker) is worthless after it.
func TestHeaderLoginRotatesTheSessionID(t *testing.T) {
	d := startDaemon(t, headerProject(t), "")
	r := newRaw(t, d, "mobilewebapp", "1.0")
	r.headers["WL-App-Id"] = "ProxyApp"
	status, body, hdr := r.do("POST", "/api/v1/apps/ProxyApp/mobilewebapp/init", "{}")
	before := sessionCookie(hdr)
	if status != 401 || before == "" {
		t.Fatalf("first request: %d %v, session %q; want a challenge and a session", status, body, before)
	}
	status, body, hdr = r.do("POST", "/api/v1/apps/ProxyApp/mobilewebapp/init", "{}", "X-Proxy-User", "alice")
	after := sessionCookie(hdr)
	if user, _ := body["user"].(map[string]any); status != 200 || user["userId"] != "alice" {
		t.Fatalf("request with the header: %d %v", status, body)
	}
	if after == "" || after == before {
		t.Fatalf("session id after the header login: %q (before %q), want a new one", after, before)
	}
	// The id from before the login is not logged in.
	planted := newRaw(t, d, "mobilewebapp", "1.0")
	planted.headers["WL-App-Id"] = "ProxyApp"
	status, body, _ = planted.do("GET", "/api/v1/session", "", "Cookie", "WL_SESSION="+before)
	if realms, _ := body["realms"].(map[string]any); status != 200 || len(realms) != 0 {
		t.Errorf("the id from before the login: %d %v, want a session with no login", status, body)
	}
	// The same user on the new id keeps it.
	_, _, hdr = r.do("POST", "/api/v1/apps/ProxyApp/mobilewebapp/init", "{}", "X-Proxy-User", "alice")
	if got := sessionCookie(hdr); got != "" {
		t.Errorf("a later request of the same user got a new session id %q", got)
	}
}
