package main

// Static resources protected by a BasicAuthenticator realm, as Worklight protected its console:
// a browser, or curl -u, sends the credentials in the Authorization header of the request itself.
// Each test drives a real daemon over HTTP on 127.0.0.1 with the requests a browser sends.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"

	"github.com/realmgate/realmgate/hostd/internal/daemon"
)

// staticBasicDir protects /console/ with a Basic realm (consoleTest) and /guarded/ with the
// anti-XSRF realm and the same Basic realm (guardedTest).
const staticBasicDir = "testdata/staticbasic"

// consoleChallenge is the WWW-Authenticate of the console realm: its basic-realm-name
// (Worklight Console "ops" \ 1) as an RFC 9110 quoted-string.
const consoleChallenge = `Basic realm="Worklight Console \"ops\" \\ 1", charset="UTF-8"`

const consolePage = "<p>Worklight Console</p>\n"

// browser is a browser's view of the daemon: no application headers, a cookie jar (or none, as
// curl), and the Basic credentials it sends once the user typed them.
type browser struct {
	t          *testing.T
	base       string
	hc         *http.Client
	user, pass string
	basic      bool
}

func newBrowser(t *testing.T, d *daemon.Daemon, cookies bool) *browser {
	b := &browser{t: t, base: baseURL(d), hc: &http.Client{Timeout: 30 * time.Second}}
	if cookies {
		b.hc.Jar, _ = cookiejar.New(nil)
	}
	return b
}

// login makes the browser send user and pass from now on.
func (b *browser) login(user, pass string) *browser {
	b.user, b.pass, b.basic = user, pass, true
	return b
}

// reply is what a browser request got back.
type reply struct {
	status int
	header http.Header
	body   string
}

func (b *browser) get(method, path string, hdr ...string) reply {
	b.t.Helper()
	req, err := http.NewRequest(method, b.base+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	if b.basic {
		req.SetBasicAuth(b.user, b.pass)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(body)}
}

// json decodes a JSON reply body (a challenge or an error).
func (r reply) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("body %q is not JSON: %v", r.body, err)
	}
	return m
}

// consolePayload is the ConsoleRealm challenge of a 401 body, nil when there is none.
func consolePayload(t *testing.T, r reply) map[string]any {
	t.Helper()
	p, _ := challenges(r.json(t))["ConsoleRealm"].(map[string]any)
	return p
}

// TestStaticBasicAuth: a browser's or curl's request to a static resource of a Basic realm
// passes when its Authorization header answers the realm, and its 401 carries the
// WWW-Authenticate that makes a browser prompt.
func TestStaticBasicAuth(t *testing.T) {
	d := startDaemon(t, staticBasicDir, "")

	type want struct {
		Status          int
		WWWAuthenticate string
		Body            string // the file, for a 200
		Error           string // the challenge payload's error, for a 401
	}
	tests := []struct {
		name       string
		method     string
		user, pass string // "" sends no header
		want       want
	}{
		{"no header", "GET", "", "", want{401, consoleChallenge, "", ""}},
		{"wrong password", "GET", "alice", "guess", want{401, consoleChallenge, "", "wrong user name or password"}},
		{"unknown user", "GET", "mallory", "secret", want{401, consoleChallenge, "", "wrong user name or password"}},
		{"no user name", "GET", "", "secret", want{401, consoleChallenge, "", "a user name is required"}},
		{"right password", "GET", "alice", "secret", want{200, "", consolePage, ""}},
		{"right password, HEAD", "HEAD", "bob", "hunter2", want{200, "", "", ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBrowser(t, d, false) // curl -u: no cookies
			if tc.user != "" || tc.pass != "" {
				b.login(tc.user, tc.pass)
			}
			r := b.get(tc.method, "/console/index.html")
			got := want{Status: r.status, WWWAuthenticate: r.header.Get("WWW-Authenticate")}
			switch {
			case r.status == 200:
				got.Body = r.body
			case tc.method == "HEAD": // no body to read the challenge from
			default:
				p := consolePayload(t, r)
				if p == nil {
					t.Errorf("401 body %s: no ConsoleRealm challenge", r.body)
				}
				got.Error, _ = p["error"].(string)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s /console/index.html (-want +got):\n%s", tc.method, diff)
			}
			if n := len(r.header.Values("WWW-Authenticate")); n > 1 {
				t.Errorf("%d WWW-Authenticate headers, want at most one", n)
			}
		})
	}

	// A browser: the first request draws the prompt; the user types the password, the browser
	// sends it again on every request.
	b := newBrowser(t, d, true)
	if r := b.get("GET", "/console/index.html"); r.status != 401 || r.header.Get("WWW-Authenticate") != consoleChallenge {
		t.Fatalf("first request: %d %q", r.status, r.header.Get("WWW-Authenticate"))
	}
	b.login("alice", "secret")
	for i, name := range []string{"with the prompt's answer", "the next page, same header and cookie"} {
		if r := b.get("GET", "/console/index.html"); r.status != 200 || r.body != consolePage {
			t.Errorf("request %d (%s): %d %q, want 200 and the page", i+2, name, r.status, r.body)
		}
	}
	// The same header without the session cookie (a new browser session) passes too.
	if r := newBrowser(t, d, false).login("alice", "secret").get("GET", "/console/index.html"); r.status != 200 || r.body != consolePage {
		t.Errorf("same header, no cookie: %d %q", r.status, r.body)
	}

	// Every failed login is audited (user name and client, never the password); the realm's
	// login module audits logins.
	recs := auditRecords(t, d)
	var failed []string
	for _, f := range auditOf(recs, "login.failure") {
		detail, _ := f["detail"].(map[string]any)
		if f["target"] != "ConsoleRealm" || detail["client"] != "127.0.0.1" {
			t.Errorf("audit record %v: want target ConsoleRealm, client 127.0.0.1", f)
		}
		u, _ := detail["user"].(string)
		failed = append(failed, u)
	}
	if diff := cmp.Diff([]string{"alice", "mallory"}, failed); diff != "" {
		t.Errorf("login.failure records by user (-want +got):\n%s", diff)
	}
	if logins := auditOf(recs, "login"); len(logins) != 4 {
		t.Errorf("%d login audit records, want 4 (curl alice, curl bob, the browser, the browser without its cookie)", len(logins))
	}
	if raw, _ := json.Marshal(recs); strings.Contains(string(raw), "guess") || strings.Contains(string(raw), "hunter2") {
		t.Errorf("the audit log holds a password: %s", raw)
	}
}

// TestStaticBasicLoginRotatesTheSessionID: a login by the Authorization header changes the
// session id, as any login: the id the browser held before (one an attacker planted) is not
// logged in.
func TestStaticBasicLoginRotatesTheSessionID(t *testing.T) {
	d := startDaemon(t, staticBasicDir, "")
	b := newBrowser(t, d, true)
	r := b.get("GET", "/console/index.html")
	before := sessionCookie(r.header)
	if r.status != 401 || before == "" {
		t.Fatalf("first request: %d, session %q; want a challenge and a session", r.status, before)
	}
	b.login("alice", "secret")
	r = b.get("GET", "/console/index.html")
	after := sessionCookie(r.header)
	if r.status != 200 || after == "" || after == before {
		t.Fatalf("login by the header: %d, session %q (before %q); want 200 and a new id", r.status, after, before)
	}
	planted := newBrowser(t, d, false)
	if r := planted.get("GET", "/console/index.html", "Cookie", "WL_SESSION="+before); r.status != 401 {
		t.Errorf("the id from before the login, without the header: %d, want 401", r.status)
	}
	if r := planted.get("GET", "/console/index.html", "Cookie", "WL_SESSION="+after); r.status != 200 {
		t.Errorf("the new id without the header: %d, want 200", r.status)
	}
	// The same user on the new id keeps it.
	if r := b.get("GET", "/console/index.html"); r.status != 200 || sessionCookie(r.header) != "" {
		t.Errorf("the next request: %d, new session id %q; want 200 and none", r.status, sessionCookie(r.header))
	}
}

// TestStaticBasicLoginLimits: a wrong password in the header is a failed login like a wrong
// answer to POST /api/v1/auth/{realm}: the session's attempt limit and the account's backoff
// apply.
func TestStaticBasicLoginLimits(t *testing.T) {
	d := startDaemon(t, staticBasicDir, "")

	// One browser session: 5 attempts, then the realm is locked for the session.
	b := newBrowser(t, d, true).login("alice", "guess")
	var remaining []any
	var statuses []int
	for range 5 {
		r := b.get("GET", "/console/index.html")
		statuses = append(statuses, r.status)
		if r.status == 401 {
			remaining = append(remaining, consolePayload(t, r)["remainingAttempts"])
		} else {
			remaining = append(remaining, r.json(t)["error"])
		}
	}
	if diff := cmp.Diff([]int{401, 401, 401, 401, 429}, statuses); diff != "" {
		t.Errorf("wrong passwords in one session (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]any{4.0, 3.0, 2.0, 1.0, "too_many_attempts"}, remaining); diff != "" {
		t.Errorf("remaining attempts (-want +got):\n%s", diff)
	}
	if r := b.login("alice", "secret").get("GET", "/console/index.html"); r.status != 429 || r.json(t)["error"] != "too_many_attempts" {
		t.Errorf("right password after the limit, same session: %d %s, want 429 too_many_attempts", r.status, r.body)
	}

	// New sessions (curl): bob's account backs off after 5 failures.
	statuses = nil
	var last reply
	for i := range 6 {
		last = newBrowser(t, d, false).login("bob", fmt.Sprintf("guess-%d", i)).get("GET", "/console/index.html")
		statuses = append(statuses, last.status)
	}
	if diff := cmp.Diff([]int{401, 401, 401, 401, 401, 429}, statuses); diff != "" {
		t.Fatalf("wrong passwords for bob from new sessions (-want +got):\n%s", diff)
	}
	secs, err := strconv.Atoi(last.header.Get("Retry-After"))
	if last.json(t)["error"] != "login_backoff" || err != nil || secs < 1 || secs > 2 {
		t.Errorf("backoff reply: Retry-After %q, body %s; want login_backoff and 1 or 2 seconds", last.header.Get("Retry-After"), last.body)
	}
	if r := newBrowser(t, d, false).login("bob", "hunter2").get("GET", "/console/index.html"); r.status != 429 {
		t.Errorf("bob's right password during the backoff: %d %s, want 429", r.status, r.body)
	}
	if n := len(auditOf(auditRecords(t, d), "login.failure")); n != 10 {
		t.Errorf("%d login.failure audit records, want 10 (5 of alice, 5 of bob)", n)
	}
}

// TestStaticBasicWithAntiXSRF: where the static resource's test holds wl_antiXSRFRealm, the
// header answers the Basic realm only on a request that carries the session's WL-Instance-Id, as
// an answer must. A browser navigating there has none: it gets the JSON challenge, without a
// WWW-Authenticate that would make it prompt in vain, and its header logs nobody in.
func TestStaticBasicWithAntiXSRF(t *testing.T) {
	d := startDaemon(t, staticBasicDir, "")
	b := newBrowser(t, d, true).login("alice", "secret")
	r := b.get("GET", "/guarded/index.html")
	if r.status != 401 || r.header.Get("WWW-Authenticate") != "" {
		t.Fatalf("browser with the header: %d, WWW-Authenticate %q; want 401 without one", r.status, r.header.Get("WWW-Authenticate"))
	}
	x := xsrf(t, r.json(t))
	if r := b.get("GET", "/guarded/index.html"); r.status != 401 {
		t.Errorf("again without WL-Instance-Id: %d, want 401", r.status)
	}
	if r := b.get("GET", "/guarded/index.html", "WL-Instance-Id", "not-the-token"); r.status != 401 {
		t.Errorf("a wrong WL-Instance-Id: %d, want 401", r.status)
	}
	if n := len(auditOf(auditRecords(t, d), "login")); n != 0 {
		t.Errorf("%d logins without the session's WL-Instance-Id, want none", n)
	}
	// A client that holds the token answers the realm with the same header.
	if r := b.get("GET", "/guarded/index.html", x...); r.status != 200 || r.body != "<p>guarded page</p>\n" {
		t.Errorf("with WL-Instance-Id and the header: %d %q, want 200 and the page", r.status, r.body)
	}
	if n := len(auditOf(auditRecords(t, d), "login")); n != 1 {
		t.Errorf("%d logins, want 1", n)
	}
}

// TestBasicHeaderOnAPIRequests: on the API the Authorization header answers a Basic realm only
// through POST /api/v1/auth/{realm} (PROTOCOL.md section 10): a protected API request that
// carries one gets the JSON challenge, without WWW-Authenticate (a browser page calling the API
// must not make the browser prompt).
func TestBasicHeaderOnAPIRequests(t *testing.T) {
	d := startDaemon(t, staticBasicDir, "")
	r := newRaw(t, d, "mobilewebapp", "1.0")
	r.headers["WL-App-Id"] = "ConsoleApp"
	basic := "Basic " + basicToken("alice", "secret")
	status, body, hdr := r.do("POST", "/api/v1/apps/ConsoleApp/mobilewebapp/init", "{}", "Authorization", basic)
	if status != 401 || challenges(body)["ConsoleRealm"] == nil || hdr.Get("WWW-Authenticate") != "" {
		t.Fatalf("init with the header: %d %v, WWW-Authenticate %q; want the JSON challenge only", status, body, hdr.Get("WWW-Authenticate"))
	}
	if status, body, _ := r.do("POST", "/api/v1/auth/ConsoleRealm", "{}", "Authorization", basic); status != 200 {
		t.Fatalf("the answer: %d %v", status, body)
	}
	if status, body, _ := r.do("POST", "/api/v1/apps/ConsoleApp/mobilewebapp/init", "{}"); status != 200 {
		t.Errorf("init after the answer: %d %v", status, body)
	}
}

func basicToken(user, pass string) string {
	req, _ := http.NewRequest("GET", "/", nil)
	req.SetBasicAuth(user, pass)
	return strings.TrimPrefix(req.Header.Get("Authorization"), "Basic ")
}

// BenchmarkStaticBasic measures a static request of the Basic realm through the HTTP handler, with
// the password file at bcrypt cost 10 (what `hostd check` asks for): a browser's request (its
// header and the session cookie: the session holds the header's user, so no password is checked),
// the same session's cookie alone, and curl's (the header without a cookie: a login, bcrypt and
// all, per request).
func BenchmarkStaticBasic(b *testing.B) {
	dir := b.TempDir()
	if err := os.CopyFS(dir, os.DirFS(staticBasicDir)); err != nil {
		b.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("secret"), 10)
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "users.htpasswd"), []byte("alice:"+string(hash)+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	s, err := daemon.LoadSettings(dir)
	if err != nil {
		b.Fatal(err)
	}
	s.Listen, s.Data = "127.0.0.1:0", b.TempDir()
	d, err := daemon.Start(context.Background(), daemon.Options{ConfigDir: dir, Settings: s})
	if err != nil {
		b.Fatal(err)
	}
	defer d.Shutdown(context.Background())
	h := d.Handler()
	serve := func(b *testing.B, cookie string, basic bool) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/console/index.html", nil)
		r.RemoteAddr = "127.0.0.1:40000"
		if basic {
			r.SetBasicAuth("alice", "secret")
		}
		if cookie != "" {
			r.AddCookie(&http.Cookie{Name: "WL_SESSION", Value: cookie})
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != 200 {
			b.Fatalf("status %d %s", rec.Code, rec.Body)
		}
		return rec
	}
	cookie := sessionCookie(serve(b, "", true).Header())
	if cookie == "" {
		b.Fatal("no session cookie")
	}
	for _, bc := range []struct {
		name   string
		cookie string
		basic  bool
	}{
		{"browser", cookie, true},
		{"cookie", cookie, false},
		{"curl", "", true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				serve(b, bc.cookie, bc.basic)
			}
		})
	}
}
